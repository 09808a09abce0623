"""What a token cache is: shared storage for tokens, and a lock held while one is fetched."""

from __future__ import annotations

import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

from ..token import Token


def cache_key(token_url: str, client_id: str, client_secret: str, scope: str | None) -> str:
    """Return the cache key of a client: token URL, client id, a hash of the secret, scope.

    The secret itself never enters a key; its hash keeps two secrets of one client id (a
    rotated secret, say) from sharing tokens.
    """
    secret_hash = hashlib.sha256(b"requests-resharmonics\0" + client_secret.encode()).hexdigest()
    material = "\0".join([token_url, client_id, secret_hash, scope or ""])
    return hashlib.sha256(material.encode()).hexdigest()


class TokenCache(ABC):
    """Storage for tokens shared by auth objects, processes or machines.

    A cache stores at most one token per key. While a token is fetched, the fetching party
    holds the key's lock; the others wait for it and then read the token it stored. A
    subclass implements `get`, `set`, `delete_if` and `lock`; errors it raises are caught by
    the library, which then fetches directly.
    """

    @abstractmethod
    def get(self, key: str) -> Token | None:
        """Return the token stored under ``key``, or ``None``."""

    @abstractmethod
    def set(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing what was there."""

    @abstractmethod
    def delete_if(self, key: str, access_token: str) -> None:
        """Delete the token under ``key`` only if it is ``access_token`` (compare-and-delete).

        A burst of rejections of one token then removes it once, never its replacement.
        """

    @abstractmethod
    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """Return a context manager that holds the fetch lock of ``key``.

        It waits at most ``wait`` seconds for the lock and yields whether it got it.
        """


class MemoryTokenCache(TokenCache):
    """The default cache: one store per process, shared by every auth object with the same key.

    Example:
        >>> auth_a = ResharmonicsAuth(client_id, client_secret)
        >>> auth_b = ResharmonicsAuth(client_id, client_secret)  # reuses auth_a's token
    """

    _tokens: ClassVar[dict[str, Token]] = {}
    _locks: ClassVar[dict[str, threading.Lock]] = {}
    _guard: ClassVar[threading.Lock] = threading.Lock()

    def get(self, key: str) -> Token | None:
        """Return the process's token for ``key``."""
        return self._tokens.get(key)

    def set(self, key: str, token: Token) -> None:
        """Store the process's token for ``key``."""
        self._tokens[key] = token

    def delete_if(self, key: str, access_token: str) -> None:
        """Forget the token for ``key`` if it is ``access_token``."""
        with self._guard:
            current = self._tokens.get(key)
            if current is not None and current.access_token == access_token:
                del self._tokens[key]

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the process-wide lock of ``key``."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        acquired = lock.acquire(timeout=wait)
        try:
            yield acquired
        finally:
            if acquired:
                lock.release()

    def __reduce__(self) -> Any:
        # Every process has its own store: a pickled cache means "the store where it lands".
        return (MemoryTokenCache, ())

    def __repr__(self) -> str:
        return "MemoryTokenCache()"

    @classmethod
    def _after_fork(cls) -> None:
        cls._guard = threading.Lock()
        cls._locks = {}
