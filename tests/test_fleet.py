"""Fleets of tenants in one process: bounded workers, one watchdog, shared connections, spread."""

from __future__ import annotations

import collections
import math
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsAuth, set_renewal_workers
from requests_resharmonics._tokens import process, spread
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer

from .conftest import FakeClock
from .test_background import wait_for


@pytest.fixture
def two_workers() -> Iterator[None]:
    before = process.current().renewals.max_workers
    set_renewal_workers(2)
    yield
    set_renewal_workers(before)


def tenants(fake: FakeResharmonics, count: int, clock: FakeClock | None = None) -> list[Any]:
    """``count`` auth objects, each with a client of its own, holding a first token."""
    fleet = []
    for number in range(count):
        client_id, secret = fake.add_client(f"tenant-{number}")
        auth = ResharmonicsAuth(client_id, secret, fake.token_url)
        if clock is not None:
            auth._manager.clock = clock
        auth.valid_token()
        fleet.append(auth)
    return fleet


class InFlight:
    """Counts the token requests the fake is answering at once, and the most ever."""

    def __init__(self, fake: FakeResharmonics, gate: Callable[[], object] = lambda: None) -> None:
        self._answer = fake.tokens.answer
        self._lock = threading.Lock()
        self._gate = gate
        self.now = 0
        self.most = 0
        self.seen: list[dict[str, int]] = []
        fake.tokens.answer = self._wrapped  # type: ignore[method-assign]

    def _wrapped(self, incoming: Any) -> Any:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            names = collections.Counter(t.name for t in threading.enumerate())
            self.seen.append(dict(names))
        try:
            self._gate()
            return self._answer(incoming)
        finally:
            with self._lock:
                self.now -= 1


@pytest.mark.usefixtures("two_workers")
@pytest.mark.fake_resharmonics(token_delay=0.05)
def test_renewals_of_many_tenants_share_the_pool_of_workers(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    fleet = tenants(fake_resharmonics, 20, clock)
    old = [auth.token for auth in fleet]
    in_flight = InFlight(fake_resharmonics)
    clock.advance(3600 - 30)  # every token due, none expired
    for auth, token in zip(fleet, old, strict=True):
        assert auth.valid_token() is token  # no call waits
    wait_for(lambda: all(auth.token is not token for auth, token in zip(fleet, old, strict=True)))
    assert fake_resharmonics.token_requests == 40
    assert in_flight.most <= 2, "no more token requests at once than the pool has workers"
    assert max(seen.get("resharmonics-token-renewal", 0) for seen in in_flight.seen) <= 2
    # Stats are told once the renewal's lock is released, a moment after its token is stored.
    wait_for(lambda: sum(auth.stats.background_renewals for auth in fleet) == 20)


@pytest.mark.usefixtures("two_workers")
def test_a_slow_token_endpoint_holds_only_its_own_worker(clock: FakeClock) -> None:
    release = threading.Event()
    with FakeResharmonics() as slow, FakeResharmonics() as fast:
        stuck = tenants(slow, 1, clock)[0]
        others = tenants(fast, 6, clock)
        stuck_token, old = stuck.token, [auth.token for auth in others]
        InFlight(slow, gate=lambda: release.wait(30))
        fast_in_flight = InFlight(fast)
        clock.advance(3600 - 30)
        assert stuck.valid_token() is stuck_token  # its renewal takes a worker and hangs
        wait_for(lambda: process.current().renewals.is_running(stuck._manager.key))
        for auth in others:
            auth.valid_token()
        # The other tenants renew on the remaining worker while the slow one waits.
        wait_for(
            lambda: all(auth.token is not token for auth, token in zip(others, old, strict=True))
        )
        assert fast_in_flight.most == 1  # one worker is stuck, the other serves everyone else
        assert stuck.token is stuck_token
        release.set()
        wait_for(lambda: stuck.token is not stuck_token)


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_deadlines_of_concurrent_token_requests_share_one_watchdog_thread(
    fake_resharmonics: FakeResharmonics,
) -> None:
    count = 8
    arrived = threading.Barrier(count, timeout=30)
    in_flight = InFlight(fake_resharmonics, gate=arrived.wait)
    fleet = []
    for number in range(count):
        client_id, secret = fake_resharmonics.add_client(f"tenant-{number}")
        fleet.append(ResharmonicsAuth(client_id, secret, fake_resharmonics.token_url))
    callers = [threading.Thread(target=auth.valid_token) for auth in fleet]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(30)
    assert all(auth.token is not None for auth in fleet)
    assert in_flight.most == count  # the barrier let no request finish before all arrived
    deadline_threads = [seen.get("requests-resharmonics-deadline", 0) for seen in in_flight.seen]
    assert max(deadline_threads) == 1


def client_sockets_to(port: int) -> int:
    """Count this process's TCP sockets connected to ``port`` on 127.0.0.1."""
    inodes = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    with open("/proc/net/tcp") as lines:
        next(lines)
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if fields[9] in inodes and remote_port == port and fields[3] == "01":
                count += 1
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_idle_tenants_share_the_token_connections(fake_resharmonics: FakeResharmonics) -> None:
    fleet = tenants(fake_resharmonics, 40)
    assert fake_resharmonics.token_requests == 40
    assert client_sockets_to(fake_resharmonics.port) <= 1  # one after another: one connection
    for auth in fleet:
        auth.close()
    assert client_sockets_to(fake_resharmonics.port) == 0


def test_the_shared_token_session_keeps_no_cookies(fake_resharmonics: FakeResharmonics) -> None:
    answer = fake_resharmonics.tokens.answer

    def with_cookie(incoming: Any) -> Any:
        reply, client_auth = answer(incoming)
        assert isinstance(reply, Answer)
        reply.headers["Set-Cookie"] = "session=tenant-secret; Path=/"
        return reply, client_auth

    fake_resharmonics.tokens.answer = with_cookie  # type: ignore[method-assign]
    fleet = tenants(fake_resharmonics, 3)
    fleet[0].fetch_token()  # the same client again: no cookie of its own comes back either
    token_requests = [r for r in fake_resharmonics.requests if r.path.endswith("/oauth2/token")]
    assert len(token_requests) == 4
    assert not [r for r in token_requests if "cookie" in r.headers]


def test_tenants_started_together_renew_in_different_seconds(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    fleet = tenants(fake_resharmonics, 200, clock)
    renewals = [auth._manager._current.renew_at for auth in fleet]
    per_second = collections.Counter(math.floor(when) for when in renewals)
    assert max(per_second.values()) == 1  # 1.5 times 200 tenants / 3600 s rounds up to 1
    token = fleet[0].token
    assert token.expires_at is not None
    lifetime = token.expires_at - token.obtained_at
    for auth, when in zip(fleet, renewals, strict=True):
        expires_at = auth.token.expires_at
        assert expires_at - 0.75 * lifetime <= when <= expires_at - 60
    assert max(renewals) - min(renewals) >= 198  # 200 seconds, less a random fraction

    # Auth objects of one client share its token, and so its booking.
    first = fake_resharmonics.auth()
    first._manager.clock = clock
    first.valid_token()
    second = fake_resharmonics.auth()
    second._manager.clock = clock
    assert second.valid_token() == first.token  # from the shared memory cache
    assert second._manager._current.renew_at == first._manager._current.renew_at  # type: ignore[union-attr]

    # A client alone on its token URL renews exactly `leeway` before expiry, as before.
    with FakeResharmonics() as alone:
        lone = tenants(alone, 1, clock)[0]
        assert lone.token.expires_at - lone._manager._current.renew_at == 60


@pytest.mark.parametrize(("lifetime", "count"), [(3600, 10_000), (3600, 1000), (30, 10_000)])
def test_the_calendar_spreads_a_herd_within_its_share(lifetime: int, count: int) -> None:
    now = 1_000_000.0
    due = now + lifetime * 0.98
    url = f"https://auth.example/{lifetime}/{count}"
    calendars = process.current().calendars
    shifts = [
        calendars.book(url, f"key-{n}", f"token-{n}", due, now, lifetime, now) for n in range(count)
    ]
    per_second = collections.Counter(math.floor(due - shift) for shift in shifts)
    assert max(per_second.values()) <= math.ceil(spread.SPREAD_RATE * count / lifetime)
    assert min(due - shift for shift in shifts) >= now + spread.EARLIEST_RENEWAL * lifetime
    assert sum(shifts) / count <= 0.45 * lifetime  # the one-off cost: under half a token each
    # Booking a token again gives the same answer, whoever asks.
    assert calendars.book(url, "key-7", "token-7", due, now, lifetime, now) == shifts[7]


def test_a_smaller_pool_takes_effect_once_the_running_renewals_end(clock: FakeClock) -> None:
    before = process.current().renewals.max_workers
    release = threading.Event()
    try:
        with FakeResharmonics() as first, FakeResharmonics() as later:
            busy = tenants(first, 4, clock)
            waiting = tenants(later, 6, clock)
            busy_in_flight = InFlight(first, gate=lambda: release.wait(30))
            later_in_flight = InFlight(later)
            clock.advance(3600 - 30)
            set_renewal_workers(4)
            for auth in busy:
                auth.valid_token()
            wait_for(lambda: busy_in_flight.now == 4)  # four workers at the endpoint
            set_renewal_workers(1)
            old = [auth.token for auth in waiting]
            for auth in waiting:
                auth.valid_token()
            release.set()
            wait_for(
                lambda: all(
                    auth.token is not token for auth, token in zip(waiting, old, strict=True)
                )
            )
            assert later_in_flight.most == 1
    finally:
        release.set()
        set_renewal_workers(before)


def test_renewals_sharing_seconds_are_booked_before_the_end_of_one() -> None:
    """A renewal goes out milliseconds after its moment: booked at the very end of a second
    it would land in the next, past that second's share. Alone on its token URL, a client
    renews exactly when due."""
    calendars = process.current().calendars
    now = 1_000_000.0
    due = now + 3000.95  # every token due at 95% of the same second
    alone = calendars.book("https://auth.example/alone", "key", "token", due, now, 3600, now)
    assert alone == 0.0
    moments = []
    for number in range(50):
        shift = calendars.book(
            "https://auth.example/herd", f"key-{number}", f"t-{number}", due, now, 3600, now
        )
        moments.append(due - shift)
    assert moments[0] == due  # the first, alone so far
    assert all(moment - math.floor(moment) <= spread.IN_TIME for moment in moments[1:])
