"""One HTTP server process per local endpoint: the container routes and the SageMaker Runtime REST path (§3, §7).

`start(spec, run_dir)` launches `python -m <this module> <run_dir>` in its own session (it outlives the CLI that started
it); a batch transform's server, which its job stops, forks from the warm fork server instead (warm.py: no imports).
That process stages every variant's containers under `run_dir`, then runs gunicorn with `spec["workers"]`
threaded workers; each worker imports the handler modules and calls model_fn AFTER the fork, so a crashed worker is
replaced by a fresh one and a model that cannot load stops the server with its error in `run_dir/server.log`.
Threads keep a slow client from holding a whole worker, and headers that do not arrive within `HEADER_TIMEOUT_S`
(see header_timeout.py) or a body within `BODY_TIMEOUT_S` are answered 408, so the server keeps serving everyone
else.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import gc
import json
import logging
import multiprocessing
import os
import queue
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ArchiveError, EndpointError
from ..storage import LocalStorage, StorageError
from . import pinned_env, warm
from .async_inference import AsyncInvoker, AsyncRequestError, concurrency_of
from .containers import (
    CSV,
    JSON,
    ContainerError,
    LoadedContainer,
    Pipeline,
    Response,
    StagedContainer,
    load_container,
    media_type,
    stage_container,
)
from .environment import with_passive_openmp, without_credentials
from .header_timeout import DEADLINES, HEADER_TIMEOUT_S, header_timeout_worker
from .own_image import OwnImages, ServedProgram, project_of
from .state import process_alive
from .zygote import preload

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 6_291_456
DRAIN_LIMIT_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
ACCOUNT = "000000000000"
STARTUP_TIMEOUT_S = 120.0
INVOCATION_TIMEOUT_S = 60
BODY_TIMEOUT_S = 10.0
THREADS_PER_WORKER = 8
STOP_TIMEOUT_S = 15.0
VARIANT_HEADER = "X-Amzn-Invoked-Production-Variant"
PID_FILE = "server.pid"
WARM_LAUNCHER = "serve_warm.py"
READY_POLL_S = 0.02
_children: dict[int, subprocess.Popen] = {}
_starting: set[int] = set()
"""Servers this process started that no endpoint record holds yet: stopped at exit (an interrupted deployment)."""


class EndpointServerError(EndpointError):
    """The server could not start (its log tail is in the message)."""


@dataclass(frozen=True)
class ServerHandle:
    pid: int
    port: int
    url: str
    run_dir: Path


# --- process management (the CLI side) ---------------------------------------------------------------------------


def _log_tail(log_path: Path, lines: int = 25) -> str:
    if not log_path.is_file():
        return "(no log)"
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class _Launched:
    """A started server process: its pid (= its process group) and its exit code once it has ended."""

    pid: int
    exit_code: Callable[[], int | None]


def _launch_cold(command: list[str], env: dict[str, str], run_dir: Path, log_path: Path) -> _Launched:
    with log_path.open("ab") as server_log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            env=env,
            start_new_session=True,
        )
    _children[process.pid] = process
    return _Launched(process.pid, process.poll)


def _launch_warm(env: dict[str, str], run_dir: Path, log_path: Path) -> _Launched | None:
    """The server as a child of this process's warm fork server (warm.py: scikit-learn imported already), its output
    appended to the log; None when the fork server cannot run it. Only for a server that ends before this process
    does (a transform job's): the fork server's children end with it."""
    launcher = run_dir / WARM_LAUNCHER
    launcher.write_text(f"import sys\n\nfrom {__name__} import main\n\nmain(sys.argv[1:])\n")
    started: queue.Queue[int | None] = queue.Queue()
    ended: list[int] = []

    def run() -> None:
        with log_path.open("a", encoding="utf-8") as server_log:

            def write(_stream: str, line: str) -> None:
                server_log.write(line + "\n")
                server_log.flush()

            try:
                command = [sys.executable, str(launcher), str(run_dir)]
                ended.append(warm.run(command, env, str(run_dir), write, on_start=started.put).returncode)
            except warm.Unavailable as error:
                write("stderr", f"warm start unavailable ({error}): starting a fresh interpreter")
            finally:
                started.put(None)

    threading.Thread(target=run, name="sm-transform-server", daemon=True).start()
    pid = started.get()
    return None if pid is None else _Launched(pid, lambda: ended[0] if ended else None)


def start(
    spec: dict,
    run_dir: Path,
    timeout: float = STARTUP_TIMEOUT_S,
    log: Callable[[str], None] = logger.info,
    warm_start: bool = False,
) -> ServerHandle:
    """Start the endpoint's server process and wait until GET /ping answers 200; with `spec["environments"]` pinned,
    in the environment of its image (pinned_env.py; `log` says when it is built). `warm_start`: fork it from the warm
    fork server when the host interpreter serves (_launch_warm: for a server that this process stops)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.json").write_text(json.dumps(spec, indent=2))
    port_file = run_dir / "port"
    port_file.unlink(missing_ok=True)
    log_path = run_dir / "server.log"
    try:
        interpreter = pinned_env.serving_interpreter(spec, log)
    except pinned_env.PinnedEnvironmentError as error:
        raise EndpointServerError(str(error)) from None
    # the model code runs in this process: no host AWS credentials, as in a real container (issue 16)
    engine = _package_root() if interpreter is None else None  # pinned: the environment's PYTHONPATH has the engine
    env = dict(
        with_passive_openmp(without_credentials(dict(os.environ))),
        PYTHONPATH=os.pathsep.join(filter(None, [engine, os.environ.get("PYTHONPATH")])),
    )
    command = [sys.executable, "-m", __name__, str(run_dir)]
    if interpreter is not None:
        command, env = interpreter.command(command), interpreter.environment(env)
    launched = None
    if warm_start and interpreter is None and warm.enabled():
        launched = _launch_warm(env, run_dir, log_path)
    if launched is None:
        launched = _launch_cold(command, env, run_dir, log_path)
    _starting.add(launched.pid)
    (run_dir / PID_FILE).write_text(str(launched.pid))  # how `stop_servers_in` finds it, whoever started it
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (code := launched.exit_code()) is not None:
            _starting.discard(launched.pid)
            raise EndpointServerError(
                f"the server of endpoint {spec['endpoint_name']} exited with code {code}; "
                f"last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        if port_file.is_file() and (text := port_file.read_text().strip()):
            url = f"http://{spec.get('host', '127.0.0.1')}:{int(text)}"
            if _ping(url):
                _starting.discard(launched.pid)
                return ServerHandle(launched.pid, int(text), url, run_dir)
        time.sleep(READY_POLL_S)
    stop(launched.pid)
    raise EndpointServerError(
        f"the server of endpoint {spec['endpoint_name']} did not answer /ping within {timeout:.0f} s; "
        f"last lines of {log_path}:\n{_log_tail(log_path)}"
    )


def is_alive(pid: int) -> bool:
    """Whether the server process still runs (a zombie counts as dead)."""
    process = _children.get(pid)
    if process is not None:
        return process.poll() is None
    return process_alive(pid)


def stop(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    """Terminate the server's process group (master and workers) and wait for it to end."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not is_alive(pid):
            break
    _children.pop(pid, None)
    _starting.discard(pid)


@atexit.register
def _stop_unclaimed_servers() -> None:
    """At exit (Ctrl-C during a deployment included), stop the servers still starting: no record holds them."""
    for pid in list(_starting):
        stop(pid)


def _command_line(pid: int) -> str:
    """The command line of a running process ("" when it is gone)."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    listed = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return listed.stdout


def servers_in(folder: Path) -> list[int]:
    """The live endpoint servers whose run folders (with their pid files) lie under `folder`. A pid counts only
    when its command line names this module and its own run folder, so a reused pid is never taken for one."""
    pids = []
    for pid_file in sorted(Path(folder).rglob(PID_FILE)):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            command = _command_line(pid) if is_alive(pid) else ""
            if __name__.rpartition(".")[2] in command and pid_file.parent.name in command:
                pids.append(pid)
    return pids


def stop_servers_in(folder: Path) -> list[int]:
    """Stop every endpoint server running from a run folder under `folder` (see `servers_in`); return their pids."""
    pids = servers_in(folder)
    for pid in pids:
        stop(pid)
    return pids


# --- the WSGI application (the server side) ------------------------------------------------------------------------


def _containers(model: dict) -> list[dict]:
    return list(model.get("Containers") or [model["PrimaryContainer"]])


def stage_variants(spec: dict, run_dir: Path) -> list[dict]:
    """Stage every variant's containers; returns [{"name", "weight", "containers": [{"name", "staged"...}]}]."""
    storage = LocalStorage(Path(spec["storage_root"]))
    staged_variants = []
    for variant in spec["variants"]:
        variant_dir = Path(variant.get("staged_dir") or run_dir / "variants" / variant["name"])
        staged = [
            stage_container(container, storage, variant_dir / f"container-{index}", f"container-{index}")
            for index, container in enumerate(_containers(variant["model"]), start=1)
        ]
        staged_variants.append({"name": variant["name"], "weight": float(variant.get("weight", 1.0)), "staged": staged})
    return staged_variants


class DataCapture:
    """JSONL capture files `<dest>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`, one line per sampled request (§7)."""

    def __init__(self, config: dict, storage_root: Path, endpoint_name: str) -> None:
        self.percentage = float(config.get("InitialSamplingPercentage", 100))
        modes = {option.get("CaptureMode") for option in config.get("CaptureOptions") or []}
        self.modes = modes or {"Input", "Output"}
        self.destination = LocalStorage(storage_root).path_for(config["DestinationS3Uri"].rstrip("/")) / endpoint_name
        self.file_id = uuid.uuid4().hex  # one file per worker and hour
        self.lock = threading.Lock()  # the worker's threads append to the same file

    @staticmethod
    def _payload(data: bytes, content_type: str, mode: str) -> dict:
        kind = media_type(content_type)
        if kind in (CSV, JSON):
            try:
                text, encoding = data.decode("utf-8"), "CSV" if kind == CSV else "JSON"
            except UnicodeDecodeError:
                text, encoding = base64.b64encode(data).decode(), "BASE64"
        else:
            text, encoding = base64.b64encode(data).decode(), "BASE64"
        return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": encoding}

    def capture(self, variant: str, body: bytes, content_type: str, response: Response) -> None:
        if random.random() * 100 >= self.percentage:
            return
        now = time.gmtime()
        data: dict[str, Any] = {}
        if "Input" in self.modes:
            data["endpointInput"] = self._payload(body, content_type, "INPUT")
        if "Output" in self.modes:
            data["endpointOutput"] = self._payload(response.body, response.content_type, "OUTPUT")
        record = {
            "captureData": data,
            "eventMetadata": {"eventId": str(uuid.uuid4()), "inferenceTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", now)},
            "eventVersion": "0",
        }
        folder = self.destination / variant / time.strftime("%Y/%m/%d/%H", now)
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock, (folder / f"{self.file_id}.jsonl").open("a") as stream:
            stream.write(json.dumps(record) + "\n")


StartResponse = Callable[[str, list[tuple[str, str]]], Any]
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
REASONS |= {408: "Request Timeout", 413: "Payload Too Large", 424: "Failed Dependency", 429: "Too Many Requests"}
# InvokeEndpointAsync's header members (botocore's sagemaker-runtime model) -> their WSGI environ keys
ASYNC_HEADERS = {
    "ContentType": "HTTP_X_AMZN_SAGEMAKER_CONTENT_TYPE",
    "Accept": "HTTP_X_AMZN_SAGEMAKER_ACCEPT",
    "InferenceId": "HTTP_X_AMZN_SAGEMAKER_INFERENCE_ID",
    "InputLocation": "HTTP_X_AMZN_SAGEMAKER_INPUTLOCATION",
    "S3OutputPathExtension": "HTTP_X_AMZN_SAGEMAKER_S3OUTPUTPATHEXTENSION",
    "Filename": "HTTP_X_AMZN_SAGEMAKER_FILENAME",
}


@dataclass
class Limits:
    """Semaphores shared by every worker of one server (created before the workers fork): a serverless endpoint's
    MaxConcurrency (requests beyond it are throttled) and an async endpoint's MaxConcurrentInvocationsPerInstance."""

    serverless: Any = None
    max_concurrency: int = 0
    async_slots: Any = None

    @classmethod
    def of(cls, spec: dict) -> Limits:
        context = multiprocessing.get_context("fork")
        configs = [variant.get("serverless") for variant in spec["variants"] if variant.get("serverless")]
        max_concurrency = int(configs[0].get("MaxConcurrency", 1)) if configs else 0
        async_config = spec.get("async_inference")
        return cls(
            serverless=context.BoundedSemaphore(max_concurrency) if max_concurrency else None,
            max_concurrency=max_concurrency,
            async_slots=context.BoundedSemaphore(concurrency_of(async_config)) if async_config else None,
        )


class BodyTimeout(EndpointError):
    """The client stopped sending its request body."""


class EndpointApp:
    """The WSGI application of one endpoint: /ping, /invocations and /endpoints/{name}/invocations."""

    def __init__(self, spec: dict, variants: list[dict], log_path: str, limits: Limits | None = None) -> None:
        self.endpoint_name = spec["endpoint_name"]
        self.limits = limits or Limits()
        self.max_payload = int(spec.get("max_payload_bytes", MAX_PAYLOAD_BYTES))
        self.body_timeout = float(spec.get("body_timeout_s", BODY_TIMEOUT_S))
        self.log_path = log_path
        self.own_images: OwnImages = spec.get("own_images") or {}
        self.variants: dict[str, Pipeline] = {
            variant["name"]: Pipeline([self._load(staged) for staged in variant["staged"]]) for variant in variants
        }
        self.weights = [variant["weight"] for variant in variants]
        capture = spec.get("data_capture") or {}
        self.capture = (
            DataCapture(capture, Path(spec["storage_root"]), self.endpoint_name)
            if capture.get("EnableCapture")
            else None
        )
        async_config = spec.get("async_inference")
        self.async_invoker = (
            AsyncInvoker(async_config, Path(spec["storage_root"]), self._invoke_async, self.limits.async_slots)
            if async_config
            else None
        )

    def _load(self, staged: StagedContainer) -> LoadedContainer | ServedProgram:
        """The container's handler chain in this worker, or the `serve` program of the project's own image."""
        project = project_of(staged.image, self.own_images)
        return load_container(staged) if project is None else ServedProgram.start(staged, project)

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, headers, body = self._route(environ)
        except BodyTimeout:
            status, headers, body = self._plain(408, f"the request body did not arrive within {self.body_timeout:g} s")
        except Exception:
            logger.exception("request failed")
            status, headers, body = 500, [("Content-Type", JSON)], b'{"error": "internal server error"}'
        reason = REASONS.get(status, "Error")
        start_response(f"{status} {reason}", [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _route(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if path == "/ping":
            return (200, [("Content-Type", JSON)], b"{}") if method == "GET" else self._plain(405, "use GET /ping")
        if path == "/invocations":
            return self._invocations(environ) if method == "POST" else self._plain(405, "use POST /invocations")
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations" and method == "POST":
            return self._runtime(environ, parts[1])
        if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "async-invocations" and method == "POST":
            return self._runtime_async(environ, parts[1])
        return self._plain(404, f"no route {method} {path}")

    @staticmethod
    def _plain(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
        return status, [("Content-Type", JSON)], json.dumps({"error": message}).encode()

    @staticmethod
    def _runtime_error(status: int, code: str, fields: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = [("Content-Type", JSON), ("x-amzn-ErrorType", code)]
        return status, headers, json.dumps({"__type": code, **fields}).encode()

    def _read_body(self, environ: dict) -> bytes | None:
        """The request body, or None when it exceeds the payload limit (the excess is drained so the client can
        read the 413 instead of a broken pipe); BodyTimeout when the whole body has not arrived within
        `body_timeout` seconds (the connection's reading side is then shut, which ends the blocked read)."""
        connection = environ.get("gunicorn.socket")
        expired = threading.Event()

        def stop_reading() -> None:
            expired.set()
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RD)

        watchdog = DEADLINES.call_later(self.body_timeout, stop_reading) if connection is not None else None
        try:
            body = self._read_limited(environ["wsgi.input"], environ.get("CONTENT_LENGTH") or "")
        except Exception:
            if expired.is_set():
                raise BodyTimeout from None
            raise
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if expired.is_set():
            raise BodyTimeout
        return body

    def _read_limited(self, stream: Any, length: str) -> bytes | None:
        if length.isdigit() and int(length) <= self.max_payload:
            return stream.read(int(length))
        body = b"" if length.isdigit() else stream.read(self.max_payload + 1)
        if len(body) <= self.max_payload and not length.isdigit():
            return body
        drained = 0
        while drained < DRAIN_LIMIT_BYTES and (chunk := stream.read(CHUNK_BYTES)):
            drained += len(chunk)
        return None

    def _choose_variant(self, target: str | None) -> str | None:
        if target:
            return target if target in self.variants else None
        names = list(self.variants)
        if len(names) == 1 or not any(self.weights):
            return names[0] if len(names) == 1 else random.choice(names)
        return random.choices(names, weights=self.weights)[0]

    def _invoke(self, variant: str, environ: dict, body: bytes) -> Response:
        content_type, accept = environ.get("CONTENT_TYPE") or None, environ.get("HTTP_ACCEPT") or None
        response = self.variants[variant].invoke(body, content_type, accept)
        if self.capture is not None:
            try:
                self.capture.capture(variant, body, content_type or JSON, response)
            except OSError:
                logger.exception("data capture failed")
        return response

    def _invocations(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        body = self._read_body(environ)
        if body is None:
            return self._plain(413, f"the request body is larger than {self.max_payload} bytes")
        variant = self._choose_variant(environ.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT"))
        if variant is None:
            return self._plain(400, "unknown target variant")
        response = self._invoke(variant, environ, body)
        return response.status, [("Content-Type", response.content_type), (VARIANT_HEADER, variant)], response.body

    def _unknown_endpoint(self, name: str) -> tuple[int, list[tuple[str, str]], bytes] | None:
        if name == self.endpoint_name:
            return None
        message = f"Endpoint {name} of account {ACCOUNT} not found."
        return self._runtime_error(400, "ValidationError", {"message": message})

    def _runtime(self, environ: dict, name: str) -> tuple[int, list[tuple[str, str]], bytes]:
        if unknown := self._unknown_endpoint(name):
            return unknown
        if self.async_invoker is not None:
            message = f"Endpoint {name} is an asynchronous endpoint: use InvokeEndpointAsync."
            return self._runtime_error(400, "ValidationError", {"message": message})
        if self.limits.serverless is None:
            return self._runtime_sync(environ, name)
        if not self.limits.serverless.acquire(block=False):
            message = f"Endpoint {name} is serving its MaxConcurrency of {self.limits.max_concurrency}; retry later."
            return self._runtime_error(429, "ThrottlingException", {"message": message})
        try:
            return self._runtime_sync(environ, name)
        finally:
            self.limits.serverless.release()

    def _runtime_sync(self, environ: dict, name: str) -> tuple[int, list[tuple[str, str]], bytes]:
        body = self._read_body(environ)
        if body is None:
            message = f"Request payload exceeds the maximum of {self.max_payload} bytes."
            return self._runtime_error(413, "ValidationError", {"message": message})
        target = environ.get("HTTP_X_AMZN_SAGEMAKER_TARGET_VARIANT")
        variant = self._choose_variant(target)
        if variant is None:
            message = f"Variant {target} not found for endpoint {name}; variants: {', '.join(self.variants)}."
            return self._runtime_error(400, "ValidationError", {"message": message})
        response = self._invoke(variant, environ, body)
        headers = [("Content-Type", response.content_type), (VARIANT_HEADER, variant)]
        if attributes := environ.get("HTTP_X_AMZN_SAGEMAKER_CUSTOM_ATTRIBUTES"):
            headers.append(("X-Amzn-SageMaker-Custom-Attributes", attributes))
        if response.status == 200:
            return 200, headers, response.body
        return self._model_error(variant, response)

    def _invoke_async(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[str, Response]:
        """One queued invocation, routed by weight like a real-time one (no target variant for async)."""
        variant = str(self._choose_variant(None))
        environ = {"CONTENT_TYPE": content_type or "", "HTTP_ACCEPT": accept or ""}
        return variant, self._invoke(variant, environ, body)

    def _runtime_async(self, environ: dict, name: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """InvokeEndpointAsync: queue the request, answer 202 with its inference id and S3 locations."""
        if unknown := self._unknown_endpoint(name):
            return unknown
        if self.async_invoker is None:
            message = f"Endpoint {name} is not an asynchronous endpoint: use InvokeEndpoint."
            return self._runtime_error(400, "ValidationError", {"message": message})
        self._read_body(environ)  # the payload is in S3 (InputLocation); a body is read and ignored
        headers = {key: value for key, wsgi_key in ASYNC_HEADERS.items() if (value := environ.get(wsgi_key))}
        try:
            request = self.async_invoker.request(headers)
        except AsyncRequestError as error:
            return self._runtime_error(400, "ValidationError", {"message": str(error)})
        self.async_invoker.submit(request)
        reply_headers = [
            ("Content-Type", JSON),
            ("X-Amzn-SageMaker-OutputLocation", request.output_location),
            ("X-Amzn-SageMaker-FailureLocation", request.failure_location),
        ]
        return 202, reply_headers, json.dumps({"InferenceId": request.inference_id}).encode()

    def _model_error(self, variant: str, response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
        original = response.body.decode("utf-8", "replace")
        kind = "client" if response.status < 500 else "server"
        message = (
            f'Received {kind} error ({response.status}) from {variant} with message "{original}". '
            f"See {self.log_path} for more information."
        )
        fields = {
            "Message": message,
            "OriginalStatusCode": response.status,
            "OriginalMessage": original,
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        }
        return self._runtime_error(424, "ModelError", fields)


# --- the server process ----------------------------------------------------------------------------------------------


def _gunicorn_application(app_factory: Callable[[], EndpointApp], options: dict) -> Any:
    from gunicorn.app.base import BaseApplication
    from gunicorn.arbiter import Arbiter
    from gunicorn.errors import AppImportError

    class _Arbiter(Arbiter):
        def spawn_workers(self) -> None:
            """All workers at once: gunicorn sleeps up to 0.1 s after each (a staggered start that a server for
            one machine's clients does not need, and a batch transform would wait for)."""
            for _ in range(self.num_workers - len(self.WORKERS)):
                self.spawn_worker()

    class _Application(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # control_socket_disable exists from gunicorn 25.1 on
                    self.cfg.set(key, value)

        def run(self) -> None:
            try:
                _Arbiter(self).run()
            except RuntimeError as error:  # as BaseApplication.run
                sys.exit(f"\nError: {error}\n")

        def load(self) -> EndpointApp:
            try:
                app = app_factory()
            except ContainerError as error:  # printed as one line; gunicorn then stops the server
                raise AppImportError(f"cannot load the model: {error}") from error
            gc.freeze()  # the loaded models and libraries leave the collector's scans: no 100+ ms full collections
            return app

    return _Application()


def _worker_kind(spec: dict) -> dict[str, Any]:
    """gunicorn's worker class and threads. An endpoint's: threaded workers with deadlines on headers and bodies, so
    slow clients cannot hold them all. A batch transform's (`serial_workers`): sync workers, one request at a time
    each, so a worker accepts a connection only when it is free and the job's concurrent mini-batches spread over all
    workers (a threaded worker accepts every connection it sees: the first one up took them all)."""
    if spec.get("serial_workers"):
        return {"worker_class": "sync", "threads": 1}
    worker_class = header_timeout_worker(float(spec.get("header_timeout_s", HEADER_TIMEOUT_S)))
    return {"worker_class": worker_class, "threads": int(spec.get("threads", THREADS_PER_WORKER))}


def serve(run_dir: Path) -> None:
    """Stage the containers, then run gunicorn; the bound port is written to run_dir/port when ready."""
    run_dir = Path(run_dir).resolve()
    spec = json.loads((run_dir / "spec.json").read_text())
    try:
        variants = stage_variants(spec, run_dir)
    except (ContainerError, StorageError, ArchiveError) as error:
        sys.exit(f"cannot stage the model: {error}")
    port_file = run_dir / "port"

    def when_ready(server: Any) -> None:
        port = server.LISTENERS[0].sock.getsockname()[1]
        temporary = port_file.with_suffix(".partial")
        temporary.write_text(str(port))
        temporary.replace(port_file)

    options = {
        "bind": f"{spec.get('host', '127.0.0.1')}:{int(spec.get('port', 0))}",
        "workers": max(1, int(spec.get("workers", 1))),
        **_worker_kind(spec),
        "timeout": int(spec.get("invocation_timeout_s", INVOCATION_TIMEOUT_S)),
        "graceful_timeout": 3,
        "backlog": 2048,
        "errorlog": "-",
        "loglevel": "info",
        "when_ready": when_ready,
        "control_socket_disable": True,  # else every endpoint server would share ~/.gunicorn/gunicorn.ctl
        "proc_name": f"endpoint_server {run_dir}",  # with setproctitle, `servers_in` still recognises the server
    }
    log_path = str(run_dir / "server.log")
    limits = Limits.of(spec)  # before the fork: every worker shares these semaphores
    preload()  # the workers fork from this process: each then only runs model_fn, not the library imports
    _gunicorn_application(lambda: EndpointApp(spec, variants, log_path, limits), options).run()


def main(argv: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(process)d %(name)s %(message)s")
    if len(argv) != 1:
        sys.exit("usage: python -m <package>.local.endpoint_server RUN_DIR")
    serve(Path(argv[0]))


if __name__ == "__main__":
    main(sys.argv[1:])
