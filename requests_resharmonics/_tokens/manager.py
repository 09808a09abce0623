"""One place that decides when to fetch a token, shared by the auth object and the session.

A valid token is read without taking a lock. Fetching happens under a lock, so any number of
threads cause one token request per renewal: the first thread fetches, the others wait and
then use its token. A token due for renewal but still valid is renewed in the background
while calls go on using it (stale-while-revalidate); calls wait only for an expired token.
What happens under the lock is told (events, stats, ``on_new_token``) once it is released
(`events.held`), when the new token is in place.
"""

from __future__ import annotations

import collections
import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

from ..cache.base import TokenCache
from ..cache.guard import GuardedCache
from ..cache.memory import MemoryTokenCache
from ..errors import ConfigurationError
from ..token import Token
from . import events, pauses
from .endpoint import TokenEndpoint
from .events import Listener, Trigger
from .process import ProcessState
from .rejections import Rejections
from .reporting import Reporting, outcome_of, status_of
from .reporting import event as event  # the replay hook logs its events with the same fields
from .stats import StatsRecorder

log = logging.getLogger("requests_resharmonics")

DEFAULT_LEEWAY = 60.0
#: Renewal starts at least this many times the last renewal's duration before expiry, so
#: that the new token arrives before calls must stop sending the old one.
SLOW_MARGIN_FACTOR = 1.25


def stale_until(token: Token) -> float:
    """Return the last moment a due token may still be sent while its renewal runs.

    A call sent just before expiry would arrive after it; from this moment on calls wait
    for the renewal instead (2% of the lifetime before expiry, at most a second).
    """
    if token.expires_at is None or token.lifetime is None:
        return math.inf
    return token.expires_at - min(token.lifetime * 0.02, 1.0)


#: How long renewals after a rejection pause, at first and at most (see `pauses`).
MIN_REJECTION_PAUSE = pauses.MIN_REJECTION_PAUSE
MAX_REJECTION_PAUSE = pauses.MAX_REJECTION_PAUSE


class _Current(NamedTuple):
    """The token and when it is due for renewal, swapped in as one object so reads are atomic."""

    token: Token
    renew_at: float
    stale_until: float  # the last moment a call may carry it while its renewal is under way
    shared: bool = False  # taken from the cache, fetched by another object or process


class TokenManager(Rejections, Reporting):
    """Holds the current token of one client and renews it, once, when it is due.

    Example:
        >>> manager = TokenManager(TokenEndpoint(token_url, client_id, client_secret))
        >>> manager.valid_token().access_token
        'eyJ...'
    """

    def __init__(
        self,
        endpoint: TokenEndpoint,
        *,
        leeway: float = DEFAULT_LEEWAY,
        clock: Callable[[], float] = time.time,
        cache: TokenCache | None = None,
        background: bool = True,
        on_event: Listener | None = None,
    ) -> None:
        if not isinstance(leeway, (int, float)) or not leeway >= 0 or not math.isfinite(leeway):
            raise ConfigurationError(f"leeway must be a number of seconds >= 0, not {leeway!r}")
        if cache is not None and not isinstance(cache, TokenCache):
            raise ConfigurationError(f"cache must be a TokenCache, not {type(cache).__name__}")
        self.endpoint = endpoint
        #: The process-wide state this manager uses (its endpoint's; see `process`).
        self.process = endpoint.process
        self.cache = GuardedCache(cache if cache is not None else MemoryTokenCache())
        self.codec = endpoint.cache_codec(self.cache.cache.seals)
        self.key = endpoint.cache_key()
        # Wait for another process's fetch as long as a fetch may take, retries included.
        self.lock_wait = endpoint.timeout * (endpoint.retries + 1) + 5.0
        self.leeway = float(leeway)
        self.clock = clock
        self.background = background
        #: First wait before retrying a failed background renewal; it doubles each time.
        self.background_retry_delay = 1.0
        self._fetch_seconds = 0.0
        self._renewal_seconds = 0.0
        self._current: _Current | None = None
        #: Called with each new token this manager starts using (fetched, or taken from the
        #: cache), in the thread that obtained it once it holds no lock (it may call this
        #: manager); the session's ``token_updater``.
        self.on_new_token: Callable[[Token], object] | None = None
        #: The last few tokens the API accepted: proof that a later rejection of one of them
        #: is a revocation, not an API that rejects every token.
        self._accepted: collections.deque[str] = collections.deque(maxlen=4)
        self._dropped_shared: str | None = None  # the last shared token the API refused
        self._lock = threading.Lock()
        #: Called with a `TokenEvent` for every token request, renewal, replay and cache
        #: lookup, in the thread where it happened once it holds no lock (so it sees the new
        #: token and may call this manager); its exceptions are logged, not raised.
        self.on_event = on_event
        self._stats = StatsRecorder(self.process.stats_lock)
        self._enlist()

    def _enlist(self) -> None:
        """Join the process's state: the fork hook's list, and the client's calendar.

        Nothing of the process's state holds this manager strongly: once nobody holds it
        (a tenant gone), it is collected and its booking goes with it.
        """
        self.process.managers.add(self)
        calendars, url = self.process.calendars, self.endpoint.token_url
        calendars.enlist(url, self.key)
        self._leave = weakref.finalize(self, calendars.leave, url, self.key)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        del state["codec"]  # rebuilt from the secret where the manager lands
        del state["process"]  # the state of the process where it lands
        del state["_stats"]  # a pickled auth object starts counting afresh where it lands
        del state["_leave"]
        state["_accepted"] = collections.deque(maxlen=4)  # tokens only where they are current
        state["_dropped_shared"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.codec = self.endpoint.cache_codec(self.cache.cache.seals)
        self._lock = threading.Lock()
        self.process = self.endpoint.process
        self._stats = StatsRecorder(self.process.stats_lock)
        self._enlist()

    def _locked(self) -> Any:
        """Hold this manager's lock; what happens meanwhile is told once it is released."""
        return events.held(self._lock)

    @property
    def token(self) -> Token | None:
        """The current token, or ``None`` before the first fetch."""
        current = self._current
        return current.token if current is not None else None

    def valid_token(self) -> Token:
        """Return a token good for the next call, renewing it if needed.

        A token due for renewal but not expired is returned at once while a background
        renewal replaces it (when ``background`` is on); otherwise the call waits.
        """
        current = self._current
        if current is not None:
            now = self.clock()
            if now < current.renew_at:
                return current.token
            if self.background and now < current.stale_until:
                return self._serve_stale(current.token)
        with self._locked():
            current = self._current
            if current is not None and self.clock() < current.renew_at:
                return current.token
            if current is None and self.background:
                shared = self._shared()  # another's token, perhaps due: still good
                if shared is not None and self.clock() < stale_until(shared):
                    self._cache_event("hit")
                    self._store(shared, shared=True)
                    return self._fresh_or_stale(shared)
            if current is None:
                return self._obtain(rejected=None, trigger="first")
            log.debug(
                "token %s is due for renewal",
                current.token.fingerprint,
                extra=event("due", current.token),
            )
            return self._renew_inline()

    def _renew_inline(self) -> Token:
        """Renew a due or expired token in the call that found it (the lock held)."""
        started = time.monotonic()
        try:
            token = self._obtain(rejected=None, trigger="inline")
        except Exception:
            self._renewal_event("failed", "inline", started, None)
            raise
        self._renewal_event("ok", "inline", started, token)
        return token

    def _fresh_or_stale(self, token: Token) -> Token:
        """Return ``token``, starting its background renewal if it is due."""
        if self.clock() >= self.renew_at(token):
            return self._serve_stale(token)
        return token

    def _serve_stale(self, token: Token) -> Token:
        pool = self.process.renewals
        if not pool.poke(self.key):  # every call while due asks: nothing built for a no
            pool.start(self.key, _BackgroundRenewal(self, token), self.endpoint.token_url)
        return token

    def fetch_token(self) -> Token:
        """Fetch a new token now, whatever the state of the current one or the cache's."""
        with self._locked(), self.cache.lock(self.key, self.lock_wait):
            return self._fetch_locked("explicit")

    def set_token(self, token: Token | None) -> None:
        """Replace the current token, for users who bring one of their own."""
        with self._locked():
            self._store(token, notify=False)

    def _obtain(self, rejected: Token | None, trigger: Trigger) -> Token:
        """Take a usable token from the cache, or fetch one under the cache's lock.

        Called with the manager's lock held. Other processes sharing the cache wait on the
        cache's lock while one fetches, then find its token on their second look.
        """
        shared = self._usable(self._shared(), rejected)
        if shared is None:
            with self.cache.lock(self.key, self.lock_wait):
                shared = self._usable(self._shared(), rejected)
                if shared is None:
                    self._cache_event("miss")
                    return self._fetch_locked(trigger)
        self._cache_event("hit")
        self._store(shared, shared=True)
        return shared

    def _renew_in_background(self, renewal: _BackgroundRenewal) -> float | None:
        """Replace a due token while calls keep using it, in a worker of the shared pool.

        Returns None when done, or the seconds to wait before the pool runs it again after
        a failure (doubling each time, while the token stays valid).
        """
        stale = renewal.stale
        renewal.attempts += 1
        if renewal.attempts == 1:
            log.debug(
                "token %s is due for renewal; renewing in the background",
                stale.fingerprint,
                extra=event("due", stale),
            )
        current = self._current
        if current is None or current.token.access_token != stale.access_token:
            return None  # replaced meanwhile (a rejection, another renewal)
        if stale.is_expired(self.clock()):
            return None  # calls now renew it themselves, under the usual single flight
        started = time.monotonic()
        try:
            with self._locked():
                current = self._current
                if current is not None and current.token is stale:
                    token = self._obtain(rejected=None, trigger="background")
                    # Under load a renewal takes longer than its token request alone (it
                    # waits for a worker): start the next one that much sooner.
                    self._renewal_seconds = time.monotonic() - renewal.due_since
                    self._renewal_event("ok", "background", renewal.due_since, token)
            return None
        except Exception as error:
            seconds = time.monotonic() - started
            delay = renewal.delay
            log.warning(
                "background renewal of token %s failed after %.3f s (%s); retrying in %.1f s "
                "while it stays valid",
                stale.fingerprint,
                seconds,
                self.endpoint.scrub(str(error))[:300],
                delay,
                extra=event("renewal-failed", stale, seconds),
            )
            self._renewal_event("failed", "background", renewal.due_since, None)
        renewal.delay = min(delay * 2, 60.0)
        return delay

    def renew_at(self, token: Token) -> float:
        """Return when ``token`` is due: its margin, widened to cover a slow renewal.

        When many clients of the token URL would renew in the same second, the token's
        booking in the process's renewal calendar brings it forward (`spread`). A booked
        token is due at the moment booked (sooner only if this object's own leeway says
        so), whatever the renewal times learnt since.
        """
        booked = self.process.calendars.moment(self.endpoint.token_url, self.key, token.fingerprint)
        if booked is None:
            return self._due(token)
        return min(booked, token.renew_at(self.leeway))

    def _due(self, token: Token) -> float:
        due = token.renew_at(self.leeway)
        if token.expires_at is None or token.lifetime is None:
            return due
        slowest = max(self._fetch_seconds, self._renewal_seconds)
        slow_margin = min(SLOW_MARGIN_FACTOR * slowest, token.lifetime / 2)
        return min(due, token.expires_at - slow_margin)

    def _book(self, token: Token) -> float:
        """Book ``token``'s renewal in the calendar; return when it is due."""
        due = self._due(token)
        if not math.isfinite(due) or token.lifetime is None:
            return due
        shift = self.process.calendars.book(
            self.endpoint.token_url,
            self.key,
            token.fingerprint,
            due,
            token.obtained_at,
            token.lifetime,
            self.clock(),
        )
        return due - shift

    def _shared(self) -> Token | None:
        """Return the token in the cache, if there is a readable one."""
        return self.codec.decode(self.cache.get(self.key))

    def _usable(self, token: Token | None, rejected: Token | None) -> Token | None:
        if token is None or self.clock() >= self.renew_at(token):
            return None
        if rejected is not None and token.access_token == rejected.access_token:
            return None
        return token

    def _fetch_locked(self, trigger: Trigger) -> Token:
        endpoint = self.endpoint
        span = self.process.plugins.request_span
        with span(endpoint.token_url, endpoint.client_id, trigger) as note:
            started = time.monotonic()
            try:
                token = endpoint.request_token(self.clock)
            except Exception as error:
                note.failed(outcome_of(error), status_of(error), error)
                self._request_event(note.outcome, trigger, started, None, note.status)
                raise
            note.fingerprint = token.fingerprint
        seconds = self._request_event("ok", trigger, started, token, None)
        self._fetch_seconds = seconds
        self._store(token)
        self.cache.set(self.key, self.codec.encode(token), token.expires_at)
        log.debug(
            "token %s fetched from %s in %.3f s, %s",
            token.fingerprint,
            endpoint.token_url,
            seconds,
            f"valid {token.lifetime:.0f} s" if token.lifetime is not None else "lifetime unknown",
            extra=event("fetched", token, seconds),
        )
        return token

    def _store(self, token: Token | None, notify: bool = True, shared: bool = False) -> None:
        previous = self._current
        if token is None:
            self._current = None
            return
        self._current = _Current(token, self._book(token), stale_until(token), shared)
        is_new = previous is None or previous.token.access_token != token.access_token
        if notify and is_new and self.on_new_token is not None:
            # Told once the lock is released, like events: the hook may use the auth object.
            events.later(functools.partial(self._tell_new_token, self.on_new_token, token))

    @staticmethod
    def _tell_new_token(hook: Callable[[Token], object], token: Token) -> None:
        try:
            hook(token)
        except Exception as error:  # a user's hook must not fail the call that renewed
            log.warning(
                "the token_updater hook failed with %s; the new token is in use anyway",
                type(error).__name__,
            )

    def after_fork(self, process: ProcessState) -> None:
        """Start afresh in a forked child, whose process-wide state is ``process``."""
        # A lock held by another thread at fork time would never be released in the child,
        # and pooled connections must not be shared with the parent.
        self._lock = threading.Lock()
        self.endpoint.after_fork(process)
        self.process = process
        self._stats = self._stats.forked(process.stats_lock)
        self._leave.detach()  # the parent's calendars: the child counts in its own
        self._enlist()


class _BackgroundRenewal:
    """One due token's renewal, as the shared pool of workers runs (and reruns) it."""

    __slots__ = ("attempts", "delay", "due_since", "manager", "stale")

    def __init__(self, manager: TokenManager, stale: Token) -> None:
        self.manager = manager
        self.stale = stale
        self.due_since = time.monotonic()
        self.delay = manager.background_retry_delay
        self.attempts = 0

    def __call__(self) -> float | None:
        return self.manager._renew_in_background(self)
