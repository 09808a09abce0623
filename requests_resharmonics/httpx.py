"""`ResharmonicsHTTPXAuth`: the library's token handling for httpx clients, sync and async.

Install with ``pip install requests-resharmonics[httpx]``. The auth object renews tokens
exactly as `ResharmonicsAuth` does, through the same `TokenManager`, token caches and the
same conversation after a 401, so a process that mixes requests and httpx code shares one
token per client, and both answer every 401 alike. Under an `httpx.AsyncClient` no token
request runs on the event loop: it runs in a worker thread, and coroutines that need the
same renewal meanwhile wait for that one request.
"""

from __future__ import annotations

import httpx

from ._httpx_flows import HTTPXFlows

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
    ``background_renewal``, ``environment``, ``on_event``) are `ResharmonicsAuth`'s, with the
    same defaults; ``stats`` is its snapshot of token costs.
    """

    _library = httpx
