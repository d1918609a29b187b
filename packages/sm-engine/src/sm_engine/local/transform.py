"""Batch transform (contract §5): split, batch, send to a temporary model server, join, filter and assemble."""

from __future__ import annotations

import contextlib
import csv
import functools
import gzip
import http.client
import io
import itertools
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import JobError
from ..storage import LocalStorage, S3Uri, s3_join
from . import endpoint_server, jobs, jsonpath, pinned_env
from .containers import CSV, JSON, media_type
from .own_image import OwnImages
from .state import now

MB = 1024 * 1024
DEFAULT_PAYLOAD_MB = 6
MAX_TOTAL_PAYLOAD_MB = 100
KILL_WAIT_S = 1.0
KILL_POLL_S = 0.002
JSON_TYPES = (JSON, "application/jsonlines", "application/x-jsonlines")


class TransformError(JobError):
    """The transform job failed; the message is its FailureReason."""


@dataclass(frozen=True)
class Settings:
    split: str
    strategy: str
    max_payload: int
    concurrency: int
    content_type: str | None
    accept: str | None
    assemble: str
    input_filter: str
    output_filter: str
    join: bool
    compressed: bool
    timeout_s: int

    @property
    def processing(self) -> bool:
        return self.join or self.input_filter != "$" or self.output_filter != "$"

    @property
    def json_records(self) -> bool:
        return media_type(self.content_type) in JSON_TYPES


def settings_from(request: dict) -> Settings:
    """Read and check the request's TransformInput, TransformOutput, batching and DataProcessing settings."""
    source = request["TransformInput"]
    output = request["TransformOutput"]
    processing = request.get("DataProcessing") or {}
    payload_mb = int(request.get("MaxPayloadInMB", DEFAULT_PAYLOAD_MB)) or MAX_TOTAL_PAYLOAD_MB
    concurrency = int(request.get("MaxConcurrentTransforms") or min(4, os.cpu_count() or 1))
    split = source.get("SplitType", "None")
    settings = Settings(
        split=split,
        strategy=request.get("BatchStrategy", "MultiRecord" if split != "None" else "SingleRecord"),
        max_payload=payload_mb * MB,
        concurrency=max(1, concurrency),
        content_type=source.get("ContentType"),
        accept=output.get("Accept"),
        assemble=output.get("AssembleWith", "None"),
        input_filter=processing.get("InputFilter", "$"),
        output_filter=processing.get("OutputFilter", "$"),
        join=processing.get("JoinSource", "None") == "Input",
        compressed=source.get("CompressionType", "None") == "Gzip",
        timeout_s=int((request.get("ModelClientConfig") or {}).get("InvocationsTimeoutInSeconds", 600)),
    )
    problems = []
    if settings.split not in ("None", "Line"):
        problems.append(f"SplitType {settings.split} is not supported locally (use None or Line)")
    if settings.strategy == "MultiRecord" and settings.split == "None":
        problems.append("BatchStrategy MultiRecord needs a SplitType other than None")
    if settings.concurrency * payload_mb > MAX_TOTAL_PAYLOAD_MB:
        problems.append(f"MaxConcurrentTransforms x MaxPayloadInMB must be at most {MAX_TOTAL_PAYLOAD_MB}")
    if settings.processing and not settings.split == settings.assemble == "Line":
        problems.append("InputFilter, OutputFilter and JoinSource need SplitType Line and AssembleWith Line")
    for path in (settings.input_filter, settings.output_filter):
        try:
            jsonpath.parse(path)
        except jsonpath.JsonPathError as error:
            problems.append(str(error))
    if source["DataSource"]["S3DataSource"].get("S3DataType", "S3Prefix") != "S3Prefix":
        problems.append("only S3DataType S3Prefix is supported locally")
    if problems:
        raise TransformError("; ".join(problems))
    return settings


def input_objects(prefix: str, storage: LocalStorage) -> list[tuple[str, str]]:
    """(uri, path relative to the prefix's folder) of every object under the S3Prefix."""
    key = S3Uri.parse(prefix).key
    base, folder = key.rstrip("/"), key[: key.rfind("/") + 1]
    objects = []
    for uri in storage.list_uris(prefix):
        object_key = S3Uri.parse(uri).key
        inside = bool(base) and object_key.startswith(base + "/")
        relative = object_key[len(base) + 1 :] if inside else object_key[len(folder) :]
        objects.append((uri, relative))
    return objects


# --- records and payloads ------------------------------------------------------------------------------------------


def split_records(data: bytes) -> list[bytes]:
    return [line.rstrip(b"\r") for line in data.split(b"\n") if line.strip()]


REQUESTS_PER_CONCURRENT_TRANSFORM = 4
"""Mini-batches per MaxConcurrentTransforms at least: every worker busy, the replies joined while later ones are still
being computed, and a worker that starts late takes fewer of them (the results do not depend on the batch size)."""


def batch_limit(records: list[bytes], settings: Settings) -> int:
    """The bytes of one mini-batch of these records (see payload_limit)."""
    return payload_limit(sum(map(len, records)) + len(records), settings)


def payload_limit(total: int, settings: Settings) -> int:
    """The bytes of one mini-batch of `total` bytes of records: MaxPayloadInMB, or less so that they make at least
    REQUESTS_PER_CONCURRENT_TRANSFORM x MaxConcurrentTransforms requests of about the same size."""
    return max(1, min(settings.max_payload, -(-total // (settings.concurrency * REQUESTS_PER_CONCURRENT_TRANSFORM))))


def batches(records: list[bytes], settings: Settings, name: str) -> Iterator[list[bytes]]:
    """Mini-batches of records (one per request) that fit MaxPayloadInMB, spread over MaxConcurrentTransforms
    requests at least (batch_limit); a record over MaxPayloadInMB fails the job."""
    limit = batch_limit(records, settings)
    batch: list[bytes] = []
    size = 0
    for record in records:
        if len(record) > settings.max_payload:
            raise TransformError(f"{name}: a record of {len(record)} bytes exceeds MaxPayloadInMB")
        if settings.strategy == "SingleRecord":
            yield [record]
            continue
        if batch and size + len(record) + 1 > limit:
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record) + 1
    if batch:
        yield batch


BLANK_LINE = re.compile(rb"(?:^|\n)[ \t\x0b\x0c]*(?:\n|$)")


def has_blank_line(body: bytes) -> bool:
    """Whether a line of `body` is empty or whitespace (split_records drops such lines); the regular expression only
    runs when `body` holds a space or tab at all."""
    if body.startswith(b"\n") or body.endswith(b"\n") or b"\n\n" in body:
        return True
    return any(space in body for space in (b" ", b"\t", b"\x0b", b"\x0c")) and BLANK_LINE.search(body) is not None


def plain_payloads(data: bytes, settings: Settings, name: str) -> tuple[list[bytes], int] | None:
    """The MultiRecord requests of an object without carriage returns or blank lines, cut from its bytes at line
    ends: the payloads and record count that split_records + batches give, without a bytes object per record; None
    for any other object."""
    body = data[:-1] if data.endswith(b"\n") else data
    if not body or b"\r" in body or has_blank_line(body):
        return None
    limit = payload_limit(len(body) + 1, settings)
    payloads, start = [], 0
    while start < len(body):
        end = len(body) if len(body) - start < limit else body.rfind(b"\n", start, start + limit)
        if end < start:  # a record longer than the limit: a request of its own
            end = body.find(b"\n", start)
            end = len(body) if end < 0 else end
            if end - start > settings.max_payload:
                raise TransformError(f"{name}: a record of {end - start} bytes exceeds MaxPayloadInMB")
        payloads.append(body[start:end])
        start = end + 1
    return payloads, body.count(b"\n") + 1


def _cells(value: Any) -> list:
    return value if isinstance(value, list) else [value]


class RecordCodec:
    """Parses and writes records in bulk for the filters: CSV rows are JSON arrays, JSON records are values."""

    def __init__(self, json_records: bool) -> None:
        self.json_records = json_records

    def parse_inputs(self, records: list[bytes]) -> list[Any]:
        try:
            if self.json_records:
                return [json.loads(record) for record in records]
            return list(csv.reader(b"\n".join(records).decode("utf-8").split("\n")))
        except (ValueError, UnicodeDecodeError, csv.Error) as error:
            raise TransformError(f"cannot parse the input records: {error}") from None

    def write(self, values: list[Any]) -> list[bytes]:
        """One encoded record per value (CSV rows through one csv.writer)."""
        if self.json_records:
            return [json.dumps(value).encode() for value in values]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(_cells(value) for value in values)
        return [line.encode() for line in buffer.getvalue().split("\n")[:-1]]

    @staticmethod
    def parse_outputs(lines: list[str], csv_output: bool) -> list[Any]:
        if csv_output:
            return list(csv.reader(lines))
        values = []
        for line in lines:
            try:
                values.append(json.loads(line))
            except ValueError:
                values.append(line)
        return values

    def join(self, source: Any, output: Any) -> Any:
        if not self.json_records:
            return [*source, *_cells(output)]
        if isinstance(source, dict):
            return {**source, "SageMakerOutput": output}
        return {"SageMakerInput": source, "SageMakerOutput": output}


def split_outputs(body: bytes, count: int, csv_output: bool) -> list[Any]:
    """One output value per input record of a request (lines, or the items of one JSON array)."""
    text = body.decode("utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) == count:
        return RecordCodec.parse_outputs(lines, csv_output)
    if not csv_output:
        try:
            values = json.loads(text)
        except ValueError:
            values = None
        if isinstance(values, list) and len(values) == count:
            return values
    raise TransformError(f"the model returned {len(lines)} output records for {count} input records")


LINE_BREAKING_SPACES = tuple(space for space in map(chr, range(128)) if space.isspace() and space != "\n")
"""The ASCII characters besides the newline that str.splitlines splits at or str.strip removes."""


def output_lines(text: str, count: int) -> list[str]:
    """The non-blank lines of a CSV reply, one per input record (split_outputs' rule): split at newlines at once
    when the reply is ASCII without another space or line break and without an empty line."""
    body = text[:-1] if text.endswith("\n") else text
    plain = body and text.isascii() and not any(space in text for space in LINE_BREAKING_SPACES)
    if plain and not body.startswith("\n") and "\n\n" not in body:
        lines = body.split("\n")
    else:
        lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != count:
        raise TransformError(f"the model returned {len(lines)} output records for {count} input records")
    return lines


def plain_lines(data: bytes) -> list[str] | None:
    """The object's records (split_records) as text lines when it has no quote, carriage return or blank line, else
    None."""
    body = data[:-1] if data.endswith(b"\n") else data
    if not body or b'"' in body or b"\r" in body or has_blank_line(body):
        return None
    try:
        return body.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None


def csv_columns(path: str, lines: list[str]) -> list[int] | None:
    """The columns that an InputFilter selects from every line, when all lines have the same number of fields and
    the path picks two or more of them (one field alone may need quoting); else None."""
    widths = set(map(str.count, lines, itertools.repeat(",")))
    if len(widths) != 1:
        return None
    try:
        selected = jsonpath.apply(path, list(range(widths.pop() + 1)))
    except jsonpath.JsonPathError:
        return None
    plain = isinstance(selected, list) and len(selected) >= 2 and all(type(column) is int for column in selected)
    return selected if plain else None


def selected_fields(lines: list[str], columns: list[int]) -> list[str]:
    """The `columns` of lines that all have the same number of fields (csv_columns), each line's selected fields
    joined by commas: cut from the line's text when the columns are a run to its end or from its start."""
    width = lines[0].count(",") + 1
    first, last = columns[0], columns[-1]
    if columns == list(range(first, last + 1)):
        if last == width - 1:
            return [line.split(",", first)[first] for line in lines] if first else lines
        if first == 0:
            return [line.rsplit(",", width - 1 - last)[0] for line in lines]
    fields = ",".join(lines).split(",")  # row by row; column c of every row is fields[c::width]
    return list(map(",".join, zip(*(fields[column::width] for column in columns), strict=True)))


# --- talking to the server -----------------------------------------------------------------------------------------


class LazyServer:
    """The temporary model server, started once the job's checks pass (a job that fails them never starts one)."""

    def __init__(self, spec: dict, run_dir: Path, log: Callable[[str], None]) -> None:
        self.spec, self.run_dir, self.log = spec, run_dir, log
        self.handle: endpoint_server.ServerHandle | None = None
        self.failure: TransformError | None = None
        self.lock = threading.Lock()

    def address(self) -> tuple[str, int]:
        with self.lock:
            if self.failure is not None:
                raise self.failure
            if self.handle is None:
                try:
                    self.handle = endpoint_server.start(self.spec, self.run_dir, log=self.log, warm_start=True)
                except (endpoint_server.EndpointServerError, OSError, ValueError) as error:
                    self.failure = TransformError(f"the model server did not start: {error}")
                    raise self.failure from None
                self.log(f"model server ready at {self.handle.url}")
            parts = urlsplit(self.handle.url)
            return parts.hostname or "127.0.0.1", parts.port or 80

    def start_soon(self) -> None:
        """Start the server in the background (the first object is read and split meanwhile); a failure is raised by
        the first request's `address()`."""

        def start() -> None:
            with contextlib.suppress(TransformError):
                self.address()

        threading.Thread(target=start, name="sm-transform-server-start", daemon=True).start()

    def stop(self) -> None:
        """Kill the server's process group at once: once the job has its replies, the server holds nothing (no data
        capture, no state), and a graceful stop would cost gunicorn's graceful timeout (3 s) per job."""
        with self.lock:
            if self.handle is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.handle.pid, signal.SIGKILL)
                deadline = time.monotonic() + KILL_WAIT_S  # it ends in milliseconds: a finer wait than stop()'s
                while endpoint_server.is_alive(self.handle.pid) and time.monotonic() < deadline:
                    time.sleep(KILL_POLL_S)
                endpoint_server.stop(self.handle.pid)


class Sender:
    """POST /invocations from several threads (one HTTP connection per thread)."""

    def __init__(self, server: LazyServer, settings: Settings) -> None:
        self.server = server
        self.invocation_timeout = settings.timeout_s  # the server's workers end a longer request (gunicorn timeout)
        self.timeout = settings.timeout_s + 5
        self.headers = {"Content-Type": settings.content_type or JSON}
        if settings.accept:
            self.headers["Accept"] = settings.accept
        self.local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "connection", None) is None:
            host, port = self.server.address()
            self.local.connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return self.local.connection

    def send(self, payload: bytes) -> tuple[int, bytes, str]:
        connection = self._connection()
        started = time.monotonic()
        try:
            connection.request("POST", "/invocations", body=payload, headers=self.headers)
            reply = connection.getresponse()
            body = reply.read()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            self.local.connection = None
            timed_out = self._timed_out(started)
            return self._failure(self._timeout_message() if timed_out else f"the model server did not answer: {error}")
        if reply.will_close:
            connection.close()
        if reply.status != 200 and self._timed_out(started):  # gunicorn's 500 for a worker it ended at the timeout
            return self._failure(self._timeout_message())
        return reply.status, body, reply.getheader("Content-Type") or ""

    def _timed_out(self, started: float) -> bool:
        return time.monotonic() - started >= self.invocation_timeout

    def _timeout_message(self) -> str:
        return f"the model did not answer within InvocationsTimeoutInSeconds ({self.invocation_timeout} s)"

    @staticmethod
    def _failure(message: str) -> tuple[int, bytes, str]:
        return 500, json.dumps({"error": message}).encode(), JSON


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace")[:500]


# --- the job -------------------------------------------------------------------------------------------------------


class ObjectTransformer:
    """Transforms one input object into the bytes of its .out object."""

    def __init__(self, settings: Settings, sender: Sender, pool: ThreadPoolExecutor) -> None:
        self.settings = settings
        self.sender = sender
        self.pool = pool
        self.codec = RecordCodec(settings.json_records)

    def _requests(self, name: str, payloads: list[bytes]) -> list[tuple[bytes, str]]:
        return list(self._replies(name, payloads))

    def _replies(self, name: str, payloads: list[bytes]) -> Iterator[tuple[bytes, str]]:
        """(body, content type) of each payload's reply, in order, each as soon as it is in (the requests all go
        out at once, MaxConcurrentTransforms at a time); an error reply raises."""
        for status, body, content_type in self.pool.map(self.sender.send, payloads):
            if status != 200:
                raise TransformError(f"{name}: the model answered {status}: {_error_message(body)}")
            yield body, content_type

    def transform(self, name: str, data: bytes) -> tuple[bytes, int]:
        """The assembled output and the number of records."""
        settings = self.settings
        if settings.split == "None":
            if len(data) > settings.max_payload:
                raise TransformError(f"{name}: the object of {len(data)} bytes exceeds MaxPayloadInMB")
            [(body, _)] = self._requests(name, [data])
            return (body.rstrip(b"\n") + b"\n" if settings.assemble == "Line" else body), 1
        if settings.strategy == "MultiRecord" and not settings.processing:
            plain = plain_payloads(data, settings, name)
            if plain is not None:
                payloads, count = plain
                return self._joined(self._requests(name, payloads)), count
        if settings.processing:
            fast = self._plain_csv(name, data)
            if fast is not None:
                return fast
        records = split_records(data)
        sources = self.codec.parse_inputs(records) if settings.processing else []
        if settings.input_filter != "$":
            records = self.codec.write([self._select(settings.input_filter, value) for value in sources])
        groups = list(batches(records, settings, name))
        replies = self._requests(name, [b"\n".join(group) for group in groups])
        if not settings.processing:
            return self._joined(replies), len(records)
        return self._assemble(sources, groups, replies), len(records)

    def _joined(self, replies: list[tuple[bytes, str]]) -> bytes:
        """The replies one after the other (AssembleWith None), or each ending in one newline (Line)."""
        if self.settings.assemble == "Line":
            return b"".join(body.rstrip(b"\n") + b"\n" for body, _ in replies if body.strip())
        return b"".join(body for body, _ in replies)

    def _assemble(self, sources: list[Any], groups: list[list[bytes]], replies: list[tuple[bytes, str]]) -> bytes:
        """Outputs split per record, joined with their sources, output-filtered, one line each."""
        settings = self.settings
        outputs: list[Any] = []
        for group, (body, content_type) in zip(groups, replies, strict=True):
            outputs.extend(split_outputs(body, len(group), media_type(content_type or settings.accept) == CSV))
        values = outputs
        if settings.join:
            values = [self.codec.join(source, output) for source, output in zip(sources, outputs, strict=True)]
        if settings.output_filter != "$":
            values = [self._select(settings.output_filter, value) for value in values]
        return b"".join(line + b"\n" for line in self.codec.write(values))

    def _plain_csv(self, name: str, data: bytes) -> tuple[bytes, int] | None:
        """The filters and the join on whole text lines for CSV without quotes (csv.reader splits such a line at
        every comma and csv.writer writes its fields back unchanged): the same bytes as the record-by-record path,
        without its per-record work. None, before any request, where that path is needed."""
        settings = self.settings
        if settings.json_records or settings.output_filter != "$" or media_type(settings.accept) != CSV:
            return None
        lines = plain_lines(data)
        if lines is None:
            return None
        sent = lines
        if settings.input_filter != "$":
            columns = csv_columns(settings.input_filter, lines)
            if columns is None:
                return None
            sent = selected_fields(lines, columns)
        body = "\n".join(sent).encode()
        cut = plain_payloads(body, settings, name) if settings.strategy == "MultiRecord" else None
        payloads = cut[0] if cut else [b"\n".join(group) for group in batches(body.split(b"\n"), settings, name)]
        replies = self._replies(name, payloads)
        received: list[tuple[bytes, str]] = []
        pieces: list[str] = []  # each reply's output lines, joined while the later replies are still coming
        done = 0  # the records answered so far
        for payload, (reply, content_type) in zip(payloads, replies, strict=True):
            received.append((reply, content_type))
            text = reply.decode("utf-8")
            if media_type(content_type or settings.accept) != CSV or '"' in text:
                received.extend(replies)
                groups = [payload.split(b"\n") for payload in payloads]
                return self._assemble(self.codec.parse_inputs(split_records(data)), groups, received), len(lines)
            count = payload.count(b"\n") + 1
            outputs = output_lines(text, count)
            if settings.join:
                outputs = list(map(",".join, zip(lines[done : done + count], outputs, strict=True)))
            pieces.append("\n".join(outputs) + "\n")
            done += count
        return "".join(pieces).encode(), len(lines)

    @staticmethod
    def _select(path: str, value: Any) -> Any:
        try:
            return jsonpath.apply(path, value)
        except jsonpath.JsonPathError as error:
            raise TransformError(str(error)) from None


def server_spec(
    request: dict,
    model_request: dict,
    storage: LocalStorage,
    settings: Settings,
    own_images: OwnImages | None = None,
    environments: pinned_env.Environments = pinned_env.HOST,
) -> dict:
    """The endpoint_server spec of the temporary model server, with the batch variables in every container."""
    batch_env = {
        **(request.get("Environment") or {}),
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(settings.max_payload // MB),
        "SAGEMAKER_BATCH_STRATEGY": "SINGLE_RECORD" if settings.strategy == "SingleRecord" else "MULTI_RECORD",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(settings.concurrency),
    }
    containers = model_request.get("Containers") or [model_request["PrimaryContainer"]]
    model = {"Containers": [c | {"Environment": {**(c.get("Environment") or {}), **batch_env}} for c in containers]}
    return {
        "endpoint_name": request["TransformJobName"],
        "host": "127.0.0.1",
        "port": 0,
        "workers": min(settings.concurrency, os.cpu_count() or 1),
        "serial_workers": True,
        "variants": [{"name": "AllTraffic", "weight": 1.0, "model": model}],
        "data_capture": None,
        "storage_root": str(storage.root.parent),
        "max_payload_bytes": settings.max_payload,
        "invocation_timeout_s": settings.timeout_s,
        "own_images": own_images or {},
        "environments": environments,
    }


def run_transform_job(
    request: dict,
    model_request: dict,
    storage: LocalStorage,
    work_dir: Path,
    log: Callable[[str], None],
    own_images: OwnImages | None = None,
    environments: pinned_env.Environments = pinned_env.HOST,
) -> dict:
    """Run a CreateTransformJob request locally; returns {"records", "objects"}; raises TransformError on failure."""
    settings = settings_from(request)
    prefix = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    objects = input_objects(prefix, storage)
    if not objects:
        raise TransformError(f"no input objects under {prefix}")
    output_path = request["TransformOutput"]["S3OutputPath"]
    spec = server_spec(request, model_request, storage, settings, own_images, environments)
    server = LazyServer(spec, Path(work_dir) / "server", log)
    server.start_soon()
    log(f"{len(objects)} input object(s) under {prefix}")
    total = 0
    try:
        with ThreadPoolExecutor(settings.concurrency) as pool:
            transformer = ObjectTransformer(settings, Sender(server, settings), pool)
            for uri, relative in objects:
                output, records = transformer.transform(uri, _read_object(storage, uri, settings))
                destination = s3_join(output_path, f"{relative}.out")
                storage.upload_bytes(output, destination)
                total += records
                log(f"{uri}: {records} record(s) -> {destination}")
    finally:
        server.stop()
    return {"records": total, "objects": len(objects)}


def _read_object(storage: LocalStorage, uri: str, settings: Settings) -> bytes:
    data = storage.read_bytes(uri)
    if not settings.compressed:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as error:
        raise TransformError(f"{uri}: cannot decompress: {error}") from None


class TransformRun(jobs.JobRun):
    """The whole life of one transform job, run in this process (no host process); `run()` never raises, the record
    says how it ended: Stopped when a stop came meanwhile (the current object finishes first)."""

    kind = "transform-jobs"
    name_key = "TransformJobName"
    status_key = "TransformJobStatus"
    start_key = "TransformStartTime"
    folder_name = "transform"

    def __init__(
        self,
        request: dict[str, Any],
        model_request: dict[str, Any],
        context: jobs.JobContext,
        *,
        own_images: OwnImages | None = None,
    ) -> None:
        super().__init__(request, context)
        self.model_request = model_request
        self.own_images = own_images

    def execute(self) -> None:
        log = functools.partial(self.line, self.hosts[0])
        run_transform_job(
            self.request, self.model_request, self.storage, self.folder, log, self.own_images, self.environments
        )
        self.finish("Completed")

    def unexpected_failure(self, error: Exception) -> str:
        return str(error) or type(error).__name__

    def finish(self, status: str, reason: str | None = None) -> None:
        if self.status() == "Stopping":
            status, reason = "Stopped", None
        self.store.update_description(
            self.kind, self.name, TransformJobStatus=status, FailureReason=reason, TransformEndTime=now()
        )
