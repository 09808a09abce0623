"""The fleet backs off together: holds on a client's token requests, and its token budget.

Token services cap token requests (a few a day for some, a couple of hundred a minute for
others) and answer ``429`` or ``503`` with ``Retry-After`` when a client asks too often.
One process honouring that is not enough when a fleet shares the client: every other
process would ask again on its own schedule. So:

- a ``Retry-After`` from the token endpoint becomes a *hold* on the client's token
  requests, recorded in the token cache the fleet shares (`TokenCache.hold`), which every
  process sharing it reads before it asks (`Fleet.refusal`). A call with a valid token
  goes on with it; one that needs a new token gets a `TokenHeldError` saying until when.
  A short ``Retry-After`` (up to the token request's timeout) is also waited out by the
  request that received it, as before; a longer one is not retried (see `_retries`);
- an optional budget, ``token_budget=(N, seconds)``: at most N token requests of the
  client within any ``seconds``, retries included, counted in the shared cache
  (`TokenCache.admit_token_request`); a request over it is held back the same way;
- a refusal the library pauses renewals on (the API refusing fresh tokens, see
  `rejections`) is shared too, so other processes do not buy a token each to learn it.

Holds and budgets are keyed by the client (token URL, client id and a hash of the secret,
whatever the scope): the service counts per client. A cache that does not share them (the
memory cache, a cache of your own without these methods, a cache that is down) leaves
each process to hold back and count alone, in its `Ledgers`. Times are the wall clock's
(``time.time``): processes on other machines read them, so keep clocks in sync (NTP).
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import NamedTuple

from ..cache.base import Hold, budget_wait
from ..cache.guard import GuardedCache
from ..errors import ConfigurationError, TokenHeldError, TokenRequestError

log = logging.getLogger("requests_resharmonics")

#: Added to a client's key for the shared pause of renewals after a rejection.
REJECTIONS = ":rejections"


class Budget(NamedTuple):
    """At most ``requests`` token requests of a client in any ``seconds``."""

    requests: int
    seconds: float


def checked_budget(value: object) -> Budget | None:
    """Return ``token_budget`` as a `Budget`, or raise a `ConfigurationError` naming it."""
    if value is None:
        return None
    pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    requests, seconds = pair if len(pair) == 2 else (None, None)
    if (
        isinstance(requests, bool)
        or not isinstance(requests, int)
        or requests < 1
        or isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not seconds > 0
        or not math.isfinite(seconds)
    ):
        raise ConfigurationError(
            "token_budget must be a pair (requests, seconds): a whole number >= 1 of token "
            f"requests per a number of seconds > 0, such as (5, 86400); not {value!r}"
        )
    return Budget(requests, float(seconds))


def when(moment: float) -> str:
    """Return an epoch moment as UTC time in words: ``2025-06-01 12:00:05 UTC``."""
    try:
        return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):  # a hold a sharer wrote far beyond year 9999
        return "a moment past the year 9999"


def seconds_in_words(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


class Ledgers:
    """The holds and counts of token requests of this process (part of `process`).

    Used when the cache shares none (the memory cache is the process's own), and always
    for holds, which are noted here too so that this process need not ask the cache.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, Hold] = {}
        self._counted: dict[str, list[float]] = {}
        self._swept_at = 0.0

    def forked(self) -> Ledgers:
        """Return the ledgers of a forked child: the same holds and counts, its own lock."""
        child = Ledgers()
        child._holds = dict(self._holds)
        child._counted = {key: list(times) for key, times in self._counted.items()}
        return child

    def hold(self, key: str, hold: Hold) -> None:
        """Note ``hold`` on ``key`` unless one in place ends later."""
        with self._lock:
            previous = self._holds.get(key)
            if previous is None or previous.until < hold.until:
                self._holds[key] = hold

    def held(self, key: str, now: float) -> Hold | None:
        """Return the hold in place on ``key`` now, if any (ended ones are forgotten)."""
        hold = self._holds.get(key)
        if hold is None:
            return None
        if hold.until > now:
            return hold
        with self._lock:
            if self._holds.get(key) is hold:
                del self._holds[key]
        return None

    def admit(self, key: str, budget: Budget, at: float, now: float) -> float:
        """Count a request of ``key`` at ``at`` if ``budget`` allows; else the seconds to wait."""
        with self._lock:
            self._sweep(now, budget.seconds)
            counted = self._counted.setdefault(key, [])
            del counted[: bisect.bisect_right(counted, now - budget.seconds)]
            wait = budget_wait(counted, at, budget.requests, budget.seconds)
            if wait == 0.0:
                bisect.insort(counted, at)
            elif not counted:
                del self._counted[key]
            return wait

    def _sweep(self, now: float, window: float) -> None:
        """Forget, now and then, the counts of clients that stopped asking long ago."""
        if now - self._swept_at < max(window, 60.0):
            return
        self._swept_at = now
        for key in [
            key for key, times in self._counted.items() if not times or times[-1] < now - window
        ]:
            del self._counted[key]
        for key in [key for key, hold in self._holds.items() if hold.until <= now]:
            del self._holds[key]


class Refusal(NamedTuple):
    """Why a token request is not made now: a hold, or the budget."""

    outcome: str  # "retry-after" or "budget": the `TokenEvent` outcome of kind "held"
    hold: Hold


class Fleet:
    """One client's part in the fleet: its holds and its budget, shared through its cache."""

    __slots__ = ("budget", "cache", "client_id", "key", "ledgers", "rejections_key", "token_url")

    def __init__(
        self,
        cache: GuardedCache,
        ledgers: Ledgers,
        key: str,
        rejections_key: str,
        budget: Budget | None,
        client_id: str,
        token_url: str,
    ) -> None:
        self.cache = cache
        self.ledgers = ledgers
        self.key = key
        self.rejections_key = rejections_key + REJECTIONS
        self.budget = budget
        self.client_id = client_id
        self.token_url = token_url

    @property
    def describe(self) -> str:
        """The client in words, for messages: ``client 'id' of https://...``."""
        return f"client {self.client_id!r} of {self.token_url}"

    def held(self) -> Hold | None:
        """Return the hold in place on the client's token requests, this process's or shared."""
        now = time.time()
        mine = self.ledgers.held(self.key, now)
        shared = self.cache.held(self.key)
        if (
            shared is not None
            and shared.until > now
            and (mine is None or mine.until < shared.until)
        ):
            self.ledgers.hold(self.key, shared)
            return shared
        return mine

    def refusal(self, delay: float = 0.0) -> Refusal | None:
        """Return why a token request may not go out ``delay`` s from now, or None and count it.

        A hold comes first (a request it holds back is not counted); then the budget.
        """
        hold = self.held()
        if hold is not None and hold.until > time.time() + delay:
            return Refusal("retry-after", hold)
        budget = self.budget
        if budget is None:
            return None
        wait = self.cache.admit_token_request(self.key, budget.requests, budget.seconds, delay)
        now = time.time()
        if wait is None:
            wait = self.ledgers.admit(self.key, budget, now + delay, now)
        if wait <= 0:
            return None
        reason = (
            f"its token budget of {budget.requests} request"
            f"{'s' if budget.requests != 1 else ''} per {budget.seconds:g} s is spent"
        )
        return Refusal("budget", Hold(now + delay + wait, reason))

    def throttled(self, status: int, seconds: float) -> Hold:
        """Hold the client's token requests for ``seconds``: the endpoint's ``Retry-After``."""
        hold = Hold(
            time.time() + seconds,
            f"the token endpoint answered HTTP {status} with Retry-After: "
            f"{seconds_in_words(seconds)}",
        )
        first = self.ledgers.held(self.key, time.time()) is None
        self.ledgers.hold(self.key, hold)
        self.cache.hold(self.key, hold.until, hold.reason)
        if first:
            log.warning(
                "the token endpoint asks %s to wait %s (HTTP %d, Retry-After); its token "
                "requests are held until %s in every process sharing its token cache",
                self.describe,
                seconds_in_words(seconds),
                status,
                when(hold.until),
            )
        return hold

    def error(
        self, refusal: Refusal, cause: TokenRequestError | None = None, asked: bool = False
    ) -> TokenHeldError:
        """Return the error a call that needs a token gets while ``refusal`` holds.

        ``cause`` is the failed request that left the hold (``asked``: by its own
        ``Retry-After``), if there was one.
        """
        hold = refusal.hold
        left = max(hold.until - time.time(), 0.0)
        held = (
            f"token requests of {self.describe} are held until {when(hold.until)} "
            f"({seconds_in_words(left)} from now)"
        )
        if cause is None:
            message = (
                f"{held}: {hold.reason}; no token request was made (calls with a valid "
                "token go on with it)"
            )
        elif asked:
            message = (
                f"{cause}; {held}, as its Retry-After asks, in every process sharing its "
                "token cache"
            )
        else:
            message = f"{cause}; not retried: {held}: {hold.reason}"
        return TokenHeldError(
            message,
            until=hold.until,
            seconds=left,
            reason=hold.reason,
            status_code=cause.status_code if cause is not None else None,
        )

    # -- the pause of renewals after a rejection, shared -----------------------------------

    def pause_rejections(self, seconds: float) -> None:
        """Share this process's pause of renewals after a rejection with the fleet."""
        self.cache.hold(
            self.rejections_key,
            time.time() + seconds,
            "the API refuses fresh tokens of this client: renewals after a rejection pause",
        )

    def resume_rejections(self) -> None:
        """End the shared pause: the API accepts this client's tokens again."""
        self.cache.hold(self.rejections_key, 0.0, "the API accepts tokens again")

    def rejections_paused(self) -> bool:
        """Return whether another process sharing the cache pauses renewals after a rejection."""
        hold = self.cache.held(self.rejections_key)
        return hold is not None and hold.until > time.time()


class Attempts:
    """What one token request's attempts meet, told by its retries (see `_retries`)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.hold: Hold | None = None  # the latest Retry-After's
        self.refused: Refusal | None = None  # why a retry was not made

    def retry_after(self, status: int, seconds: float) -> None:
        """Hold the fleet: the endpoint answered ``status`` asking to wait ``seconds``."""
        if seconds > 0:  # "Retry-After: 0" (or a date gone by) asks to wait for nothing
            self.hold = self.fleet.throttled(status, seconds)

    def may_retry(self, delay: float) -> bool:
        """Return whether a retry may go out ``delay`` seconds from now (and count it)."""
        self.refused = self.fleet.refusal(delay)
        return self.refused is None
