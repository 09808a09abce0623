"""Walking a Spring-style paginated list endpoint: in order, with the next pages on their way."""

from __future__ import annotations

import collections
import threading
from collections.abc import Generator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import requests

from .errors import ConfigurationError, ResharmonicsError
from .retries import MAX_API_RETRY_AFTER, retry_after

DEFAULT_PAGE_SIZE = 100


class PaginationError(ResharmonicsError):
    """A list endpoint answered with something that is not a page of results."""


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and what it says of its place among the pages."""

    items: list[Any]
    number: int | None
    total_pages: int | None
    last: bool | None
    total_elements: int | None = None

    @property
    def has_metadata(self) -> bool:
        """Whether the page says where it stands (number, total pages or last)."""
        return (self.number, self.total_pages, self.last) != (None, None, None)


def read_page(payload: object, where: str) -> Page:
    """Read a page in either envelope the API uses.

    The current one is ``{"content": [...], "page": {"number", "totalPages", ...}}``; older
    deployments put ``number``, ``totalPages`` and ``last`` at the top level.
    """
    content = payload.get("content") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(content, list):
        raise PaginationError(
            f"{where} did not answer with a page: expected a JSON object with a 'content' "
            f"list, got {_describe(payload)}"
        )
    meta = payload.get("page")
    if not isinstance(meta, dict):
        meta = payload
    last = meta.get("last")
    return Page(
        items=content,
        number=_whole(meta.get("number")),
        total_pages=_whole(meta.get("totalPages")),
        last=last if isinstance(last, bool) else None,
        total_elements=_whole(meta.get("totalElements")),
    )


@dataclass(frozen=True)
class PageProgress:
    """What `paginate`'s ``on_page`` callback hears of each page as it is delivered."""

    number: int
    items: int
    total_pages: int | None
    total_elements: int | None


def iterate_items(
    get: Callable[[Mapping[str, Any]], requests.Response],
    where: str,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
) -> Generator[Any, None, None]:
    """Yield every item of a list, in order, overlapping page requests with the caller's work.

    ``get`` sends one GET with the given query parameters. A ``page`` in ``params`` is where
    to start; a ``size`` there wins over ``page_size``. With ``prefetch`` the next page is
    requested while the caller works through the current one; with ``concurrency`` N, once
    the first page says how many there are, up to N pages are in flight (at most about N
    held in memory). A 429 halves the pages in flight and waits ``Retry-After``; they grow
    back one at a time as pages arrive.
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
    walk = _Walk(get, where, query, size, concurrency if prefetch or concurrency > 1 else 0)
    return walk.items(number, on_page)


class _Walk:
    """One walk through the pages of a list: its requests, its throttling, its threads."""

    def __init__(
        self,
        get: Callable[[Mapping[str, Any]], requests.Response],
        where: str,
        query: dict[str, Any],
        size: int,
        workers: int,
    ) -> None:
        self.get = get
        self.where = where
        self.query = query
        self.size = size
        self.workers = workers
        self.in_flight = max(workers, 1)  # the pages to keep requested ahead, lowered by 429s
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def items(
        self, number: int, on_page: Callable[[PageProgress], object] | None
    ) -> Generator[Any, None, None]:
        executor = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="resharmonics-page")
            if self.workers
            else None
        )
        ahead: collections.deque[tuple[int, Future[Page] | None]] = collections.deque()
        try:
            page = self.fetch(number)
            previous: Page | None = None
            while True:
                self._check(page, number, previous)
                last = _is_last(page, number, self.size)
                if not last:
                    self._schedule(executor, ahead, page, number)
                if on_page is not None:
                    on_page(PageProgress(number, len(page.items), page.total_pages,
                                         page.total_elements))  # fmt: skip
                yield from page.items
                if last:
                    return
                if not ahead:  # sequential: the next page is asked for only now
                    ahead.append((number + 1, None))
                number, future = ahead.popleft()
                previous, page = page, future.result() if future else self.fetch(number)
        finally:
            # Abandoned (a break, an exception, garbage collection) or done: no request is
            # left running and no thread behind.
            self._stopping.set()
            for _, future in ahead:
                if future is not None:
                    future.cancel()
            if executor is not None:
                executor.shutdown(wait=True)

    def _schedule(
        self,
        executor: ThreadPoolExecutor | None,
        ahead: collections.deque[tuple[int, Future[Page] | None]],
        page: Page,
        number: int,
    ) -> None:
        if executor is None:
            return
        last = page.total_pages - 1 if page.total_pages is not None else None
        # Without a page count, only the next page is known to be wanted.
        limit = self.in_flight if last is not None else 1
        following = ahead[-1][0] + 1 if ahead else number + 1
        while len(ahead) < limit and (last is None or following <= last):
            ahead.append((following, executor.submit(self.fetch, following)))
            following += 1

    def fetch(self, number: int) -> Page:
        """Request one page, waiting out 429s; return it read."""
        for attempt in range(THROTTLED_ATTEMPTS):
            response = self.get({**self.query, "page": number, "size": self.size})
            if response.status_code != 429 or attempt == THROTTLED_ATTEMPTS - 1:
                break
            delay = _retry_after(response, attempt)
            response.close()
            with self._lock:
                self.in_flight = max(1, self.in_flight // 2)
            if self._stopping.wait(delay):
                break
        response.raise_for_status()
        with self._lock:
            self.in_flight = min(self.in_flight + 1, max(self.workers, 1))
        try:
            payload = response.json()
        except ValueError:
            raise PaginationError(f"{self.where} page {number} is not JSON") from None
        return read_page(payload, f"{self.where} page {number}")

    def _check(self, page: Page, number: int, previous: Page | None) -> None:
        if page.number is not None and page.number != number:
            raise PaginationError(
                f"{self.where} answered page {page.number} when asked for page {number}"
            )
        if not page.has_metadata and previous is not None and previous.items == page.items:
            raise PaginationError(f"{self.where} ignores the page parameter: page {number} repeats")


#: How many times one page is asked for while the API answers 429.
THROTTLED_ATTEMPTS = 8


def _retry_after(response: requests.Response, attempt: int) -> float:
    """Seconds to wait after a 429: its ``Retry-After`` (up to a minute), else a back-off."""
    asked = retry_after(response.raw)
    seconds = 0.5 * 2**attempt if asked is None else asked
    return min(max(seconds, 0.0), float(MAX_API_RETRY_AFTER))


def _is_last(page: Page, number: int, size: int) -> bool:
    if not page.items or page.last:
        return True
    if page.total_pages is not None:
        return number >= page.total_pages - 1
    return page.last is None and len(page.items) < size


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _describe(payload: object) -> str:
    if isinstance(payload, dict):
        keys = ", ".join(repr(key) for key in list(payload)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(payload, list):
        return f"a list of {len(payload)} items"
    return f"a JSON {type(payload).__name__}"
