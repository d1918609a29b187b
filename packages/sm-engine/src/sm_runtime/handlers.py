"""A handler module's `transform_fn`, built from its three steps, that answers a PayloadError with its own status.

The framework images answer an exception of a handler with 500 unless the handler speaks their serving toolkit:
- scikit-learn and XGBoost images (sagemaker_containers): every exception of a user handler becomes a ClientError,
  a 500; a `worker.Response` that transform_fn returns passes through with its status;
- PyTorch image (sagemaker_inference): a `BaseInferenceToolkitError` raised by a handler is answered with its
  status_code, any other exception with 500.
`transform_fn(read, predict, encode)` turns a PayloadError into the form of the toolkit present (found by import, when
the module defines its transform_fn: the images import their toolkit before the user module; the local containers
put the same toolkits on the path); outside any container the PayloadError propagates. A module defines transform_fn
alone: the images refuse it together with input_fn, predict_fn or output_fn.

Local limit: the containers of one local process share its imports, so a PyTorch container loaded after a
scikit-learn one answers through `worker.Response`; the status and body are the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .errors import PayloadError

JSON = "application/json"
TransformFn = Callable[[Any, Any, str | None, str | None], Any]


def _containers_answer() -> Callable[[PayloadError], Any] | None:
    """A PayloadError as a sagemaker_containers Response (JSON `{"error": message}`), when that toolkit is here."""
    try:
        from sagemaker_containers.beta.framework import worker
    except ImportError:
        return None

    def answer(error: PayloadError) -> Any:
        body = json.dumps({"error": error.message})
        return worker.Response(response=body, status=error.status, mimetype=JSON)

    return answer


def _inference_toolkit_error() -> Callable[[PayloadError], Exception] | None:
    """A PayloadError as sagemaker_inference's GenericInferenceToolkitError, when that toolkit is here."""
    try:
        from sagemaker_inference.errors import GenericInferenceToolkitError
    except ImportError:
        return None
    return lambda error: GenericInferenceToolkitError(error.status, error.message)


def transform_fn(
    read: Callable[[Any, str | None], Any],
    predict: Callable[[Any, Any], Any],
    encode: Callable[[Any, str | None], Any],
) -> TransformFn:
    """`transform_fn(model, body, content_type, accept)`: encode(predict(read(body, content_type), model), accept),
    with a PayloadError answered as the serving toolkit present answers a client error (module docstring)."""
    answer = _containers_answer()
    toolkit_error = None if answer else _inference_toolkit_error()

    def transform(model: Any, body: Any, content_type: str | None, accept: str | None) -> Any:
        try:
            return encode(predict(read(body, content_type), model), accept)
        except PayloadError as error:
            if answer is not None:
                return answer(error)
            if toolkit_error is not None:
                raise toolkit_error(error) from error
            raise

    return transform
