"""Warm starts for local jobs: run a Python script in a child of the fork server (zygote.py), which has numpy,
pandas and scikit-learn imported already.

A fresh `python script.py` spends seconds importing the scientific stack before the job does any work. The zygote is
one interpreter per client process, started at the first job, that imports those modules once and forks a child per
job (the first job waits for that import, which costs no more than its own cold start would).

What differs from a cold start: third-party modules are already in sys.modules (imported with the zygote's
environment, so e.g. thread-pool sizes read at import come from the client's environment, and warnings they print at
import are not in the job's log), the hash seed and interpreter flags are the zygote's, and os.getppid() is the
zygote. Only `python`/`python3`/sys.executable + a Python script (+ args) run warm: a `.py` file, or a program without
a suffix whose shebang names Python (the own image's container/train); anything else (`*.sh`, `-m`, `-c`) and every
command with SM_LOCAL_WARM_START=off take the cold subprocess path. Measured on a 2-core machine: a training
job of the sample project takes ~0.5 s warm against ~2.9 s cold.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import SmEngineError
from .environment import with_passive_openmp
from .processes import Finished, pump, terminate
from .zygote import ON_DEMAND

SWITCH = "SM_LOCAL_WARM_START"
SHARED = "SM_LOCAL_WARM_SERVER"
"""The socket of another process's zygote: a process started with it in its environment (a command line that a test
session runs) sends its jobs there instead of starting a zygote of its own, while that one listens."""
PYTHON_NAMES = {"python", "python3"}
_START_TIMEOUT = 10.0
OPT_ML = "/opt/ml"
ZYGOTE = Path(__file__).with_name("zygote.py")


def enabled() -> bool:
    """False when SM_LOCAL_WARM_START=off (or 0/false/no) asks for cold starts."""
    return os.environ.get(SWITCH, "").lower() not in {"off", "0", "false", "no"}


def eligible(command: list[str]) -> bool:
    """Whether `command` is exactly a Python interpreter + a Python script (+ args): a `.py` file, or a program
    without a suffix whose first line is a Python shebang."""
    if len(command) < 2 or command[1].startswith("-"):
        return False
    if command[0] not in PYTHON_NAMES and command[0] != sys.executable:
        return False
    return command[1].endswith(".py") or _python_program(command[1])


def _python_program(path: str) -> bool:
    """Whether `path` is a file without a suffix that starts with a Python shebang (`#!/usr/bin/env python3`)."""
    if Path(path).suffix:
        return False
    try:
        with open(path, "rb") as file:
            first_line = file.readline(256)
    except OSError:
        return False
    return first_line.startswith(b"#!") and b"python" in first_line


class Unavailable(SmEngineError):
    """The warm path cannot run this job (no zygote, or isolation failed before the script ran): go cold."""


class Server:
    """The client's handle on one zygote process, started by a keeper thread that lives as long as this process
    (PR_SET_PDEATHSIG fires when the thread that forked the zygote ends)."""

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="sm-warm-")
        self.path = os.path.join(self.folder, "zygote.sock")
        self.process: Any = None
        self._started = threading.Event()
        threading.Thread(target=self._keep, name="sm-warm-zygote", daemon=True).start()
        self._started.wait(_START_TIMEOUT)

    def _keep(self) -> None:
        env = with_passive_openmp({key: value for key, value in os.environ.items() if key != "PYTHONPATH"})
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(ZYGOTE), self.path],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        except OSError:
            return
        finally:
            self._started.set()
        self.process.wait()

    def connect(self) -> socket.socket:
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if self.process is None or self.process.poll() is not None:
                raise Unavailable("the fork server is not running")
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(self.path)
                return conn
            except OSError as error:
                conn.close()
                if error.errno not in {errno.ENOENT, errno.ECONNREFUSED} or time.monotonic() > deadline:
                    raise Unavailable(f"cannot reach the fork server: {error}") from None
                time.sleep(0.01)

    def close(self) -> None:
        """EOF on the zygote's stdin: it reports what has ended, kills what still runs and exits (not waited for)."""
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)


class SharedServer:
    """The zygote that SHARED names, another process's: used here, never started or closed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
        except OSError as error:
            conn.close()
            raise Unavailable(f"cannot reach the shared fork server: {error}") from None
        return conn


_server: Server | None = None
_server_lock = threading.Lock()


def server() -> Server | SharedServer:
    """This process's zygote, started on first use and closed at exit; until then, the one SHARED names if its socket
    is there."""
    global _server
    with _server_lock:
        shared = os.environ.get(SHARED, "")
        if _server is None and shared and os.path.exists(shared):
            return SharedServer(shared)
        if _server is None or _server.process is None or _server.process.poll() is not None:
            _close_server()
            _server = Server()
        return _server


def _close_server() -> None:
    if _server is not None:
        _server.close()


# registered at import, before any client registers its own exit handler: handlers run last-in first-out, so a client
# stops its jobs (and records them) before the zygote goes (a no-op in the zygote's children: they have no server)
atexit.register(_close_server)


def on_demand_imports(script: str, cwd: str, mount: str | None = None) -> list[str]:
    """The zygote's ON_DEMAND modules that `script` (relative to `cwd`) imports at the start of a line, read on this
    machine: under `mount`, the job folder, when its path is an /opt/ml one."""
    path = Path(cwd, script)
    if mount is not None and path.is_relative_to(OPT_ML):
        path = Path(mount) / path.relative_to(OPT_ML)
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [name for name in ON_DEMAND if re.search(rf"^(?:import|from) {name}\b", source, re.MULTILINE)]


def _messages(conn: socket.socket) -> Any:
    """The newline-delimited JSON messages of a connection, until EOF."""
    with conn.makefile("r", encoding="utf-8") as lines:
        for line in lines:
            with contextlib.suppress(ValueError):
                yield json.loads(line)


def run(
    command: list[str],
    env: dict[str, str],
    cwd: str,
    on_line: Callable[[str, str], None],
    *,
    mount: str | None = None,
    on_start: Callable[[int], None] | None = None,
    timeout: float | None = None,
) -> Finished:
    """Run `command` (see `eligible`) in a child of the zygote; raises Unavailable when the job did not start."""
    conn = server().connect()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    preload = on_demand_imports(command[1], cwd, mount)
    request = {"argv": command, "env": env, "cwd": cwd, "mount": mount, "preload": preload}
    try:
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [stdin, stdout_write, stderr_write])
    except OSError as error:
        conn.close()
        for fd in (stdout_read, stderr_read):
            os.close(fd)
        raise Unavailable(f"cannot reach the fork server: {error}") from None
    finally:
        for fd in (stdin, stdout_write, stderr_write):
            os.close(fd)
    messages = _messages(conn)
    first = next(messages, {"error": "the fork server closed the connection"})
    if "pid" not in first:
        conn.close()
        for fd in (stdout_read, stderr_read):
            os.close(fd)
        raise Unavailable(first.get("error", "the fork server did not start the job"))
    pid = first["pid"]
    if on_start is not None:
        on_start(pid)
    tail: deque[str] = deque(maxlen=20)
    readers = [
        threading.Thread(target=pump, args=(_text(stdout_read), "stdout", on_line, None), daemon=True),
        threading.Thread(target=pump, args=(_text(stderr_read), "stderr", on_line, tail), daemon=True),
    ]
    for reader in readers:
        reader.start()
    outcome: dict[str, Any] = {}
    waiter = threading.Thread(target=lambda: outcome.update(next(messages, {})), daemon=True)
    waiter.start()
    waiter.join(timeout)
    timed_out = waiter.is_alive()
    if timed_out:
        terminate(pid)
        waiter.join()
    conn.close()
    if "exit" not in outcome:  # the zygote went away without reporting: do not leave the job running
        terminate(pid, grace_seconds=1.0)
    for reader in readers:
        reader.join()
    return Finished(outcome.get("exit", -signal.SIGKILL), list(tail), timed_out)


def _text(fd: int) -> Any:
    return open(fd, encoding="utf-8", errors="replace", closefd=True)
