"""A due token's renewal in the background: one object per due token, run by the pool.

The renewal pool (`background`) runs it in a worker and, when it returns a number of
seconds, runs it again after them: after a failure, with a back-off that doubles while the
token stays valid; while the fleet holds the client's token requests, when the hold ends.
It ends once the token is replaced, or has expired (calls then renew it themselves, under
the manager's single flight).
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from typing import Protocol

from ..errors import TokenHeldError
from ..token import Token
from .due import DueTimes
from .endpoint import TokenEndpoint
from .events import Trigger
from .reporting import event

log = logging.getLogger("requests_resharmonics")

#: The longest back-off between two tries of a failing renewal, in seconds.
MAX_RETRY_DELAY = 60.0


class Held(Protocol):
    """The manager's current token (the manager's ``_Current``)."""

    @property
    def token(self) -> Token: ...


class Renews(Protocol):
    """What a background renewal uses of its `TokenManager`."""

    endpoint: TokenEndpoint
    due_times: DueTimes
    background_retry_delay: float

    @property
    def _current(self) -> Held | None: ...
    def clock(self) -> float: ...
    def _locked(self) -> AbstractContextManager[None]: ...
    def _obtain(self, rejected: Token | None, trigger: Trigger) -> Token: ...
    def _renewal_event(
        self, outcome: str, trigger: Trigger, since: float, token: Token | None
    ) -> None: ...


class BackgroundRenewal:
    """Replaces a due token while calls keep using it, in a worker of the shared pool."""

    __slots__ = ("attempts", "delay", "due_since", "manager", "stale")

    def __init__(self, manager: Renews, stale: Token) -> None:
        self.manager = manager
        self.stale = stale
        self.due_since = time.monotonic()
        self.delay = manager.background_retry_delay
        self.attempts = 0

    def __call__(self) -> float | None:
        """Renew the token; return None when done, or the seconds before trying again."""
        manager, stale = self.manager, self.stale
        self.attempts += 1
        if self.attempts == 1:
            log.debug(
                "token %s is due for renewal; renewing in the background",
                stale.fingerprint,
                extra=event("due", stale),
            )
        current = manager._current
        if current is None or current.token.access_token != stale.access_token:
            return None  # replaced meanwhile (a rejection, another renewal)
        if stale.is_expired(manager.clock()):
            return None  # calls now renew it themselves, under the usual single flight
        started = time.monotonic()
        try:
            with manager._locked():
                current = manager._current
                if current is not None and current.token is stale:
                    token = manager._obtain(rejected=None, trigger="background")
                    # Under load a renewal takes longer than its token request alone (it
                    # waits for a worker): start the next one that much sooner.
                    manager.due_times.renewal_seconds = time.monotonic() - self.due_since
                    manager._renewal_event("ok", "background", self.due_since, token)
            return None
        except TokenHeldError as held:
            log.debug(
                "background renewal of token %s waits for the fleet's hold to end: %s",
                stale.fingerprint,
                held.reason,
                extra=event("renewal-held", stale),
            )
            return max(held.until - time.time(), 0.01)  # a hold is no failure: no back-off
        except Exception as error:
            seconds = time.monotonic() - started
            delay = self.delay
            log.warning(
                "background renewal of token %s failed after %.3f s (%s); retrying in %.1f s "
                "while it stays valid",
                stale.fingerprint,
                seconds,
                manager.endpoint.scrub(str(error))[:300],
                delay,
                extra=event("renewal-failed", stale, seconds),
            )
            manager._renewal_event("failed", "background", self.due_since, None)
        self.delay = min(delay * 2, MAX_RETRY_DELAY)
        return delay
