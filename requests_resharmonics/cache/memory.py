"""`MemoryTokenCache`: tokens shared by the auth objects of one process."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .base import TokenCache, access_token_id, value_id


class MemoryStore:
    """The values and fetch locks that every `MemoryTokenCache` of a process shares.

    It belongs to the process's state (`requests_resharmonics._tokens.process`), which
    hands a forked child a copy of the values with locks of its own, and gives each test a
    store of its own.
    """

    __slots__ = ("guard", "locks", "values")

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        self.locks: dict[str, threading.Lock] = {}
        self.guard = threading.Lock()

    def forked(self) -> MemoryStore:
        """Return the store of a forked child: the same tokens, none of the parent's locks."""
        return MemoryStore(self.values)

    def clear(self) -> None:
        """Forget every value (as if in another process)."""
        with self.guard:
            self.values.clear()


def _store_of_its_own() -> MemoryStore:
    return _fallback


_fallback = MemoryStore()
# Where the process's store is: `_tokens.process` points this at its current state when it
# is imported (a cache is a lower layer than the token manager, so it cannot look there).
_locate_store: Callable[[], MemoryStore] = _store_of_its_own


def locate_store_with(locate: Callable[[], MemoryStore]) -> None:
    """Make every `MemoryTokenCache` use the store that ``locate()`` returns at each call."""
    global _locate_store
    _locate_store = locate


class MemoryTokenCache(TokenCache):
    """The default cache: one store per process, shared by every auth object with the same key.

    Example:
        >>> auth_a = ResharmonicsAuth(client_id, client_secret)
        >>> auth_b = ResharmonicsAuth(client_id, client_secret)  # reuses auth_a's token
    """

    def get(self, key: str) -> str | None:
        """Return the process's value for ``key``."""
        return _locate_store().values.get(key)

    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store the process's value for ``key``."""
        _locate_store().values[key] = value

    def delete_if(self, key: str, token_id: str) -> None:
        """Forget the value for ``key`` if it holds the token ``token_id``."""
        store = _locate_store()
        with store.guard:
            current = store.values.get(key)
            if current is not None and value_id(current) == token_id:
                del store.values[key]

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the process-wide lock of ``key``."""
        store = _locate_store()
        with store.guard:
            lock = store.locks.setdefault(key, threading.Lock())
        acquired = lock.acquire(timeout=wait)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    @classmethod
    def forget(cls, access_tokens: Iterable[str]) -> int:
        """Forget these access tokens under whatever keys the process holds them; return how many.

        For tokens no one can use any more, such as those of a test server that stopped
        (`FakeResharmonics` forgets its own when it stops, and the pytest plugin forgets the
        cassettes' placeholder around each replayed test): the next auth object of their
        client fetches a token of its own instead of inheriting a dead one. Every other
        token stays.
        """
        doomed_ids = {access_token_id(token) for token in access_tokens}
        if not doomed_ids:
            return 0
        store = _locate_store()
        with store.guard:
            held = list(store.values.items())  # a copy: set() takes no lock
            doomed = [key for key, value in held if value_id(value) in doomed_ids]
            for key in doomed:
                del store.values[key]
        return len(doomed)

    def __reduce__(self) -> Any:
        # Every process has its own store: a pickled cache means "the store where it lands".
        return (MemoryTokenCache, ())

    def __repr__(self) -> str:
        return "MemoryTokenCache()"
