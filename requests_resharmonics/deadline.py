"""A deadline for each attempt of a request, not only for each socket read.

requests' ``timeout`` bounds every single read from the socket, so a server that trickles
one byte at a time can hold a request for ever. `DeadlineAdapter` arms a timer when each
attempt starts (urllib3's retries included) and, if the attempt outlives its deadline,
shuts the connection's socket down: the blocked read fails at once, and the caller sees a
timeout. Token requests go through it, so no thread waiting on a token waits past it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_attempts = threading.local()


class _Watch:
    """The armed deadline of the attempt under way in one thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.attempts = 0
        self._timer: threading.Timer | None = None

    def arm(self, connection: HTTPConnection) -> None:
        """Start the clock of a new attempt on ``connection``."""
        self._cancel()
        # ``expired`` speaks of the latest attempt: a timer that ran out during the back-off
        # before a retry cut nothing short, and the retry's answer is whole.
        self.expired = False
        self.attempts += 1
        timer = threading.Timer(self.seconds, self._expire, args=(connection,))
        timer.daemon = True
        timer.name = "requests-resharmonics-deadline"
        self._timer = timer
        timer.start()

    def _expire(self, connection: HTTPConnection) -> None:
        self.expired = True
        sock = getattr(connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _cancel(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join()

    def close(self) -> None:
        """Stop watching: the request is over."""
        self._cancel()


@contextlib.contextmanager
def deadline(seconds: float) -> Any:
    """Give every attempt of the requests sent by this thread meanwhile ``seconds`` at most.

    Yields the watch; its ``expired`` says whether a deadline cut the latest attempt short,
    and ``attempts`` counts the attempts made (retries included).
    """
    watch = _Watch(seconds)
    previous = getattr(_attempts, "watch", None)
    _attempts.watch = watch
    try:
        yield watch
    finally:
        watch.close()
        _attempts.watch = previous


def _arm(connection: HTTPConnection) -> None:
    watch: _Watch | None = getattr(_attempts, "watch", None)
    if watch is not None:
        watch.arm(connection)


class _WatchedHTTPPool(HTTPConnectionPool):
    # The deadline is armed by the pool, per attempt, not by connection classes of our own:
    # the pool keeps urllib3's connection class, so tools that swap it for theirs (vcrpy
    # records and replays through its own) see token requests like any other request.
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _arm(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _arm(conn)
        return super()._make_request(conn, *args, **kwargs)


class DeadlineAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose connections honour the deadline of `deadline` blocks."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager with connections that arm the attempt's deadline."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }
