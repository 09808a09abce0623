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

from .._retries import listening
from ..cache.base import TokenCache
from ..cache.guard import GuardedCache
from ..cache.memory import MemoryTokenCache
from ..errors import ConfigurationError, TokenHeldError, TokenRequestError
from ..token import Token
from . import events, pauses
from .due import SLOW_MARGIN_FACTOR as SLOW_MARGIN_FACTOR  # where it was, for importers
from .due import DueTimes, stale_until
from .endpoint import TokenEndpoint
from .events import Listener, Trigger
from .fleet import Attempts, Budget, Fleet, Refusal, checked_budget
from .process import ProcessState
from .rejections import Rejections
from .renewing import BackgroundRenewal
from .reporting import Reporting, outcome_of, status_of
from .reporting import event as event  # the replay hook logs its events with the same fields
from .spread import Calendars
from .stats import StatsRecorder
from .transport import SessionLease

log = logging.getLogger("requests_resharmonics")

DEFAULT_LEEWAY = 60.0


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
        budget: Budget | tuple[int, float] | None = None,
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
        #: At most so many token requests of this client in any so many seconds, across
        #: the processes sharing the cache (``token_budget``), or None.
        self.budget = checked_budget(budget)
        self.fleet = self._fleet()
        # Wait for another process's fetch as long as a fetch may take, retries included.
        self.lock_wait = endpoint.timeout * (endpoint.retries + 1) + 5.0
        self.leeway = float(leeway)
        self.clock = clock
        self.background = background
        #: First wait before retrying a failed background renewal; it doubles each time.
        self.background_retry_delay = 1.0
        #: When this client's tokens are due (its leeway, its renewals' durations).
        self.due_times = DueTimes(endpoint.token_url, self.key, self.leeway)
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
        self._leave = weakref.finalize(self, _depart, calendars, url, self.key, self.endpoint.lease)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        del state["codec"]  # rebuilt from the secret where the manager lands
        del state["process"]  # the state of the process where it lands
        del state["_stats"]  # a pickled auth object starts counting afresh where it lands
        del state["_leave"]
        del state["fleet"]  # rebuilt with the process where it lands
        state["_accepted"] = collections.deque(maxlen=4)  # tokens only where they are current
        state["_dropped_shared"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.codec = self.endpoint.cache_codec(self.cache.cache.seals)
        self._lock = threading.Lock()
        self.process = self.endpoint.process
        self._stats = StatsRecorder(self.process.stats_lock)
        self.fleet = self._fleet()
        self._enlist()

    def _fleet(self) -> Fleet:
        """Return this client's part in the fleet: holds and budget, through its cache."""
        endpoint = self.endpoint
        return Fleet(
            self.cache,
            self.process.ledgers,
            endpoint.client_key(),
            self.key,
            self.budget,
            endpoint.client_id,
            endpoint.scrub(endpoint.token_url),  # named in messages: no secret left in it
        )

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
            try:
                if current is None:
                    return self._obtain(rejected=None, trigger="first")
                log.debug(
                    "token %s is due for renewal",
                    current.token.fingerprint,
                    extra=event("due", current.token),
                )
                return self._renew_inline()
            except TokenHeldError:
                # The fleet holds its token requests: a token still valid serves meanwhile.
                valid = self._still_valid(current)
                if valid is None:
                    raise
                return valid

    def _still_valid(self, current: _Current | None) -> Token | None:
        """Return the current or the cached token if it has not expired (the lock held)."""
        now = self.clock()
        if current is not None and not current.token.is_expired(now):
            return current.token
        shared = self._shared()
        if shared is not None and not shared.is_expired(now):
            self._store(shared, shared=True)
            return shared
        return None

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
            # It may wait, paced, while it is late (see `background`), but not so long that
            # calls would have to stop sending the token before a renewal could end.
            margin = max(1.0, 2 * self.due_times.fetch_seconds)
            left = stale_until(token) - self.clock() - margin
            deadline = time.monotonic() + max(left, 0.0) if math.isfinite(left) else None
            renewal = BackgroundRenewal(self, token)
            pool.start(self.key, renewal, self.endpoint.token_url, deadline)
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
            hold = self.fleet.held()  # before waiting on the lock: a held fleet waits not
            if hold is not None:
                raise self._held(Refusal("retry-after", hold), trigger)
            with self.cache.lock(self.key, self.lock_wait):
                shared = self._usable(self._shared(), rejected)
                if shared is None:
                    self._cache_event("miss")
                    return self._fetch_locked(trigger)
        self._cache_event("hit")
        self._store(shared, shared=True)
        return shared

    def renew_at(self, token: Token) -> float:
        """Return when ``token`` is due: the moment booked for it, else its margin (`due`)."""
        return self.due_times.renew_at(token, self.process.calendars)

    def _book(self, token: Token) -> float:
        """Book ``token``'s renewal in the calendar; return when it is due."""
        return self.due_times.book(token, self.process.calendars, self.clock())

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
        refusal = self.fleet.refusal()
        if refusal is not None:
            raise self._held(refusal, trigger)
        endpoint = self.endpoint
        attempts = Attempts(self.fleet)
        span = self.process.plugins.request_span
        with span(endpoint.token_url, endpoint.client_id, trigger) as note:
            started = time.monotonic()
            try:
                with listening(attempts):
                    token = endpoint.request_token(self.clock)
            except Exception as error:
                note.failed(outcome_of(error), status_of(error), error)
                self._request_event(note.outcome, trigger, started, None, note.status)
                held = self._held_after(error, attempts, trigger)
                if held is not None:
                    raise held from None
                raise
            note.fingerprint = token.fingerprint
        seconds = self._request_event("ok", trigger, started, token, None)
        self.due_times.fetch_seconds = seconds
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

    def _held(self, refusal: Refusal, trigger: Trigger) -> TokenHeldError:
        """Tell that a token request is held back; return the error its caller gets."""
        error = self.fleet.error(refusal)
        self._held_event(refusal.outcome, trigger, error.seconds)
        log.debug("token request held back: %s", error)
        return error

    def _held_after(
        self, error: Exception, attempts: Attempts, trigger: Trigger
    ) -> TokenHeldError | None:
        """Return the error for a failed request that left a hold (a Retry-After), or None."""
        if not isinstance(error, TokenRequestError):
            return None
        refusal = attempts.refused  # a retry held back: by a hold, or by the budget
        if refusal is not None:
            self._held_event(refusal.outcome, trigger, refusal.hold.until - time.time())
            return self.fleet.error(refusal, error)
        if attempts.hold is not None and attempts.hold.until > time.time():
            return self.fleet.error(Refusal("retry-after", attempts.hold), error, asked=True)
        return None

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
        self.fleet = self._fleet()
        self._leave.detach()  # the parent's calendars: the child counts in its own
        self._enlist()


def _depart(calendars: Calendars, token_url: str, key: str, lease: SessionLease) -> None:
    """Release what a collected token manager held: its booking, its endpoint's session."""
    calendars.leave(token_url, key)
    lease.give_back()
