"""LocalSageMakerRuntimeClient: `invoke_endpoint` and `invoke_endpoint_async` against the local endpoint servers
through the REAL botocore client, so requests and responses (and ModelError, ValidationError) go through botocore's
serializer and parser (§3, §7)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

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
        """The same keyword arguments and response as boto3's InvokeEndpoint (Body is a StreamingBody). A container
        that dies before it answers is SageMaker's ModelError with OriginalStatusCode 0, as the service reports it."""
        name = str(request.get("EndpointName", ""))
        client = self._client(self._url(name, "InvokeEndpoint"))
        try:
            return client.invoke_endpoint(**request)
        except ConnectionClosedError:
            raise no_response(client, name, request.get("TargetVariant")) from None

    def invoke_endpoint_async(self, **request: Any) -> dict:
        """The same keyword arguments and response as boto3's InvokeEndpointAsync (InferenceId, OutputLocation,
        FailureLocation); the input is read from InputLocation in the local S3 folder."""
        url = self._url(str(request.get("EndpointName", "")), "InvokeEndpointAsync")
        return self._client(url).invoke_endpoint_async(**request)


def no_response(client: Any, endpoint: str, variant: str | None) -> ClientError:
    """The ModelError SageMaker answers when the container closes the connection without a response (it crashed)."""
    original = (
        f"Amazon SageMaker could not get a response from the {endpoint} endpoint. The model server process died "
        f"while handling the request: server.log in the local executor's endpoints/{endpoint}/ folder says why."
    )
    message = f'Received server error (0) from {variant or "the model"} with message "{original}".'
    error = {
        "Error": {"Code": "ModelError", "Message": message},
        "OriginalStatusCode": 0,
        "OriginalMessage": original,
        "ResponseMetadata": {"HTTPStatusCode": 424},
    }
    return client.exceptions.ModelError(error, "InvokeEndpoint")
