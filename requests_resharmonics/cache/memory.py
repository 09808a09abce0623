"""`MemoryTokenCache`: tokens shared by the auth objects of one process."""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from .base import VALUE_PREFIX, TokenCache, access_token_id, value_id


class _Lock:
    """A key's fetch lock and how many callers hold it or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class MemoryStore:
    """The values and fetch locks that every `MemoryTokenCache` of a process shares.

    It belongs to the process's state (`requests_resharmonics._tokens.process`), which
    hands a forked child a copy of the values with locks of its own, and gives each test a
    store of its own. It stays as small as the clients in use: an expired token leaves it
    when a later one is stored (tenants that come and go leave nothing behind), and a
    key's fetch lock exists only while someone holds it or waits for it.
    """

    __slots__ = ("expires", "expiries", "guard", "locks", "most", "values")

    def __init__(
        self, values: dict[str, str] | None = None, expires: dict[str, float] | None = None
    ) -> None:
        self.values: dict[str, str] = dict(values or {})
        self.expires: dict[str, float] = dict(expires or {})  # key -> its token's expiry
        self.expiries = [(when, key) for key, when in self.expires.items()]  # a heap
        heapq.heapify(self.expiries)
        self.locks: dict[str, _Lock] = {}
        self.guard = threading.Lock()
        self.most = len(self.values)  # the most values held since the dicts were last rebuilt

    def forked(self) -> MemoryStore:
        """Return the store of a forked child: the same tokens, none of the parent's locks."""
        return MemoryStore(self.values, self.expires)

    def clear(self) -> None:
        """Forget every value (as if in another process)."""
        with self.guard:
            self.values.clear()
            self.expires.clear()
            self.expiries.clear()

    def store(self, key: str, value: str, expires_at: float | None, now: float) -> None:
        """Store ``value``, and drop the values whose tokens had expired by ``now``."""
        with self.guard:
            self.values[key] = value
            if expires_at is None:
                self.expires.pop(key, None)
            else:
                self.expires[key] = expires_at
                heapq.heappush(self.expiries, (expires_at, key))
            # Each token is pushed once, popped once: the sweep costs O(log n) a token.
            while self.expiries and self.expiries[0][0] <= now:
                when, gone = heapq.heappop(self.expiries)
                if self.expires.get(gone) == when:  # not replaced by a later token since
                    del self.expires[gone]
                    self.values.pop(gone, None)
            self.most = max(self.most, len(self.values))
            if len(self.expiries) > 2 * len(self.expires) + 64 or (
                self.most > 256 and len(self.values) * 4 < self.most
            ):
                self._compact()

    def _compact(self) -> None:
        """Rebuild the heap and the dicts around what is left (the guard held).

        Tokens replaced long before they expire (fetched again and again) leave heap
        entries that no longer count; and dicts never shrink by themselves: after a crowd
        of tenants has come and gone, they would keep the room of its busiest moment.
        """
        self.expiries = [(when, key) for key, when in self.expires.items()]
        heapq.heapify(self.expiries)
        self.values, self.expires = dict(self.values), dict(self.expires)
        self.most = len(self.values)

    def discard(self, key: str) -> None:
        """Forget ``key``'s value (the guard held)."""
        self.values.pop(key, None)
        self.expires.pop(key, None)  # its heap entry no longer matches: skipped when popped

    @contextmanager
    def locked(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the fetch lock of ``key``, waiting at most ``wait`` seconds for it."""
        with self.guard:
            entry = self.locks.get(key)
            if entry is None:
                entry = self.locks[key] = _Lock()
            entry.users += 1
        acquired = entry.lock.acquire(timeout=wait)
        try:
            yield acquired
        finally:
            if acquired:
                entry.lock.release()
            with self.guard:
                entry.users -= 1
                if entry.users == 0:
                    del self.locks[key]


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
        """Store the process's value for ``key``; expired tokens leave the store meanwhile.

        Expired by the clock of the token stored (its ``obtained_at``): an auth object may
        run on a clock of its own, and a token expires on the clock it was obtained by.
        """
        _locate_store().store(key, value, expires_at, _obtained_at(value))

    def delete_if(self, key: str, token_id: str) -> None:
        """Forget the value for ``key`` if it holds the token ``token_id``."""
        store = _locate_store()
        with store.guard:
            current = store.values.get(key)
            if current is not None and value_id(current) == token_id:
                store.discard(key)

    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """Hold the process-wide lock of ``key``."""
        return _locate_store().locked(key, wait)

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
                store.discard(key)
        return len(doomed)

    def __reduce__(self) -> Any:
        # Every process has its own store: a pickled cache means "the store where it lands".
        return (MemoryTokenCache, ())

    def __repr__(self) -> str:
        return "MemoryTokenCache()"


def _obtained_at(value: str) -> float:
    """Return when the token of a stored value was obtained: the storer's present."""
    payload = value[len(VALUE_PREFIX) :].partition(":")[2] if value_id(value) else ""
    try:
        when = json.loads(payload).get("obtained_at")
    except (ValueError, AttributeError, RecursionError):
        when = None
    return float(when) if isinstance(when, (int, float)) else time.time()
