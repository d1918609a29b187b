"""The errors a user can fix, worded for the command line: one message each, never a traceback."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from .aws.session import AwsSetupError
from .config import ConfigError
from .images import ImageError
from .options import OptionError
from .pipeline import PipelineError
from .sagemaker_requests import RequestError
from .storage import StorageError
from .workflow import WorkflowError

NO_CREDENTIALS = (
    "no AWS credentials found: configure them with `aws configure` (or `aws sso login`), or select a profile with "
    "AWS_PROFILE=<name>, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
PLAIN_ERRORS = (
    WorkflowError,
    StorageError,
    RequestError,
    ImageError,
    AwsSetupError,
    PipelineError,
    OptionError,
    TimeoutError,
)
USER_ERRORS = (ConfigError, ClientError, BotoCoreError, *PLAIN_ERRORS)


def describe(error: BaseException) -> str:
    """Rich markup for one of USER_ERRORS."""
    if isinstance(error, ConfigError):
        return f"[red]Invalid configuration[/red]\n{error}"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"[red]{details.get('Code', 'Error')}[/red]: {details.get('Message', error)}"
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return f"[red]Error[/red]: {NO_CREDENTIALS}"
    if isinstance(error, BotoCoreError):
        return f"[red]AWS error[/red]: {error}"
    return f"[red]Error[/red]: {error}"
