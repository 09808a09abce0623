"""Calling a token cache so that its failures never fail an API call."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .base import Hold, TokenCache

log = logging.getLogger("requests_resharmonics")

T = TypeVar("T")


class GuardedCache:
    """Wraps a `TokenCache`: an error becomes "no cache", with one warning per outage.

    While the cache is down (Redis stopped, a file not writable, a corrupt file), tokens are
    fetched directly. Recovery is logged once the cache really works again: a write or a lock
    that succeeds, or a read that finds a value. A read that finds nothing proves nothing (a
    missing file in an unusable folder reads as empty), so it does not end the outage.
    """

    def __init__(self, cache: TokenCache) -> None:
        self.cache = cache
        self._failing = False
        self._state_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"cache": self.cache}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["cache"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"GuardedCache({self.cache!r})"

    def get(self, key: str) -> str | None:
        """Return the cached value, or ``None`` when there is none or the cache failed."""
        return self._call(lambda: self.cache.get(key), None, proves=lambda found: found is not None)

    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store a value; a failure is logged and ignored."""
        self._call(lambda: self.cache.set(key, value, expires_at), None)

    def delete_if(self, key: str, token_id: str) -> None:
        """Compare-and-delete; a failure is logged and ignored."""
        self._call(lambda: self.cache.delete_if(key, token_id), None)

    def hold(self, key: str, until: float, reason: str) -> None:
        """Share a hold on ``key``'s token requests; a failure is logged and ignored."""
        self._call(lambda: self.cache.hold(key, until, reason), None)

    def held(self, key: str) -> Hold | None:
        """Return the shared hold on ``key``, or ``None`` (none, or the cache failed)."""
        found = self._call(lambda: self.cache.held(key), None, proves=lambda hold: hold is not None)
        return found if isinstance(found, Hold) else None

    def admit_token_request(
        self, key: str, limit: int, window: float, delay: float = 0.0
    ) -> float | None:
        """Count a token request in the shared budget; ``None``: the process counts alone."""
        found = self._call(lambda: self.cache.admit_token_request(key, limit, window, delay), None)
        return float(found) if isinstance(found, (int, float)) and found >= 0 else None

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the cache's fetch lock, or yield ``False`` if the cache cannot lock."""
        try:
            manager = self.cache.lock(key, wait)
            acquired = manager.__enter__()
        except Exception as error:
            self._failed(error)
            yield False
            return
        self._recovered()
        try:
            yield acquired
        finally:
            try:
                manager.__exit__(None, None, None)
            except Exception as error:
                self._failed(error)

    def _call(
        self,
        action: Callable[[], T],
        fallback: T,
        proves: Callable[[T], bool] = lambda result: True,
    ) -> T:
        try:
            result = action()
        except Exception as error:
            self._failed(error)
            return fallback
        if proves(result):
            self._recovered()
        return result

    def _failed(self, error: Exception) -> None:
        with self._state_lock:
            first, self._failing = not self._failing, True
        if first:
            log.warning(
                "token cache %r is unavailable (%s: %s); fetching tokens directly until it "
                "recovers",
                self.cache,
                type(error).__name__,
                str(error)[:200],
            )

    def _recovered(self) -> None:
        with self._state_lock:
            was_failing, self._failing = self._failing, False
        if was_failing:
            log.warning("token cache %r is available again", self.cache)
