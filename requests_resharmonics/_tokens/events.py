"""What happens to tokens, as small typed events: for counters, hooks and tracing.

Every token request, renewal, replay after the expiry 401 and shared-cache lookup makes one
`TokenEvent`. The auth object's `stats` count them, an ``on_event`` hook receives them, and
OpenTelemetry (``[otel]`` extra) turns them into metrics. An event names a token by its
fingerprint only, never by the token.

Events are told after the fact: what happens while a thread holds a token lock (the token
manager's, the cache's) waits in that thread's queue until it holds none (`held`), then is
told in order. By then the new token is stored, so a hook may ask the auth object for its
token or stats, and it never waits on a lock held by the call that told it.

Integrations plug in through `Plugins` (every event, and a span around each token request),
registered on the process's state (`process`): the token manager never imports them.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("requests_resharmonics")

EventKind = Literal["token-request", "renewal", "replay", "cache", "held"]

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
    - ``"held"``: a token request that was not made, ``"retry-after"`` (the token endpoint
      asked this process or another sharing the cache to wait) or ``"budget"`` (the
      ``token_budget`` was spent); ``duration`` is how long the hold had left.

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


class RequestNote:
    """What a token request's span learns as the request ends (filled in by the manager)."""

    __slots__ = ("error_type", "fingerprint", "outcome", "status")

    def __init__(self) -> None:
        self.outcome = "ok"
        self.status: int | None = None
        self.error_type: str | None = None
        self.fingerprint: str | None = None

    def failed(self, outcome: str, status: int | None, error: BaseException) -> None:
        """Note that the request ended with ``error`` (HTTP ``status``), as ``outcome``."""
        self.outcome = outcome
        self.status = status
        self.error_type = str(status) if status else type(error).__qualname__


#: Wraps one token request: called with the token URL, client id and trigger, it returns a
#: context manager around the request that yields the note the manager fills in.
RequestSpan = Callable[[str, str, Trigger], AbstractContextManager[RequestNote]]


@contextlib.contextmanager
def no_span(token_url: str, client_id: str, trigger: Trigger) -> Iterator[RequestNote]:
    """Yield a note with nothing around the request: the span of a process without tracing."""
    yield RequestNote()


class Plugins:
    """What integrations plug into a process's token events (OpenTelemetry uses both)."""

    def __init__(self, listeners: tuple[Listener, ...] = (), span: RequestSpan = no_span) -> None:
        self._lock = threading.Lock()
        self.listeners: tuple[Listener, ...] = listeners  # replaced whole: read without a lock
        self.request_span: RequestSpan = span

    def copy(self) -> Plugins:
        """Return the same plug-ins with a lock of their own (a forked child, a fresh start)."""
        return Plugins(self.listeners, self.request_span)

    def add_listener(self, listener: Listener) -> None:
        """Send every event to ``listener`` too."""
        with self._lock:
            if listener not in self.listeners:
                self.listeners = (*self.listeners, listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop sending events to ``listener``."""
        with self._lock:
            self.listeners = tuple(kept for kept in self.listeners if kept != listener)


def deliver(event: TokenEvent, listeners: tuple[Listener | None, ...]) -> None:
    """Hand ``event`` to each of ``listeners``; their failures are logged, never raised."""
    for listener in listeners:
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


class _Held(threading.local):
    """Per thread: how deep in token locks it is, and what waits to be told."""

    def __init__(self) -> None:
        self.depth = 0
        self.telling = False
        self.pending: collections.deque[Callable[[], object]] = collections.deque()


# Per thread, not per process: each thread tells its own events once it holds no lock.
_held = _Held()


@contextlib.contextmanager
def held(lock: AbstractContextManager[object]) -> Iterator[None]:
    """Hold ``lock``; what is reported meanwhile is told once this thread holds no token lock.

    Nested holds (the cache's lock inside the manager's, a hook's call into another auth
    object) tell their events when the outermost one is released, in the order they came.
    """
    state = _held
    state.depth += 1
    try:
        with lock:
            yield
    finally:
        state.depth -= 1
        if state.depth == 0:
            _tell(state)


def later(note: Callable[[], object]) -> None:
    """Run ``note`` once this thread holds no token lock: now, if it holds none.

    ``note`` must not raise (a listener's failure is caught by `deliver`).
    """
    state = _held
    state.pending.append(note)
    if state.depth == 0:
        _tell(state)


def _tell(state: _Held) -> None:
    # A hook told here may call an auth object, whose events queue behind the ones still
    # waiting: the outermost loop tells them all, in order, never one inside another.
    if state.telling:
        return
    state.telling = True
    try:
        while state.pending:
            note = state.pending.popleft()
            try:
                note()
            except Exception:  # a note of ours that fails must not lose the ones behind it
                log.exception("telling a token event failed")
    finally:
        state.telling = False
