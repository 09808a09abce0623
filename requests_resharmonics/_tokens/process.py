"""Everything the library shares between the auth objects of a process, in one object.

A fleet of tenants needs one pool of renewal workers, one calendar of renewals, one pool
of token connections and one deadline watchdog, whatever the number of auth objects:
that sharing is deliberate. It is kept here, in one `ProcessState`:

- the renewal pool (`background`), the renewal calendars (`spread`), the pauses of
  renewals after a rejection (`pauses`), and the process's own holds and counts of token
  requests (`fleet`);
- the shared token sessions (`transport`) and the deadline watchdog (`deadline`);
- the process's token stats, the plug-ins that hear every event (`events`), the store of
  `MemoryTokenCache`, and the live token managers.

Token endpoints take the state current when they are made (`current`), and their managers
use the endpoint's. One fork hook gives a forked child a state of its own (`forked`: the
same tokens, calendars, pauses, stats and plug-ins, none of the parent's threads,
sockets or locks), and one exit hook stops the renewal pool. `start_afresh` replaces the
state as a whole: a test that starts from it meets no renewal, socket or pause of another.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from typing import Protocol

from .. import _config
from ..cache import memory
from ..cache.memory import MemoryStore
from .background import DEFAULT_WORKERS, RenewalPool, checked_workers
from .deadline import Watchdog
from .events import Listener, Plugins, RequestSpan, no_span
from .fleet import Ledgers
from .pauses import Pauses
from .spread import Calendars
from .stats import StatsRecorder, TokenStats
from .transport import DEFAULT_TOKEN_CONNECTIONS, TokenSessions, checked_connections


def workers_from_env() -> int:
    """Return ``RESHARMONICS_RENEWAL_WORKERS`` when it is a whole number >= 1, else the default."""
    value = os.environ.get(_config.RENEWAL_WORKERS_VAR, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DEFAULT_WORKERS


class _Forks(Protocol):
    """What the fork hook asks of a live token manager."""

    def after_fork(self, process: ProcessState) -> None: ...


class ProcessState:
    """The renewal pool, calendars, pauses, token sessions, watchdog, stats and plug-ins.

    Example:
        >>> state = current()
        >>> state.stats.snapshot().token_requests
        0
    """

    def __init__(
        self,
        *,
        renewal_workers: int | None = None,
        token_connections: int = DEFAULT_TOKEN_CONNECTIONS,
        plugins: Plugins | None = None,
    ) -> None:
        self.calendars = Calendars()
        self.renewals = RenewalPool(
            checked_workers(renewal_workers) if renewal_workers is not None else workers_from_env(),
            # Late renewals keep to the calendar's pace: the calendar of this state, as it
            # is when asked (a forked child replaces it).
            pace=lambda token_url: self.calendars.share(token_url),
        )
        self.pauses = Pauses()
        self.ledgers = Ledgers()
        self.token_sessions = TokenSessions(checked_connections(token_connections))
        self.watchdog = Watchdog()
        #: The one lock of every token counter of the process (see `StatsRecorder`).
        self.stats_lock = threading.Lock()
        self.stats = StatsRecorder(self.stats_lock)
        self.plugins = plugins if plugins is not None else Plugins()
        self.memory_cache = MemoryStore()
        #: The token managers using this state, for the fork hook.
        self.managers: weakref.WeakSet[_Forks] = weakref.WeakSet()

    def forked(self) -> ProcessState:
        """Return the state of a forked child.

        The child keeps what it can use: the tokens of the memory cache, the calendars,
        the pauses, the stats, the plug-ins and the settings. It drops what belongs to the
        parent's threads and sockets (the pool's workers, the watchdog, the token
        connections) and every lock, which a parent's thread may have held at the fork.
        """
        child = ProcessState(
            renewal_workers=self.renewals.max_workers,
            token_connections=self.token_sessions.max_connections,
            plugins=self.plugins.copy(),
        )
        child.calendars = self.calendars.forked()
        child.pauses = self.pauses.forked()
        child.ledgers = self.ledgers.forked()
        child.stats = self.stats.forked(child.stats_lock)
        child.memory_cache = self.memory_cache.forked()
        return child

    def close(self, wait: float = 0.0) -> bool:
        """Stop the renewal pool and close the token connections.

        Waits up to ``wait`` seconds for the renewals already running to end; returns
        whether none is left running.
        """
        self.renewals.shut_down()
        idle = self.renewals.wait_idle(wait)
        self.token_sessions.close()
        return idle


_current = ProcessState()
# A `MemoryTokenCache` looks its store up at each call: the store of the state current now.
memory.locate_store_with(lambda: _current.memory_cache)


def current() -> ProcessState:
    """Return the state that new token endpoints and `MemoryTokenCache` use."""
    return _current


def start_afresh(wait: float = 0.0) -> ProcessState:
    """Replace the current state by a new one with the default settings; return it.

    The old state is closed (see `ProcessState.close`, ``wait`` included): its queued
    renewals are dropped and its token connections closed. Auth objects made before keep
    their old state. The plug-ins stay: they are integrations (OpenTelemetry), not state.
    For tests, which start each from a fresh state so that nothing of one runs into the
    next.
    """
    global _current
    old = _current
    _current = ProcessState(plugins=old.plugins.copy())
    old.close(wait)
    return _current


def process_stats() -> TokenStats:
    """Return the token costs of every auth object and session of the process together.

    Example:
        >>> requests_resharmonics.process_stats().token_requests
        1042
    """
    return _current.stats.snapshot()


def set_renewal_workers(count: int) -> None:
    """Set how many workers renew tokens in the background, for the whole process.

    The default is 4, or ``RESHARMONICS_RENEWAL_WORKERS`` when set. A smaller pool bounds
    threads and simultaneous token requests more tightly; renewals then wait their turn in
    the queue while their tokens stay valid.

    Example:
        >>> import requests_resharmonics
        >>> requests_resharmonics.set_renewal_workers(8)
    """
    _current.renewals.set_workers(count)


def set_token_connections(count: int) -> None:
    """Set how many idle connections to each token host the process keeps (default 8).

    Applies to the sessions created afterwards; raise it when more token requests than
    that run at once for long (each beyond it opens a connection of its own).

    Example:
        >>> import requests_resharmonics
        >>> requests_resharmonics.set_token_connections(4)
    """
    _current.token_sessions.set_max_connections(count)


def add_listener(listener: Listener) -> None:
    """Send every token event of the process to ``listener`` too (OpenTelemetry uses this)."""
    _current.plugins.add_listener(listener)


def remove_listener(listener: Listener) -> None:
    """Stop sending the process's token events to ``listener``."""
    _current.plugins.remove_listener(listener)


def set_request_span(span: RequestSpan | None) -> None:
    """Wrap every token request of the process in ``span`` (``None``: no span)."""
    _current.plugins.request_span = span if span is not None else no_span


def _after_fork_in_child() -> None:
    global _current
    parent = _current
    _current = parent.forked()
    for manager in list(parent.managers):
        manager.after_fork(_current)


def _at_exit() -> None:
    # Queued renewals are dropped rather than run while the interpreter shuts down.
    _current.renewals.shut_down()


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
