"""What the token manager does when the API refuses a token it was sent.

Renew once for a burst of rejections; replace a replacement only on proof of a revocation;
pause when the API refuses every new token; replace a refused token from a cache once. The
methods of `TokenManager` that the replay conversation (`replay`) calls, kept apart from
the renewal schedule.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ..cache.codec import token_id
from ..cache.guard import GuardedCache
from ..token import Token
from .events import Trigger
from .fleet import Fleet
from .process import ProcessState
from .reporting import event

log = logging.getLogger("requests_resharmonics")


class Held(Protocol):
    """The manager's current token and when it is due (the manager's ``_Current``)."""

    @property
    def token(self) -> Token: ...
    @property
    def renew_at(self) -> float: ...
    @property
    def shared(self) -> bool: ...


class Manager(Protocol):
    """What these answers use of the `TokenManager` they are part of: its state, its steps.

    The methods below take ``self`` as a `Manager`, so that this module needs no import of
    the manager (which inherits them) and mypy checks that the manager has all of it.
    """

    _lock: threading.Lock
    #: The last few tokens the API accepted: proof that a later rejection of one of them
    #: is a revocation, not an API that rejects every token.
    _accepted: collections.deque[str]
    _dropped_shared: str | None  # the last shared token the API refused
    cache: GuardedCache
    process: ProcessState
    fleet: Fleet
    key: str
    lock_wait: float
    clock: Callable[[], float]

    @property
    def _current(self) -> Held | None: ...
    def _obtain(self, rejected: Token | None, trigger: Trigger) -> Token: ...
    def _fetch_locked(self, trigger: Trigger) -> Token: ...
    def _usable(self, token: Token | None, rejected: Token | None) -> Token | None: ...
    def _store(self, token: Token | None, notify: bool = True, shared: bool = False) -> None: ...
    def _replay_event(self, outcome: str, token: Token | None) -> None: ...
    def _locked(self) -> AbstractContextManager[None]: ...
    def _rejections_paused(self) -> bool: ...


class Rejections:
    """`TokenManager`'s answers to a refused token (a mixin: the state is the manager's)."""

    # The one attribute written here (mypy types it from that assignment otherwise).
    _dropped_shared: str | None

    def renew_after_rejection(self: Manager, rejected: Token) -> Token | None:
        """Return a replacement for a token the API rejected as expired, or None.

        When another thread has already replaced it, its replacement is returned and no
        request is made: a burst of rejections causes one renewal. None means renewals are
        paused: a replacement was itself rejected a moment ago (see `replacement_rejected`),
        and the caller should give up on this call rather than buy another token.
        """
        with self._locked():
            current = self._current
            if (
                current is not None
                and current.token.access_token != rejected.access_token
                and self.clock() < current.renew_at
            ):
                return current.token
            if self._rejections_paused():
                self._replay_event("paused", None)
                return None
            log.debug(
                "token %s was rejected as expired; renewing",
                rejected.fingerprint,
                extra=event("rejected", rejected),
            )
            self.cache.delete_if(self.key, token_id(rejected))
            try:
                replacement = self._obtain(rejected, trigger="replay")
            except Exception:
                self._replay_event("failed", None)
                raise
            self._replay_event("ok", replacement)
            return replacement

    def replacement_for(self: Manager, sent: Token) -> Token | None:
        """Return the token that has replaced ``sent``, or None; never requests one.

        Waits for a renewal under way, so that calls which could not tell why the API
        refused ``sent`` take the token another call's renewal brings.
        """
        with self._locked():
            current = self._current
            if (
                current is not None
                and current.token.access_token != sent.access_token
                and self.clock() < current.renew_at
            ):
                return current.token
            return None

    def _rejections_paused(self: Manager) -> bool:
        """Return whether renewals after a rejection pause: here, or in the fleet."""
        return self.process.pauses.active(self.key) or self.fleet.rejections_paused()

    @property
    def backing_off(self: Manager) -> bool:
        """Whether replacements have been rejected lately (cheap: asked on every answer)."""
        return self.process.pauses.backing_off(self.key)

    def replacement_rejected(
        self: Manager, replacement: Token, *, may_replace: bool = True
    ) -> Token | None:
        """Note that a replacement was rejected as expired too; return one more, or None.

        Two causes look alike. A revocation: the replacement worked (the API accepted it in
        an earlier call, see `accepted`) and was revoked while this call was replaying with
        it, or another call has already replaced it; then the token to replay with once more
        is returned, through the usual single flight. An API that rejects every token (a
        skewed gateway clock, a misconfigured authorizer, an auth object used against a
        host that does not accept its tokens): renewing after each rejection would buy two
        billed tokens per call. Renewals of this client after a rejection pause instead,
        for the whole process (see `pauses`); the token stays current (and cached), so that
        other processes are not sent back to the endpoint either, and None is returned.
        ``may_replace=False`` (the call has been replayed enough) never returns a token.
        """
        with self._locked():
            current = self._current
            revoked = replacement.access_token in self._accepted
            if (
                may_replace
                and current is not None
                and self.clock() < current.renew_at
                and current.token.access_token != replacement.access_token
            ):
                return current.token
            if revoked:
                if not may_replace:
                    return None  # it worked before: no reason to pause the others
                self.cache.delete_if(self.key, token_id(replacement))
                return self._obtain(replacement, trigger="replay")
        first = self.process.pauses.begin(self.key, token_id(replacement))
        # The other processes sharing the cache pause too, rather than buy a token each
        # to learn what this one has learnt.
        self.fleet.pause_rejections(self.process.pauses.remaining(self.key))
        if first is not None:
            log.warning(
                "the API rejects new tokens too (token %s); renewals after a rejection pause "
                "for %.0f s, longer while it lasts, and those calls get the 401",
                replacement.fingerprint,
                first,
                extra=event("rejection-pause", replacement),
            )
        return None

    def accepted(self: Manager, token: Token) -> None:
        """Note that the API answered a call made with ``token``: it works; end any pause.

        Asked on every answer, so cheap: a look at a few recent tokens, the lock only to
        end a pause.
        """
        if token.access_token not in self._accepted:
            self._accepted.append(token.access_token)
        if self.process.pauses.end(self.key):
            self.fleet.resume_rejections()
            log.warning("the API accepts tokens again; renewals after a rejection resume")

    def replace_refused_shared(self: Manager, refused: Token) -> Token | None:
        """Return a fresh token in place of a shared one the API refused; None if not shared.

        A token from the cache (fetched by another process, or by an earlier run of a
        command) may have been revoked since, and the API then answers ``401 Unauthorized``,
        not the expiry message, until it would have expired. Such a token is dropped from
        the cache and one is fetched here. A token this object fetched itself is not
        renewed for that answer: the gateway calls it invalid, and a token URL of another
        environment would then buy a token per call. While renewals of this client pause
        (a replacement was refused too), None.
        """
        with self._locked():
            current = self._current
            if current is None or current.token.access_token != refused.access_token:
                if refused.access_token != self._dropped_shared:
                    return None
                # Another call has dropped it already: use what its fetch brought.
                return self._usable(current.token if current else None, refused)
            if not current.shared or self._rejections_paused():
                return None
            self._dropped_shared = refused.access_token
            log.debug(
                "shared token %s was refused; dropping it and fetching another",
                refused.fingerprint,
                extra=event("rejected", refused),
            )
            self.cache.delete_if(self.key, token_id(refused))
            with self.cache.lock(self.key, self.lock_wait):
                return self._fetch_locked("replay")

    def discard(self: Manager, rejected: Token) -> None:
        """Forget ``rejected`` if it is still current, so that the next call fetches anew."""
        with self._locked():
            current = self._current
            if current is not None and current.token.access_token == rejected.access_token:
                self._store(None)
            self.cache.delete_if(self.key, token_id(rejected))
