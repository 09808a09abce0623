"""How many page requests an export keeps in flight, and how a 429 slows them down.

A 429 halves the limit; each page answered raises it by one, up to the concurrency asked
for. The limit bounds every request sent, a page asked for again after its 429 included:
pages that all met a 429 together and all wait out the same ``Retry-After`` then go out no
more than the limit at a time, instead of all at once.

A limit is halved once per 429 *episode*, as TCP halves its window once per loss: the 429s
of requests sent before the last halving are the same signal, and do not halve it again
(eight pages that meet a 429 together bring eight pages in flight down to four, not one).
"""

from __future__ import annotations

import threading

from .._retries import MAX_API_RETRY_AFTER, retry_after
from .cancel import ExportStopped

#: How many times one page is asked for while the API answers 429, at most.
THROTTLED_ATTEMPTS = 60
#: How long one page waits out 429s in all, at most, before its export fails (with a
#: retryable `PageHTTPError`): a rate limit slows an export down, it does not end it.
THROTTLED_PATIENCE = 300.0


class Limit:
    """The rule alone: the limit after 429s and answers (shared by the sync and async gates)."""

    def __init__(self, most: int) -> None:
        self.most = max(most, 1)
        self.current = self.most
        #: How many times the limit was halved: a request notes it when it is sent.
        self.epoch = 0

    def throttled(self, epoch: int) -> None:
        """Halve the pages in flight (not below one) after a 429 to a request of ``epoch``.

        A request sent before the last halving says nothing new: the limit is left alone.
        """
        if epoch == self.epoch:
            self.current = max(1, self.current // 2)
            self.epoch += 1

    def answered(self) -> None:
        """Allow one more page in flight once a page is answered, up to the most asked for."""
        self.current = min(self.current + 1, self.most)


class Pacing:
    """The gate every page request of a threaded export passes: at most `limit` at once.

    Example:
        >>> pacing = Pacing(8)
        >>> epoch = pacing.enter()  # waits while 8 requests are in flight (fewer after a 429)
        >>> response = send()
        >>> pacing.leave()
    """

    def __init__(self, most: int) -> None:
        self._limit = Limit(most)
        self._active = 0
        self._stopped = False
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """How many requests may be in flight now."""
        return self._limit.current

    def enter(self) -> int:
        """Wait for room under the limit, and return the epoch the request is sent in.

        Raises `ExportStopped` once the export stops.
        """
        with self._changed:
            while not self._stopped and self._active >= self._limit.current:
                self._changed.wait()
            if self._stopped:
                raise ExportStopped("the export was stopped")
            self._active += 1
            return self._limit.epoch

    def leave(self) -> None:
        """Free the room of a request that is done (answered or failed)."""
        with self._changed:
            self._active -= 1
            self._changed.notify_all()

    def throttled(self, epoch: int) -> None:
        """Halve the limit: a 429 came to a request sent in ``epoch``."""
        with self._changed:
            self._limit.throttled(epoch)

    def answered(self) -> None:
        """Raise the limit by one: a page came."""
        with self._changed:
            self._limit.answered()
            self._changed.notify_all()

    def stop(self) -> None:
        """Let every waiting request go, to raise `ExportStopped` (thread-safe)."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()


class Throttled:
    """One page's 429s: how long to wait before asking again, and when to give up.

    Example:
        >>> throttled = Throttled()
        >>> throttled.delay(reply)  # the seconds Retry-After asks for, or None: give up
        1.0
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.waited = 0.0

    def delay(self, reply: object) -> float | None:
        """Return how long to wait after this 429, or None when the page has waited enough."""
        self.attempts += 1
        seconds = throttled_delay(reply, self.attempts - 1)
        if self.attempts >= THROTTLED_ATTEMPTS or self.waited + seconds > THROTTLED_PATIENCE:
            return None
        self.waited += seconds
        return seconds


def throttled_delay(headers: object, attempt: int) -> float:
    """Seconds to wait after a 429: its ``Retry-After`` (up to a minute), else a back-off.

    ``headers`` is any object with a ``headers`` mapping (a response of either library).
    """
    asked = retry_after(headers)
    seconds = 0.5 * 2**attempt if asked is None else asked
    return min(max(seconds, 0.0), float(MAX_API_RETRY_AFTER))
