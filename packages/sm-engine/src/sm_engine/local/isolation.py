"""Run a job's command so that /opt/ml IS the job's folder, or fall back to mapping /opt/ml paths.

With isolation (Linux, util-linux `unshare`, unprivileged user namespaces), the command runs as
`unshare --user --map-root-user --mount sh -c 'mount --bind <job dir> /opt/ml && cd <cwd> && exec "$@"'`: a private
mount namespace in which /opt/ml is the job folder, so scripts that hard-code /opt/ml paths work (contract §1, §2).
unshare and sh both exec, so the job keeps the pid (and process group) that Popen gave it; the cost is a few ms.
Without it (no unshare, no user namespaces, /opt/ml cannot be created, or SM_LOCAL_ISOLATION=off), every /opt/ml path
in the environment and in the command is rewritten to the job folder and SAGEMAKER_BASE_DIR points there.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

from . import warm
from .state import StateStore, now, process_alive

OPT_ML = "/opt/ml"
SWITCH = "SM_LOCAL_ISOLATION"
FALLBACK_MESSAGE = (
    "isolation unavailable: /opt/ml paths are mapped through SM_* variables and SAGEMAKER_BASE_DIR; "
    "scripts that hard-code /opt/ml will not find their files"
)
_BIND_SCRIPT = 'mount --bind "$1" /opt/ml && cd "$2" && shift 2 && exec "$@"'
_OPT_ML_PATTERN = re.compile(r"(?<![\w./-])/opt/ml(?=/|$|[\s\"',;:=])")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_warned = threading.Event()
logger = logging.getLogger(__name__)


def _wrapper(job_dir: Path, cwd: str) -> list[str]:
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", _BIND_SCRIPT, "sh", str(job_dir), cwd]


@cache
def _probe() -> bool:
    """Whether `unshare` can bind a folder on /opt/ml here (checked once per process)."""
    if shutil.which("unshare") is None or shutil.which("sh") is None:
        return False
    try:
        Path(OPT_ML).mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    with tempfile.TemporaryDirectory() as folder:
        try:
            result = subprocess.run([*_wrapper(Path(folder), "/"), "true"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return False
    return result.returncode == 0


def isolation_enabled() -> bool:
    """True when jobs run with /opt/ml bound to their folder; SM_LOCAL_ISOLATION=off forces the fallback."""
    if os.environ.get(SWITCH, "").lower() in {"off", "0", "false", "no"}:
        return False
    return _probe()


def map_path(value: str, job_dir: Path) -> str:
    """Rewrite every /opt/ml path inside `value` to the job folder."""
    return _OPT_ML_PATTERN.sub(lambda _match: str(job_dir), value)


def prepare(
    command: list[str],
    env: dict[str, str],
    job_dir: Path,
    cwd: str,
    log: Callable[[str], None] | None = None,
) -> tuple[list[str], dict[str, str], str]:
    """The (command, environment, working directory) that run `command` with /opt/ml = `job_dir`.

    `command`, `env` and `cwd` are written with /opt/ml paths; in the fallback they are mapped to the job folder.
    """
    if isolation_enabled():
        # sh drops variables whose names are not identifiers (SM_HP_BATCH-SIZE): `env` sets them again after it
        odd = [f"{key}={value}" for key, value in env.items() if not _IDENTIFIER.fullmatch(key)]
        relaunch = ["env", *odd] if odd else []
        return [*_wrapper(Path(job_dir), cwd), *relaunch, *command], env, str(job_dir)
    if not _warned.is_set():
        _warned.set()
        logger.warning(FALLBACK_MESSAGE)
        if log is not None:
            log(FALLBACK_MESSAGE)
    mapped_env = {key: map_path(value, job_dir) for key, value in env.items()}
    mapped_env["SAGEMAKER_BASE_DIR"] = str(job_dir)
    return [map_path(part, job_dir) for part in command], mapped_env, map_path(cwd, job_dir)


@dataclass
class Finished:
    """How a command ended: its exit code, the last stderr lines, whether it ran out of time."""

    returncode: int
    stderr_tail: list[str] = field(default_factory=list)
    timed_out: bool = False


SIGNAL_CAUSES = {
    signal.SIGKILL: "out of memory, or killed from outside the job",
    signal.SIGSEGV: "a crash in native code",
    signal.SIGABRT: "aborted",
}


def exit_code_text(returncode: int) -> str:
    """`ExitCode 3`; a process ended by a signal (-9, or 137 from a shell) also names it: `ExitCode -9 (killed by
    signal SIGKILL: out of memory, or killed from outside the job)`."""
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    try:
        killer = signal.Signals(number) if number else None
    except ValueError:
        killer = None
    if killer is None:
        return f"ExitCode {returncode}"
    cause = SIGNAL_CAUSES.get(killer)
    return f"ExitCode {returncode} (killed by signal {killer.name}{': ' + cause if cause else ''})"


def pump(stream: IO[str], name: str, on_line: Callable[[str, str], None], tail: deque[str] | None) -> None:
    for line in stream:
        text = line.rstrip("\n")
        if tail is not None:
            tail.append(text)
        on_line(name, text)
    stream.close()


def stop_job(
    store: StateStore,
    kind: str,
    name: str,
    status_key: str,
    mark: Callable[[dict[str, Any]], None] | None = None,
) -> bool:
    """Mark an InProgress job Stopping (`mark` adds kind-specific fields) and SIGTERM its processes; False when it was
    not running."""
    stopping = threading.Event()

    def change(record: dict[str, Any]) -> None:
        description = record["description"]
        if description[status_key] == "InProgress":
            description[status_key] = "Stopping"
            if mark is not None:
                mark(description)
            description["LastModifiedTime"] = now()
            stopping.set()

    record = store.update(kind, name, change)
    if stopping.is_set():
        for pid in record["private"].get("pids", []):
            threading.Thread(target=terminate, args=(pid,), daemon=True).start()
    return stopping.is_set()


def remember_pid(store: StateStore, kind: str, name: str, status_key: str, pid: int) -> None:
    """Record a job process so that a stop reaches it; a stop that came before the process existed ends it now."""
    record = store.update(kind, name, lambda record: record["private"].setdefault("pids", []).append(pid))
    if record["description"][status_key] == "Stopping":
        threading.Thread(target=terminate, args=(pid,), daemon=True).start()


def terminate(pid: int, grace_seconds: float = 5.0) -> None:
    """SIGTERM the process group of `pid` (as SageMaker stops a job), then SIGKILL what is left of the group once
    the leader is gone or the grace is over."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline and process_alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_streaming(
    command: list[str],
    env: dict[str, str],
    cwd: str,
    on_line: Callable[[str, str], None],
    *,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
) -> Finished:
    """Run a prepared command in its own session, calling `on_line(stream, line)` for every stdout/stderr line."""
    process = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        bufsize=1,
        start_new_session=True,
    )
    if on_start is not None:
        on_start(process.pid)
    tail: deque[str] = deque(maxlen=20)
    readers = [
        threading.Thread(target=pump, args=(process.stdout, "stdout", on_line, None), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, "stderr", on_line, tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        terminate(process.pid)
        process.wait()
    for reader in readers:
        reader.join()
    return Finished(process.returncode, list(tail), timed_out)


def run_job(
    command: list[str],
    env: dict[str, str],
    job_dir: Path,
    cwd: str,
    on_line: Callable[[str, str], None],
    *,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] | None = None,
) -> Finished:
    """Run `command` (written with /opt/ml paths) with /opt/ml = `job_dir`: warm through the fork server when it is a
    Python script (see warm.py), else (or when the warm path is unavailable) as a fresh subprocess."""
    if warm.enabled() and warm.eligible(command):
        isolated = isolation_enabled()
        if isolated:
            warm_command, warm_env, warm_cwd = command, env, cwd
        else:
            warm_command, warm_env, warm_cwd = prepare(command, env, job_dir, cwd, log)
        try:
            return warm.run(
                warm_command,
                warm_env,
                warm_cwd,
                on_line,
                mount=str(job_dir) if isolated else None,
                on_start=on_start,
                timeout=timeout,
            )
        except warm.Unavailable as error:
            logger.info("cold start: %s", error)
    prepared, prepared_env, prepared_cwd = prepare(command, env, job_dir, cwd, log)
    return run_streaming(prepared, prepared_env, prepared_cwd, on_line, on_start=on_start, timeout=timeout)
