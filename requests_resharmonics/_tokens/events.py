"""What happens to tokens, as small typed events: for counters, hooks and tracing.

Every token request, renewal, replay after the expiry 401 and shared-cache lookup makes one
`TokenEvent`. The auth object's `stats` count them, an ``on_event`` hook receives them, and
OpenTelemetry (``[otel]`` extra) turns them into metrics. An event names a token by its
fingerprint only, never by the token.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("requests_resharmonics")

EventKind = Literal["token-request", "renewal", "replay", "cache"]

#: Why a token was requested: a first token, a renewal in the background or in the call
#: that found its token due, a replacement for a token the API rejected as expired, or an
#: explicit ``fetch_token()``.
Trigger = Literal["first", "background", "inline", "replay", "explicit"]


@dataclass(frozen=True)
class TokenEvent:
    """One thing that happened to a client's tokens.

    ``kind`` and ``outcome`` go together:

    - ``"token-request"``: ``"ok"``, ``"refused"`` (the endpoint answered 4xx: wrong
      credentials, a throttle) or ``"failed"`` (no usable answer: a timeout, a 5xx, nonsense);
      ``duration`` is the request's, retries included, and ``status`` its last HTTP status.
    - ``"renewal"``: ``"ok"`` or ``"failed"`` for a due token renewed in the ``"background"``
      or ``"inline"`` (``trigger``); ``duration`` from the moment it was due, queueing
      included.
    - ``"replay"``: after the expiry 401, ``"ok"`` (a replacement, the call is replayed),
      ``"paused"`` (replacements are being rejected too: the caller gets the 401) or
      ``"failed"`` (no replacement could be had).
    - ``"cache"``: ``"hit"`` (a usable token in the shared cache) or ``"miss"``.

    ``fingerprint`` names the token concerned (the new one when there is one), never the
    token itself; ``client_id`` says whose it is, for fleets of tenants.

    Example:
        >>> def on_event(event: TokenEvent) -> None:
        ...     if event.kind == "token-request":
        ...         print(event.client_id, event.outcome, f"{event.duration:.3f} s")
        >>> auth = ResharmonicsAuth("id", "secret", on_event=on_event)
    """

    kind: EventKind
    outcome: str
    client_id: str
    duration: float | None = None
    fingerprint: str | None = None
    trigger: Trigger | None = None
    status: int | None = None


Listener = Callable[[TokenEvent], object]

_listeners: list[Listener] = []
_listeners_lock = threading.Lock()


def add_listener(listener: Listener) -> None:
    """Send every event of the process to ``listener`` too (OpenTelemetry uses this)."""
    with _listeners_lock:
        if listener not in _listeners:
            _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop sending events to ``listener``."""
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def deliver(event: TokenEvent, hook: Listener | None) -> None:
    """Hand ``event`` to the process's listeners and to ``hook``; their failures stay here."""
    for listener in (*_listeners, hook):
        if listener is None:
            continue
        try:
            listener(event)
        except Exception as error:  # a user's hook must never fail the call that made it
            log.warning(
                "the on_event hook failed with %s on a %s event; the call goes on",
                type(error).__name__,
                event.kind,
            )


def _reset_lock_after_fork() -> None:
    global _listeners_lock
    _listeners_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_lock_after_fork)
