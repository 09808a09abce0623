"""Background renewals: one small pool of workers shared by every auth object in the process.

A thread per renewal does not scale to a fleet: a thousand tenants whose tokens come due
together would start a thousand threads and a thousand simultaneous token requests. Here
renewals wait in one first-come, first-served queue for a few workers (`DEFAULT_WORKERS`,
see `set_workers`), so a slow token endpoint holds at most the workers serving its own
renewals while the other renewals go on with the rest. A renewal that fails is not retried
by a sleeping worker: it goes back to the queue to run again after its back-off, and the
worker serves others meanwhile.

Workers are daemon threads, started when work arrives and ended after `IDLE_SECONDS`
without any, and the pool stops taking work when the interpreter exits: a renewal never
keeps a process alive. The pool is part of the process's state (`process`): a forked
child starts with an empty one.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable

from .. import _config
from ..errors import ConfigurationError

log = logging.getLogger("requests_resharmonics")

#: Workers renewing tokens in the background, for all auth objects of a process together.
#: Token requests take a fraction of a second, and renewals are spread over the token's
#: lifetime (see `spread`), so four serve thousands of tenants.
DEFAULT_WORKERS = 4

#: Seconds a worker with nothing to do waits for work before it ends. Starting a thread
#: costs far less than a token request, and an idle process then keeps no thread of ours.
IDLE_SECONDS = 0.2

#: A renewal: returns ``None`` when it is over, or seconds to wait before running it again.
Renewal = Callable[[], float | None]


def workers_from_env() -> int:
    """Return ``RESHARMONICS_RENEWAL_WORKERS`` when it is a whole number >= 1, else the default."""
    value = os.environ.get(_config.RENEWAL_WORKERS_VAR, "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return DEFAULT_WORKERS


def checked_workers(count: object) -> int:
    """Return ``count`` if it is a valid number of workers; raise `ConfigurationError` if not."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigurationError(f"the renewal workers must be a whole number >= 1, not {count!r}")
    return count


class RenewalPool:
    """The queue of renewals and the workers that run them (one pool per process)."""

    def __init__(self, workers: int) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.max_workers = workers
        #: Set when the pool is shut down (the interpreter exits, or a test ends): queued
        #: renewals are dropped instead of run, and no new one is taken.
        self.stopping = threading.Event()
        self.ready: collections.deque[str] = collections.deque()
        self.renewals: dict[str, Renewal] = {}  # queued, running or waiting to run again
        self.later: list[tuple[float, int, str]] = []  # (when, order, key): retries
        self.order = itertools.count()
        self.workers = 0
        self.idle = 0
        self.peak_workers = 0

    def start(self, key: str, renewal: Renewal) -> bool:
        """Queue ``renewal`` for a worker unless a renewal of ``key`` is already under way.

        Returns whether it was queued.
        """
        if key in self.renewals:  # every call in the renewal window asks: no lock for a no
            return False
        with self.condition:
            if key in self.renewals or self.stopping.is_set():
                return False
            self.renewals[key] = renewal
            self.ready.append(key)
            self._wake()
        return True

    def is_running(self, key: str) -> bool:
        """Return whether a renewal of ``key`` is queued, running or due to retry."""
        with self.condition:
            return key in self.renewals

    def set_workers(self, count: int) -> None:
        """Set how many workers may run at once (see `process.set_renewal_workers`)."""
        count = checked_workers(count)
        with self.condition:
            self.max_workers = count
            while len(self.ready) > self.idle and self.workers < self.max_workers:
                self._wake()

    def shut_down(self) -> None:
        """Take no more renewals and drop the waiting ones; running ones finish."""
        self.stopping.set()
        with self.condition:
            for key in [*self.ready, *(entry[2] for entry in self.later)]:
                self.renewals.pop(key, None)
            self.ready.clear()
            self.later.clear()
            self.condition.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every worker to end; return whether they did."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while self.workers > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.condition.wait(min(left, 0.05))
        return True

    def _wake(self) -> None:
        """Hand new work to an idle worker, or start one while the pool has room."""
        if len(self.ready) > self.idle and self.workers < self.max_workers:
            self.workers += 1
            self.peak_workers = max(self.peak_workers, self.workers)
            worker = threading.Thread(
                target=self._work, name="resharmonics-token-renewal", daemon=True
            )
            worker.start()
        else:
            self.condition.notify()

    def _next(self) -> str | None:
        """Return the next renewal due, moving retries whose back-off is over to the queue."""
        now = time.monotonic()
        while self.later and self.later[0][0] <= now:
            self.ready.append(heapq.heappop(self.later)[2])
        return self.ready.popleft() if self.ready else None

    def _work(self) -> None:
        while True:
            with self.condition:
                key = self._take()
                if key is None:
                    return
                renewal = self.renewals[key]
            again: float | None = None
            try:
                again = renewal()
            except Exception:  # a renewal logs its own failures; this is a bug's last net
                log.exception("a background token renewal failed unexpectedly")
            with self.condition:
                if again is None or self.stopping.is_set():
                    del self.renewals[key]
                else:
                    heapq.heappush(self.later, (time.monotonic() + again, next(self.order), key))

    def _take(self) -> str | None:
        """Wait for a renewal to run (the condition held); ``None`` ends the worker."""
        idle_since = time.monotonic()
        while True:
            if self.stopping.is_set() or self.workers > self.max_workers:
                self.workers -= 1  # exiting, or one too many since the pool was made smaller
                self.condition.notify_all()  # `wait_idle` may be waiting for the last one
                return None
            key = self._next()
            if key is not None:
                return key
            now = time.monotonic()
            # One worker stays while retries wait; the others end once idle long enough.
            if now - idle_since >= IDLE_SECONDS and (not self.later or self.workers > 1):
                self.workers -= 1
                self.condition.notify_all()
                return None
            timeout = IDLE_SECONDS - (now - idle_since)
            if self.later:
                timeout = min(timeout, self.later[0][0] - now)
            self.idle += 1
            self.condition.wait(max(timeout, 0.001))
            self.idle -= 1
