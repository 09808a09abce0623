"""One page of a Spring-style paginated list, read from either envelope the API uses.

And `PageProgress`, what an export tells of each page it delivers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import PaginationError


@dataclass(frozen=True)
class Page:
    """One page of a list: its items and what it says of its place among the pages.

    Example:
        >>> page = read_page({"content": [1, 2], "page": {"number": 0, "totalPages": 1}}, "")
        >>> page.items, page.total_pages
        ([1, 2], 1)
    """

    items: list[Any]
    number: int | None
    total_pages: int | None
    last: bool | None
    total_elements: int | None = None
    size: int | None = None

    @property
    def has_metadata(self) -> bool:
        """Whether the page says where it stands (number, total pages or last)."""
        return (self.number, self.total_pages, self.last) != (None, None, None)


@dataclass(frozen=True)
class PageProgress:
    """What `paginate`'s ``on_page`` callback hears of each page as it is delivered."""

    number: int
    items: int
    total_pages: int | None
    total_elements: int | None


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
    size = _whole(meta.get("size"))
    return Page(
        items=content,
        number=_whole(meta.get("number")),
        total_pages=_whole(meta.get("totalPages")),
        last=last if isinstance(last, bool) else None,
        total_elements=_whole(meta.get("totalElements")),
        size=size if size else None,
    )


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
