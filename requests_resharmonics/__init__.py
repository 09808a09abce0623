"""Drop-in OAuth2 client-credentials authentication for the Res:Harmonics API v3.

Example:
    >>> import requests
    >>> from requests_resharmonics import ResharmonicsAuth
    >>> auth = ResharmonicsAuth.from_env()
    >>> requests.get("https://apiv3.rerumapp.uk/api/v3/bookings", auth=auth)
    <Response [200]>
"""

from __future__ import annotations

from ._version import __version__
from .auth import ResharmonicsAuth
from .background import set_workers as set_renewal_workers
from .cache import FileTokenCache, MemoryTokenCache, RedisTokenCache, TokenCache
from .connections import set_max_connections as set_token_connections
from .errors import (
    ConfigurationError,
    InsecureTransportError,
    ResharmonicsError,
    TokenRequestError,
)
from .events import TokenEvent
from .pagination import PageProgress, PaginationError
from .session import ResharmonicsSession
from .stats import TokenStats, process_stats
from .token import Token

__all__ = [
    "ConfigurationError",
    "FileTokenCache",
    "InsecureTransportError",
    "MemoryTokenCache",
    "PageProgress",
    "PaginationError",
    "RedisTokenCache",
    "ResharmonicsAuth",
    "ResharmonicsError",
    "ResharmonicsSession",
    "Token",
    "TokenCache",
    "TokenEvent",
    "TokenRequestError",
    "TokenStats",
    "__version__",
    "process_stats",
    "set_renewal_workers",
    "set_token_connections",
]
