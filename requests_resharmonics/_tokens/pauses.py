"""Pauses of renewals after a rejection, one per client for the whole process.

When the API rejects a token fresh from the endpoint too (a skewed gateway clock, an
authorizer that rejects every token, a token URL of another environment), renewing after
each rejection would buy a billed token per call. Renewals of that client pause instead:
one second at first, twice as long for each further replacement rejected, up to five
minutes, until a call is accepted again. The pause belongs to the client (its cache key),
not to one auth object, so that auth objects made per call, or per thread, share it; and it
lives in this process only (a monotonic moment means nothing elsewhere), so it is never
pickled.
"""

from __future__ import annotations

import os
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


_lock = threading.Lock()
_pauses: dict[str, _Pause] = {}


def active(key: str) -> bool:
    """Return whether renewals after a rejection are paused for ``key`` right now."""
    pause = _pauses.get(key)
    return pause is not None and time.monotonic() < pause.until


def backing_off(key: str) -> bool:
    """Return whether replacements of ``key`` have been rejected since one was accepted."""
    return key in _pauses


def begin(key: str, token_id: str) -> float | None:
    """Pause renewals of ``key`` for the rejection of replacement ``token_id``.

    A burst of calls that shared the one rejected replacement makes one pause, not one
    each. Returns the pause's length when this began the first pause (worth a warning).
    """
    with _lock:
        pause = _pauses.get(key)
        if pause is not None and pause.token_id == token_id:
            return None
        seconds = MIN_REJECTION_PAUSE if pause is None else pause.seconds * 2
        seconds = min(seconds, MAX_REJECTION_PAUSE)
        _pauses[key] = _Pause(seconds, time.monotonic() + seconds, token_id)
        return seconds if pause is None else None


def end(key: str) -> bool:
    """End any pause of ``key`` (a call was accepted); return whether there was one."""
    if key not in _pauses:  # asked on every accepted call: no lock for a no
        return False
    with _lock:
        return _pauses.pop(key, None) is not None


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
