r"""The connections of one export, which one call cuts at once, idle or in the middle of a page.

Leaving an export early must not wait for a page that hangs: a read timeout is a minute, and
the session's retries would try again. An export therefore sends its pages through its own
copy of the session, whose plain `HTTPAdapter`\\s are replaced by `CuttableAdapter`\\s: they
remember every socket they connect, and `ExportConnections.cut` shuts them down (a blocked
read returns at once), refuses any further request and ends any back-off sleep early. Their
retries leave 429s to the export, which paces its pages by them (a ``Retry`` whose
``is_retry`` refuses 429, through the public method).

No public seam of requests or urllib3 does this; the private names used here, each pinned
by ``tests/test_private_reaches.py`` so that an upgrade that drops one fails there, plainly:

- ``HTTPAdapter._pool_connections``, ``_pool_maxsize`` and ``_pool_block`` (requests): read
  to build an adapter like the session's (listed in ``HTTPAdapter.__attrs__``);
- ``HTTPConnectionPool._get_conn(timeout)`` (urllib3): overridden to refuse a request of
  an export already cut, before it takes a connection;
- a ``Retry``'s ``__class__`` swapped for a subclass whose ``sleep`` a cut ends: urllib3's
  ``Retry.new`` builds each next attempt as ``type(self)(...)``, which carries it along;
- the pool manager's ``pool_classes_by_scheme``, as in `_tokens.deadline`: set to use the
  pools that track their connections.
"""

from __future__ import annotations

import collections
import copy
import socket
import threading
import weakref
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


class ExportStopped(Exception):
    """Raised inside a page request once its export's connections have been cut.

    Deliberately not an `OSError` or a urllib3 error, so that no retry loop catches it.
    """


class _Cut:
    """Which connections one export has opened, and whether they have been cut."""

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()

    def connected(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
            stopped = self.stopped.is_set()
        if stopped:  # connected just as the export was cut: cut this one too
            _shut(connection)

    def check(self) -> None:
        if self.stopped.is_set():
            raise ExportStopped("the export was stopped")

    def cut(self) -> None:
        with self._lock:
            self.stopped.set()
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, not ssl.SSLSocket's, which would also drop the TLS
        # state under the thread still reading it: the blocked read just sees the end.
        if isinstance(sock, socket.socket):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class CuttableAdapter(HTTPAdapter):
    """An `HTTPAdapter` like ``template`` whose connections `cut` can sever at any moment.

    Example:
        >>> adapter = CuttableAdapter(HTTPAdapter(max_retries=3))
        >>> session.mount("https://", adapter)
        >>> adapter.cut()  # from any thread: requests in flight fail now, new ones at once
    """

    def __init__(self, template: HTTPAdapter, cut: _Cut | None = None) -> None:
        self._cut = cut if cut is not None else _Cut()
        super().__init__(
            pool_connections=getattr(template, "_pool_connections", 10),
            pool_maxsize=getattr(template, "_pool_maxsize", 10),
            max_retries=_stoppable(template.max_retries, self._cut),
            pool_block=getattr(template, "_pool_block", False),
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Create the pool manager, with pools that track and can cut their connections."""
        super().init_poolmanager(*args, **kwargs)
        manager = self.poolmanager
        manager.pool_classes_by_scheme = {
            scheme: _tracked_pool(pool, self._cut)
            for scheme, pool in manager.pool_classes_by_scheme.items()
        }

    def cut(self) -> None:
        """Shut every connection down now and refuse further requests (thread-safe)."""
        self._cut.cut()


def _tracked_pool(pool: type[Any], cut: _Cut) -> type[Any]:
    connection_class = pool.ConnectionCls

    class TrackedConnection(connection_class):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            cut.check()
            super().connect()
            cut.connected(self)

    class TrackedPool(pool):  # type: ignore[misc]
        ConnectionCls = TrackedConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            cut.check()
            return super()._get_conn(timeout)

    return TrackedPool


def _stoppable(retry: Any, cut: _Cut) -> Any:
    """Return ``retry`` (a urllib3 ``Retry``) with back-off sleeps that end when cut.

    It also leaves every 429 to the export: the export halves its pages in flight on a
    429 (`Pacing`), which it could not do for a 429 that urllib3 had slept out and retried.
    """
    if not isinstance(retry, Retry):
        return retry
    base = type(retry)

    class StoppableRetry(base):  # type: ignore[misc, valid-type]
        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if status_code == 429:
                return False
            return bool(super().is_retry(method, status_code, has_retry_after))

        def sleep(self, response: Any = None) -> None:
            seconds = None
            if response is not None and self.respect_retry_after_header:
                seconds = self.get_retry_after(response)
            if seconds is None:
                seconds = self.get_backoff_time()
            if cut.stopped.wait(max(seconds, 0.0)):
                raise ExportStopped("the export was stopped")

    stoppable = copy.copy(retry)
    # Retry.new() builds each next attempt's object as type(self)(...), so the subclass,
    # and with it the stoppable sleep, carries through every attempt.
    stoppable.__class__ = StoppableRetry
    return stoppable


class ExportConnections:
    r"""A copy of ``session`` for one export, with connections that `cut` severs at once.

    The copy shares the session's auth, headers, cookies and settings; only its plain
    `HTTPAdapter`\\s are replaced (an adapter of another kind, such as a cache's, is kept and
    shared, and its requests cannot be cut). `close` releases the export's connections.

    Example:
        >>> connections = ExportConnections(session)
        >>> connections.session.get(url)  # in a worker thread
        >>> connections.cut()  # from any other: the worker's request fails at once
    """

    def __init__(self, session: requests.Session) -> None:
        self._cut = _Cut()
        clone = copy.copy(session)
        own: list[CuttableAdapter] = []
        adapters: collections.OrderedDict[str, Any] = collections.OrderedDict()
        for prefix, adapter in session.adapters.items():
            if type(adapter) is HTTPAdapter:
                adapter = CuttableAdapter(adapter, self._cut)
                own.append(adapter)
            adapters[prefix] = adapter
        clone.adapters = adapters
        self.session = clone
        self._own = own

    @property
    def stopped(self) -> bool:
        """Whether `cut` has been called."""
        return self._cut.stopped.is_set()

    def cut(self) -> None:
        """Sever every connection of the export now and refuse new requests (thread-safe)."""
        self._cut.cut()

    def close(self) -> None:
        """Close the export's own connections (not the session's)."""
        for adapter in self._own:
            adapter.close()
