"""Error types of the inference toolkit (as sagemaker_inference/errors.py).

The toolkit answers a BaseInferenceToolkitError with its status_code and any other exception of a handler with 500.
"""

from __future__ import annotations


class UnsupportedFormatError(Exception):
    """A content type no encoder or decoder handles (a 500 unless a handler turns it into a toolkit error)."""

    def __init__(self, content_type: str, **kwargs: object) -> None:
        self._message = (
            f"Content type {content_type} is not supported by this framework.\n"
            "Please implement input_fn to to deserialize the request data or an output_fn to\n"
            "serialize the response. For more information, see the SageMaker Python SDK README."
        )
        super().__init__(self._message, **kwargs)


class BaseInferenceToolkitError(Exception):
    """An inference failure answered with `status_code`; `message` and `phrase` go to the client."""

    def __init__(self, status_code: int, message: str, phrase: str) -> None:
        self.status_code = status_code
        self.message = message
        self.phrase = phrase
        super().__init__(status_code, message, phrase)


class GenericInferenceToolkitError(BaseInferenceToolkitError):
    """BaseInferenceToolkitError with the message defaulting to "Invalid Request" and the phrase to the message."""

    def __init__(self, status_code: int, message: str | None = None, phrase: str | None = None) -> None:
        message = message or "Invalid Request"
        super().__init__(status_code, message, phrase or message)
