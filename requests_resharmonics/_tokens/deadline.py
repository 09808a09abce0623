"""A deadline for each attempt of a request, not only for each socket read.

requests' ``timeout`` bounds every single read from the socket, so a server that trickles
one byte at a time can hold a request for ever. `DeadlineAdapter` arms a deadline when each
attempt starts (urllib3's retries included) and, if the attempt outlives it, shuts the
connection's socket down: the blocked read fails at once, and the caller sees a timeout.
Token requests go through it, so no thread waiting on a token waits past it.

One watchdog thread keeps every deadline of the process in a heap, whatever the number of
requests under way: a thread per attempt would double the threads of a fleet of tenants
renewing together. It ends when no deadline is left to watch. The watchdog is part of the
process's state (`process`); a forked child starts with a new one.

The private names of urllib3 used here, each pinned by ``tests/test_private_reaches.py`` so
that an upgrade that drops one fails there, plainly:

- ``HTTPConnectionPool._make_request(conn, ...)``: overridden to arm the deadline as each
  attempt starts, on the connection it is sent on;
- ``HTTPConnectionPool._put_conn(conn)`` and the pool's queue ``pool``: overridden to close
  a connection the full pool cannot keep, without urllib3's warning;
- the pool manager's ``pool_classes_by_scheme`` (no underscore, but undocumented): set to
  use the watched pools; were urllib3 to stop reading it, every deadline would silently go.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Union

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# The deadline of the request under way, per thread (set by `Watchdog.deadline` and read by
# the connection pools below, which urllib3 creates and which cannot be handed it).
_attempts = threading.local()

#: A heap entry: [when, order, watch or None once cancelled, connection or None].
_Entry = list[Union[float, int, "_Watch", HTTPConnection, None]]


class Watchdog:
    """Shuts down the socket of every attempt that outlives its deadline, in one thread.

    The thread runs while any deadline is armed and ends with the last one, so that an
    idle process keeps no thread of ours: a request that disarms the last deadline waits
    for the thread to end; one whose deadline expired last lets it end by itself, a moment
    after the request has seen its timeout.
    """

    def __init__(self) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.heap: list[_Entry] = []
        self.order = itertools.count()
        self.armed = 0
        self.thread: threading.Thread | None = None

    def arm(self, watch: _Watch, connection: HTTPConnection, seconds: float) -> _Entry:
        entry: _Entry = [time.monotonic() + seconds, next(self.order), watch, connection]
        with self.condition:
            heapq.heappush(self.heap, entry)
            self.armed += 1
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._watch, name="requests-resharmonics-deadline", daemon=True
                )
                self.thread.start()
            elif self.heap[0] is entry:
                self.condition.notify_all()
        return entry

    def cancel(self, entry: _Entry) -> None:
        """Disarm ``entry``; once this returns, its socket is not shut down."""
        retired = None
        with self.condition:
            if entry[2] is None:
                return
            entry[2] = entry[3] = None  # drop the references now; the heap forgets it later
            self.armed -= 1
            if self.armed == 0:
                retired, self.thread = self.thread, None
                self.heap.clear()
                self.condition.notify_all()
            elif len(self.heap) > 64 and len(self.heap) > 2 * self.armed:
                self.heap = [kept for kept in self.heap if kept[2] is not None]
                heapq.heapify(self.heap)
        if retired is not None and retired is not threading.current_thread():
            retired.join()

    def running(self) -> bool:
        """Return whether the watchdog thread is alive (it ends when no deadline is armed)."""
        with self.condition:
            return self.thread is not None

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[_Watch]:
        """Give every attempt of the requests sent by this thread meanwhile ``seconds`` at most.

        Yields the watch; its ``expired`` says whether a deadline cut the latest attempt
        short, and ``attempts`` counts the attempts made (retries included).
        """
        watch = _Watch(self, seconds)
        previous = getattr(_attempts, "watch", None)
        _attempts.watch = watch
        try:
            yield watch
        finally:
            watch.close()
            _attempts.watch = previous

    def _watch(self) -> None:
        me = threading.current_thread()
        with self.condition:
            while self.thread is me:
                while self.heap and self.heap[0][2] is None:
                    heapq.heappop(self.heap)
                now = time.monotonic()
                if not self.heap:
                    self.condition.wait()
                    continue
                when = self.heap[0][0]
                assert isinstance(when, float)
                if when > now:
                    self.condition.wait(when - now)
                    continue
                entry = heapq.heappop(self.heap)
                watch, connection = entry[2], entry[3]
                assert isinstance(watch, _Watch)
                assert isinstance(connection, HTTPConnection)
                entry[2] = entry[3] = None
                self.armed -= 1
                watch.expired = True  # under the lock: a cancel either wins or sees this
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                if self.armed == 0:
                    self.thread = None


class _Watch:
    """The armed deadline of the attempt under way in one thread."""

    __slots__ = ("_entry", "attempts", "expired", "seconds", "watchdog")

    def __init__(self, watchdog: Watchdog, seconds: float) -> None:
        self.watchdog = watchdog
        self.seconds = seconds
        self.expired = False
        self.attempts = 0
        self._entry: _Entry | None = None

    def arm(self, connection: HTTPConnection) -> None:
        """Start the clock of a new attempt on ``connection``."""
        self._cancel()
        # ``expired`` speaks of the latest attempt: a deadline that ran out during the
        # back-off before a retry cut nothing short, and the retry's answer is whole.
        self.expired = False
        self.attempts += 1
        self._entry = self.watchdog.arm(self, connection, self.seconds)

    def _cancel(self) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            self.watchdog.cancel(entry)

    def close(self) -> None:
        """Stop watching: the request is over."""
        self._cancel()


def _arm(connection: HTTPConnection) -> None:
    watch: _Watch | None = getattr(_attempts, "watch", None)
    if watch is not None:
        watch.arm(connection)


class _QuietWhenFull:
    """Close a connection the full pool cannot keep, without urllib3's warning.

    Token connections are shared by every auth object of a token URL in a bounded pool:
    when more token requests run at once than it holds (the first calls of a fleet), the
    extra connections are closed after use, as intended, rather than reported.
    """

    pool: Any

    def _put_conn(self, conn: Any) -> None:
        pool = self.pool
        if conn is not None and pool is not None and pool.full():
            conn.close()
            return
        super()._put_conn(conn)  # type: ignore[misc]


class _WatchedHTTPPool(_QuietWhenFull, HTTPConnectionPool):
    # The deadline is armed by the pool, per attempt, not by connection classes of our own:
    # the pool keeps urllib3's connection class, so tools that swap it for theirs (vcrpy
    # records and replays through its own) see token requests like any other request.
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _arm(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(_QuietWhenFull, HTTPSConnectionPool):
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
