"""The export engine's reader for requests: a session's pages, through connections it can cut."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

import requests
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from .._describe import chain
from .cancel import ExportConnections
from .export import Export, PageProgress, iterate_items
from .page_errors import FailureKind
from .source import FRESH, Reply

#: Causes of a failed request that mean it was not answered in time, wherever requests
#: wraps them (a read timeout in the body is a ``requests.ConnectionError``).
_TIMEOUTS = (requests.Timeout, Urllib3Timeout, socket.timeout, TimeoutError)


class RequestsPages:
    """The pages of one list, sent through ``session``'s own copy (`ExportConnections`).

    Example:
        >>> source = RequestsPages(session, "/api/v3/units", {})
        >>> source.send({"page": 0, "size": 100}, fresh=False).status
        200
    """

    def __init__(self, session: requests.Session, path: str, kwargs: dict[str, Any]) -> None:
        self.where = f"GET {path}"
        self._path = path
        self._connections = ExportConnections(session)
        self._sender = self._connections.session
        self._headers = dict(kwargs.pop("headers", None) or {})
        self._kwargs = kwargs
        url_for: Callable[[str], str] = getattr(session, "url_for", lambda url: url)
        self._url = url_for(path)

    def send(self, query: Mapping[str, Any], fresh: bool) -> Reply:
        """GET the list with ``query``; the answer's body is read."""
        headers = {**self._headers, **FRESH} if fresh else self._headers or None
        response = self._sender.get(self._path, params=query, headers=headers, **self._kwargs)
        return reply_of(response)

    def url(self, query: Mapping[str, Any]) -> str:
        """Return the URL of the GET with ``query``."""
        prepared = requests.Request("GET", self._url, params=dict(query)).prepare()
        return str(prepared.url)

    def failure_kind(self, error: BaseException) -> FailureKind | None:
        """Return what kind of request failure ``error`` is (None: not one)."""
        return failure_kind(error)

    def cut(self) -> None:
        """Cut the export's connections now (thread-safe)."""
        self._connections.cut()

    def close(self) -> None:
        """Close the export's own connections (never the session's)."""
        self._connections.close()


def reply_of(response: requests.Response) -> Reply:
    """Return a received ``requests.Response`` as the engine's `Reply`."""
    return Reply(
        status=response.status_code,
        reason=response.reason or "",
        headers=response.headers,
        response=response,
        json=response.json,
        text=lambda: _text(response),
        close=response.close,
    )


def failure_kind(error: BaseException) -> FailureKind | None:
    """Say what kind of failure a requests exception is; None for anything else."""
    if not isinstance(error, requests.RequestException):
        return None
    if isinstance(error, requests.exceptions.SSLError):
        return FailureKind.TLS
    if any(isinstance(cause, _TIMEOUTS) for cause in chain(error)):
        return FailureKind.TIMEOUT
    if isinstance(error, requests.ConnectionError):
        return FailureKind.CONNECTION
    if isinstance(error, (requests.exceptions.ChunkedEncodingError,
                          requests.exceptions.ContentDecodingError)):  # fmt: skip
        return FailureKind.CUT_OFF
    return FailureKind.OTHER


def paginate_session(
    session: requests.Session,
    path: str,
    params: Mapping[str, Any] | None,
    page_size: int,
    *,
    prefetch: bool,
    concurrency: int,
    on_page: Callable[[PageProgress], object] | None,
    lenient: bool,
    progress: bool,
    **kwargs: Any,
) -> Export:
    """`iterate_items` through ``session``: its own connections, cut when it is cancelled."""
    return iterate_items(
        RequestsPages(session, path, kwargs), params, page_size, prefetch=prefetch,
        concurrency=concurrency, on_page=on_page, lenient=lenient, progress=progress,
    )  # fmt: skip


def _text(response: requests.Response) -> str:
    try:
        return response.text
    except (requests.RequestException, RuntimeError):
        return "(the body could not be read)"
