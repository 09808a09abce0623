"""Drop-in OAuth2 client-credentials authentication for the Res:Harmonics API v3.

Example:
    >>> import requests
    >>> from requests_resharmonics import ResharmonicsAuth
    >>> auth = ResharmonicsAuth.from_env()
    >>> requests.get("https://apiv3.rerumapp.uk/api/v3/bookings", auth=auth)
    <Response [200]>
"""

from __future__ import annotations

from . import otel as _otel  # noqa: F401  (plugs OpenTelemetry in when its API is installed)
from ._changes.feed import Changes
from ._changes.redis_state import RedisChangeState
from ._changes.state import ChangeState, JsonFileState, MemoryChangeState
from ._export.aexport import AsyncExport
from ._export.export import Export, PageProgress
from ._export.room_stays import ROOM_STAY_STATUSES
from ._tokens.events import TokenEvent
from ._tokens.process import process_stats, set_renewal_workers, set_token_connections
from ._tokens.stats import TokenStats
from ._version import __version__
from .auth import ResharmonicsAuth
from .cache import FileTokenCache, MemoryTokenCache, RedisTokenCache, SQLTokenCache, TokenCache
from .errors import (
    ChangeStateError,
    CollectionChangedError,
    ConfigurationError,
    ConfigurationWarning,
    ExportCancelled,
    InconsistentPagesError,
    InsecureTransportError,
    PageConnectionError,
    PageHTTPError,
    PageRequestError,
    PageTimeoutError,
    PaginationError,
    PaginationWarning,
    RefusedTokenRequestError,
    RepeatedRowsError,
    ResharmonicsError,
    ShortPageError,
    TokenHeldError,
    TokenRequestError,
)
from .session import ResharmonicsSession
from .token import Token

__all__ = [
    "ROOM_STAY_STATUSES",
    "AsyncExport",
    "ChangeState",
    "ChangeStateError",
    "Changes",
    "CollectionChangedError",
    "ConfigurationError",
    "ConfigurationWarning",
    "Export",
    "ExportCancelled",
    "FileTokenCache",
    "InconsistentPagesError",
    "InsecureTransportError",
    "JsonFileState",
    "MemoryChangeState",
    "MemoryTokenCache",
    "PageConnectionError",
    "PageHTTPError",
    "PageProgress",
    "PageRequestError",
    "PageTimeoutError",
    "PaginationError",
    "PaginationWarning",
    "RedisChangeState",
    "RedisTokenCache",
    "RefusedTokenRequestError",
    "RepeatedRowsError",
    "ResharmonicsAuth",
    "ResharmonicsError",
    "ResharmonicsSession",
    "SQLTokenCache",
    "ShortPageError",
    "Token",
    "TokenCache",
    "TokenEvent",
    "TokenHeldError",
    "TokenRequestError",
    "TokenStats",
    "__version__",
    "process_stats",
    "set_renewal_workers",
    "set_token_connections",
]
