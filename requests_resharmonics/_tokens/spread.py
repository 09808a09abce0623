"""Spreading renewals: tenants started together must not renew together, every lifetime.

A token is due a margin before it expires (`Token.renew_at`, widened for a slow endpoint).
Auth objects created together (a service starting its tenants) get their tokens in the
same second, so they would come due in the same second an hour later, and every hour
after: a burst against the token endpoint's rate quota. Here each token URL of the process
has a calendar of the seconds its renewals are due in. A token whose second already holds
its share, `SPREAD_RATE` times the URL's average rate of renewals (its tenants' tokens due
within one lifetime, per second of the lifetime), is renewed earlier instead, in the
latest second before with room, at a random moment of that second. A token is never
renewed earlier than `EARLIEST_RENEWAL` of its lifetime, nor before the present, and
renewals sharing a second are booked in its first 90% (`IN_TIME`), so that the moments
they take to go out keep them in the second they were counted in.

Tokens renewed early are then renewed one lifetime apart as usual, so the spread holds
from one hour to the next: the cost is once per tenant of a herd, under half a token on
average (0.14 of a token for 1,000 tenants with hour-long tokens, 0.4 for 10,000), and
nothing for a client alone on its token URL, which renews exactly as before.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

#: The most renewals due in any one second, as a multiple of the average rate.
SPREAD_RATE = 1.5
#: The earliest a spread renewal may come, as a fraction of the token's lifetime.
EARLIEST_RENEWAL = 0.25
#: Renewals sharing a second are booked in its first 90%: a renewal goes out a few
#: milliseconds after its moment (more on a busy machine), and one booked at the very end
#: of a second would be sent in the next, past that second's share.
IN_TIME = 0.9


class _Calendar:
    """The renewals due, per second, of one token URL's tokens."""

    __slots__ = (
        "booked",
        "cleaned_at",
        "due",
        "full_down_to",
        "lifetime",
        "random",
        "total",
        "users",
    )

    def __init__(self, moments: random.Random) -> None:
        self.random = moments
        self.due: Counter[int] = Counter()
        self.total = 0  # renewals booked in ``due``
        self.lifetime = 1.0  # the latest token's, for `share`
        self.cleaned_at = -math.inf
        # cache key -> (token id, seconds earlier than due, second booked, moment booked): a
        # token keeps its booking, and auth objects of the same client share it.
        self.booked: dict[str, tuple[str, float, int, float]] = {}
        # cache key -> the token managers of that client alive: the last one to go takes
        # the booking with it.
        self.users: Counter[str] = Counter()
        # due second -> the second its last spread renewal went to: the next one looks from
        # there, not from its due second, so a herd of N books in O(N) steps, not O(N^2).
        self.full_down_to: dict[int, int] = {}

    def book(
        self, key: str, token_id: str, due: float, obtained_at: float, lifetime: float, now: float
    ) -> float:
        previous = self.booked.get(key)
        if previous is not None and previous[0] == token_id:
            return previous[1]
        if now - self.cleaned_at >= 1.0:
            self._forget_before(math.floor(now))
        second = math.floor(due)
        self.lifetime = max(lifetime, 1.0)
        share = self.share()
        earliest = math.ceil(max(now, obtained_at + EARLIEST_RENEWAL * lifetime))
        chosen = second
        if self.due[second] >= share:
            hint = min(self.full_down_to.get(second, second), second)
            room = self._room(hint, share, earliest)
            if room is None:  # the share has grown since: seconds passed over have room
                room = self._room(second, share, earliest)
            if room is not None:
                chosen = self.full_down_to[second] = room
            # else no room within the bounds: due as usual
        if previous is not None:
            self.release(key)  # the client's earlier token: its renewal is not coming
        if chosen != second:
            moment = chosen + self.random.random() * IN_TIME
        elif self.total > 0:
            moment = min(due, second + IN_TIME)  # seconds shared: not at the very end of one
        else:
            moment = due  # alone on its token URL: exactly when due
        self.due[chosen] += 1
        self.total += 1
        shift = max(due - moment, 0.0)
        self.booked[key] = (token_id, shift, chosen, due - shift)
        return shift

    def share(self) -> int:
        """Return the most renewals a second may hold: `SPREAD_RATE` times the average rate."""
        return max(1, math.ceil(SPREAD_RATE * self.total / self.lifetime))

    def release(self, key: str) -> None:
        """Cancel ``key``'s booking: its second has room for another renewal again."""
        booking = self.booked.pop(key, None)
        if booking is None:
            return
        second = booking[2]
        if second >= self.cleaned_at and self.due[second] > 0:  # not forgotten already
            self.total -= 1
            self.due[second] -= 1
            if self.due[second] == 0:
                del self.due[second]

    def _room(self, start: int, share: int, earliest: int) -> int | None:
        """Return the latest second from ``start`` down to ``earliest`` below its share."""
        for second in range(start, earliest - 1, -1):
            if self.due[second] < share:
                return second
        return None

    def _forget_before(self, second: int) -> None:
        """Forget the renewals of seconds gone by: they no longer count against a share.

        The bookings themselves stay, until their client's next token or its last manager's
        end: a renewal running late (a busy pool) must still find the moment it was booked
        for, not fall back to the moment due before spreading, where the herd is.
        """
        for when in [when for when in self.due if when < second]:
            self.total -= self.due.pop(when)
        for due in [due for due in self.full_down_to if due < second]:
            del self.full_down_to[due]
        self.cleaned_at = second

    def shift(self, key: str, token_id: str) -> float:
        previous = self.booked.get(key)
        return previous[1] if previous is not None and previous[0] == token_id else 0.0

    def moment(self, key: str, token_id: str) -> float | None:
        previous = self.booked.get(key)
        return previous[3] if previous is not None and previous[0] == token_id else None

    def idle(self) -> bool:
        """Return whether nothing is booked and no client is enlisted."""
        return not self.booked and not self.users


class Calendars:
    """The renewal calendars of every token URL of the process (part of `process`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calendars: dict[str, _Calendar] = {}
        self._random = random.Random()  # noqa: S311  (the moment within a second: no secret)

    def forked(self) -> Calendars:
        """Return the calendars of a forked child: the same bookings, a lock of its own.

        The child draws its own random moments: forked workers of one server would
        otherwise pick the same moment for each renewal they book after the fork.
        """
        child = Calendars()
        child._calendars = self._calendars  # the parent's threads are gone: nobody else writes
        for calendar in child._calendars.values():
            calendar.random = child._random
            calendar.users = Counter()  # every manager alive enlists again (`after_fork`)
        return child

    def book(
        self,
        token_url: str,
        key: str,
        token_id: str,
        due: float,
        obtained_at: float,
        lifetime: float,
        now: float,
    ) -> float:
        """Book the renewal of a token due at ``due``; return how many seconds earlier it comes.

        ``key`` is the client's cache key and ``token_id`` names the token: booking the
        same token again (another auth object of the client, a second look) returns the
        same answer.
        """
        with self._lock:
            calendar = self._calendars.get(token_url)
            if calendar is None:
                calendar = self._calendars[token_url] = _Calendar(self._random)
            return calendar.book(key, token_id, due, obtained_at, lifetime, now)

    def shift(self, token_url: str, key: str, token_id: str) -> float:
        """Return how much earlier than due the booked token ``token_id`` is renewed (0 if not)."""
        with self._lock:
            calendar = self._calendars.get(token_url)
            return calendar.shift(key, token_id) if calendar is not None else 0.0

    def moment(self, token_url: str, key: str, token_id: str) -> float | None:
        """Return when the booked token ``token_id`` is renewed, or None if it is not booked.

        The moment booked, not one worked out again: a due moment worked out later (from a
        renewal time that has changed since) would move every token of a herd by about the
        same amount, into the same seconds, past the calendar.
        """
        with self._lock:
            calendar = self._calendars.get(token_url)
            return calendar.moment(key, token_id) if calendar is not None else None

    def share(self, token_url: str) -> int:
        """Return the most renewals of ``token_url`` one second may hold (at least 1).

        The renewal pool paces renewals that fell behind to it (see `background`).
        """
        with self._lock:
            calendar = self._calendars.get(token_url)
            return calendar.share() if calendar is not None else 1

    def enlist(self, token_url: str, key: str) -> None:
        """Count one more token manager of the client ``key`` alive (see `leave`)."""
        with self._lock:
            calendar = self._calendars.get(token_url)
            if calendar is None:
                calendar = self._calendars[token_url] = _Calendar(self._random)
            calendar.users[key] += 1

    def leave(self, token_url: str, key: str) -> None:
        """Count one token manager of ``key`` less; the last one out cancels its booking.

        Called when a manager is collected: tenants that come and go leave no booking,
        and a token URL none of them uses any more no calendar.
        """
        with self._lock:
            calendar = self._calendars.get(token_url)
            if calendar is None:
                return
            calendar.users[key] -= 1
            if calendar.users[key] <= 0:
                del calendar.users[key]
                calendar.release(key)
            if calendar.idle():
                del self._calendars[token_url]

    def bookings(self) -> int:
        """Return how many renewals are booked, every token URL together."""
        with self._lock:
            return sum(len(calendar.booked) for calendar in self._calendars.values())
