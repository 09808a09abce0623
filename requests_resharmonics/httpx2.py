"""`ResharmonicsHTTPX2Auth`: the library's token handling for httpx2 clients, sync and async.

httpx2 is Pydantic's fork of httpx (Authlib 1.8 moved to it). Install with ``pip install
requests-resharmonics[httpx2]``. The auth object is `ResharmonicsHTTPXAuth` for httpx2's
clients: the same arguments, the same token sharing, the same answer to every 401.
"""

from __future__ import annotations

import httpx2

from ._httpx_flows import HTTPXFlows

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
