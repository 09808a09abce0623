"""What a token cache is: shared storage for tokens, and a lock held while one is fetched."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, ClassVar, NamedTuple

#: Cached values read ``v1:<token id>:<payload>``.
VALUE_PREFIX = "v1:"


def value_tag(token_id: str) -> str:
    """Return how a cached value holding the token ``token_id`` begins."""
    return f"{VALUE_PREFIX}{token_id}:"


def access_token_id(access_token: str) -> str:
    """Return the id under which caches know an access token: a hash, never the token."""
    return hashlib.sha256(access_token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def value_id(value: str) -> str | None:
    """Return the token id tagged on a cached value (``v1:<id>:...``), or ``None``."""
    if not value.startswith(VALUE_PREFIX):
        return None
    identifier, separator, _ = value[len(VALUE_PREFIX) :].partition(":")
    return identifier if separator else None


def budget_wait(counted: Iterable[float], at: float, limit: int, window: float) -> float:
    """Return 0.0 if a request at ``at`` keeps within a budget, else the seconds to wait.

    It keeps within it when fewer than ``limit`` of the requests ``counted`` fall within
    ``window`` seconds of it, before or after (a retry is counted for when it goes out,
    which may come after requests counted later). For caches that count token requests
    (`TokenCache.admit_token_request`).
    """
    near = sorted(moment for moment in counted if at - window < moment < at + window)
    if len(near) < limit:
        return 0.0
    # Once the oldest of the last ``limit`` requests is ``window`` behind, one more fits.
    return max(near[len(near) - limit] + window - at, 0.001)


def cache_key(token_url: str, client_id: str, client_secret: str, scope: str | None) -> str:
    """Return the cache key of a client: token URL, client id, a hash of the secret, scope.

    The secret itself never enters a key; its hash keeps two secrets of one client id (a
    rotated secret, say) from sharing tokens.
    """
    secret_hash = hashlib.sha256(b"requests-resharmonics\0" + client_secret.encode()).hexdigest()
    material = "\0".join([token_url, client_id, secret_hash, scope or ""])
    return hashlib.sha256(material.encode()).hexdigest()


class Hold(NamedTuple):
    """A pause of a client's token requests, shared by the processes using a cache."""

    #: When it ends, in seconds since the epoch.
    until: float
    #: Why, in words that hold no secret ("the token endpoint answered HTTP 429 ...").
    reason: str


class TokenCache(ABC):
    """Storage for tokens shared by auth objects, processes or machines.

    A cache stores at most one value per key: a string in which the library has encoded a
    token, ``v1:<token id>:<payload>`` (see `value_id`). While a token is fetched, the
    fetching party holds the key's lock; the others wait for it and then read the token it
    stored. A subclass implements `get`, `set`, `delete_if` and `lock`; errors it raises are
    caught by the library, which then fetches directly. A cache whose values leave the
    process sets `seals`, and the library then encrypts the payload.

    A cache shared by processes may also carry what makes a fleet back off together
    (`hold`, `held`, `admit_token_request`). These have defaults that share nothing: a
    cache without them still works, and each process then holds back and counts its own
    token requests alone.
    """

    #: Whether values leave the process (a file, a server), so that tokens must be encrypted.
    seals: ClassVar[bool] = False

    @abstractmethod
    def get(self, key: str) -> str | None:
        """Return the value stored under ``key``, or ``None``."""

    @abstractmethod
    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store ``value`` under ``key``; the token it holds expires at ``expires_at``."""

    @abstractmethod
    def delete_if(self, key: str, token_id: str) -> None:
        """Delete the value under ``key`` only if it holds the token ``token_id``.

        This compare-and-delete lets a burst of rejections of one token remove it once,
        never its replacement.
        """

    @abstractmethod
    def lock(self, key: str, wait: float) -> AbstractContextManager[bool]:
        """Return a context manager that holds the fetch lock of ``key``.

        It waits at most ``wait`` seconds for the lock and yields whether it got it.
        """

    def hold(self, key: str, until: float, reason: str) -> None:
        """Hold ``key``'s token requests until ``until`` (epoch seconds), for every sharer.

        A hold already in place that ends later is kept; an ``until`` already past ends
        the hold in place. ``key`` is a client's key (a hash, like the token keys) and
        ``reason`` holds no secret. The default shares nothing: this process holds alone.
        """
        return None

    def held(self, key: str) -> Hold | None:
        """Return the hold on ``key``'s token requests if one is in place now, else None."""
        return None

    def admit_token_request(
        self, key: str, limit: int, window: float, delay: float = 0.0
    ) -> float | None:
        """Count a token request of ``key`` if the budget allows it, atomically for sharers.

        The request goes out ``delay`` seconds from now (a retry after its back-off). It is
        counted unless ``limit`` requests are counted already within ``window`` seconds of
        it, before or after. Returns 0.0 when it was counted, the seconds until it could be
        when not, or None when this cache does not count (the default): the process then
        counts its own requests alone.
        """
        return None


def __getattr__(name: str) -> Any:
    # ``requests_resharmonics.cache.base.MemoryTokenCache``, its home until it moved to
    # `memory`, keeps working; imported on demand, since `memory` builds on this module.
    if name == "MemoryTokenCache":
        from .memory import MemoryTokenCache

        return MemoryTokenCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
