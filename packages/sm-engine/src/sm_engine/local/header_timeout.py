"""A deadline on a request's headers for the endpoint server's gunicorn threads.

gunicorn's threaded worker commits a thread to a connection as soon as its first bytes arrive and then reads the
request line and headers with blocking reads: clients that trickle their headers would hold every thread. Here a
request whose headers are not complete within the deadline is answered 408 and its connection shut, which ends the
blocked read and frees the thread (bodies have their own deadline in the application).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

HEADER_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 47\r\n\r\n"
    b"the request headers did not arrive in due time\n"
)


class HeaderDeadline:
    """Answers 408 and shuts the connection unless `met()` is called within `seconds` of `start()`."""

    def __init__(self, connection: socket.socket, seconds: float) -> None:
        self.connection = connection
        self.lock = threading.Lock()
        self.settled = False
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True

    def start(self) -> None:
        self.timer.start()

    def met(self) -> None:
        """The headers arrived: the request goes on (also called when the connection's turn ends)."""
        with self.lock:
            self.settled = True
        self.timer.cancel()

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
