"""Walking a Spring-style paginated list endpoint: in order, checked, and stoppable at once.

The engine knows no HTTP library: it asks a `PageSource` for each page. The pages are
fetched by the export's own threads, the next ones while the caller works; the thread that
iterates only waits for them, so that any thread can cancel the export and have it end
within about a second, whatever a page is waiting for.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from types import TracebackType
from typing import Any

from .._display import html_repr
from ..errors import ExportCancelled, PaginationError
from .cancel import ExportStopped
from .checks import PageChecks
from .pacing import Pacing, Throttled
from .page import Page, PageProgress, read_page
from .prefetch import DaemonPool
from .progress import notebook_bar
from .source import PageSource
from .walk import JOIN_WAIT, Plan, Status, Walker, plan

__all__ = ["DEFAULT_PAGE_SIZE", "Export", "Page", "PageProgress", "PaginationError", "read_page"]

DEFAULT_PAGE_SIZE = 100


def iterate_items(
    source: PageSource,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
    lenient: bool = False,
    progress: bool = False,
) -> Export:
    """Return an `Export` of every item of a list, in order, checked page by page.

    With ``prefetch`` the next page is requested while the caller works through the
    current one; with ``concurrency`` N, once the first page says how many there are, up
    to N pages are in flight (at most about N held in memory). A 429 halves the pages in
    flight, the page's own next attempt included, and waits ``Retry-After``; they grow
    back one at a time as pages arrive. ``progress`` draws a bar (`notebook_bar`).
    """
    try:
        chosen = plan(params, page_size, prefetch=prefetch, concurrency=concurrency)
    except BaseException:
        source.close()
        raise
    bar = notebook_bar(source.where) if progress else None
    checks = PageChecks(source.where, chosen.size, lenient=lenient)
    walk = _Walk(source, chosen, checks)
    if bar is not None:
        walk.on_stop = bar.close
        on_page = bar.both(on_page)
    return Export(walk, on_page)


class Export(Iterator[Any]):
    """The rows of one list, in order, as `ResharmonicsSession.paginate` returns them.

    Iterate it once. Each page is checked against the first before any of its rows comes
    out; an inconsistency raises an `InconsistentPagesError` (or, with ``lenient=True``,
    warns). `cancel` (or `close`) stops the export from any thread within about a second,
    whatever its pages in flight are doing: their connections are cut, no request is left,
    and the thread iterating gets `ExportCancelled` instead of a quiet, partial end. Its
    repr says what it reads and how far it got.

    Example:
        >>> with session.paginate("/api/v3/bookings", concurrency=4) as rows:
        ...     for row in rows:
        ...         store(row)
        >>> rows
        <Export GET /api/v3/bookings: complete, 683 of 683 rows, 7 pages>
    """

    def __init__(self, walk: _Walk, on_page: Callable[[PageProgress], object] | None) -> None:
        self._walk = walk
        self._rows = walk.rows(on_page)

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
        """Stop the export now, from any thread; return within about a second.

        No page request is left running. The thread iterating (if another) gets
        `ExportCancelled` at once.
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._walk.where}: {self._walk.describe()}>"

    def _repr_html_(self) -> str:
        walk = self._walk
        fields = [("list", walk.where), ("parameters", walk.plan.query or "none")]
        return html_repr(type(self).__name__, fields, walk.describe(), label="progress")


class _Walk(Walker):
    """One walk through the pages of a list, by threads: its requests, its pacing, its threads."""

    def __init__(self, source: PageSource, plan: Plan, checks: PageChecks) -> None:
        super().__init__(source.where, source.url, source.failure_kind, plan, checks)
        self.source = source
        self.pacing = Pacing(plan.concurrency)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._stopped = False
        self._stop_signal: Future[None] = Future()
        self._executor = DaemonPool(plan.concurrency, "resharmonics-page")
        self._futures: set[Future[Page]] = set()

    def rows(self, on_page: Callable[[PageProgress], object] | None) -> Iterator[Any]:
        checks, number = self.checks, self.plan.first
        ahead: collections.deque[tuple[int, Future[Page] | None]] = collections.deque()
        self.state = "reading"
        ended: BaseException | None = None
        try:
            page = checks.check(self.receive(number, None), number, self.again(number))
            while True:
                progress = self.delivered(number, page)
                last = checks.is_last(page, number)
                if not last:
                    self._schedule(ahead, number)
                if on_page is not None:
                    on_page(progress)
                for item in page.items:
                    if self.cancelled:
                        raise self.cancelled_error()
                    checks.delivered += 1
                    yield item
                if last:
                    checks.finish()
                    return
                if not ahead:  # sequential: the next page is asked for only now
                    ahead.append((number + 1, None))
                number, future = ahead.popleft()
                page = checks.check(self.receive(number, future), number, self.again(number))
        except BaseException as error:
            ended = error
            raise
        finally:
            self.ended(ended)
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
        self.pacing.stop()
        self.source.cut()
        with contextlib.suppress(Exception):  # already set
            self._stop_signal.set_result(None)
        for future in futures:
            future.cancel()
        self._executor.shutdown(wait=True, timeout=JOIN_WAIT)  # at once: connections are cut
        self.source.close()
        if self.on_stop is not None:
            self.on_stop()

    def again(self, number: int) -> Callable[[], Page]:
        return lambda: self.receive(number, None, fresh=True)

    def receive(self, number: int, future: Future[Page] | None, *, fresh: bool = False) -> Page:
        """Return the page, fetched by a worker; failures say where and how far it got.

        The wait ends as soon as the export is stopped, whatever the worker waits for.
        """
        try:
            if future is None:
                future = self._submit(number, fresh)
            either: list[Future[Any]] = [future, self._stop_signal]
            wait(either, return_when=FIRST_COMPLETED)
            if not future.done():
                raise ExportStopped("the export was stopped")
            try:
                return future.result()
            except CancelledError:
                raise ExportStopped("the export was stopped") from None
        except Exception as error:
            failure = self.failure(error, number)
            if failure is None:
                raise
            quiet = isinstance(failure, ExportCancelled) or isinstance(error, Status)
            raise failure from (None if quiet else error)

    def _submit(self, number: int, fresh: bool = False) -> Future[Page]:
        with self._lock:
            if self._stopped:
                raise ExportStopped("the export was stopped")
            future = self._executor.submit(self.fetch, number, fresh)
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _schedule(
        self, ahead: collections.deque[tuple[int, Future[Page] | None]], number: int
    ) -> None:
        if not self.plan.ahead:
            return
        pages = self.checks.pages
        last = pages - 1 if pages is not None else None
        # Without a page count, only the next page is known to be wanted.
        limit = self.pacing.limit if last is not None else 1
        following = ahead[-1][0] + 1 if ahead else number + 1
        while len(ahead) < limit and (last is None or following <= last):
            try:
                future = self._submit(following)
            except ExportStopped:
                return
            ahead.append((following, future))
            following += 1

    def _forget(self, future: Future[Page]) -> None:
        with self._lock:
            self._futures.discard(future)

    def fetch(self, number: int, fresh: bool = False) -> Page:
        """Request one page within the pacing's limit, waiting out 429s; return it read."""
        query, throttled = self.query(number), Throttled()
        while True:
            epoch = self.pacing.enter()
            try:
                reply = self.source.send(query, fresh)
            finally:
                self.pacing.leave()
            delay = throttled.delay(reply) if reply.status == 429 else None
            if delay is None:
                break
            reply.close()
            self.pacing.throttled(epoch)
            if self._stopping.wait(delay):
                raise ExportStopped("the export was stopped")
        page = self.read(reply, number)
        self.pacing.answered()
        return page
