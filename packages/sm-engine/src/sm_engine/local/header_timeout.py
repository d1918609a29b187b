"""A deadline on a request's headers for the endpoint server's gunicorn threads.

gunicorn's threaded worker commits a thread to a connection as soon as its first bytes arrive and then reads the
request line and headers with blocking reads: clients that trickle their headers would hold every thread. Here a
request whose headers are not complete within the deadline is answered 408 and its connection shut, which ends the
blocked read and frees the thread (bodies have their own deadline in the application, on the same `DEADLINES`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 10.0
MIN_TICK_S, MAX_TICK_S = 0.01, 1.0
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 47\r\n\r\n"
    b"the request headers did not arrive in due time\n"
)


class Deadline:
    """A callback due at a monotonic time; `cancel()` before then and it never runs."""

    __slots__ = ("callback", "due", "pending")

    def __init__(self, due: float, callback: Callable[[], None], pending: dict[int, Deadline]) -> None:
        self.due, self.callback, self.pending = due, callback, pending
        pending[id(self)] = self

    def cancel(self) -> None:
        self.pending.pop(id(self), None)


class Deadlines:
    """The deadlines of this process, checked by one thread (started in the process that schedules, so after a fork
    too) every tenth of the shortest deadline's length: a request costs a dict entry, not a timer thread of its own
    (two thread starts per request, for its headers and its body). Only unfinished requests' deadlines are held."""

    def __init__(self) -> None:
        self.pending: dict[int, Deadline] = {}
        self.lock = threading.Lock()
        self.tick = MAX_TICK_S
        self.owner = 0

    def call_later(self, seconds: float, callback: Callable[[], None]) -> Deadline:
        with self.lock:
            if self.owner != os.getpid():
                self.owner, self.pending = os.getpid(), {}
                threading.Thread(target=self._run, name="sm-deadlines", daemon=True).start()
            self.tick = min(self.tick, max(MIN_TICK_S, seconds / 10))
        return Deadline(time.monotonic() + seconds, callback, self.pending)

    def _run(self) -> None:
        while True:
            time.sleep(self.tick)
            now = time.monotonic()
            for key, deadline in list(self.pending.items()):
                if deadline.due <= now and self.pending.pop(key, None) is not None:
                    try:
                        deadline.callback()
                    except Exception:
                        logger.exception("a deadline's callback failed")


DEADLINES = Deadlines()


class HeaderDeadline:
    """Answers 408 and shuts the connection unless `met()` is called within `seconds` of `start()`."""

    def __init__(self, connection: socket.socket, seconds: float) -> None:
        self.connection = connection
        self.seconds = seconds
        self.lock = threading.Lock()
        self.settled = False
        self.deadline: Deadline | None = None

    def start(self) -> None:
        self.deadline = DEADLINES.call_later(self.seconds, self._expire)

    def met(self) -> None:
        """The headers arrived: the request goes on (also called when the connection's turn ends)."""
        with self.lock:
            self.settled = True
        if self.deadline is not None:
            self.deadline.cancel()

    def _expire(self) -> None:
        with self.lock:
            if self.settled:
                return
            self.settled = True
        with contextlib.suppress(OSError):
            self.connection.sendall(REQUEST_TIMEOUT_RESPONSE)
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def header_timeout_worker(seconds: float = HEADER_TIMEOUT_S) -> type:
    """gunicorn's threaded worker class with a deadline of `seconds` on every request's headers."""
    from gunicorn.workers.gthread import ThreadWorker

    class HeaderTimeoutWorker(ThreadWorker):
        def handle(self, conn: Any) -> Any:
            deadline = HeaderDeadline(conn.sock, seconds)
            conn.header_deadline = deadline
            deadline.start()
            try:
                return super().handle(conn)
            finally:
                deadline.met()

        def handle_request(self, req: Any, conn: Any) -> Any:
            conn.header_deadline.met()
            return super().handle_request(req, conn)

    return HeaderTimeoutWorker
