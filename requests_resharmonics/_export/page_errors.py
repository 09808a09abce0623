"""A failed page, said in words: which list, which page, its URL, and how far the export got."""

from __future__ import annotations

import requests

from .._describe import describe
from ..errors import PageHTTPError, PageRequestError, PaginationError, ResharmonicsError

#: How much of an error page's body its error quotes.
EXCERPT = 200


def page_failure(
    error: Exception, where: str, number: int, delivered: int, url: str
) -> BaseException:
    """Return the error to raise for ``error`` on page ``number``, or ``error`` itself.

    Errors of the library's own that are not about the page (a token request that failed)
    are returned unchanged.
    """
    rows = f"; {delivered} rows were delivered before it"
    if isinstance(error, PaginationError):
        return PaginationError(f"{error}{rows}", where=where, page=number, delivered=delivered)
    if isinstance(error, ResharmonicsError):
        return error
    if isinstance(error, requests.HTTPError) and error.response is not None:
        answer = error.response
        status = f"HTTP {answer.status_code}" + (f" {answer.reason}" if answer.reason else "")
        return PageHTTPError(
            f"{where} page {number} answered {status} ({url}): {excerpt(answer)}{rows}",
            url=url, where=where, page=number, delivered=delivered, response=answer,
        )  # fmt: skip
    if isinstance(error, requests.RequestException):
        return PageRequestError(
            f"{where} page {number} failed ({url}): {describe(error, url)}{rows}",
            url=url, where=where, page=number, delivered=delivered,
        )  # fmt: skip
    return error


def excerpt(response: requests.Response) -> str:
    """Return the start of an error answer's body, on one line."""
    try:
        text = response.text.strip().replace("\n", " ")
    except (requests.RequestException, RuntimeError):
        return "(the body could not be read)"
    return text if len(text) <= EXCERPT else text[:EXCERPT] + "..."
