"""Walking a Spring-style paginated list endpoint, one page at a time, as items are needed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Callable

import requests

from .errors import ResharmonicsError

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
    )


def iterate_items(
    get: Callable[[Mapping[str, Any]], requests.Response],
    where: str,
    params: Mapping[str, Any] | None,
    page_size: int,
) -> Iterator[Any]:
    """Yield every item of a list, fetching the next page only when the caller needs it.

    ``get`` sends one GET with the given query parameters. A ``page`` in ``params`` is where
    to start; a ``size`` there wins over ``page_size``.
    """
    query = dict(params or {})
    first, wanted_size = query.pop("page", 0), query.pop("size", page_size)
    number, size = _whole(first), _whole(wanted_size)
    if number is None or number < 0 or size is None or size < 1:
        raise PaginationError(
            f"the first page must be a whole number >= 0 and the page size one >= 1, "
            f"not page={first!r}, size={wanted_size!r}"
        )
    previous: Page | None = None
    while True:
        response = get({**query, "page": number, "size": size})
        response.raise_for_status()
        try:
            payload = response.json()
        except ValueError:
            raise PaginationError(f"{where} page {number} is not JSON") from None
        page = read_page(payload, f"{where} page {number}")
        if page.number is not None and page.number != number:
            raise PaginationError(
                f"{where} answered page {page.number} when asked for page {number}"
            )
        if not page.has_metadata and previous is not None and previous.items == page.items:
            raise PaginationError(f"{where} ignores the page parameter: page {number} repeats")
        yield from page.items
        if _is_last(page, number, size):
            return
        previous = page
        number += 1


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
