"""`ResharmonicsHTTPXAuth`: the library's token handling for httpx clients, sync and async.

Install with ``pip install requests-resharmonics[httpx]``. The auth object renews tokens
exactly as `ResharmonicsAuth` does, through the same `TokenManager`, token caches and the
same conversation after a 401, so a process that mixes requests and httpx code shares one
token per client, and both answer every 401 alike. Under an `httpx.AsyncClient` no token
request runs on the event loop: it runs in a worker thread, and coroutines that need the
same renewal meanwhile wait for that one request.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._replay.httpx_flows import HTTPXFlows

__all__ = ["ResharmonicsHTTPXAuth"]


class ResharmonicsHTTPXAuth(HTTPXFlows, httpx.Auth):
    """Authenticates httpx requests to the Res:Harmonics API with a client-credentials token.

    Takes the same arguments as `ResharmonicsAuth` and behaves the same way: the token is
    renewed shortly before it expires (in the background while it stays valid), a request
    answered ``401 {"message": "The incoming token has expired"}`` is replayed with a new
    token, and any number of threads or coroutines sharing the object cause one token
    request per renewal. Tokens are shared through the same caches, so a requests
    `ResharmonicsAuth` of the same client in the process uses the same token.

    With an `httpx.AsyncClient`, token requests run in a worker thread (anyio's, so asyncio
    and trio both work) and never block the event loop; ``await auth.avalid_token()`` is
    `valid_token` for coroutines.

    Example:
        >>> auth = ResharmonicsHTTPXAuth.from_env()
        >>> async with httpx.AsyncClient(base_url="https://apiv3.rerumapp.uk", auth=auth) as client:
        ...     response = await client.get("/api/v3/units", params={"size": 50})

    Its arguments (``client_id``, ``client_secret``, ``token_url``, ``scope``, ``leeway``,
    ``timeout``, ``client_auth``, ``token_retries``, ``allowed_hosts``, ``cache``,
    ``background_renewal``, ``environment``, ``on_event``, ``token_budget``) are
    `ResharmonicsAuth`'s, with the same defaults; ``stats`` is its snapshot of token costs.
    """

    _library = httpx


# Exports and ready clients (issue 27). The engine's httpx readers are in
# _export/httpx_pages.py, which takes clients duck-typed, so that httpx2 can offer the same.
from ._export.httpx_pages import DEFAULT_API_TIMEOUT, apaginate, build_client, paginate  # noqa: E402

__all__ += ["apaginate", "async_client", "client", "paginate"]


def client(
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    *,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    prompt: bool = False,
    api_timeout: float | None = DEFAULT_API_TIMEOUT,
    **options: Any,
) -> httpx.Client:
    """Return an `httpx.Client` for the API: its base URL and a `ResharmonicsHTTPXAuth`.

    The settings are `ResharmonicsSession`'s, read the same way: arguments, else the
    ``RESHARMONICS_*`` variables (``RESHARMONICS_BASE_URL`` included), else the
    environment's presets; a token URL and a base URL of different environments are
    warned about (`ConfigurationWarning`), so that a test token never goes to production.
    ``api_timeout`` (60 s) is the client's timeout; ``options`` are the auth's (``leeway``,
    ``timeout`` for token requests, ``client_auth``, ``token_retries``, ``allowed_hosts``,
    ``cache``, ``background_renewal``, ``on_event``), then the client's own.

    Example:
        >>> with client() as api:  # credentials and addresses from RESHARMONICS_*
        ...     units = list(paginate(api, "/api/v3/units", concurrency=4))
    """
    built: httpx.Client = build_client(
        ResharmonicsHTTPXAuth, httpx.Client, client_id, client_secret, token_url,
        base_url=base_url, environment=environment, scope=scope, prompt=prompt,
        api_timeout=api_timeout, **options,
    )  # fmt: skip
    return built


def async_client(
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    *,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    prompt: bool = False,
    api_timeout: float | None = DEFAULT_API_TIMEOUT,
    **options: Any,
) -> httpx.AsyncClient:
    """Return an `httpx.AsyncClient` for the API, from the settings `client` reads.

    Example:
        >>> async with async_client() as api:
        ...     async for row in apaginate(api, "/api/v3/roomStays", concurrency=4):
        ...         ...
    """
    built: httpx.AsyncClient = build_client(
        ResharmonicsHTTPXAuth, httpx.AsyncClient, client_id, client_secret, token_url,
        base_url=base_url, environment=environment, scope=scope, prompt=prompt,
        api_timeout=api_timeout, **options,
    )  # fmt: skip
    return built
