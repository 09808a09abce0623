"""Walking a Spring-style paginated list endpoint: in order, checked, and stoppable at once.

The next pages are on their way while the caller works; any thread can cancel the export.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError, Future
from types import TracebackType
from typing import Any

import requests

from .._retries import MAX_API_RETRY_AFTER, retry_after
from ..errors import ConfigurationError, ExportCancelled, PaginationError
from .cancel import ExportConnections, ExportStopped
from .checks import PageChecks
from .page import Page, PageProgress, _whole, read_page
from .page_errors import page_failure
from .prefetch import DaemonPool
from .progress import notebook_bar

__all__ = ["DEFAULT_PAGE_SIZE", "Export", "Page", "PageProgress", "PaginationError", "read_page"]

DEFAULT_PAGE_SIZE = 100

#: Sends one GET of the list with these query parameters and these extra headers.
PageGetter = Callable[[Mapping[str, Any], Mapping[str, str]], requests.Response]

#: Headers of a page asked for a second time: a stale copy is the usual cause of a bad page.
FRESH = {"Cache-Control": "no-cache", "Pragma": "no-cache"}


def paginate_session(
    session: requests.Session,
    path: str,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool,
    concurrency: int,
    on_page: Callable[[PageProgress], object] | None,
    lenient: bool,
    progress: bool,
    **kwargs: Any,
) -> Export:
    """`iterate_items` through ``session``: its own connections, cut when it is cancelled."""
    connections = ExportConnections(session)
    sender = connections.session
    headers = dict(kwargs.pop("headers", None) or {})
    url_for = getattr(session, "url_for", lambda url: url)

    def get(query: Mapping[str, Any], extra: Mapping[str, str]) -> requests.Response:
        sent = {**headers, **extra} if extra else headers or None
        response: requests.Response = sender.get(path, params=query, headers=sent, **kwargs)
        return response

    def url(query: Mapping[str, Any]) -> str:
        prepared = requests.Request("GET", url_for(path), params=dict(query)).prepare()
        return str(prepared.url)

    return iterate_items(
        get, f"GET {path}", params, page_size, prefetch=prefetch, concurrency=concurrency,
        on_page=on_page, lenient=lenient, progress=progress, url=url, connections=connections,
    )  # fmt: skip


def iterate_items(
    get: PageGetter,
    where: str,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
    lenient: bool = False,
    progress: bool = False,
    url: Callable[[Mapping[str, Any]], str] | None = None,
    connections: ExportConnections | None = None,
) -> Export:
    """Return an `Export` of every item of a list, in order, checked page by page.

    ``get`` sends one GET with the given query parameters. A ``page`` in ``params`` is where
    to start; a ``size`` there wins over ``page_size``. With ``prefetch`` the next page is
    requested while the caller works through the current one; with ``concurrency`` N, once
    the first page says how many there are, up to N pages are in flight (at most about N
    held in memory). A 429 halves the pages in flight and waits ``Retry-After``; they grow
    back one at a time as pages arrive. ``progress`` draws a bar (`notebook_bar`). ``url``
    names a page's URL in errors; ``connections``, when given, is what `Export.cancel` cuts.
    """
    query = dict(params or {})
    first, wanted_size = query.pop("page", 0), query.pop("size", page_size)
    number, size = _whole(first), _whole(wanted_size)
    if number is None or number < 0 or size is None or size < 1:
        raise PaginationError(
            f"the first page must be a whole number >= 0 and the page size one >= 1, "
            f"not page={first!r}, size={wanted_size!r}"
        )
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    bar = notebook_bar(where) if progress else None
    checks = PageChecks(where, size, lenient=lenient)
    workers = concurrency if prefetch or concurrency > 1 else 0
    walk = _Walk(get, where, query, size, workers, checks, url, connections)
    if bar is not None:
        walk.on_stop = bar.close
        on_page = bar.both(on_page)
    return Export(walk, number, on_page)


class Export(Iterator[Any]):
    """The rows of one list, in order, as `ResharmonicsSession.paginate` returns them.

    Iterate it once. Each page is checked against the first before any of its rows comes
    out; an inconsistency raises an `InconsistentPagesError` (or, with ``lenient=True``,
    warns). `cancel` (or `close`) stops the export from any thread within about a second,
    whatever its pages in flight are doing: their connections are cut, no thread is left,
    and the thread iterating gets `ExportCancelled` instead of a quiet, partial end.

    Example:
        >>> with session.paginate("/api/v3/bookings", concurrency=4) as rows:
        ...     for row in rows:
        ...         store(row)
        >>> rows.delivered, rows.total
        (683, 683)
    """

    def __init__(
        self, walk: _Walk, first: int, on_page: Callable[[PageProgress], object] | None
    ) -> None:
        self._walk = walk
        self._rows = walk.rows(first, on_page)

    def __iter__(self) -> Export:
        return self

    def __next__(self) -> Any:
        return next(self._rows)

    @property
    def delivered(self) -> int:
        """How many rows have come out so far."""
        return self._walk.checks.delivered

    @property
    def total(self) -> int | None:
        """How many rows the first page said the export holds (None before it, or unknown)."""
        return self._walk.checks.total

    def cancel(self) -> None:
        """Stop the export now, from any thread; return once no request or thread is left.

        The thread iterating (if another) gets `ExportCancelled` at its next row.
        """
        self._walk.stop(cancelled=True)

    def close(self) -> None:
        """Do as `cancel` does: an export that is left early is stopped, not completed."""
        self.cancel()

    def __enter__(self) -> Export:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._walk.stop(cancelled=True)

    def __del__(self) -> None:
        walk = getattr(self, "_walk", None)
        if walk is not None:
            with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone
                walk.stop(cancelled=True)


class _Walk:
    """One walk through the pages of a list: its requests, its throttling, its threads."""

    def __init__(
        self,
        get: PageGetter,
        where: str,
        query: dict[str, Any],
        size: int,
        workers: int,
        checks: PageChecks,
        url: Callable[[Mapping[str, Any]], str] | None,
        connections: ExportConnections | None,
    ) -> None:
        self.get = get
        self.where = where
        self.query = query
        self.size = size
        self.workers = workers
        self.checks = checks
        self.url = url
        self.connections = connections
        self.in_flight = max(workers, 1)  # the pages to keep requested ahead, lowered by 429s
        self.cancelled = False
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = False
        self._executor = DaemonPool(workers, "resharmonics-page") if workers else None
        self._futures: set[Future[Page]] = set()
        self.on_stop: Callable[[], object] | None = None

    def rows(self, number: int, on_page: Callable[[PageProgress], object] | None) -> Iterator[Any]:
        checks = self.checks
        ahead: collections.deque[tuple[int, Future[Page] | None]] = collections.deque()
        try:
            page = checks.check(self.receive(number, None), number, self.again(number))
            while True:
                last = checks.is_last(page, number)
                if not last:
                    self._schedule(ahead, number)
                if on_page is not None:
                    on_page(PageProgress(number, len(page.items), page.total_pages,
                                         page.total_elements))  # fmt: skip
                for item in page.items:
                    if self.cancelled:
                        raise self._cancelled_error()
                    checks.delivered += 1
                    yield item
                if last:
                    checks.finish()
                    return
                if not ahead:  # sequential: the next page is asked for only now
                    ahead.append((number + 1, None))
                number, future = ahead.popleft()
                page = checks.check(self.receive(number, future), number, self.again(number))
        finally:
            # Done, abandoned (a break, an exception, Ctrl-C, garbage collection) or
            # cancelled from another thread: no request is left running and no thread behind.
            self.stop(cancelled=False)

    def stop(self, *, cancelled: bool) -> None:
        """Cut every request in flight, end the threads and release the connections."""
        with self._lock:
            if cancelled and not self._stopped:
                self.cancelled = True
            if self._stopped:
                return
            self._stopped = True
            futures = list(self._futures)
        self._stopping.set()
        if self.connections is not None:
            self.connections.cut()
        for future in futures:
            future.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # at once: their connections are cut
        if self.connections is not None:
            self.connections.close()
        if self.on_stop is not None:
            self.on_stop()

    def again(self, number: int) -> Callable[[], Page]:
        return lambda: self.receive(number, None, fresh=True)

    def receive(self, number: int, future: Future[Page] | None, *, fresh: bool = False) -> Page:
        """Return the page, fetched here or by a worker; failures say where and how far it got."""
        try:
            if self.cancelled:
                raise ExportStopped
            return future.result() if future is not None else self.fetch(number, fresh)
        except (ExportStopped, CancelledError):
            if self.cancelled:
                raise self._cancelled_error() from None
            raise
        except Exception as error:
            if self.cancelled:
                raise self._cancelled_error() from None
            failure = page_failure(error, self.where, number, self.checks.delivered,
                                   self._page_url(number))  # fmt: skip
            if failure is error:
                raise
            raise failure from error

    def _cancelled_error(self) -> ExportCancelled:
        checks = self.checks
        of = f" of {checks.total}" if checks.total is not None else ""
        return ExportCancelled(
            f"{self.where}: the export was cancelled after {checks.delivered}{of} rows",
            where=self.where,
            delivered=checks.delivered,
        )

    def _page_url(self, number: int) -> str:
        query = {**self.query, "page": number, "size": self.size}
        return self.url(query) if self.url is not None else self.where

    def _schedule(
        self, ahead: collections.deque[tuple[int, Future[Page] | None]], number: int
    ) -> None:
        executor = self._executor
        if executor is None:
            return
        pages = self.checks.pages
        last = pages - 1 if pages is not None else None
        # Without a page count, only the next page is known to be wanted.
        limit = self.in_flight if last is not None else 1
        following = ahead[-1][0] + 1 if ahead else number + 1
        while len(ahead) < limit and (last is None or following <= last):
            with self._lock:
                if self._stopped:
                    return
                future = executor.submit(self.fetch, following)
                self._futures.add(future)
            future.add_done_callback(self._forget)
            ahead.append((following, future))
            following += 1

    def _forget(self, future: Future[Page]) -> None:
        with self._lock:
            self._futures.discard(future)

    def fetch(self, number: int, fresh: bool = False) -> Page:
        """Request one page, waiting out 429s; return it read."""
        headers = FRESH if fresh else {}
        for attempt in range(THROTTLED_ATTEMPTS):
            response = self.get({**self.query, "page": number, "size": self.size}, headers)
            if response.status_code != 429 or attempt == THROTTLED_ATTEMPTS - 1:
                break
            delay = _retry_after(response, attempt)
            response.close()
            with self._lock:
                self.in_flight = max(1, self.in_flight // 2)
            if self._stopping.wait(delay):
                raise ExportStopped
        response.raise_for_status()
        with self._lock:
            self.in_flight = min(self.in_flight + 1, max(self.workers, 1))
        try:
            payload = response.json()
        except ValueError:
            raise PaginationError(f"{self.where} page {number} is not JSON") from None
        return read_page(payload, f"{self.where} page {number}")


#: How many times one page is asked for while the API answers 429.
THROTTLED_ATTEMPTS = 8


def _retry_after(response: requests.Response, attempt: int) -> float:
    """Seconds to wait after a 429: its ``Retry-After`` (up to a minute), else a back-off."""
    asked = retry_after(response.raw)
    seconds = 0.5 * 2**attempt if asked is None else asked
    return min(max(seconds, 0.0), float(MAX_API_RETRY_AFTER))
