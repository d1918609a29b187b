"""The errors a user can fix, worded for the command line: one message each, never a traceback."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from .errors import ConfigError, UserError

NO_CREDENTIALS = (
    "no AWS credentials found: configure them with `aws configure` (or `aws sso login`), or select a profile with "
    "AWS_PROFILE=<name>, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
USER_ERRORS = (UserError, ClientError, BotoCoreError, TimeoutError)


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
