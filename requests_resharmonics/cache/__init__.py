"""Token caches: share tokens between auth objects, processes and machines.

- `MemoryTokenCache` (the default): every auth object in the process with the same client.
- `FileTokenCache`: every process of the user on the machine (extra ``[file]``).
- `RedisTokenCache`: every process on every machine using one Redis (extra ``[redis]``).
- `SQLTokenCache`: every process using one SQLite file (extra ``[sqlite]``) or one
  PostgreSQL database (extra ``[postgres]``).
"""

from __future__ import annotations

from .base import TokenCache, cache_key
from .file import FileTokenCache
from .memory import MemoryTokenCache
from .redis import RedisTokenCache
from .sql import SQLTokenCache

__all__ = [
    "FileTokenCache",
    "MemoryTokenCache",
    "RedisTokenCache",
    "SQLTokenCache",
    "TokenCache",
    "cache_key",
]
