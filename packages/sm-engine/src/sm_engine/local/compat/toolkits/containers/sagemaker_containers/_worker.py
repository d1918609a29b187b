"""The response object of the serving stack (sagemaker_containers/_worker.py: a flask.Response subclass).

A handler (output_fn or transform_fn) may return one: the server answers its body, status and mimetype as is.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from sagemaker_containers import _content_types


class Response:
    """`Response(response, accept=None, status=200, headers=None, mimetype=None)`, as flask.Response takes them."""

    default_mimetype = _content_types.JSON

    def __init__(
        self,
        response: str | bytes | Iterable[str | bytes] | None = None,
        accept: str | None = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        mimetype: str | None = None,
        direct_passthrough: bool = False,
    ) -> None:
        if accept:
            warnings.warn('ignoring deprecated "accept" argument to Response.__init__', DeprecationWarning, 2)
        self.status_code = int(status)
        self.headers = dict(headers or {})
        self.mimetype = mimetype or self.headers.get("Content-Type") or self.default_mimetype
        self.direct_passthrough = direct_passthrough
        self._body = self._encode(response)

    @staticmethod
    def _encode(response: str | bytes | Iterable[str | bytes] | None) -> bytes:
        if response is None:
            return b""
        if isinstance(response, str | bytes | bytearray):
            response = [response]
        return b"".join(part.encode("utf-8") if isinstance(part, str) else bytes(part) for part in response)

    @property
    def content_type(self) -> str:
        return self.mimetype

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self._body.decode("utf-8") if as_text else self._body
