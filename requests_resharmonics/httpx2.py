"""`ResharmonicsHTTPX2Auth`: the library's token handling for httpx2 clients, sync and async.

httpx2 is Pydantic's fork of httpx (Authlib 1.8 moved to it). Install with ``pip install
requests-resharmonics[httpx2]``. The auth object is `ResharmonicsHTTPXAuth` for httpx2's
clients: the same arguments, the same token sharing, the same answer to every 401.
"""

from __future__ import annotations

from typing import Any

import httpx2

from ._replay.httpx_flows import HTTPXFlows

__all__ = ["ResharmonicsHTTPX2Auth"]


class ResharmonicsHTTPX2Auth(HTTPXFlows, httpx2.Auth):
    """Authenticates httpx2 requests to the Res:Harmonics API with a client-credentials token.

    `ResharmonicsHTTPXAuth` for ``httpx2.Client`` and ``httpx2.AsyncClient``: see there.

    Example:
        >>> auth = ResharmonicsHTTPX2Auth.from_env()
        >>> with httpx2.Client(base_url="https://apiv3.rerumapp.uk", auth=auth) as client:
        ...     response = client.get("/api/v3/units", params={"size": 50})
    """

    _library = httpx2


# Exports and ready clients, as requests_resharmonics.httpx offers them: the readers take
# httpx and httpx2 clients alike (_export/httpx_pages.py).
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
) -> httpx2.Client:
    """Return an ``httpx2.Client`` for the API: `requests_resharmonics.httpx.client` for httpx2.

    The same settings, read the same way (arguments, else ``RESHARMONICS_*``), with a
    `ResharmonicsHTTPX2Auth`.
    """
    built: httpx2.Client = build_client(
        ResharmonicsHTTPX2Auth, httpx2.Client, client_id, client_secret, token_url,
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
) -> httpx2.AsyncClient:
    """Return an ``httpx2.AsyncClient`` for the API, as `client` does."""
    built: httpx2.AsyncClient = build_client(
        ResharmonicsHTTPX2Auth, httpx2.AsyncClient, client_id, client_secret, token_url,
        base_url=base_url, environment=environment, scope=scope, prompt=prompt,
        api_timeout=api_timeout, **options,
    )  # fmt: skip
    return built
