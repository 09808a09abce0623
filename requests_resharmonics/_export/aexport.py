"""The same walk for coroutines: pages fetched by tasks on the caller's asyncio loop.

Every check, the order, the concurrency, the pacing after a 429 and the errors are those of
the threaded walk (`walk.Walker`); here the pages are tasks instead of threads, and a
cancelled export cancels them (which closes their connections) instead of cutting sockets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import Any

from .._display import html_repr
from ..errors import ConfigurationError, ExportCancelled
from .cancel import ExportStopped
from .checks import PageChecks
from .pacing import Limit, Throttled
from .page import Page, PageProgress
from .progress import notebook_bar
from .source import AsyncPageSource
from .walk import JOIN_WAIT, Plan, Status, Walker, plan

__all__ = ["AsyncExport", "aiterate_items"]


def aiterate_items(
    source: AsyncPageSource,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
    lenient: bool = False,
    progress: bool = False,
) -> AsyncExport:
    """Return an `AsyncExport` of every item of a list: `iterate_items` for coroutines."""
    chosen = plan(params, page_size, prefetch=prefetch, concurrency=concurrency)
    bar = notebook_bar(source.where) if progress else None
    walk = _AsyncWalk(source, chosen, PageChecks(source.where, chosen.size, lenient=lenient))
    if bar is not None:
        walk.on_stop = bar.close
        on_page = bar.both(on_page)
    return AsyncExport(walk, on_page)


class AsyncExport(AsyncIterator[Any]):
    """The rows of one list, in order, for ``async for``: what `apaginate` returns.

    It checks and orders the pages as `Export` does, keeps up to ``concurrency`` pages in
    flight as tasks of the loop that iterates it (asyncio), and stops them all when it is
    left: at the end, on `aclose` (``async with`` calls it), or on `cancel` from any task
    or thread, after which the task iterating gets `ExportCancelled`.

    Example:
        >>> async with apaginate(client, "/api/v3/bookings", concurrency=4) as rows:
        ...     async for row in rows:
        ...         await store(row)
    """

    def __init__(self, walk: _AsyncWalk, on_page: Callable[[PageProgress], object] | None) -> None:
        self._walk = walk
        self._rows = walk.rows(on_page)

    def __aiter__(self) -> AsyncExport:
        return self

    async def __anext__(self) -> Any:
        return await self._rows.__anext__()

    @property
    def delivered(self) -> int:
        """How many rows have come out so far."""
        return self._walk.checks.delivered

    @property
    def total(self) -> int | None:
        """How many rows the first page said the export holds (None before it, or unknown)."""
        return self._walk.checks.total

    def cancel(self) -> None:
        """Stop the export from any task or thread; return at once.

        The pages in flight are cancelled; the task iterating gets `ExportCancelled`.
        """
        self._walk.cancel()

    async def aclose(self) -> None:
        """Stop the export (as `cancel`) and wait, briefly, for its pages in flight to end."""
        self._walk.cancel()
        if not getattr(self._rows, "ag_running", False):
            await self._rows.aclose()
        await self._walk.settle()

    async def __aenter__(self) -> AsyncExport:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        walk = getattr(self, "_walk", None)
        if walk is not None:
            with contextlib.suppress(Exception):  # the loop may be closed already
                walk.cancel()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._walk.where}: {self._walk.describe()}>"

    def _repr_html_(self) -> str:
        walk = self._walk
        fields = [("list", walk.where), ("parameters", walk.plan.query or "none")]
        return html_repr(type(self).__name__, fields, walk.describe(), label="progress")


class _AsyncWalk(Walker):
    """One walk through the pages of a list, by tasks of one asyncio loop."""

    def __init__(self, source: AsyncPageSource, plan: Plan, checks: PageChecks) -> None:
        super().__init__(source.where, source.url, source.failure_kind, plan, checks)
        self.source = source
        self.limit = Limit(plan.concurrency)
        self._active = 0
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._room: asyncio.Event | None = None
        self._stop_waiter: asyncio.Task[bool] | None = None
        self._tasks: set[asyncio.Task[Page]] = set()

    async def rows(
        self, on_page: Callable[[PageProgress], object] | None
    ) -> AsyncGenerator[Any, None]:
        self._bind()
        checks, number = self.checks, self.plan.first
        ahead: collections.deque[tuple[int, asyncio.Task[Page] | None]] = collections.deque()
        self.state = "reading"
        ended: BaseException | None = None
        try:
            page = await self._checked(number, await self.receive(number, None))
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
                number, task = ahead.popleft()
                page = await self._checked(number, await self.receive(number, task))
        except BaseException as error:
            ended = error
            raise
        finally:
            self.ended(ended)
            self.stop(cancelled=False)
            await self.settle()

    async def _checked(self, number: int, page: Page) -> Page:
        """Return ``page`` checked; a page that fails is asked for once more, fresh."""
        again: list[Page] = []
        if self.checks.would_ask_again(page, number):
            again.append(await self.receive(number, None, fresh=True))
        return self.checks.check(page, number, again.pop)

    def cancel(self) -> None:
        """Stop the walk from any thread or task of any loop."""
        self.cancelled = True
        loop = self._loop
        if loop is None:
            self._stopped = True  # not started: it ends as soon as it starts
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.stop(cancelled=True)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self.stop, True)

    def stop(self, cancelled: bool = False) -> None:
        """Cancel every page in flight (on the walk's loop); wake whatever waits."""
        if cancelled and not self._stopped:
            self.cancelled = True
        if self._stopped and (self._stopping is None or self._stopping.is_set()):
            return
        self._stopped = True
        if self._stopping is not None:
            self._stopping.set()
        self._wake()
        for task in list(self._tasks):
            task.cancel()
        if self.on_stop is not None:
            on_stop, self.on_stop = self.on_stop, None
            on_stop()

    async def settle(self) -> None:
        """Wait, at most `JOIN_WAIT`, for the cancelled pages to end (their connections close)."""
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=JOIN_WAIT)
        waiter = self._stop_waiter
        if waiter is not None and not waiter.done():
            waiter.cancel()

    async def receive(
        self, number: int, task: asyncio.Task[Page] | None, *, fresh: bool = False
    ) -> Page:
        """Return the page, fetched by a task; failures say where and how far it got."""
        try:
            if self._stopped:
                raise ExportStopped("the export was stopped")
            if task is None:
                task = self._spawn(number, fresh)
            assert self._stop_waiter is not None
            await asyncio.wait((task, self._stop_waiter), return_when=asyncio.FIRST_COMPLETED)
            if not task.done() or task.cancelled():
                raise ExportStopped("the export was stopped")
            return task.result()
        except Exception as error:
            failure = self.failure(error, number)
            if failure is None:
                raise
            quiet = isinstance(failure, ExportCancelled) or isinstance(error, Status)
            raise failure from (None if quiet else error)

    def _bind(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "apaginate runs on asyncio; under another event loop (trio), run paginate "
                "with a sync client in a worker thread"
            ) from None
        self._loop = loop
        self._stopping = asyncio.Event()
        self._room = asyncio.Event()
        self._stop_waiter = loop.create_task(self._stopping.wait())
        if self._stopped:  # cancelled before it started
            self._stopping.set()

    def _spawn(self, number: int, fresh: bool = False) -> asyncio.Task[Page]:
        assert self._loop is not None
        task = self._loop.create_task(self.fetch(number, fresh))
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Page]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a page left behind is not "never retrieved"

    def _schedule(
        self, ahead: collections.deque[tuple[int, asyncio.Task[Page] | None]], number: int
    ) -> None:
        if not self.plan.ahead or self._stopped:
            return
        pages = self.checks.pages
        last = pages - 1 if pages is not None else None
        limit = self.limit.current if last is not None else 1
        following = ahead[-1][0] + 1 if ahead else number + 1
        while len(ahead) < limit and (last is None or following <= last):
            ahead.append((following, self._spawn(following)))
            following += 1

    async def _enter(self) -> int:
        """Wait for room under the limit (every request passes here, retries included).

        Return the epoch the request is sent in (see `pacing.Limit`).
        """
        while not self._stopped and self._active >= self.limit.current:
            room = self._room
            assert room is not None
            await room.wait()
        if self._stopped:
            raise ExportStopped("the export was stopped")
        self._active += 1
        return self.limit.epoch

    def _leave(self) -> None:
        self._active -= 1
        self._wake()

    def _wake(self) -> None:
        """Let every request waiting for room look again."""
        if self._room is not None:
            self._room.set()
            self._room = asyncio.Event()

    async def fetch(self, number: int, fresh: bool = False) -> Page:
        """Request one page within the limit, waiting out 429s; return it read."""
        query, throttled = self.query(number), Throttled()
        while True:
            epoch = await self._enter()
            try:
                reply = await self.source.send(query, fresh)
            finally:
                self._leave()
            delay = throttled.delay(reply) if reply.status == 429 else None
            if delay is None:
                break
            self.limit.throttled(epoch)
            if await self._stopped_within(delay):
                raise ExportStopped("the export was stopped")
        page = self.read(reply, number)
        self.limit.answered()
        self._wake()
        return page

    async def _stopped_within(self, seconds: float) -> bool:
        stopping = self._stopping
        assert stopping is not None
        try:
            await asyncio.wait_for(stopping.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True
