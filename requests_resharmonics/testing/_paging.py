"""Spring Data's paging of a list: ``page``, ``size`` and ``sort``, and the page envelope."""

from __future__ import annotations

import math
from typing import Any

from ._errors import ApiError
from ._query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Query


def page_of(rows: list[Any], query: Query, legacy: bool = False) -> dict[str, Any]:
    """One page of rows, sorted and cut as Spring Data does, in the API's envelope."""
    number = _lenient(query.text("page"), 0, upper=None)
    size = _lenient(query.text("size"), DEFAULT_PAGE_SIZE, upper=MAX_PAGE_SIZE)
    if size < 1:
        size = DEFAULT_PAGE_SIZE
    rows = sort_rows(rows, query.given("sort"))
    content = rows[number * size : (number + 1) * size]
    total_pages = math.ceil(len(rows) / size)
    page = {"size": size, "number": number, "totalElements": len(rows), "totalPages": total_pages}
    if not legacy:
        return {"content": content, "page": page}
    return {
        "content": content,
        **page,
        "first": number == 0,
        "last": number >= total_pages - 1,
        "numberOfElements": len(content),
        "empty": not content,
    }


def _lenient(value: str | None, default: int, upper: int | None) -> int:
    """Spring Data's reading of page and size: unreadable means the default, negative means 0."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    number = max(number, 0)
    return min(number, upper) if upper is not None else number


def sort_rows(rows: list[Any], orders: list[str]) -> list[Any]:
    """Sort by ``property[,asc|desc]`` values, the first one the most significant.

    A dotted property sorts by a nested field (``unit.name``), as Spring Data allows. A
    property the rows do not have is a 400 (a guess: Spring Data's PropertyReferenceException
    is answered 400 or 500 depending on the service).
    """
    keys: list[tuple[str, bool]] = []
    for order in orders:
        parts = [part.strip() for part in order.split(",") if part.strip()]
        if not parts:
            continue
        descending = parts[-1].lower() == "desc"
        names = parts[:-1] if parts[-1].lower() in ("asc", "desc") else parts
        keys.extend((name, descending) for name in names)
    if not keys or not rows:
        return rows
    for name, _ in keys:
        if not all(isinstance(row, dict) for row in rows) or _missing(rows[0], name):
            raise ApiError(400, f"No property '{name}' found for this list")
    ordered = list(rows)
    for name, descending in reversed(keys):  # stable sorts, least significant first
        ordered.sort(key=lambda row: _sort_key(_lookup(row, name)), reverse=descending)
    return ordered


def _lookup(row: Any, name: str) -> Any:
    for part in name.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


def _missing(row: dict[str, Any], name: str) -> bool:
    current: Any = row
    for part in name.split("."):
        if not isinstance(current, dict) or part not in current:
            return True
        current = current[part]
    return False


def _sort_key(value: Any) -> tuple[int, Any]:
    # Nulls last, as most databases order them ascending; numbers and strings apart.
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))
