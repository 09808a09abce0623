"""Guards of renewal: spreading a herd over the calendar, and the pool of renewal workers.

Each test here was seen to fail with one plausible one-line bug in the code it names (see
the docstrings), and to pass without it. The clocks are fake wherever the code takes one;
what runs in other threads is waited for on conditions, never on sleeps.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsAuth, set_renewal_workers
from requests_resharmonics.testing import FakeResharmonics

# The private modules of this file: the pool's idle time, and its current size to restore.
from requests_resharmonics._tokens import background as renewal_pool  # isort: skip
from requests_resharmonics._tokens import process  # isort: skip

from .conftest import FakeClock

RENEWAL_THREAD = "resharmonics-token-renewal"


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def tenants(fake: FakeResharmonics, count: int, clock: FakeClock, **kwargs: Any) -> list[Any]:
    """``count`` auth objects, each a client of its own on ``fake``, holding a first token."""
    fleet = []
    for number in range(count):
        client_id, secret = fake.add_client(f"tenant-{number}")
        auth = ResharmonicsAuth(client_id, secret, fake.token_url, **kwargs)
        auth.manager.clock = clock
        auth.valid_token()
        fleet.append(auth)
    return fleet


@pytest.fixture
def late_clock() -> FakeClock:
    """A fake clock far past every other test's (fake or real): the renewal calendar is the
    process's, per token URL, and a port of an earlier test's fake may come round again;
    bookings of that test then lie in this one's past and are forgotten."""
    return FakeClock(start=3_000_000_000.0)


def renewal_moments(fleet: list[Any]) -> list[float]:
    """When each tenant's current token is due, as its manager says."""
    return [auth.manager.renew_at(auth.token) for auth in fleet]


# -- spreading renewals (the renewal calendar) ---------------------------------------------------


def test_a_renewed_token_of_a_spread_herd_is_not_brought_forward_again(
    fake_resharmonics: FakeResharmonics, late_clock: FakeClock
) -> None:
    """Tenants started together are spread once; each renewed token then comes due one
    lifetime after its renewal, exactly ``leeway`` before expiry, so the spread holds.

    Mutant caught: the calendar's ``_Calendar.book``, a renewed token reuses the old shift
    (``if previous is not None and previous[0] == token_id:`` -> ``if previous is not
    None:``): every lifetime would then renew earlier again by the same amount.
    """
    fleet = tenants(fake_resharmonics, 20, late_clock, background_renewal=False)
    first = renewal_moments(fleet)
    assert len({math.floor(when) for when in first}) == 20  # spread: one per second
    assert max(first) - min(first) >= 18
    # Each tenant renews at the moment it is due, in order, as a running service would.
    for when, auth in sorted(zip(first, fleet, strict=True), key=lambda pair: pair[0]):
        late_clock.now = when
        old = auth.token
        assert auth.valid_token() is not old  # renewed inline, in this call
    assert fake_resharmonics.token_requests == 40
    for auth in fleet:
        token = auth.token
        assert token.obtained_at in first  # renewed at its own moment
        assert auth.manager.renew_at(token) == pytest.approx(token.expires_at - 60, abs=1e-6)
    # Just before the earliest of them is due, no tenant renews.
    late_clock.now = min(auth.token.expires_at for auth in fleet) - 60 - 0.001
    for auth in fleet:
        token = auth.token
        assert auth.valid_token() is token
    assert fake_resharmonics.token_requests == 40


@pytest.mark.fake_resharmonics(token_lifetime=60)
def test_the_share_of_a_second_stays_put_over_several_lifetimes(
    fake_resharmonics: FakeResharmonics, late_clock: FakeClock
) -> None:
    """A herd of 30 tenants on 60-s tokens (share: 1.5 x 30 / 60 rounds up to one renewal a
    second) fetches together, then renews together after each expiry, three lifetimes in a
    row: every time, no second holds more than one renewal.

    Mutant caught: the calendar's ``_Calendar._forget_before`` keeps counting the renewals of
    seconds gone by (``self.total -= self.due.pop(when)`` -> ``self.due.pop(when)``): the
    share then grows with every lifetime (two a second by the second renewal).
    """
    fleet = tenants(fake_resharmonics, 30, late_clock, background_renewal=False)
    for lifetime in range(3):
        moments = renewal_moments(fleet)
        per_second = collections.Counter(math.floor(when) for when in moments)
        assert max(per_second.values()) == 1, f"lifetime {lifetime}: {per_second}"
        assert len(per_second) == 30
        late_clock.advance(61)  # every token expired: the next call of each renews, all together
        for auth in fleet:
            old = auth.token
            assert auth.valid_token() is not old
    assert fake_resharmonics.token_requests == 30 * 4


# -- the pool of renewal workers ---------------------------------------------------------------


@pytest.fixture
def restore_pool() -> Iterator[None]:
    before = process.current().renewals.max_workers
    yield
    set_renewal_workers(before)


def renewal_threads() -> int:
    return sum(1 for thread in threading.enumerate() if thread.name == RENEWAL_THREAD)


class Gate:
    """Holds the token requests ``fake`` answers until `open`, counting those waiting."""

    def __init__(self, fake: FakeResharmonics) -> None:
        self._answer = fake.tokens.answer
        self._open = threading.Event()
        self._lock = threading.Lock()
        self.waiting = 0
        self.most = 0
        fake.tokens.answer = self._held  # type: ignore[method-assign]

    def _held(self, incoming: Any) -> Any:
        with self._lock:
            self.waiting += 1
            self.most = max(self.most, self.waiting)
        try:
            self._open.wait(30)
            return self._answer(incoming)
        finally:
            with self._lock:
                self.waiting -= 1

    def open(self) -> None:
        self._open.set()


def test_a_retry_waiting_out_its_back_off_keeps_a_worker(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    """A background renewal fails; its retry waits longer than a worker idles. With no other
    work in sight, the last worker stays for it, and the token is renewed without any
    further call.

    Mutant caught: the pool's ``RenewalPool._take`` lets the last idle worker end while
    retries wait (``(not self.later or self.workers > 1)`` dropped from the idle test): the
    retry would then wait for the next renewal anyone submits, perhaps for ever.
    """
    auth = fake_resharmonics.auth(token_retries=0)
    auth.manager.clock = clock
    auth.manager.background_retry_delay = renewal_pool.IDLE_SECONDS * 3
    old = auth.valid_token()
    clock.advance(3600 - 30)  # due, still valid
    fake_resharmonics.fail_token_requests("invalid_client")
    assert auth.valid_token() is old  # the renewal goes to the pool; this call goes on
    wait_for(lambda: auth.token is not old)
    assert fake_resharmonics.token_requests == 3  # the first, the failure, the retry
    # Stats are told once the renewal's lock is released, a moment after its token is stored.
    wait_for(lambda: auth.stats.background_renewals == 1)


@pytest.mark.usefixtures("restore_pool")
def test_workers_beyond_a_smaller_pool_end_after_their_renewal(clock: FakeClock) -> None:
    """Four workers are busy when the pool is cut to one; six renewals queue meanwhile.
    As the four finish, three end and one goes on: one renewal thread, one token request at
    a time.

    Mutant caught: the pool's ``RenewalPool._take`` never ends a worker for a smaller pool
    (``or self.workers > self.max_workers`` dropped): all four would take the queued work.
    """
    with FakeResharmonics() as first, FakeResharmonics() as later:
        busy = tenants(first, 4, clock)
        waiting = tenants(later, 6, clock)
        busy_gate, later_gate = Gate(first), Gate(later)
        try:
            clock.advance(3600 - 30)
            set_renewal_workers(4)
            for auth in busy:
                auth.valid_token()
            wait_for(lambda: busy_gate.waiting == 4)  # four workers held at the endpoint
            set_renewal_workers(1)
            old = [auth.token for auth in waiting]
            for auth in waiting:
                auth.valid_token()  # queued: no worker is free
            busy_gate.open()
            # Three of the four end; the fourth takes a queued renewal and is held.
            wait_for(lambda: later_gate.waiting == 1 and renewal_threads() == 1)
            later_gate.open()
            wait_for(
                lambda: all(
                    auth.token is not token for auth, token in zip(waiting, old, strict=True)
                )
            )
            assert later_gate.most == 1
        finally:
            busy_gate.open()
            later_gate.open()
