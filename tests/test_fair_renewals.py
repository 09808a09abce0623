"""Fair renewals: no token endpoint takes every worker; failing tenants back off alone."""

from __future__ import annotations

import collections
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from requests_resharmonics import ResharmonicsAuth, Token, set_renewal_workers
from requests_resharmonics._tokens import background, process
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock, RawServer
from .test_background import wait_for

StartRaw = Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]


class Hung:
    """A token endpoint that accepts every request and never answers it."""

    def __init__(self, raw_server: StartRaw) -> None:
        self.arrived = 0
        self._lock = threading.Lock()
        self.server = raw_server(self._hang)
        self.url = f"http://127.0.0.1:{self.server.port}/oauth2/token"

    def _hang(self, connection: socket.socket, stopping: threading.Event) -> None:
        with self._lock:
            self.arrived += 1
        stopping.wait(60)  # until the test ends and closes the connection


def due_token(clock: FakeClock) -> Token:
    """A token due for renewal by ``clock`` (30 s before expiry), still valid."""
    return Token("hung-tenant-token", obtained_at=clock.now - 3570, expires_at=clock.now + 30)


def hung_tenant(url: str, number: int, clock: FakeClock) -> ResharmonicsAuth:
    """A tenant whose token is due, of a token endpoint that hangs: its renewal hangs."""
    auth = ResharmonicsAuth(f"hung-{number}", "secret", url, timeout=30, token_retries=0)
    auth.manager.clock = clock
    auth.set_token(due_token(clock))
    return auth


def healthy_tenant(fake: FakeResharmonics, clock: FakeClock) -> ResharmonicsAuth:
    auth = fake.auth()
    auth.manager.clock = clock
    auth.valid_token()
    return auth


@pytest.fixture
def four_workers() -> Iterator[None]:
    before = process.current().renewals.max_workers
    set_renewal_workers(4)
    yield
    set_renewal_workers(before)


def renewal_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "resharmonics-token-renewal")


def calls_until_renewed(auth: ResharmonicsAuth, old: Token, within: float) -> list[float]:
    """Call ``auth`` as an application would until its token is renewed; return each call's
    duration. Fails if that takes longer than ``within`` seconds."""
    durations = []
    deadline = time.monotonic() + within
    while auth.token is old or auth.token is None:
        assert time.monotonic() < deadline, "the healthy tenant's token was never renewed"
        started = time.monotonic()
        token = auth.valid_token()
        durations.append(time.monotonic() - started)
        assert token is old or token is auth.token
        time.sleep(0.05)
    return durations


@pytest.mark.usefixtures("four_workers")
@pytest.mark.parametrize("endpoints", [4, 1], ids=["four-hung-endpoints", "one-hung-endpoint"])
def test_four_hung_tenants_do_not_starve_a_healthy_one(
    endpoints: int, raw_server: StartRaw, fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    hung = [Hung(raw_server) for _ in range(endpoints)]
    healthy = healthy_tenant(fake_resharmonics, clock)
    stuck = [hung_tenant(hung[n % endpoints].url, n, clock) for n in range(4)]
    for auth in stuck:
        auth.valid_token()  # due: four renewals take the four workers, and hang
    wait_for(lambda: sum(endpoint.arrived for endpoint in hung) == 4)
    clock.advance(3600 - 30)  # the healthy tenant's token is due now too
    old = healthy.token
    assert old is not None
    durations = calls_until_renewed(healthy, old, within=background.SLOW_SECONDS + 8)
    assert max(durations) < 0.5, "a call of the healthy tenant waited"
    wait_for(lambda: healthy.stats.background_renewals == 1)
    assert healthy.stats.inline_renewals == 0
    assert fake_resharmonics.token_requests == 2
    assert all(a.token and a.token.access_token == "hung-tenant-token" for a in stuck)  # hanging
    assert renewal_threads() <= 8  # at most twice the pool, however many endpoints hang


@pytest.mark.usefixtures("four_workers")
def test_a_hung_token_url_holds_at_most_its_share_once_it_is_known_to_hang(
    raw_server: StartRaw, fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    endpoint = Hung(raw_server)
    first = [hung_tenant(endpoint.url, n, clock) for n in range(4)]
    for auth in first:
        auth.valid_token()
    wait_for(lambda: endpoint.arrived == 4)  # before it is known to hang, it may use them all
    pool = process.current().renewals
    wait_for(lambda: pool._in_trouble(endpoint.url, time.monotonic()), timeout=10)
    more = [hung_tenant(endpoint.url, n, clock) for n in range(4, 10)]
    for auth in more:
        auth.valid_token()  # queued: its token URL is in trouble and over its share
    healthy = healthy_tenant(fake_resharmonics, clock)
    clock.advance(3600 - 30)
    old = healthy.token
    assert old is not None
    calls_until_renewed(healthy, old, within=5)
    time.sleep(0.3)  # room for a wrong worker to reach the hung endpoint
    assert endpoint.arrived == 4
    assert all(pool.is_running(auth.manager.key) for auth in more)


@pytest.mark.usefixtures("four_workers")
def test_a_tenant_whose_renewals_keep_failing_backs_off_without_delaying_others(
    clock: FakeClock,
) -> None:
    with FakeResharmonics() as failing_service, FakeResharmonics() as service:
        failing = healthy_tenant(failing_service, clock)
        failing.manager.background_retry_delay = 0.05
        failing_service.fail_token_requests(*["500"] * 100)
        others = []
        for number in range(6):
            client_id, secret = service.add_client(f"other-{number}")
            auth = ResharmonicsAuth(client_id, secret, service.token_url)
            auth.manager.clock = clock
            auth.valid_token()
            others.append(auth)
        clock.advance(3600 - 30)
        old = failing.token
        assert failing.valid_token() is old  # its renewal fails, and is retried, backing off
        wait_for(lambda: failing_service.token_requests >= 1 + 3 * 3)
        started = time.monotonic()
        before = [auth.token for auth in others]
        for auth in others:
            assert auth.valid_token() is not None
        wait_for(
            lambda: all(a.token is not t for a, t in zip(others, before, strict=True)), timeout=5
        )
        assert time.monotonic() - started < 2.0
        assert failing.token is old  # still failing, still served
        pool = process.current().renewals
        assert pool.is_running(failing.manager.key)
        assert pool._in_trouble(failing_service.token_url, time.monotonic())
        assert not pool._in_trouble(service.token_url, time.monotonic())


class CountingCondition(threading.Condition):
    """A condition that counts how often its waits end."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        self.wakeups = 0

    def wait(self, timeout: float | None = None) -> bool:
        woken = super().wait(timeout)
        self.wakeups += 1
        return woken


def test_a_worker_waiting_for_a_rerun_sleeps_until_it_is_due() -> None:
    """The last worker stays while a rerun waits out its back-off, asleep: not waking every
    millisecond once it has been idle longer than `IDLE_SECONDS`."""
    pool = process.current().renewals
    condition = CountingCondition()
    pool.condition = condition
    runs: list[float] = []

    def fails_once() -> float | None:
        runs.append(time.monotonic())
        return 1.5 if len(runs) == 1 else None

    assert pool.start("rerun", fails_once)
    wait_for(lambda: len(runs) == 2)
    assert runs[1] - runs[0] >= 1.5
    with condition:
        wakeups = condition.wakeups
    assert wakeups < 20, f"the waiting worker woke {wakeups} times in 1.5 s"


def test_reruns_wait_behind_first_runs_and_take_at_most_a_share() -> None:
    pool = process.current().renewals
    pool.set_workers(2)  # a share of one worker
    release = threading.Event()
    running: list[str] = []
    most = {"first runs": 0, "reruns": 0}
    order: list[str] = []
    lock = threading.Lock()

    def renewal(name: str) -> Callable[[], float | None]:
        attempts = [0]

        def run() -> float | None:
            kind = "reruns" if attempts[0] else "first runs"
            with lock:
                order.append(name)
                running.append(kind)
                most[kind] = max(most[kind], running.count(kind))
            release.wait(10)
            time.sleep(0.02)
            with lock:
                running.remove(kind)
            attempts[0] += 1
            return 0.01 if attempts[0] < 3 else None

        return run

    for n in range(3):
        pool.start(f"failing-{n}", renewal(f"failing-{n}"), group="bad")
    wait_for(lambda: len(running) == 2)
    pool.start("fresh", renewal("fresh"), group="bad")
    release.set()
    wait_for(lambda: not any(pool.is_running(k) for k in ("failing-0", "failing-1", "failing-2")))
    # The third first run, then the new one, came before any rerun; reruns took one worker
    # (the share of a pool of two) at a time, first runs both.
    assert order[:4] == ["failing-0", "failing-1", "failing-2", "fresh"]
    assert most == {"first runs": 2, "reruns": 1}
    assert order.count("failing-0") == 3


def test_token_urls_take_turns() -> None:
    pool = process.current().renewals
    pool.set_workers(1)
    release = threading.Event()
    order: list[str] = []

    def renewal(name: str) -> Callable[[], None]:
        def run() -> None:
            order.append(name)
            release.wait(10)

        return run

    pool.start("busy-0", renewal("busy-0"), group="busy")
    wait_for(lambda: order == ["busy-0"])
    for n in range(1, 5):
        pool.start(f"busy-{n}", renewal(f"busy-{n}"), group="busy")
    pool.start("lone", renewal("lone"), group="lone")
    release.set()
    wait_for(lambda: len(order) == 6)
    assert order.index("lone") == 2  # after one more of the busy URL, not after all four


def test_renewals_that_fell_behind_catch_up_at_the_calendars_pace() -> None:
    """Twelve renewals of one token URL wait while both workers are busy: once late, they
    start at most the calendar's share a second (3 here), not as fast as the workers go;
    a renewal whose token would otherwise stop being sendable goes at once."""
    pool = background.RenewalPool(2, pace=lambda token_url: 3)
    gate = threading.Event()
    started: list[tuple[float, str]] = []

    def blocker() -> None:
        gate.wait(10)

    def renewal(name: str) -> Callable[[], None]:
        return lambda: started.append((time.time(), name))

    try:
        pool.start("busy-1", blocker, "elsewhere")
        pool.start("busy-2", blocker, "elsewhere-too")
        for number in range(12):
            pool.start(f"late-{number}", renewal(f"late-{number}"), "herd")
        deadline = time.monotonic() + background.LATE_SECONDS + 0.1
        pool.start("urgent", renewal("urgent"), "herd", deadline=deadline)
        time.sleep(background.LATE_SECONDS + 0.3)  # all of them late; the urgent one, due
        gate.set()
        wait_for(lambda: len(started) == 13, timeout=20)
    finally:
        gate.set()
        pool.shut_down()
        pool.wait_idle(5)
    names = [name for _, name in started]
    assert names.index("urgent") <= 3  # with the first second's share, not behind the twelve
    per_second = collections.Counter(int(when) for when, name in started if name != "urgent")
    assert max(per_second.values()) <= 3, per_second
    assert len(per_second) >= 4  # twelve at three a second: four seconds at least


def test_renewals_on_time_are_not_paced() -> None:
    pool = background.RenewalPool(4, pace=lambda token_url: 1)
    started: list[float] = []
    try:
        for number in range(12):
            pool.start(f"on-time-{number}", lambda: started.append(time.monotonic()), "herd")
        wait_for(lambda: len(started) == 12, timeout=10)
    finally:
        pool.shut_down()
        pool.wait_idle(5)
    assert started[-1] - started[0] < 1.0
