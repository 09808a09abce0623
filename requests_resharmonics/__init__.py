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
from .cache import FileTokenCache, MemoryTokenCache, RedisTokenCache, TokenCache
from .errors import (
    ConfigurationError,
    ConfigurationWarning,
    InsecureTransportError,
    ResharmonicsError,
    TokenRequestError,
)
from .pagination import PageProgress, PaginationError
from .session import ResharmonicsSession
from .token import Token

__all__ = [
    "ConfigurationError",
    "ConfigurationWarning",
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
    "TokenRequestError",
    "__version__",
]
