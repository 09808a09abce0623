"""Counters of token costs: per auth object, and for the whole process.

Token requests are billed by the token service and count against its rate quota; these
counters let an operator see them without the fake server. They are updated by the
`TokenEvent` of each thing that happens (see `requests_resharmonics.events`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields

from .events import TokenEvent


@dataclass(frozen=True)
class TokenStats:
    """A snapshot of a client's token costs (or the whole process's, see `process_stats`).

    Example:
        >>> auth.stats.token_requests, auth.stats.requests_ok
        (1, 1)
        >>> requests_resharmonics.process_stats().request_seconds
        0.012
    """

    #: Token requests answered with a token.
    requests_ok: int = 0
    #: Token requests the endpoint refused (4xx: credentials, scope, throttling).
    requests_refused: int = 0
    #: Token requests that got no usable answer (timeouts, connection errors, 5xx, nonsense).
    requests_failed: int = 0
    #: Seconds spent in token requests, all outcomes, retries included.
    request_seconds: float = 0.0
    #: Seconds the latest token request took, or ``None`` before the first.
    last_request_seconds: float | None = None
    #: Due tokens renewed in the background while calls went on with the old one.
    background_renewals: int = 0
    #: Due or expired tokens renewed in the call that found them (that call waited).
    inline_renewals: int = 0
    #: Calls replayed with a new token after the API rejected theirs as expired.
    replays: int = 0
    #: Usable tokens found in the shared cache, and lookups that found none.
    cache_hits: int = 0
    cache_misses: int = 0
    #: Token requests not made because the token endpoint had asked to wait (429 or 503
    #: with ``Retry-After``), this process or another sharing the token cache.
    requests_held: int = 0
    #: Token requests not made because the ``token_budget`` was spent.
    requests_over_budget: int = 0

    @property
    def token_requests(self) -> int:
        """All token requests made, whatever their outcome: what the token service bills."""
        return self.requests_ok + self.requests_refused + self.requests_failed

    def as_dict(self) -> dict[str, float | int | None]:
        """Return the counters as a dict (``token_requests`` included), for logs and exports."""
        values: dict[str, float | int | None] = {
            field.name: getattr(self, field.name) for field in fields(self)
        }
        values["token_requests"] = self.token_requests
        return values


class StatsRecorder:
    """The live counters behind `TokenStats` snapshots.

    The recorders of a process share one lock, the process's (`process`): updates are
    rare (one per token event), and a lock per tenant would cost memory in fleets of
    thousands.
    """

    __slots__ = ("_values", "lock")

    def __init__(
        self, lock: threading.Lock, values: dict[str, float | int | None] | None = None
    ) -> None:
        self.lock = lock
        self._values: dict[str, float | int | None] = dict(values or {})

    def record(self, event: TokenEvent) -> None:
        """Count ``event``."""
        name = _counter(event)
        with self.lock:
            values = self._values
            if name is not None:
                values[name] = int(values.get(name) or 0) + 1
            if event.kind == "token-request" and event.duration is not None:
                values["request_seconds"] = float(values.get("request_seconds") or 0.0) + (
                    event.duration
                )
                values["last_request_seconds"] = event.duration

    def snapshot(self) -> TokenStats:
        """Return the counters as they are now."""
        with self.lock:
            return TokenStats(**self._values)  # type: ignore[arg-type]

    def forked(self, lock: threading.Lock) -> StatsRecorder:
        """Return these counters for a forked child, under the child's ``lock``."""
        return StatsRecorder(lock, self._values)


def _counter(event: TokenEvent) -> str | None:
    if event.kind == "token-request":
        return f"requests_{event.outcome}"
    if event.kind == "renewal" and event.outcome == "ok":
        return "background_renewals" if event.trigger == "background" else "inline_renewals"
    if event.kind == "replay" and event.outcome == "ok":
        return "replays"
    if event.kind == "cache":
        return "cache_hits" if event.outcome == "hit" else "cache_misses"
    if event.kind == "held":
        return "requests_over_budget" if event.outcome == "budget" else "requests_held"
    return None
