"""How a token manager reports what happens to its tokens: events, stats and log fields.

An event is counted and handed on after the fact (`events.later`): once the thread that
made it holds no token lock, so that stats, hooks and plug-ins see the new token stored.
"""

from __future__ import annotations

import functools
import time

from ..errors import TokenRequestError
from ..token import Token
from . import events
from .endpoint import TokenEndpoint
from .events import Listener, TokenEvent, Trigger
from .process import ProcessState
from .stats import StatsRecorder, TokenStats


def event(name: str, token: Token, duration: float | None = None) -> dict[str, object]:
    """Return log-record fields naming a token event, for handlers that act on events.

    Records carry ``resharmonics_event`` (``fetched``, ``due``, ``rejected``,
    ``unreplayable`` or ``renewal-failed``) and ``resharmonics_token``, the token's
    fingerprint, never the token; records of a token request (``fetched``,
    ``renewal-failed``) carry ``resharmonics_duration`` too, its seconds.
    """
    fields: dict[str, object] = {
        "resharmonics_event": name,
        "resharmonics_token": token.fingerprint,
    }
    if duration is not None:
        fields["resharmonics_duration"] = duration
    return fields


def status_of(error: BaseException) -> int | None:
    """Return the HTTP status a failed token request ended with, if it got one."""
    return error.status_code if isinstance(error, TokenRequestError) else None


def outcome_of(error: BaseException) -> str:
    """Classify a failed token request: ``refused`` (the endpoint said 4xx) or ``failed``."""
    status = status_of(error)
    return "refused" if status is not None and 400 <= status < 500 else "failed"


class Reporting:
    """The reporting side of `TokenManager`: every event is counted, then handed on."""

    endpoint: TokenEndpoint
    process: ProcessState
    on_event: Listener | None
    _stats: StatsRecorder

    def stats(self) -> TokenStats:
        """Return this client's token costs so far (see `TokenStats`)."""
        return self._stats.snapshot()

    def _emit(self, event: TokenEvent) -> None:
        events.later(functools.partial(self._tell, event))

    def _tell(self, event: TokenEvent) -> None:
        # Counted before any listener hears of it: a hook reading stats finds it counted.
        self._stats.record(event)
        process = self.process
        process.stats.record(event)
        events.deliver(event, (*process.plugins.listeners, self.on_event))

    def _renewal_event(
        self, outcome: str, trigger: Trigger, since: float, token: Token | None
    ) -> None:
        self._emit(
            TokenEvent(
                "renewal",
                outcome,
                self.endpoint.client_id,
                duration=time.monotonic() - since,
                fingerprint=token.fingerprint if token is not None else None,
                trigger=trigger,
            )
        )

    def _replay_event(self, outcome: str, token: Token | None) -> None:
        fingerprint = token.fingerprint if token is not None else None
        self._emit(TokenEvent("replay", outcome, self.endpoint.client_id, fingerprint=fingerprint))

    def _cache_event(self, outcome: str) -> None:
        self._emit(TokenEvent("cache", outcome, self.endpoint.client_id))

    def _held_event(self, outcome: str, trigger: Trigger, seconds: float) -> None:
        self._emit(
            TokenEvent("held", outcome, self.endpoint.client_id, duration=seconds, trigger=trigger)
        )

    def _request_event(
        self,
        outcome: str,
        trigger: Trigger,
        started: float,
        token: Token | None,
        status: int | None,
    ) -> float:
        seconds = time.monotonic() - started
        self._emit(
            TokenEvent(
                "token-request",
                outcome,
                self.endpoint.client_id,
                duration=seconds,
                fingerprint=token.fingerprint if token is not None else None,
                trigger=trigger,
                status=status,
            )
        )
        return seconds
