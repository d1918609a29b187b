"""Warm starts for local jobs: a fork server ("zygote") that has numpy, pandas and scikit-learn imported already.

A fresh `python script.py` spends seconds importing the scientific stack before the job does any work. The zygote is
one interpreter per client process, started at the first job, that imports those modules once and forks a child per
job (the first job waits for that import, which costs no more than its own cold start would). The child sets up what a
fresh interpreter would see and runs the script with `runpy.run_path(script, run_name="__main__")`:

- the same argv (`sys.argv = [script, *args]`), the job's environment (os.environ replaced), the job's cwd,
  `sys.path[0]` = the script's folder followed by the job's PYTHONPATH entries, stdin/stdout/stderr = the job's pipes
  (passed with SCM_RIGHTS; PYTHONUNBUFFERED, PYTHONIOENCODING and the C-locale coercion honoured), its own session
  (so stopping a job kills its process group);
- /opt/ml = the job folder through the same user + mount namespace trick as the `unshare` wrapper (contract §1, §2),
  done in the single-threaded child; if that fails the script is not run and the caller takes the cold path;
- fresh RNG state (`random` and `numpy.random` reseeded from OS entropy, as a fresh interpreter is);
- the exit status of `python script.py`: SystemExit codes, traceback + exit 1 for an uncaught exception.

What differs from a cold start: third-party modules are already in sys.modules (imported with the zygote's
environment, so e.g. thread-pool sizes read at import come from the client's environment, and warnings they print at
import are not in the job's log), the hash seed and interpreter flags are the zygote's, and os.getppid() is the
zygote. Only `python`/`python3`/sys.executable + a `.py` script (+ args) run warm; anything else (`*.sh`, `-m`, `-c`)
and every command with SM_LOCAL_WARM_START=off take the cold subprocess path. Measured on a 2-core machine: a training
job of the sample project takes ~0.5 s warm against ~2.9 s cold. The zygote exits when its parent dies (EOF on its
stdin pipe, and PR_SET_PDEATHSIG on Linux) and kills its jobs then.

This file runs as the zygote's main script, so its top level uses the standard library only.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import ctypes
import errno
import importlib
import io
import json
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .isolation import Finished

SWITCH = "SM_LOCAL_WARM_START"
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
PYTHON_NAMES = {"python", "python3"}
ISOLATION_FAILED = 126
_MAX_FDS = 3
_START_TIMEOUT = 10.0

# -- the zygote (server side) ------------------------------------------------------------------------------------------

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_PR_SET_PDEATHSIG = 1
_BASE_PATH = sys.path[1:]  # as the zygote's main script: the interpreter's path without this file's folder


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def isolate(job_dir: str) -> None:
    """In a single-threaded process: a new user + mount namespace (root = our uid) with `job_dir` bound on /opt/ml."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNS), "unshare")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
    Path("/proc/self/setgroups").write_text("deny\n")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")
    _check(libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    _check(libc.mount(job_dir.encode(), b"/opt/ml", None, _MS_BIND | _MS_REC, None), f"bind {job_dir} on /opt/ml")


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
                isolate(request["mount"])
            except OSError as error:
                conn.sendall((json.dumps({"error": f"isolation failed: {error}"}) + "\n").encode())
                os._exit(ISOLATION_FAILED)
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


def preload() -> None:
    """Import the PRELOAD modules that are installed, so that processes forked from this one start warm."""
    for name in PRELOAD:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def main(path: str) -> None:
    """The zygote's main: listen at once (early requests queue), import the preload list, then serve forever.

    Requests wait for the preload rather than fork from a half-imported zygote: on a small machine a child importing
    the same modules beside the zygote takes longer than the wait, which never exceeds a cold start (the zygote
    started no later than the request and imports what the job's interpreter would import)."""
    if sys.platform.startswith("linux"):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() == 1:
            return
    zygote = Zygote(path)
    preload()
    while True:
        zygote.serve()


# -- the client side ---------------------------------------------------------------------------------------------------


def enabled() -> bool:
    """False when SM_LOCAL_WARM_START=off (or 0/false/no) asks for cold starts."""
    return os.environ.get(SWITCH, "").lower() not in {"off", "0", "false", "no"}


def eligible(command: list[str]) -> bool:
    """Whether `command` is exactly a Python interpreter + a `.py` script (+ args)."""
    if len(command) < 2 or not command[1].endswith(".py") or command[1].startswith("-"):
        return False
    return command[0] in PYTHON_NAMES or command[0] == sys.executable


class Unavailable(RuntimeError):
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
        import subprocess

        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        try:
            self.process = subprocess.Popen(
                [sys.executable, __file__, self.path],
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


_server: Server | None = None
_server_lock = threading.Lock()


def server() -> Server:
    """This process's zygote, started on first use and closed at exit."""
    global _server
    with _server_lock:
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
    from .isolation import Finished, pump, terminate  # not at the top: this file is also the zygote's main script

    conn = server().connect()
    stdout_read, stdout_write = os.pipe()
    stderr_read, stderr_write = os.pipe()
    stdin = os.open(os.devnull, os.O_RDONLY)
    request = {"argv": command, "env": env, "cwd": cwd, "mount": mount}
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


if __name__ == "__main__":
    sys.path[:] = _BASE_PATH  # this folder holds modules named like common ones (state, runtime...): not importable
    main(sys.argv[1])
