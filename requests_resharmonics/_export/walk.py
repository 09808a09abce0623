"""What the threaded and the async walks share: the plan, a page's answer read, its failures.

A walk through the pages of a list is driven two ways, by threads (`export`) and by tasks
on an event loop (`aexport`); everything that does not wait is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError, ExportCancelled, PaginationError, ResharmonicsError
from .cancel import ExportStopped
from .checks import PageChecks
from .page import Page, PageProgress, _whole, read_page
from .page_errors import FailureKind, http_failure, request_failure, restated
from .source import Reply

#: How long stopping waits for the requests in flight to end. Those whose connections were
#: cut end at once; one still waiting after this (for a token renewal that hangs, say) is
#: left to end on its own, and can send nothing more.
JOIN_WAIT = 0.5


@dataclass(frozen=True)
class Plan:
    """Where an export starts and how it reads: checked against ``params`` before any request."""

    query: dict[str, Any]
    first: int
    size: int
    concurrency: int
    ahead: bool  # request the next pages while the caller works


def plan(
    params: Mapping[str, Any] | None, page_size: int, *, prefetch: bool, concurrency: int
) -> Plan:
    """Return the plan of an export, or raise naming the setting that cannot work.

    A ``page`` in ``params`` is where to start; a ``size`` there wins over ``page_size``.
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
    return Plan(query, number, size, concurrency, prefetch or concurrency > 1)


class Status(Exception):
    """A page answered with an error status, carried to the one that reports it."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


class Walker:
    """The state of one walk that both drivers keep, and the words they report it in."""

    def __init__(
        self,
        where: str,
        url: Callable[[Mapping[str, Any]], str],
        kind: Callable[[BaseException], FailureKind | None],
        plan: Plan,
        checks: PageChecks,
    ) -> None:
        self.where = where
        self.plan = plan
        self.checks = checks
        self.cancelled = False
        self.state = "not started"
        self.page: int | None = None  # the page being delivered
        self.on_stop: Callable[[], object] | None = None
        self._url = url
        self._kind = kind

    def query(self, number: int) -> dict[str, Any]:
        """Return the query of page ``number``."""
        return {**self.plan.query, "page": number, "size": self.plan.size}

    def read(self, reply: Reply, number: int) -> Page:
        """Return the page an answer holds; raise `Status` for an error status."""
        if reply.status >= 400:
            raise Status(reply)
        try:
            payload = reply.json()
        except ValueError:
            raise PaginationError(f"{self.where} page {number} is not JSON") from None
        return read_page(payload, f"{self.where} page {number}")

    def failure(self, error: BaseException, number: int) -> BaseException | None:
        """Return what to raise instead of ``error`` from page ``number``; None: raise it."""
        delivered = self.checks.delivered
        if isinstance(error, (ExportStopped, ExportCancelled)) or self.cancelled:
            return self.cancelled_error() if self.cancelled else None
        if isinstance(error, Status):
            reply = error.reply
            return http_failure(reply.status, reply.reason, reply.text(), reply.response,
                                self.where, number, delivered, self.page_url(number))  # fmt: skip
        if isinstance(error, PaginationError):
            return restated(error, self.where, number, delivered)
        if isinstance(error, ResharmonicsError):
            return None  # not about the page (a token request that failed)
        kind = self._kind(error)
        if kind is None:
            return None
        return request_failure(error, kind, self.where, number, delivered, self.page_url(number))

    def page_url(self, number: int) -> str:
        """Return page ``number``'s URL, for messages."""
        return self._url(self.query(number))

    def cancelled_error(self) -> ExportCancelled:
        """Return the error the caller gets once the walk was cancelled."""
        checks = self.checks
        of = f" of {checks.total}" if checks.total is not None else ""
        return ExportCancelled(
            f"{self.where}: the export was cancelled after {checks.delivered}{of} rows",
            where=self.where,
            delivered=checks.delivered,
        )

    def delivered(self, number: int, page: Page) -> PageProgress:
        """Note that page ``number`` is being delivered; return what ``on_page`` hears."""
        self.page = number
        return PageProgress(number, len(page.items), page.total_pages, page.total_elements)

    def ended(self, error: BaseException | None) -> None:
        """Note how the walk ended: complete (no error), cancelled, failed or left early."""
        if error is None:
            self.state = "complete"
        elif isinstance(error, ExportCancelled):
            self.state = "cancelled"
        elif isinstance(error, (GeneratorExit, StopAsyncIteration)):
            self.state = "left early"
        else:
            self.state = f"failed ({type(error).__name__})"

    def describe(self) -> str:
        """Say how far the walk got: ``reading, 300 of 683 rows, page 3 of 7``."""
        checks = self.checks
        of = f" of {checks.total}" if checks.total is not None else ""
        state = self.state
        if self.cancelled and state in ("not started", "reading"):
            state = "cancelled"  # by another thread: the one iterating has not seen it yet
        said = f"{state}, {checks.delivered}{of} rows"
        pages = checks.pages
        if state == "complete":
            return said + (f", {pages} pages" if pages is not None else "")
        if self.page is not None:
            said += f", page {self.page}" + (f" of {pages}" if pages is not None else "")
        return said
