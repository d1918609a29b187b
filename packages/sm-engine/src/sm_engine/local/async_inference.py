"""Asynchronous invocations of a local endpoint (contract §7): InvokeEndpointAsync's input read from S3, the result
written to `<S3OutputPath>/<inference id>.out`, or the error to `<S3FailurePath>/<inference id>-error.out`.

The endpoint server answers 202 at once and hands the work to an `AsyncInvoker`: a thread pool in each server worker,
bounded across all workers by one semaphore of MaxConcurrentInvocationsPerInstance (created in the server's master
process before the workers fork); requests beyond it wait in the queue, as on the service.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..storage import LocalStorage, S3Uri, StorageError, s3_join
from .containers import Response

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4
MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024 * 1024  # 1 GB (contract §7)
Invoke = Callable[[bytes, str | None, str | None], tuple[str, Response]]


class AsyncRequestError(UserError, ValueError):
    """The request cannot be queued (bad input location, bad names); the message is the ValidationError's."""


@dataclass(frozen=True)
class AsyncRequest:
    """One queued invocation: where its input is, where its result or error goes."""

    inference_id: str
    input_location: str
    output_location: str
    failure_location: str
    content_type: str | None
    accept: str | None


def concurrency_of(config: dict[str, Any]) -> int:
    """MaxConcurrentInvocationsPerInstance of an AsyncInferenceConfig (the service's default: 4)."""
    return int((config.get("ClientConfig") or {}).get("MaxConcurrentInvocationsPerInstance") or DEFAULT_CONCURRENCY)


def _object_name(value: str, what: str) -> str:
    if not value or "/" in value or value in (".", ".."):
        raise AsyncRequestError(f"{what} {value!r} must be a non-empty name without '/'")
    return value


class AsyncInvoker:
    """Queues InvokeEndpointAsync requests and runs them through `invoke(body, content_type, accept)`."""

    def __init__(self, config: dict[str, Any], storage_root: Path, invoke: Invoke, semaphore: Any = None) -> None:
        output = config.get("OutputConfig") or {}
        self.output_path = str(output.get("S3OutputPath", ""))
        self.failure_path = str(output.get("S3FailurePath") or self.output_path)
        self.storage = LocalStorage(storage_root)
        self.invoke = invoke
        self.semaphore = semaphore or threading.BoundedSemaphore(concurrency_of(config))
        self.pool = ThreadPoolExecutor(max_workers=concurrency_of(config), thread_name_prefix="async-invocation")

    def request(self, headers: dict[str, str]) -> AsyncRequest:
        """An AsyncRequest from the runtime headers (X-Amzn-SageMaker-*); AsyncRequestError when unusable."""
        location = headers.get("InputLocation") or ""
        try:
            S3Uri.parse(location)
        except StorageError:
            raise AsyncRequestError(f"InputLocation {location!r} is not an S3 URI such as s3://bucket/key") from None
        inference_id = _object_name(headers.get("InferenceId") or str(uuid.uuid4()), "InferenceId")
        filename = _object_name(headers.get("Filename") or f"{inference_id}.out", "Filename")
        extension = headers.get("S3OutputPathExtension") or ""
        output_prefix = s3_join(self.output_path, extension) if extension else self.output_path
        return AsyncRequest(
            inference_id=inference_id,
            input_location=location,
            output_location=s3_join(output_prefix, filename),
            failure_location=s3_join(self.failure_path, f"{inference_id}-error.out"),
            content_type=headers.get("ContentType"),
            accept=headers.get("Accept"),
        )

    def submit(self, request: AsyncRequest) -> None:
        """Queue the request; it runs once a slot of MaxConcurrentInvocationsPerInstance is free."""
        self.pool.submit(self._run, request)

    def _run(self, request: AsyncRequest) -> None:
        with self.semaphore:
            try:
                self._complete(request)
            except Exception:  # the request must end in S3 either way
                logger.exception("async invocation %s failed", request.inference_id)
                self._fail(request, "internal error while running the invocation (see the server log)")

    def _complete(self, request: AsyncRequest) -> None:
        try:
            body = self.storage.read_bytes(request.input_location)
        except StorageError as error:
            self._fail(request, f"cannot read the input: {error}")
            return
        if len(body) > MAX_ASYNC_PAYLOAD_BYTES:
            self._fail(request, f"the input is larger than {MAX_ASYNC_PAYLOAD_BYTES} bytes")
            return
        variant, response = self.invoke(body, request.content_type, request.accept)
        if response.status != 200:
            message = response.body.decode("utf-8", "replace")
            self._fail(request, f"Received {response.status} from {variant} with message {message}")
            return
        self.storage.upload_bytes(response.body, request.output_location)
        logger.info("async invocation %s answered by %s: %s", request.inference_id, variant, request.output_location)

    def _fail(self, request: AsyncRequest, message: str) -> None:
        body = json.dumps({"error": message, "inferenceId": request.inference_id}).encode()
        self.storage.upload_bytes(body, request.failure_location)
        logger.warning("async invocation %s failed: %s", request.inference_id, message)
