"""The errors a user can fix, worded for the command line: one message each, never a traceback."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from rich.markup import escape

from .errors import ConfigError, UserError

NO_CREDENTIALS = (
    "no AWS credentials found: configure them with `aws configure` (or `aws sso login`), or select a profile with "
    "AWS_PROFILE=<name>, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
USER_ERRORS = (UserError, ClientError, BotoCoreError, TimeoutError)


def describe(error: BaseException) -> str:
    """Rich markup for one of USER_ERRORS; the message itself is text (`pip install 'x[extra]'` stays as it is)."""
    if isinstance(error, ConfigError):
        return f"[red]Invalid configuration[/red]\n{escape(str(error))}"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"[red]{escape(str(details.get('Code', 'Error')))}[/red]: {escape(str(details.get('Message', error)))}"
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return f"[red]Error[/red]: {NO_CREDENTIALS}"
    if isinstance(error, BotoCoreError):
        return f"[red]AWS error[/red]: {escape(str(error))}"
    return f"[red]Error[/red]: {escape(str(error))}"
