"""LocalSageMakerRuntimeClient: `invoke_endpoint` and `invoke_endpoint_async` against the local endpoint servers
through the REAL botocore client, so requests and responses (and ModelError, ValidationError) go through botocore's
serializer and parser (§3, §7)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .endpoint_server import ACCOUNT


class LocalSageMakerRuntimeClient:
    """A drop-in for `boto3.client("sagemaker-runtime")`; `endpoint_url(name)` is a running endpoint's URL or None."""

    def __init__(self, endpoint_url: Callable[[str], str | None], region: str = "us-east-1") -> None:
        self._endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, url: str) -> Any:
        with self._lock:
            if url not in self._clients:
                self._clients[url] = boto3.session.Session().client(
                    "sagemaker-runtime",
                    endpoint_url=url,
                    region_name=self.region,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=Config(retries={"max_attempts": 1}, read_timeout=70, connect_timeout=5),
                )
            return self._clients[url]

    def _url(self, name: str, operation: str) -> str:
        url = self._endpoint_url(name)
        if url is None:
            message = f"Endpoint {name} of account {ACCOUNT} not found."
            error = {
                "Error": {"Code": "ValidationError", "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(error, operation)
        return url

    def invoke_endpoint(self, **request: Any) -> dict:
        """The same keyword arguments and response as boto3's InvokeEndpoint (Body is a StreamingBody)."""
        url = self._url(str(request.get("EndpointName", "")), "InvokeEndpoint")
        return self._client(url).invoke_endpoint(**request)

    def invoke_endpoint_async(self, **request: Any) -> dict:
        """The same keyword arguments and response as boto3's InvokeEndpointAsync (InferenceId, OutputLocation,
        FailureLocation); the input is read from InputLocation in the local S3 folder."""
        url = self._url(str(request.get("EndpointName", "")), "InvokeEndpointAsync")
        return self._client(url).invoke_endpoint_async(**request)
