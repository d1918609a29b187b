"""Lambda handler behind API Gateway (REST proxy integration, contract §8): POST a payload, get predictions.

Deployed entry point: `app.lambda_handler`; environment ENDPOINT_NAME names the SageMaker endpoint. The request body
(text/csv or application/json, base64 when API Gateway says so) goes unchanged to `InvokeEndpoint`; the answer comes
back with its content type. For an asynchronous endpoint (environment ASYNC_INPUT_PREFIX, an s3:// prefix), the body
is put under that prefix, `InvokeEndpointAsync` queues it, and the answer is 202 with the S3 locations where the
result (or the error) will appear. Failures become clean JSON errors `{"error": "..."}`; details go to the logs only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import uuid
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

logger = logging.getLogger(__name__)

CSV = "text/csv"
JSON = "application/json"
SUPPORTED_TYPES = (CSV, JSON)
MAX_BODY_BYTES = 6 * 1024 * 1024  # the endpoint's request limit (contract §3)
MAX_MESSAGE_CHARS = 500
CLIENT_CONFIG = Config(connect_timeout=1, read_timeout=12, retries={"mode": "standard", "total_max_attempts": 2})
"""Two attempts of at most 13 s (plus backoff) end before API Gateway's 29 s and the function's 30 s, so that a slow
endpoint gets this handler's own 504 rather than the gateway's bare timeout."""


class RequestError(Exception):
    """A request refused before it reaches the endpoint."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@functools.cache
def runtime_client() -> Any:
    """The SageMaker runtime client, created on the first request and reused by the warm container."""
    return boto3.client("sagemaker-runtime", config=CLIENT_CONFIG)


@functools.cache
def s3_client() -> Any:
    """The S3 client of asynchronous requests, created on the first one."""
    return boto3.client("s3", config=CLIENT_CONFIG)


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The function's entry point."""
    endpoint_name = os.environ.get("ENDPOINT_NAME")
    if not endpoint_name:
        logger.error("the environment variable ENDPOINT_NAME is not set")
        return error_response(500, "the prediction service is not configured")
    input_prefix = os.environ.get("ASYNC_INPUT_PREFIX")
    if input_prefix is not None:
        if not input_prefix.startswith("s3://") or len(input_prefix) <= len("s3://"):
            logger.error("ASYNC_INPUT_PREFIX %r is not an s3:// prefix", input_prefix)
            return error_response(500, "the prediction service is not configured")
        return handle_async(event, runtime_client(), s3_client(), endpoint_name, input_prefix)
    return handle(event, runtime_client(), endpoint_name)


def handle(event: dict[str, Any], runtime: Any, endpoint_name: str) -> dict[str, Any]:
    """One API Gateway proxy event -> one proxy response, using `runtime` to call the endpoint."""

    def invoke() -> dict[str, Any]:
        request = parse_request(event)
        response = runtime.invoke_endpoint(EndpointName=endpoint_name, **request)
        body = response["Body"].read().decode("utf-8", errors="replace")
        return {"statusCode": 200, "headers": {"Content-Type": response.get("ContentType") or JSON}, "body": body}

    return guarded(invoke)


def handle_async(event: dict[str, Any], runtime: Any, s3: Any, endpoint_name: str, input_prefix: str) -> dict[str, Any]:
    """One event -> the payload put under `input_prefix`, InvokeEndpointAsync, 202 with the result's locations."""

    def invoke() -> dict[str, Any]:
        request = parse_request(event)
        bucket, _, prefix = input_prefix.removeprefix("s3://").partition("/")
        key = "/".join(part for part in (prefix.strip("/"), uuid.uuid4().hex) if part)
        s3.put_object(Bucket=bucket, Key=key, Body=request["Body"], ContentType=request["ContentType"])
        response = runtime.invoke_endpoint_async(
            EndpointName=endpoint_name,
            InputLocation=f"s3://{bucket}/{key}",
            ContentType=request["ContentType"],
            Accept=request["Accept"],
        )
        body = {
            "inferenceId": response.get("InferenceId"),
            "outputLocation": response.get("OutputLocation"),
            "failureLocation": response.get("FailureLocation"),
        }
        return {"statusCode": 202, "headers": {"Content-Type": JSON}, "body": json.dumps(body)}

    return guarded(invoke)


def guarded(invoke: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The response of `invoke`, or the clean error response of whatever it raised."""
    try:
        return invoke()
    except RequestError as error:
        return error_response(error.status, error.message, error.headers)
    except ClientError as error:
        return client_error_response(error)
    except (ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError):
        logger.exception("the endpoint did not answer in time")
        return error_response(504, "the prediction service did not answer in time; retry later")
    except Exception:
        logger.exception("unexpected failure")
        return error_response(500, "internal error")


# -- request -------------------------------------------------------------------------------------------------------


def parse_request(event: dict[str, Any]) -> dict[str, Any]:
    """The InvokeEndpoint arguments (ContentType, Accept, Body) of a valid event; RequestError otherwise."""
    http_api_method = ((event.get("requestContext") or {}).get("http") or {}).get("method")  # HTTP API (v2) events
    method = str(event.get("httpMethod") or http_api_method or "").upper()
    if method != "POST":
        raise RequestError(405, "use POST", {"Allow": "POST"})
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    content_type = media_type(headers.get("content-type", ""))
    if content_type not in SUPPORTED_TYPES:
        shown = headers.get("content-type") or "none"
        raise RequestError(415, f"unsupported Content-Type {shown!r}: send {CSV} or {JSON}")
    body = request_body(event)
    if content_type == JSON:
        check_json(body)
    return {"ContentType": content_type, "Accept": negotiate_accept(headers.get("accept")), "Body": body}


def media_type(header: str) -> str:
    return header.split(";")[0].strip().lower()


def request_body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None or body == "":
        raise RequestError(400, "the request has no body: send rows as text/csv or application/json")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise RequestError(400, "the body is marked base64 but is not valid base64") from None
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise RequestError(413, f"the body is {len(data)} bytes; the limit is {MAX_BODY_BYTES} bytes")
    if not data.strip():
        raise RequestError(400, "the request body is empty")
    return data


def check_json(body: bytes) -> None:
    try:
        json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise RequestError(400, f"the body is not valid JSON: {error}") from None


def negotiate_accept(header: str | None) -> str:
    """The response type: the first supported type of the Accept header with the highest q; default JSON."""
    if not header or not header.strip():
        return JSON
    candidates = []
    for position, item in enumerate(header.split(",")):
        kind, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        choice = {"*/*": JSON, "application/*": JSON, "text/*": CSV}.get(kind.lower(), kind.lower())
        if choice in SUPPORTED_TYPES and quality > 0:
            candidates.append((-quality, position, choice))
    if not candidates:
        raise RequestError(406, f"unsupported Accept {header!r}: ask for {CSV} or {JSON}")
    return min(candidates)[2]


# -- responses -----------------------------------------------------------------------------------------------------


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON, **(headers or {})},
        "body": json.dumps({"error": message}),
    }


def client_error_response(error: ClientError) -> dict[str, Any]:
    """Map a runtime service error to a status and a message that names nothing internal."""
    code = error.response.get("Error", {}).get("Code", "")
    logger.warning("InvokeEndpoint failed: %s", error)
    if code == "ModelError":
        original_status = int(error.response.get("OriginalStatusCode") or 0)
        if 400 <= original_status < 500:
            return error_response(400, model_message(error.response.get("OriginalMessage")))
        return error_response(502, "the model failed to answer")
    if code == "ValidationError":
        message = error.response.get("Error", {}).get("Message", "")
        if "not found" in message.lower():
            return error_response(404, "the prediction endpoint does not exist")
        return error_response(400, "the prediction endpoint rejected the request")
    if code in ("ThrottlingException", "ModelNotReadyException"):
        return error_response(429, "too many requests; retry later", {"Retry-After": "1"})
    if code == "ServiceUnavailable":
        return error_response(503, "the prediction service is unavailable; retry later")
    return error_response(500, "internal error")


def model_message(original: object) -> str:
    """The container's own message (its JSON `error` field, or its text), if it is short and not a traceback."""
    text = str(original or "").strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict) and isinstance(decoded.get("error"), str):
        text = decoded["error"].strip()
    if not text or "Traceback" in text or len(text) > MAX_MESSAGE_CHARS:
        return "the model rejected the request"
    return text
