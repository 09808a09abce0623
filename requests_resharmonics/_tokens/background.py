"""Background renewals: one small pool of workers shared by every auth object in the process.

A thread per renewal does not scale to a fleet: a thousand tenants whose tokens come due
together would start a thousand threads and a thousand simultaneous token requests. Here
renewals wait for a few workers (`DEFAULT_WORKERS`, see `set_workers`), in one queue per
token URL, served in turn, so that a token URL with a thousand tenants due does not make a
lone tenant of another wait behind them all.

No token endpoint can take every worker for long:

- a renewal running longer than `SLOW_SECONDS` (a token endpoint that accepts and never
  answers) stops counting against the pool's size, and another worker may start in its
  place (at most twice the pool's size in all), so the other token URLs' renewals go on;
- a token URL in trouble (a renewal of it running that long, or one that failed in the
  last `TROUBLE_SECONDS`) runs at most its share of the workers at once: half the pool,
  at least one (`share`);
- a renewal that failed is not retried by a sleeping worker: it goes back to the queue to
  run again after its back-off, behind the renewals that have not failed, and such reruns
  together run on at most a share of the workers too.

Renewals that fell behind (waiting longer than `LATE_SECONDS` for a worker: a busy machine,
a slow token endpoint) catch up at the pace of the renewal calendar (`spread`): no more
renewals of a token URL start in one second than its share of a second (at least one per
worker), unless a token would otherwise have to stop being sent (its ``deadline``). A
backlog drained as fast as the workers go would send the token endpoint bursts of twice
the average rate and more, past what the calendar spread.

Workers are daemon threads, started when work arrives and ended after `IDLE_SECONDS`
without any (one stays, asleep until the next rerun is due, while reruns wait), and the
pool stops taking work when the interpreter exits: a renewal never keeps a process alive.
The pool is part of the process's state (`process`): a forked child starts with an empty
one.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable

from ..errors import ConfigurationError

log = logging.getLogger("requests_resharmonics")

#: Workers renewing tokens in the background, for all auth objects of a process together.
#: Token requests take a fraction of a second, and renewals are spread over the token's
#: lifetime (see `spread`), so four serve thousands of tenants.
DEFAULT_WORKERS = 4

#: Seconds a worker with nothing to do waits for work before it ends. Starting a thread
#: costs far less than a token request, and an idle process then keeps no thread of ours.
IDLE_SECONDS = 0.2

#: Seconds after which a running renewal is slow: its token endpoint is not answering as
#: token endpoints do (a token request takes well under a second), and its worker no
#: longer counts against the pool's size.
SLOW_SECONDS = 2.0

#: Seconds a token URL stays in trouble after one of its renewals failed.
TROUBLE_SECONDS = 60.0

#: Seconds a renewal waits for a worker before it is late, and paced (see above).
LATE_SECONDS = 1.0

#: A renewal: returns ``None`` when it is over, or seconds to wait before running it again.
Renewal = Callable[[], float | None]


def checked_workers(count: object) -> int:
    """Return ``count`` if it is a valid number of workers; raise `ConfigurationError` if not."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigurationError(f"the renewal workers must be a whole number >= 1, not {count!r}")
    return count


class _Queue:
    """The renewals of one token URL waiting for a worker: first runs, then reruns."""

    __slots__ = ("again", "fresh")

    def __init__(self) -> None:
        self.fresh: collections.deque[str] = collections.deque()
        self.again: collections.deque[str] = collections.deque()


class RenewalPool:
    """The queues of renewals and the workers that run them (one pool per process)."""

    def __init__(self, workers: int, pace: Callable[[str], int] | None = None) -> None:
        self.condition = threading.Condition(threading.Lock())
        self.max_workers = workers
        #: The most renewals of a token URL a second may start once they are late (the
        #: renewal calendar's share), or None: no pacing.
        self.pace = pace
        #: Set when the pool is shut down (the interpreter exits, or a test ends): queued
        #: renewals are dropped instead of run, and no new one is taken.
        self.stopping = threading.Event()
        self.slow_seconds = SLOW_SECONDS
        self.renewals: dict[str, Renewal] = {}  # queued, running or waiting to run again
        self.groups: dict[str, str] = {}  # key -> its token URL, for the keys above
        # Token URL -> its queue; the order of the dict is the order they are served in.
        self.ready: dict[str, _Queue] = {}
        self.ready_count = 0
        self.later: list[tuple[float, int, str]] = []  # (when, order, key): reruns
        self.order = itertools.count()
        self.failed: set[str] = set()  # keys whose renewal failed: their runs are reruns
        self.running: dict[str, float] = {}  # key -> when it started (monotonic)
        self.running_in: collections.Counter[str] = collections.Counter()  # by token URL
        self.rerunning = 0
        self.troubled: dict[str, float] = {}  # token URL -> when its last renewal failed
        self.queued_at: dict[str, float] = {}  # key -> when it joined its queue (monotonic)
        self.deadlines: dict[str, float] = {}  # key -> when it must start at the latest
        self.second = 0  # the wall-clock second `started_in` counts
        self.started_in: collections.Counter[str] = collections.Counter()  # by token URL
        self.paced = False  # whether a late renewal waits for the next second
        self.workers = 0
        self.idle = 0
        self.peak_workers = 0
        #: When a running renewal turns slow while renewals wait for a worker: a call
        #: that finds its renewal still queued after then starts a worker (see `poke`).
        self.kick_at = math.inf

    @property
    def share(self) -> int:
        """The most workers one token URL in trouble, or all reruns, may hold at once."""
        return max(1, self.max_workers // 2)

    def start(
        self,
        key: str,
        renewal: Renewal,
        group: str | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Queue ``renewal`` for a worker unless a renewal of ``key`` is already under way.

        ``group`` is the token URL whose queue it joins (its own key's when not given);
        ``deadline`` (monotonic) is when it must start at the latest, paced or not.
        Returns whether it was queued.
        """
        if self.poke(key):
            return False
        with self.condition:
            if key in self.renewals or self.stopping.is_set():
                return False
            self.renewals[key] = renewal
            self.groups[key] = group if group is not None else key
            if deadline is not None:
                self.deadlines[key] = deadline
            self._push(key)
            self._wake(time.monotonic())
        return True

    def poke(self, key: str) -> bool:
        """Return whether a renewal of ``key`` is under way (asked on every call while due).

        Without a lock for a no. A renewal still waiting for a worker once a running one
        has turned slow makes room for it: its calls are what notice that.
        """
        if key not in self.renewals:
            return False
        if self.ready_count and time.monotonic() >= self.kick_at:
            with self.condition:
                self._wake(time.monotonic())
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
            self._wake(time.monotonic())

    def shut_down(self) -> None:
        """Take no more renewals and drop the waiting ones; running ones finish."""
        self.stopping.set()
        with self.condition:
            waiting = [key for queue in self.ready.values() for key in (*queue.fresh, *queue.again)]
            for key in [*waiting, *(entry[2] for entry in self.later)]:
                self._forget(key)
            self.ready.clear()
            self.ready_count = 0
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

    # -- the queues (the condition held) ----------------------------------------------------

    def _push(self, key: str) -> None:
        group = self.groups[key]
        queue = self.ready.get(group)
        if queue is None:
            queue = self.ready[group] = _Queue()
        (queue.again if key in self.failed else queue.fresh).append(key)
        self.queued_at[key] = time.monotonic()
        self.ready_count += 1

    def _forget(self, key: str) -> None:
        self.renewals.pop(key, None)
        self.groups.pop(key, None)
        self.failed.discard(key)
        self.deadlines.pop(key, None)
        self.queued_at.pop(key, None)

    def _paced(self, group: str, key: str, now: float) -> bool:
        """Return whether ``key`` is late and its token URL has started its share this second."""
        if self.pace is None or now - self.queued_at.get(key, now) < LATE_SECONDS:
            return False
        if now >= self.deadlines.get(key, math.inf):
            return False  # its token would otherwise stop being sendable: it goes now
        self._count_from(int(time.time()))
        return self.started_in[group] >= max(self.pace(group), self.max_workers)

    def _urgent(self, line: collections.deque[str], now: float) -> str | None:
        """Return the first renewal of ``line`` whose deadline has come, if any."""
        deadlines = self.deadlines
        return next((key for key in line if deadlines.get(key, math.inf) <= now), None)

    def _count_from(self, second: int) -> None:
        if second != self.second:
            self.second = second
            self.started_in.clear()

    def _slow(self, now: float) -> int:
        """Return how many running renewals have run longer than `slow_seconds`."""
        return sum(1 for since in self.running.values() if now - since >= self.slow_seconds)

    def _limit(self, now: float) -> int:
        """Return the most workers there may be: the pool's size, plus one per slow renewal."""
        return min(2 * self.max_workers, self.max_workers + self._slow(now))

    def _in_trouble(self, group: str, now: float) -> bool:
        failed_at = self.troubled.get(group)
        if failed_at is not None:
            if now - failed_at < TROUBLE_SECONDS:
                return True
            del self.troubled[group]
        return any(
            now - since >= self.slow_seconds
            for key, since in self.running.items()
            if self.groups.get(key) == group
        )

    def _next(self, now: float) -> str | None:
        """Return the next renewal a worker may run now, moving due reruns to the queues.

        The token URLs take turns; within one, first runs come before reruns.
        """
        while self.later and self.later[0][0] <= now:
            self._push(heapq.heappop(self.later)[2])
        share = self.share
        self.paced = False
        for group, queue in self.ready.items():
            if self.running_in[group] >= share and self._in_trouble(group, now):
                continue
            if queue.fresh:
                line = queue.fresh
            elif queue.again and self.rerunning < share:
                line = queue.again
            else:
                continue
            if self._paced(group, line[0], now):
                self.paced = True
                key = self._urgent(line, now)  # one that may wait no longer goes anyway
                if key is None:
                    continue
                line.remove(key)
            else:
                key = line.popleft()
            del self.ready[group]
            if queue.fresh or queue.again:
                self.ready[group] = queue  # to the back of the line
            self.ready_count -= 1
            return key
        return None

    def _wake(self, now: float) -> None:
        """Hand new work to an idle worker, or start one while the pool has room."""
        limit = self._limit(now)
        if self.ready_count > self.idle and self.workers < limit:
            self.workers += 1
            self.peak_workers = max(self.peak_workers, self.workers)
            worker = threading.Thread(
                target=self._work, name="resharmonics-token-renewal", daemon=True
            )
            worker.start()
        elif self.idle:
            self.condition.notify()
        self.kick_at = math.inf
        if self.ready_count > self.idle and self.workers >= limit:
            turning = [since + self.slow_seconds for since in self.running.values()]
            self.kick_at = min((when for when in turning if when > now), default=math.inf)

    # -- the workers ------------------------------------------------------------------------

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
                self._finished(key, again)

    def _started(self, key: str, now: float) -> None:
        group = self.groups[key]
        self.running[key] = now
        self.running_in[group] += 1
        self._count_from(int(time.time()))
        self.started_in[group] += 1
        self.queued_at.pop(key, None)
        if key in self.failed:
            self.rerunning += 1

    def _finished(self, key: str, again: float | None) -> None:
        group = self.groups[key]
        del self.running[key]
        self.running_in[group] -= 1
        if self.running_in[group] <= 0:
            del self.running_in[group]
        if key in self.failed:
            self.rerunning -= 1
        if again is None or self.stopping.is_set():
            self._forget(key)
        else:
            now = time.monotonic()
            self.failed.add(key)
            self.troubled[group] = now
            heapq.heappush(self.later, (now + again, next(self.order), key))
        self.condition.notify_all()  # a share freed, or a rerun to wait for

    def _take(self) -> str | None:
        """Wait for a renewal to run (the condition held); ``None`` ends the worker."""
        idle_since = time.monotonic()
        while True:
            now = time.monotonic()
            if self.stopping.is_set() or self.workers > self._limit(now):
                self.workers -= 1  # exiting, or one too many since the pool was made smaller
                self.condition.notify_all()  # `wait_idle` may be waiting for the last one
                return None
            key = self._next(now)
            if key is not None:
                self._started(key, now)
                if self.ready_count:
                    self._wake(now)  # more where this came from
                return key
            # One worker stays while renewals wait (reruns, or a share to free up); the
            # others end once idle long enough.
            stays = (self.ready_count or self.later) and self.idle == 0
            if not stays and now - idle_since >= IDLE_SECONDS:
                self.workers -= 1
                self.condition.notify_all()
                return None
            # Sleep until something may have changed: the next rerun is due, the idle time
            # is over, or (notified) a renewal ended or arrived. Never a busy wait: a worker
            # that stays sleeps until the rerun, however long it has been idle.
            wake_at = idle_since + IDLE_SECONDS if not stays else now + TROUBLE_SECONDS
            if self.later:
                wake_at = min(wake_at, self.later[0][0])
            if self.paced:  # late renewals wait for the next second, or their deadline
                deadlines = [
                    when
                    for key, when in self.deadlines.items()
                    if key in self.queued_at and when > now
                ]
                wake_at = min(wake_at, now + 1.0 - time.time() % 1.0, *deadlines)
            self.idle += 1
            self.condition.wait(max(wake_at - now, 0.001))
            self.idle -= 1
