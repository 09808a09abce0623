"""A failed page, said in words: which list, which page, its URL, and how far the export got.

The error classes are the same whichever HTTP library fetched the page; each reader says
only what kind of failure its library's exception was (`FailureKind`), and whether a retry
may mend it follows from that kind.
"""

from __future__ import annotations

import enum
from typing import Any

from .._describe import describe
from ..errors import (
    PageConnectionError,
    PageHTTPError,
    PageRequestError,
    PageTimeoutError,
    PaginationError,
)

#: How much of an error page's body its error quotes.
EXCERPT = 200


class FailureKind(enum.Enum):
    """What kind of failure left a page without an answer."""

    TIMEOUT = "timeout"  # not answered in time: retryable
    CONNECTION = "connection"  # refused, reset, unreachable: retryable
    CUT_OFF = "cut off"  # the answer broke off mid-body: retryable
    TLS = "tls"  # the TLS handshake or certificate was refused: not retryable
    OTHER = "other"  # an invalid URL, too many redirects...: not retryable


def request_failure(
    error: BaseException, kind: FailureKind, where: str, number: int, delivered: int, url: str
) -> PageRequestError:
    """Return the error to raise for a page that got no (whole) answer."""
    message = f"{where} page {number} failed ({url}): {describe(error, url)}{_rows(delivered)}"
    details: dict[str, Any] = {"url": url, "where": where, "page": number, "delivered": delivered}
    if kind is FailureKind.TIMEOUT:
        return PageTimeoutError(message, retryable=True, **details)
    if kind in (FailureKind.CONNECTION, FailureKind.TLS):
        return PageConnectionError(message, retryable=kind is FailureKind.CONNECTION, **details)
    return PageRequestError(message, retryable=kind is FailureKind.CUT_OFF, **details)


def http_failure(
    status: int, reason: str, body: str, response: Any, where: str, number: int,
    delivered: int, url: str,
) -> PageHTTPError:  # fmt: skip
    """Return the error to raise for a page answered with an error status."""
    said = f"HTTP {status}" + (f" {reason}" if reason else "")
    return PageHTTPError(
        f"{where} page {number} answered {said} ({url}): {excerpt(body)}{_rows(delivered)}",
        url=url, status_code=status, where=where, page=number, delivered=delivered,
        response=response,
    )  # fmt: skip


def restated(error: PaginationError, where: str, number: int, delivered: int) -> PaginationError:
    """Return a page's `PaginationError` (not a page) again, saying how far the export got."""
    return PaginationError(f"{error}{_rows(delivered)}", where=where, page=number,
                           delivered=delivered)  # fmt: skip


def excerpt(text: str) -> str:
    """Return the start of an error answer's body, on one line."""
    text = text.strip().replace("\n", " ")
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."


def _rows(delivered: int) -> str:
    return f"; {delivered} rows were delivered before it"
