"""Pauses of renewals after a rejection, one per client for the whole process.

When the API rejects a token fresh from the endpoint too (a skewed gateway clock, an
authorizer that rejects every token, a token URL of another environment), renewing after
each rejection would buy a billed token per call. Renewals of that client pause instead:
one second at first, twice as long for each further replacement rejected, up to five
minutes, until a call is accepted again. The pause belongs to the client (its cache key),
not to one auth object, so that auth objects made per call, or per thread, share it; and it
lives in this process only (a monotonic moment means nothing elsewhere), so it is never
pickled: it is part of the process's state (`process`).
"""

from __future__ import annotations

import threading
import time
from typing import NamedTuple

#: How long renewals after a rejection pause once a replacement is rejected too, at first
#: and at most (the pause doubles while replacements keep being rejected).
MIN_REJECTION_PAUSE = 1.0
MAX_REJECTION_PAUSE = 300.0


class _Pause(NamedTuple):
    seconds: float
    until: float  # time.monotonic()
    token_id: str  # the rejected replacement that began it


class Pauses:
    """The pauses of renewals after a rejection, per client key (part of `process`)."""

    def __init__(self, pauses: dict[str, _Pause] | None = None) -> None:
        self._lock = threading.Lock()
        self._pauses: dict[str, _Pause] = dict(pauses or {})

    def forked(self) -> Pauses:
        """Return the pauses of a forked child: the same pauses, a lock of its own.

        ``time.monotonic`` goes on counting across a fork, so the moments still hold.
        """
        return Pauses(self._pauses)

    def active(self, key: str) -> bool:
        """Return whether renewals after a rejection are paused for ``key`` right now."""
        pause = self._pauses.get(key)
        return pause is not None and time.monotonic() < pause.until

    def remaining(self, key: str) -> float:
        """Return the seconds left of ``key``'s pause (0 when there is none)."""
        pause = self._pauses.get(key)
        return max(pause.until - time.monotonic(), 0.0) if pause is not None else 0.0

    def backing_off(self, key: str) -> bool:
        """Return whether replacements of ``key`` have been rejected since one was accepted."""
        return key in self._pauses

    def begin(self, key: str, token_id: str) -> float | None:
        """Pause renewals of ``key`` for the rejection of replacement ``token_id``.

        A burst of calls that shared the one rejected replacement makes one pause, not one
        each. Returns the pause's length when this began the first pause (worth a warning).
        """
        with self._lock:
            pause = self._pauses.get(key)
            if pause is not None and pause.token_id == token_id:
                return None
            seconds = MIN_REJECTION_PAUSE if pause is None else pause.seconds * 2
            seconds = min(seconds, MAX_REJECTION_PAUSE)
            self._pauses[key] = _Pause(seconds, time.monotonic() + seconds, token_id)
            return seconds if pause is None else None

    def end(self, key: str) -> bool:
        """End any pause of ``key`` (a call was accepted); return whether there was one."""
        if key not in self._pauses:  # asked on every accepted call: no lock for a no
            return False
        with self._lock:
            return self._pauses.pop(key, None) is not None
