"""The fork server ("zygote") of warm starts (warm.py is its client): an interpreter that has numpy, pandas and
scikit-learn imported already and forks a child per job.

A request may name modules of ON_DEMAND that its script imports (torch): the zygote imports them once, before that
fork, so later jobs of the same kind start warm too, while projects that never use them do not pay for them.

The child sets up what a fresh interpreter would see and runs the script with `runpy.run_path(script,
run_name="__main__")`:

- the same argv (`sys.argv = [script, *args]`), the job's environment (os.environ replaced), the job's cwd,
  `sys.path[0]` = the script's folder followed by the job's PYTHONPATH entries, stdin/stdout/stderr = the job's pipes
  (passed with SCM_RIGHTS; PYTHONUNBUFFERED, PYTHONIOENCODING and the C-locale coercion honoured), its own session
  (so stopping a job kills its process group);
- /opt/ml = the job folder: the single-threaded child enters the job's namespace (namespace.enter, as a cold job's
  launcher does); if that fails the script is not run and the caller takes the cold path;
- fresh RNG state (`random` and `numpy.random` reseeded from OS entropy, as a fresh interpreter is);
- the exit status of `python script.py`: SystemExit codes, traceback + exit 1 for an uncaught exception.

The zygote exits when its parent dies (EOF on its stdin pipe, and PR_SET_PDEATHSIG on Linux) and kills its jobs then.
This file runs as the zygote's main script, so it uses the standard library only, and namespace.py loaded by path.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import ctypes
import importlib
import importlib.util
import io
import json
import os
import select
import signal
import socket
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

PRELOAD = (
    "numpy",
    "scipy",
    "pandas",
    "joblib",
    "sklearn",
    "sklearn.base",
    "sklearn.utils",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.linear_model",
    "sklearn.ensemble",
)
ON_DEMAND = ("torch",)
"""Modules too slow to import for every project: imported when a request names them (its script imports them)."""
_MAX_FDS = 3
_PR_SET_PDEATHSIG = 1
_BASE_PATH = sys.path[1:]  # as the zygote's main script: the interpreter's path without this file's folder


def _sibling(name: str) -> ModuleType:
    """A module of this folder, loaded by path: the folder is not on the zygote's sys.path (its modules are named
    like common ones: state, runtime...), and its jobs must not see it there."""
    spec = importlib.util.spec_from_file_location(f"_sm_zygote_{name}", Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


namespace = _sibling("namespace")


def _c_locale(env: dict[str, str]) -> bool:
    """Whether `env` selects the C/POSIX locale, which Python coerces to C.UTF-8 with UTF-8 mode (PEP 538, 540)."""
    return (env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or "C") in {"C", "POSIX"}


def _coerce_locale(env: dict[str, str]) -> dict[str, str]:
    """The environment a fresh interpreter gives itself: LC_CTYPE=C.UTF-8 when coercing the C locale."""
    if _c_locale(env) and not env.get("LC_ALL") and env.get("PYTHONCOERCECLOCALE") != "0":
        return {**env, "LC_CTYPE": "C.UTF-8"}
    return env


def _stdio(env: dict[str, str]) -> None:
    """New sys.stdin/stdout/stderr over fds 0-2, configured as a fresh interpreter with `env` would."""
    encoding, _, errors = env.get("PYTHONIOENCODING", "").partition(":")
    utf8_mode = _c_locale(env) or env.get("PYTHONUTF8") == "1"
    encoding = codecs.lookup(encoding or ("utf-8" if utf8_mode else sys.stdout.encoding or "utf-8")).name
    errors = errors or ("surrogateescape" if utf8_mode else "")
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))

    def writer(fd: int, stream_errors: str, line_buffering: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, "w", closefd=False)
        binary: Any = raw if unbuffered else io.BufferedWriter(raw)
        return io.TextIOWrapper(
            binary, encoding=encoding, errors=stream_errors, line_buffering=line_buffering, write_through=unbuffered
        )

    tty = os.isatty(1)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding=encoding, errors=errors or "strict"
    )
    sys.stdout = sys.__stdout__ = writer(1, errors or "strict", tty)
    sys.stderr = sys.__stderr__ = writer(2, "backslashreplace", True)


def _reseed() -> None:
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _exit_code(exit: SystemExit) -> int:
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=sys.stderr)
    return 1


def _script_traceback(error: BaseException, script: str) -> Any:
    """The traceback from the script's first frame on, as `python script.py` prints it."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    return tb or error.__traceback__


def _run_script(script: str, args: list[str]) -> int:
    import runpy

    sys.argv = [script, *args]
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit:
        return _exit_code(exit)
    except BaseException as error:
        error.__traceback__ = _script_traceback(error, script)  # the default hook prints the exception's own one
        sys.excepthook(type(error), error, error.__traceback__)
        return 1
    return 0


def _finalize(code: int) -> None:
    """What interpreter shutdown does for a script: join non-daemon threads, atexit, flush; then leave."""
    with contextlib.suppress(BaseException):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(code & 0xFF)


def _child(request: dict[str, Any], fds: list[int], conn: socket.socket, keep_closed: list[int]) -> None:
    """In the forked child: become the job (never returns)."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in keep_closed:
            with contextlib.suppress(OSError):
                os.close(fd)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        if request.get("mount"):
            try:
                namespace.enter(request["mount"])
            except OSError as error:
                conn.sendall((json.dumps({"error": f"isolation failed: {error}"}) + "\n").encode())
                os._exit(namespace.ENTER_FAILED)
        env = _coerce_locale(request["env"])
        os.environ.clear()
        os.environ.update(env)
        os.chdir(request["cwd"])
        script = request["argv"][1]
        extra = [entry for entry in env.get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [os.path.dirname(os.path.abspath(script)), *extra, *_BASE_PATH]
        _reseed()
        _stdio(request["env"])
        conn.sendall((json.dumps({"pid": os.getpid()}) + "\n").encode())
        conn.close()
        code = _run_script(script, request["argv"][2:])
    except BaseException:
        import traceback

        with contextlib.suppress(BaseException):
            traceback.print_exc()
    _finalize(code)


class Zygote:
    """The server loop: accept job requests on a Unix socket, fork, reap, report exit statuses."""

    def __init__(self, path: str) -> None:
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(64)
        self.wakeup_read, wakeup_write = os.pipe()
        os.set_blocking(wakeup_write, False)
        os.set_blocking(self.wakeup_read, False)
        self.wakeup_write = wakeup_write
        signal.set_wakeup_fd(wakeup_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.children: dict[int, socket.socket] = {}

    def serve(self) -> None:
        """Wait for and handle what is ready: ended children, a request, EOF from the parent."""
        ready, _, _ = select.select([self.listener, self.wakeup_read, 0], [], [])
        if self.wakeup_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self.wakeup_read, 4096)
        self._reap()
        if 0 in ready and not os.read(0, 4096):
            self.shutdown()
        if self.listener in ready:
            self._accept()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            conn.settimeout(5)
            message, fds, _flags, _address = socket.recv_fds(conn, 1 << 16, _MAX_FDS)
            while not message.endswith(b"\n"):  # a large request may come in pieces
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                message += chunk
            request = json.loads(message.decode())
        except (OSError, ValueError):
            conn.close()
            return
        preload(name for name in request.get("preload", []) if name in ON_DEMAND)
        try:
            self._fork(request, fds, conn)
        finally:
            for fd in fds:
                os.close(fd)

    def _fork(self, request: dict[str, Any], fds: list[int], conn: socket.socket) -> None:
        if threading.active_count() != 1:
            conn.sendall(b'{"error": "the fork server has threads"}\n')
            conn.close()
            return
        open_fds = [self.listener.fileno(), self.wakeup_read, self.wakeup_write]
        open_fds += [child.fileno() for child in self.children.values()]
        try:
            pid = os.fork()
        except OSError as error:
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"error": f"fork failed: {error}"}) + "\n").encode())
            conn.close()
            return
        if pid == 0:
            _child(request, fds, conn, open_fds)
        self.children[pid] = conn

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            if conn is None:
                continue
            with contextlib.suppress(OSError):
                conn.sendall((json.dumps({"exit": os.waitstatus_to_exitcode(status)}) + "\n").encode())
            conn.close()

    def shutdown(self) -> None:
        """The parent is gone: kill the jobs and leave."""
        for pid in self.children:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        os._exit(0)


def preload(names: Iterable[str] = PRELOAD) -> None:
    """Import those of `names` (default PRELOAD) that are installed, so that processes forked from this one start
    warm."""
    for name in names:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def main(path: str) -> None:
    """The zygote's main: listen at once (early requests queue), import the preload list, then serve forever.

    Requests wait for the preload rather than fork from a half-imported zygote: on a small machine a child importing
    the same modules beside the zygote takes longer than the wait, which never exceeds a cold start (the zygote
    started no later than the request and imports what the job's interpreter would import)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:
            return
    zygote = Zygote(path)
    preload()
    while True:
        zygote.serve()


if __name__ == "__main__":
    sys.path[:] = _BASE_PATH
    main(sys.argv[1])
