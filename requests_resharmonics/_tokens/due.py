"""When a token is due for renewal, and until when it may still be sent meanwhile.

A token is due a margin before it expires (`Token.renew_at`: at most ``leeway``, less for
short-lived tokens), widened when renewals are slow so that the new token arrives before
the old one must stop being sent (`SLOW_MARGIN_FACTOR`). When many clients of a token URL
would come due in the same second, the process's renewal calendar (`spread`) books some
earlier; a booked token is due at the moment booked. While its renewal runs, a due token
may still be sent until shortly before it expires (`stale_until`).
"""

from __future__ import annotations

import math

from ..token import Token
from .spread import Calendars

#: Renewal starts at least this many times the last renewal's duration before expiry, so
#: that the new token arrives before calls must stop sending the old one.
SLOW_MARGIN_FACTOR = 1.25


def stale_until(token: Token) -> float:
    """Return the last moment a due token may still be sent while its renewal runs.

    A call sent just before expiry would arrive after it; from this moment on calls wait
    for the renewal instead (2% of the lifetime before expiry, at most a second).
    """
    if token.expires_at is None or token.lifetime is None:
        return math.inf
    return token.expires_at - min(token.lifetime * 0.02, 1.0)


def due(token: Token, leeway: float, slowest: float) -> float:
    """Return when ``token`` is due before any booking: its margin, widened for slowness.

    ``slowest`` is how long the client's slowest recent renewal took, waiting included.
    """
    moment = token.renew_at(leeway)
    if token.expires_at is None or token.lifetime is None:
        return moment
    slow_margin = min(SLOW_MARGIN_FACTOR * slowest, token.lifetime / 2)
    return min(moment, token.expires_at - slow_margin)


class DueTimes:
    """One client's due moments: its leeway, its renewals' durations, its calendar."""

    __slots__ = ("fetch_seconds", "key", "leeway", "renewal_seconds", "token_url")

    def __init__(self, token_url: str, key: str, leeway: float) -> None:
        self.token_url = token_url
        self.key = key
        self.leeway = leeway
        self.fetch_seconds = 0.0  # the latest token request's
        self.renewal_seconds = 0.0  # the latest background renewal's, from due to done

    def renew_at(self, token: Token, calendars: Calendars) -> float:
        """Return when ``token`` is due: the moment booked for it, else `due`.

        The moment booked, not one worked out again: renewal times learnt since would move
        a herd's tokens by about the same amount, into the same seconds, past the calendar.
        Sooner only if this object's own leeway says so (another auth object of the client
        booked it).
        """
        booked = calendars.moment(self.token_url, self.key, token.fingerprint)
        if booked is None:
            return self.unbooked(token)
        return min(booked, token.renew_at(self.leeway))

    def unbooked(self, token: Token) -> float:
        """Return when ``token`` is due before any booking."""
        return due(token, self.leeway, max(self.fetch_seconds, self.renewal_seconds))

    def book(self, token: Token, calendars: Calendars, now: float) -> float:
        """Book ``token``'s renewal in the calendar; return when it is due."""
        moment = self.unbooked(token)
        if not math.isfinite(moment) or token.lifetime is None:
            return moment
        shift = calendars.book(
            self.token_url,
            self.key,
            token.fingerprint,
            moment,
            token.obtained_at,
            token.lifetime,
            now,
        )
        return moment - shift
