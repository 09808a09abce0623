"""The checks that make an export deliver every row exactly once, or say what it could not.

The first page sets the expectations: how many rows (``totalElements``), how many pages
(``totalPages``) and how many rows a page holds. Every later page is held to them before any
of its rows is delivered. A page that fails a check is asked for once more, bypassing caches
(a stale copy from a proxy or a cache is the usual cause); if the second answer passes, it is
used. Otherwise a strict export raises, and a lenient one warns and goes on without dropping
a row it fetched (it skips only rows it has already delivered).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import (
    CollectionChangedError,
    InconsistentPagesError,
    PaginationWarning,
    RepeatedRowsError,
    ShortPageError,
)
from .page import Page
from .seen_ids import IdSet

#: The fields that identify a row, in order of preference: its own id, else (a bookings or
#: room stays row, one per room stay, has none) its room stay's. A guest stay row has both,
#: and several guest stays share a room stay.
ID_FIELDS = ("id", "roomStayId")

_UNDECIDED = object()


class PageChecks:
    """Holds each page of one export to what the first page said.

    Example:
        >>> checks = PageChecks("GET /api/v3/units", size=100, lenient=False)
        >>> page = checks.check(page, 0, ask_again)  # raises if page 0 is inconsistent
        >>> checks.is_last(page, 0)
        False
    """

    def __init__(self, where: str, size: int, *, lenient: bool) -> None:
        self.where = where
        self.size = size
        self.lenient = lenient
        #: Rows handed to the caller so far (the export counts them).
        self.delivered = 0
        self._start: int | None = None
        self._rows_per_page = size
        self._totals: tuple[int | None, int | None] = (None, None)
        self._pages_at_most: int | None = None  # lenient: the most pages any page announced
        self._changed = False
        self._id_field: object = _UNDECIDED
        self._ids = IdSet()
        self._previous: list[Any] | None = None
        self._last_read: tuple[list[Any], set[Any] | None] | None = None
        self._looked: tuple[Page, int, _Problem | None] | None = None

    @property
    def total(self) -> int | None:
        """The rows the export should deliver, as the first page said (None if unknown)."""
        total = self._totals[0]
        if total is None or self._start is None:
            return None
        return max(total - self._start * self._rows_per_page, 0)

    def would_ask_again(self, page: Page, number: int) -> bool:
        """Whether `check` would ask for ``page`` once more (the async walk asks first).

        What it found is kept for `check` of the same page, which does not look twice.
        """
        problem = self._problem(page, number)
        self._looked = (page, number, problem)
        return problem is not None and not (self.lenient and problem.kind is CollectionChangedError)

    def check(self, page: Page, number: int, ask_again: Callable[[], Page]) -> Page:
        """Return ``page`` (or its second answer) if consistent; raise or warn otherwise."""
        looked, self._looked = self._looked, None
        if looked is not None and looked[0] is page and looked[1] == number:
            problem = looked[2]
        else:
            problem = self._problem(page, number)
        if problem is None:
            return self._accept(page, number)
        if self.lenient and problem.kind is CollectionChangedError:
            # A live list changes: this answer is real data, and asking again would not help.
            warnings.warn(problem.build(asked=1).args[0], PaginationWarning, stacklevel=4)
            return self._accept(page, number, lenient=True, said=problem.kind)
        again = ask_again()
        second = self._problem(again, number)
        if second is None:
            return self._accept(again, number)
        if self.lenient and not isinstance(second, _Fatal):
            warnings.warn(second.build().args[0], PaginationWarning, stacklevel=4)
            return self._accept(again, number, lenient=True, said=second.kind)
        raise second.build()

    @property
    def pages(self) -> int | None:
        """The pages to walk: the first page's count (lenient: the most any page said)."""
        return self._pages_at_most if self.lenient else self._totals[1]

    def is_last(self, page: Page, number: int) -> bool:
        """Whether ``page`` (already checked) ends the export."""
        if not page.items:
            return True
        pages = self.pages
        if pages is not None:
            return number >= pages - 1
        if page.last is not None:
            return page.last
        return len(page.items) < self.size

    def finish(self) -> None:
        """At the end: raise if fewer or more rows were delivered than the first page said."""
        expected = self.total
        if expected is None or self._changed or self.delivered == expected:
            return
        message = (
            f"{self.where} delivered {self.delivered} rows, but its first page said {expected}"
        )
        if self.lenient:
            warnings.warn(message, PaginationWarning, stacklevel=3)
            return
        raise InconsistentPagesError(message, where=self.where, delivered=self.delivered)

    def _problem(self, page: Page, number: int) -> _Problem | None:
        if page.number is not None and page.number != number:
            return _Fatal(self, number, f"answered page {page.number} when asked for page "
                          f"{number}", InconsistentPagesError)  # fmt: skip
        if self._start is None:
            return self._first_problem(page, number)
        totals = (page.total_elements, page.total_pages)
        if totals != (None, None) and totals != self._totals:
            return _Problem(self, number, f"page {number} says {_totals(totals)}, page "
                            f"{self._start} said {_totals(self._totals)}: the list changed "
                            "during the export", CollectionChangedError,
                            before=self._totals, after=totals)  # fmt: skip
        expected = self._expected_rows(number)
        if expected is None and page.last is False:
            expected = self._rows_per_page  # no page count, but not the last: a full page
        if expected is not None and len(page.items) < expected:
            return self._short(number, expected, len(page.items))
        pages = self._totals[1]
        if page.last and pages is not None and number < pages - 1:
            return _Problem(self, number, f"page {number} says it is the last, but page "
                            f"{self._start} said there are {pages} pages",
                            InconsistentPagesError)  # fmt: skip
        return self._repeats(page, number)

    def _first_problem(self, page: Page, number: int) -> _Problem | None:
        total, pages = page.total_elements, page.total_pages
        rows = page.size or self.size
        more = (pages is not None and number < pages - 1) or page.last is False
        if page.items and more and len(page.items) != rows:
            if total and pages and _pages_for(total, len(page.items)) == pages:
                rows = len(page.items)  # the server caps the page size and did not say so
            elif len(page.items) < rows:
                return self._short(number, rows, len(page.items))
        if total is not None and pages is not None and _pages_for(total, rows) != pages:
            return _Problem(self, number, f"page {number} says {_totals((total, pages))}, "
                            f"which pages of {rows} cannot hold",
                            InconsistentPagesError)  # fmt: skip
        self._rows_per_page = rows
        return self._repeats(page, number)

    def _expected_rows(self, number: int) -> int | None:
        total, pages = self._totals
        if pages is None:
            return None
        if number < pages - 1:
            return self._rows_per_page
        if total is not None and number == pages - 1:
            return max(total - number * self._rows_per_page, 0)
        return None

    def _short(self, number: int, expected: int, got: int) -> _Problem:
        return _Problem(self, number, f"page {number} has {got} rows, expected {expected}"
                        f"{self._of_pages()}", ShortPageError,
                        expected=expected, got=got)  # fmt: skip

    def _of_pages(self) -> str:
        pages = self._totals[1]
        return f" (page {self._start} said {_totals(self._totals)})" if pages else ""

    def _repeats(self, page: Page, number: int) -> _Problem | None:
        field = self._id_field
        if field is _UNDECIDED:
            field = self._id_field = _id_field(page.items)
        if field is None:
            if page.items and page.items == self._previous:
                what = "the page before it"
                if not page.has_metadata:
                    what += ", as a server that ignores the page parameter would"
                return _Problem(self, number, f"page {number} repeats the rows of {what}",
                                RepeatedRowsError, repeated=len(page.items))  # fmt: skip
            return None
        unique = self._read_ids(page.items, str(field))
        if unique is None:
            self._id_field = None
            return None
        within = len(page.items) - len(unique)
        if not within and not self._ids.seen_of(unique):
            return None
        # Only now, on the rare bad page, the ids in the page's order.
        ids = [item[field] for item in page.items]
        repeated = self._ids.seen_of(ids)
        sample = ", ".join(repr(key) for key in (repeated or ids)[:3])
        count = len(repeated) + within
        return _Problem(self, number, f"page {number} repeats {count} rows already delivered "
                        f"({field} {sample}{', ...' if count > 3 else ''})", RepeatedRowsError,
                        repeated=count)  # fmt: skip

    def _accept(
        self, page: Page, number: int, *, lenient: bool = False, said: type | None = None
    ) -> Page:
        totals = (page.total_elements, page.total_pages)
        if self._start is None:
            self._start, self._totals = number, totals
        elif lenient and totals != (None, None) and totals != self._totals:
            self._changed = True
            self._totals = totals
        if lenient:
            self._changed = True
        if page.total_pages is not None:
            self._pages_at_most = max(self._pages_at_most or 0, page.total_pages)
        items = page.items
        field = self._id_field
        unique = self._read_ids(items, field) if isinstance(field, str) else None
        if unique is not None and isinstance(field, str):
            seen = set(self._ids.seen_of(unique)) if lenient else set()
            if lenient and (seen or len(unique) != len(items)):
                ids = [item[field] for item in items]
                items = _unseen(items, ids, seen)
                if said is not RepeatedRowsError:
                    warnings.warn(f"{self.where} page {number}: skipped "
                                  f"{len(page.items) - len(items)} rows already delivered",
                                  PaginationWarning, stacklevel=5)  # fmt: skip
                page = Page(items, page.number, page.total_pages, page.last,
                            page.total_elements, page.size)  # fmt: skip
            self._ids.update(unique)
        self._previous = items
        return page

    def _read_ids(self, items: list[Any], field: str) -> set[Any] | None:
        """Return the set of a page's ids, read once per page (for its check and record)."""
        cached = self._last_read
        if cached is not None and cached[0] is items:
            return cached[1]
        read = _ids(items, field)
        self._last_read = (items, read)
        return read


class _Problem:
    """What was wrong with a page, built into its error only if asking again does not help."""

    def __init__(
        self, checks: PageChecks, number: int, what: str, kind: type[InconsistentPagesError],
        **details: Any,
    ) -> None:  # fmt: skip
        self.checks, self.number, self.what, self.kind = checks, number, what, kind
        self.details = details

    def build(self, asked: int = 2) -> InconsistentPagesError:
        checks = self.checks
        twice = " (the page was asked for twice)" if asked == 2 else ""
        message = (
            f"{checks.where} {self.what}; {checks.delivered} rows were delivered before it{twice}"
        )
        return self.kind(
            message, where=checks.where, page=self.number, delivered=checks.delivered,
            **self.details,
        )  # fmt: skip


class _Fatal(_Problem):
    """A problem no lenient export goes on after: the server answered another page."""


def _pages_for(total: int, rows: int) -> int:
    """Count the pages that ``total`` rows fill, ``rows`` a page, as Spring does."""
    return -(-total // rows)


def _totals(totals: tuple[int | None, int | None]) -> str:
    rows, pages = totals
    said = [f"{rows} rows" if rows is not None else "", f"{pages} pages" if pages else ""]
    return " in ".join(part for part in said if part) or "no totals"


def _id_field(items: list[Any]) -> str | None:
    for item in items[:1]:
        if isinstance(item, dict):
            return next((name for name in ID_FIELDS if name in item), None)
    return None


def _ids(items: list[Any], field: str) -> set[Any] | None:
    """Return the set of the rows' ids, or None when a row has none (or an unhashable one)."""
    try:
        unique = {item[field] for item in items}
    except (KeyError, TypeError):
        return None
    if None in unique:
        return None
    return unique


def _unseen(items: list[Any], ids: Iterable[Any], seen: set[Any]) -> list[Any]:
    kept, taken = [], set()
    for item, key in zip(items, ids, strict=True):
        if key not in seen and key not in taken:
            kept.append(item)
            taken.add(key)
    return kept
