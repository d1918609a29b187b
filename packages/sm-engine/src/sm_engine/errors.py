"""Every error the engine raises, under one base, SmEngineError; each branch carries what its handler needs.

- UserError: a mistake the user can fix (configuration, request, storage, image); the CLI prints the message alone.
- ServiceError: a SageMaker API error with the service's error code and HTTP status; the local client raises it to
  boto3 callers as the botocore ClientError that boto3 raises (ServiceError.client_error, the one place it is built).
- JobError: a local job cannot be set up or fails; the message becomes the job's FailureReason.
- ServingError: an HTTP answer of the local serving stack (status and message); a PayloadError, so that the
  container-side refusals (sm_runtime) and the engine's map to a response by one type.
- EndpointError: a local endpoint cannot start or read a request.
- ArchiveError: an archive that cannot be extracted safely.

The module-level names stay importable from where they were defined before (config.ConfigError and the like).
"""

from __future__ import annotations

from typing import ClassVar

from botocore.exceptions import ClientError

from sm_runtime.errors import PayloadError


class SmEngineError(Exception):
    """Base of every error the engine raises."""


# -- what the user can fix ---------------------------------------------------------------------------------------------


class UserError(SmEngineError):
    """A mistake the user can fix; the message says what and how, and is shown without a traceback."""


class ConfigError(UserError):
    """config/project.yaml cannot be used; the message says which key and why."""


class RequestError(UserError, ValueError):
    """The configuration cannot be turned into a valid SageMaker request."""


class StorageError(UserError):
    """An S3 location is malformed or missing."""


# -- SageMaker API errors ----------------------------------------------------------------------------------------------


class ServiceError(SmEngineError):
    """An error of the SageMaker API: the service's error `code`, the HTTP `status` and a message."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def client_error(self, operation: str) -> ClientError:
        """The ClientError boto3 raises for this error, built as botocore builds it from the service's response."""
        response = {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        return ClientError(response, operation)  # type: ignore[arg-type]


class ValidationException(ServiceError):
    """The request is invalid, or names a resource the service does not find (SageMaker says so for most)."""

    code = "ValidationException"
    status = 400


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"
    status = 400


class ResourceInUse(ServiceError):
    code = "ResourceInUse"
    status = 400


# -- local jobs, serving and archives ----------------------------------------------------------------------------------


class JobError(SmEngineError):
    """A local job cannot be set up or fails; the message becomes its FailureReason."""


class ServingError(SmEngineError, PayloadError):
    """Answered with `status` and `{"error": message}` by the local serving stack."""


class EndpointError(SmEngineError):
    """A local endpoint cannot start (a model container that cannot load, a server that does not come up)."""


class ArchiveError(SmEngineError):
    """An archive that cannot be extracted safely."""
