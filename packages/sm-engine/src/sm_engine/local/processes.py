"""Job processes: run one in its own session with its output streamed line by line, say how it ended, end it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from .state import process_alive


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
