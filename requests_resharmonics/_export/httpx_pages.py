"""The export engine's readers for httpx, sync and async, and clients built from the settings.

httpx2 (Pydantic's fork) has httpx's API: every reader here takes the client as it comes and
reads the exceptions from the client's own library, so the same functions serve both, and
`build_client` takes the front door's auth class and client class (``requests_resharmonics.httpx``
passes its own; ``httpx2`` can pass its).

A sync client's requests in flight cannot be cut from another thread without reaching into
httpcore; a cancelled export stops waiting for them at once, and their threads end when
they are answered or time out (the client's ``timeout``), sending nothing more. An async
client's pages are tasks, which cancelling closes.
"""

from __future__ import annotations

import importlib
import ssl
import sys
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import httpx

from .._describe import chain
from .._retries import DEFAULT_TOKEN_RETRIES
from .._tokens.endpoint import DEFAULT_TIMEOUT
from .._tokens.events import TokenEvent
from .._tokens.manager import DEFAULT_LEEWAY
from ..cache.base import TokenCache
from ..errors import ConfigurationError
from .aexport import AsyncExport, aiterate_items
from .api_settings import api_settings
from .cancel import ExportStopped
from .export import DEFAULT_PAGE_SIZE, Export, iterate_items
from .page import PageProgress
from .page_errors import FailureKind
from .source import FRESH, Reply

__all__ = ["DEFAULT_API_TIMEOUT", "apaginate", "build_client", "paginate"]

#: Seconds an API call may wait for the server unless the call passes its own ``timeout``,
#: as for `ResharmonicsSession` (httpx's own default, 5 s, is short for a page of 500 rows).
DEFAULT_API_TIMEOUT = 60.0


class HttpxPages:
    """The pages of one list, through a sync httpx (or httpx2) client, from any thread."""

    def __init__(self, client: Any, path: str, kwargs: dict[str, Any]) -> None:
        self.where = f"GET {path}"
        self._library = library_of(client, asynchronous=False)
        self._client = client
        self._path = path
        self._headers = dict(kwargs.pop("headers", None) or {})
        self._kwargs = kwargs
        self._stopped = False

    def send(self, query: Mapping[str, Any], fresh: bool) -> Reply:
        """GET the list with ``query``; the answer's body is read."""
        if self._stopped:
            raise ExportStopped("the export was stopped")
        headers = {**self._headers, **FRESH} if fresh else self._headers
        response = self._client.get(self._path, params=dict(query), headers=headers,
                                    **self._kwargs)  # fmt: skip
        return reply_of(response)

    def url(self, query: Mapping[str, Any]) -> str:
        """Return the URL of the GET with ``query``."""
        return str(self._client.build_request("GET", self._path, params=dict(query)).url)

    def failure_kind(self, error: BaseException) -> FailureKind | None:
        """Return what kind of request failure ``error`` is (None: not one)."""
        return failure_kind(error, self._library)

    def cut(self) -> None:
        """Refuse any further request (those in flight end on their own)."""
        self._stopped = True

    def close(self) -> None:
        """Nothing to release: the client is the caller's."""


class AsyncHttpxPages:
    """The pages of one list, through an async httpx (or httpx2) client."""

    def __init__(self, client: Any, path: str, kwargs: dict[str, Any]) -> None:
        self.where = f"GET {path}"
        self._library = library_of(client, asynchronous=True)
        self._client = client
        self._path = path
        self._headers = dict(kwargs.pop("headers", None) or {})
        self._kwargs = kwargs

    async def send(self, query: Mapping[str, Any], fresh: bool) -> Reply:
        """GET the list with ``query``; the answer's body is read."""
        headers = {**self._headers, **FRESH} if fresh else self._headers
        response = await self._client.get(self._path, params=dict(query), headers=headers,
                                          **self._kwargs)  # fmt: skip
        return reply_of(response)

    def url(self, query: Mapping[str, Any]) -> str:
        """Return the URL of the GET with ``query``."""
        return str(self._client.build_request("GET", self._path, params=dict(query)).url)

    def failure_kind(self, error: BaseException) -> FailureKind | None:
        """Return what kind of request failure ``error`` is (None: not one)."""
        return failure_kind(error, self._library)


def reply_of(response: Any) -> Reply:
    """Return a received httpx (or httpx2) response, its body read, as the engine's `Reply`."""

    def text() -> str:
        try:
            return str(response.text)
        except Exception:  # a body that cannot be decoded must not hide the status
            return "(the body could not be read)"

    return Reply(
        status=response.status_code,
        reason=response.reason_phrase or "",
        headers=response.headers,
        response=response,
        json=response.json,
        text=text,
        close=lambda: None,  # the body is read: its connection is already back in the pool
    )


def library_of(client: Any, *, asynchronous: bool) -> ModuleType:
    """Return the library of ``client`` (httpx or httpx2), refusing what is not its client."""
    name = type(client).__module__.partition(".")[0]
    library = sys.modules.get(name) if name in ("httpx", "httpx2") else None
    if library is None and name in ("httpx", "httpx2"):
        library = importlib.import_module(name)
    wanted, other = ("AsyncClient", "Client") if asynchronous else ("Client", "AsyncClient")
    if library is not None and isinstance(client, getattr(library, wanted)):
        return library
    if library is not None and isinstance(client, getattr(library, other)):
        hint = "apaginate" if not asynchronous else "paginate"
        raise ConfigurationError(
            f"{'apaginate' if asynchronous else 'paginate'} takes an {name}.{wanted}, not an "
            f"{name}.{other}: use {hint} for it"
        )
    raise ConfigurationError(
        f"expected an httpx.{wanted} (or an httpx2.{wanted}), not {type(client).__name__}"
    )


def failure_kind(error: BaseException, library: ModuleType) -> FailureKind | None:
    """Say what kind of failure an httpx (or httpx2) exception is; None for anything else."""
    if not isinstance(error, library.RequestError):
        return None
    if isinstance(error, library.TimeoutException):
        return FailureKind.TIMEOUT
    if isinstance(error, library.ConnectError):
        tls = any(isinstance(cause, ssl.SSLError) for cause in chain(error))
        return FailureKind.TLS if tls else FailureKind.CONNECTION
    if isinstance(error, library.RemoteProtocolError):
        # h11 says "peer closed connection without sending complete message body" when an
        # answer broke off, and "Server disconnected without sending a response" otherwise.
        return FailureKind.CUT_OFF if "body" in str(error) else FailureKind.CONNECTION
    if isinstance(error, library.DecodingError):
        return FailureKind.CUT_OFF
    if isinstance(error, (library.NetworkError, library.ProxyError)):
        return FailureKind.CONNECTION
    return FailureKind.OTHER


def paginate(
    client: httpx.Client,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
    lenient: bool = False,
    progress: bool = False,
    **kwargs: Any,
) -> Export:
    """Iterate every item of a list endpoint through an `httpx.Client`, in order, exactly once.

    `ResharmonicsSession.paginate` for httpx, with its arguments and the same checks,
    errors (`PaginationError` and its subclasses), ordering, concurrency (the client's
    connection pool is shared by the export's threads) and pacing after a 429. ``kwargs``
    go to each ``client.get`` (``headers``, ``timeout``...). `Export.cancel` returns at
    once; a page in flight then ends on its own (httpx cannot cut it from another thread),
    and nothing more is sent. An `httpx2.Client` is taken too.

    Example:
        >>> with requests_resharmonics.httpx.client() as client:
        ...     units = list(paginate(client, "/api/v3/units", concurrency=4))
    """
    source = HttpxPages(client, path, kwargs)
    return iterate_items(
        source, params, page_size, prefetch=prefetch, concurrency=concurrency,
        on_page=on_page, lenient=lenient, progress=progress,
    )  # fmt: skip


def apaginate(
    client: httpx.AsyncClient,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    prefetch: bool = True,
    concurrency: int = 1,
    on_page: Callable[[PageProgress], object] | None = None,
    lenient: bool = False,
    progress: bool = False,
    **kwargs: Any,
) -> AsyncExport:
    """Iterate every item of a list endpoint through an `httpx.AsyncClient`: ``async for``.

    `paginate` for coroutines, on asyncio: the pages in flight are tasks of the loop that
    iterates, up to ``concurrency`` of them; the checks, order, errors and pacing are
    `paginate`'s. Leave it with ``async with`` (or `AsyncExport.aclose`) to stop the pages
    in flight at once; `AsyncExport.cancel` works from any task or thread. An
    `httpx2.AsyncClient` is taken too.

    Example:
        >>> async with requests_resharmonics.httpx.async_client() as client:
        ...     async with apaginate(client, "/api/v3/bookings", concurrency=4) as rows:
        ...         async for row in rows:
        ...             await store(row)
    """
    source = AsyncHttpxPages(client, path, kwargs)
    return aiterate_items(
        source, params, page_size, prefetch=prefetch, concurrency=concurrency,
        on_page=on_page, lenient=lenient, progress=progress,
    )  # fmt: skip


def build_client(
    auth_class: type[Any],
    client_class: type[Any],
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    *,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    prompt: bool = False,
    api_timeout: float | None = DEFAULT_API_TIMEOUT,
    leeway: float = DEFAULT_LEEWAY,
    timeout: float = DEFAULT_TIMEOUT,
    client_auth: str = "basic",
    token_retries: int = DEFAULT_TOKEN_RETRIES,
    allowed_hosts: Iterable[str] | None = None,
    cache: TokenCache | None = None,
    background_renewal: bool = True,
    on_event: Callable[[TokenEvent], object] | None = None,
    **client_options: Any,
) -> Any:
    """Return ``client_class(base_url=..., auth=auth_class(...))`` from the settings.

    The settings are read as `ResharmonicsSession` reads them (`api_settings`); the auth
    may send the token to the API's host and ``allowed_hosts`` only. ``client_options`` go
    to the client (``limits``, ``transport``, ``headers``, ``http2``...).
    """
    settings = api_settings(
        client_id, client_secret, token_url, base_url=base_url, environment=environment,
        scope=scope, prompt=prompt,
    )  # fmt: skip
    auth = auth_class(
        settings.client_id, settings.client_secret, settings.token_url, scope=settings.scope,
        leeway=leeway, timeout=timeout, client_auth=client_auth, token_retries=token_retries,
        allowed_hosts=settings.hosts(allowed_hosts), cache=cache,
        background_renewal=background_renewal, environment=settings.environment,
        on_event=on_event,
    )  # fmt: skip
    return client_class(base_url=settings.base_url, auth=auth, timeout=api_timeout,
                        **client_options)  # fmt: skip
