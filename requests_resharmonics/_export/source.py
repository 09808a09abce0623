"""What the export engine asks of an HTTP library: one page's GET, and what its failures were.

The engine (`export`, `aexport`) knows no HTTP library. A reader for one (requests, httpx)
is a `PageSource` (or an `AsyncPageSource`): it sends the GET of one page and answers a
`Reply`, says what kind of failure one of its library's exceptions is, and cuts its
requests in flight when the export is stopped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .page_errors import FailureKind

#: Headers of a page asked for a second time: a stale copy is the usual cause of a bad page.
FRESH = {"Cache-Control": "no-cache", "Pragma": "no-cache"}


@dataclass(frozen=True)
class Reply:
    """One page's answer, its body already received, in no HTTP library's terms."""

    status: int
    reason: str
    #: Its headers (case-insensitive, as both libraries keep them).
    headers: Mapping[str, str]
    #: The library's own response, for the errors that carry it.
    response: Any
    #: Reads the body as JSON (raises ValueError when it is not).
    json: Callable[[], Any]
    #: Reads the body as text (never raises).
    text: Callable[[], str]
    #: Releases the connection.
    close: Callable[[], object]


class PageSource(Protocol):
    """Sends the pages of one list through one HTTP library, from any thread."""

    #: The list in words, for messages: ``GET /api/v3/bookings``.
    where: str

    def send(self, query: Mapping[str, Any], fresh: bool) -> Reply:
        """GET the list with this query (``fresh``: bypassing caches, with `FRESH`)."""
        ...

    def url(self, query: Mapping[str, Any]) -> str:
        """Return the URL of the GET with this query, for messages."""
        ...

    def failure_kind(self, error: BaseException) -> FailureKind | None:
        """Return what kind of failure ``error`` is, or None if it is no request failure."""
        ...

    def cut(self) -> None:
        """Make every request in flight fail now, and any later one at once (thread-safe)."""
        ...

    def close(self) -> None:
        """Release what the source holds (its connections, not the caller's client)."""
        ...


class AsyncPageSource(Protocol):
    """Sends the pages of one list through an async HTTP client, on the caller's event loop."""

    where: str

    def send(self, query: Mapping[str, Any], fresh: bool) -> Awaitable[Reply]:
        """GET the list with this query (``fresh``: bypassing caches, with `FRESH`)."""
        ...

    def url(self, query: Mapping[str, Any]) -> str:
        """Return the URL of the GET with this query, for messages."""
        ...

    def failure_kind(self, error: BaseException) -> FailureKind | None:
        """Return what kind of failure ``error`` is, or None if it is no request failure."""
        ...
