"""Error types of the serving stack (as sagemaker_containers/_errors.py)."""

from __future__ import annotations


class ClientError(Exception):
    """A failure of user code; the transformer wraps every exception of a user handler in it."""


class UnsupportedFormatError(Exception):
    """A content type no encoder or decoder handles."""

    def __init__(self, content_type: str, **kwargs: object) -> None:
        self.message = (
            f"Content type {content_type} is not supported by this framework.\n"
            "Please implement input_fn to to deserialize the request data or an output_fn to\n"
            "serialize the response. For more information, see the SageMaker Python SDK README."
        )
        super().__init__(self.message, **kwargs)
