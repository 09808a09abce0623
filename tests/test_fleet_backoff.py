"""The fleet backs off together: Retry-After holds and the token budget, across processes."""

from __future__ import annotations

import math
import multiprocessing
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from requests_resharmonics import (
    ConfigurationError,
    FileTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    ResharmonicsSession,
    SQLTokenCache,
    TokenCache,
    TokenEvent,
    TokenHeldError,
)
from requests_resharmonics._tokens.endpoint import TokenEndpoint
from requests_resharmonics._tokens.manager import TokenManager
from requests_resharmonics._tokens.process import ProcessState
from requests_resharmonics.cache.base import budget_wait
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer

from .cache_workers import call_through_a_hold
from .conftest import FakeClock, RedisServer
from .test_background import wait_for
from .test_cache import PROCESSES

CACHES = ["file", "redis", "sqlite", "postgresql"]


class Throttle:
    """The fake's token endpoint behind a rate-limiting gateway: once `arm`-ed, it answers
    the next token request ``429`` with ``Retry-After``, and every one until then too."""

    def __init__(self, fake: FakeResharmonics, status: int = 429) -> None:
        self._answer = fake.tokens.answer
        self._lock = threading.Lock()
        self.status = status
        self.armed: float | None = None
        self.until = 0.0
        self.seen: list[tuple[float, int]] = []  # (when, status answered)
        fake.tokens.answer = self._wrapped  # type: ignore[method-assign]

    def arm(self, seconds: float) -> None:
        self.armed = seconds

    def _wrapped(self, incoming: Any) -> Any:
        now = time.time()
        with self._lock:
            if self.armed is not None:
                self.until, self.armed = now + self.armed, None
            if now < self.until:
                self.seen.append((now, self.status))
                asked = str(math.ceil(self.until - now))
                body = {"message": "Too Many Requests"}
                return Answer(self.status, body, {"Retry-After": asked}), None
        reply = self._answer(incoming)
        with self._lock:
            self.seen.append((now, reply[0].status if isinstance(reply[0], Answer) else 0))
        return reply

    @property
    def requests(self) -> int:
        return len(self.seen)


@pytest.fixture
def cache_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], TokenCache]]:
    """Caches of the kind asked, each a fresh instance over one shared store (one per process
    of a fleet)."""
    kind = request.param
    if kind == "file":
        yield lambda: FileTokenCache(tmp_path / "tokens.json")
    elif kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = f"fleet-{time.monotonic_ns()}:"
        yield lambda: RedisTokenCache(server.url, prefix=prefix)
    elif kind == "sqlite":
        yield lambda: SQLTokenCache(f"sqlite:///{tmp_path}/tokens.db")
    else:
        postgres = request.getfixturevalue("postgres")
        postgres.execute("DROP TABLE IF EXISTS resharmonics_tokens")
        yield lambda: SQLTokenCache(postgres.url())


@pytest.fixture
def members(fake_resharmonics: FakeResharmonics) -> Iterator[Callable[..., TokenManager]]:
    """Token managers of the fake's client as processes of a fleet have them: each with a
    process state of its own (pool, holds, counts), sharing only what the cache shares."""
    states: list[ProcessState] = []

    def member(cache: TokenCache, *, timeout: float = 10.0, **kwargs: Any) -> TokenManager:
        state = ProcessState()
        states.append(state)
        fake = fake_resharmonics
        endpoint = TokenEndpoint(
            fake.token_url, fake.client_id, fake.client_secret, timeout=timeout, process=state
        )
        return TokenManager(endpoint, cache=cache, **kwargs)

    yield member
    for state in states:
        state.close(wait=5)


def units(fake: FakeResharmonics, auth: ResharmonicsAuth) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


# -- Retry-After: one process is told, the fleet holds ---------------------------------------


@pytest.mark.parametrize("cache_factory", CACHES, indirect=True)
def test_a_retry_after_holds_every_process_sharing_the_cache(
    cache_factory: Callable[[], TokenCache],
    members: Callable[..., TokenManager],
    fake_resharmonics: FakeResharmonics,
) -> None:
    throttle = Throttle(fake_resharmonics)
    told, other = members(cache_factory(), timeout=1), members(cache_factory())
    throttle.arm(2)  # longer than the told one's timeout: its request is not retried
    with pytest.raises(TokenHeldError) as caught:
        told.fetch_token()
    assert caught.value.status_code == 429 and caught.value.retryable
    assert 1.0 < caught.value.seconds <= 2.0
    assert "as its Retry-After asks" in str(caught.value)
    assert "check the token URL" not in str(caught.value)  # a throttle, not a wrong URL
    with pytest.raises(TokenHeldError, match="no token request was made") as held:
        other.valid_token()  # another process, no token yet: held, not sent
    assert held.value.until == pytest.approx(caught.value.until, abs=0.01)
    assert held.value.reason == "the token endpoint answered HTTP 429 with Retry-After: 2.0 s"
    assert throttle.requests == 1
    assert other.stats().requests_held == 1 and other.stats().token_requests == 0
    time.sleep(max(held.value.until - time.time(), 0) + 0.05)  # the hold is time itself
    token = other.valid_token()
    assert told.valid_token() == token  # from the cache: one request for both
    assert [status for _, status in throttle.seen] == [429, 200]


@pytest.mark.parametrize("cache_factory", ["file"], indirect=True)
def test_a_short_retry_after_is_waited_out_by_its_request_while_the_fleet_holds(
    cache_factory: Callable[[], TokenCache],
    members: Callable[..., TokenManager],
    fake_resharmonics: FakeResharmonics,
) -> None:
    throttle = Throttle(fake_resharmonics)
    told, other = members(cache_factory()), members(cache_factory())
    throttle.arm(1)  # within the timeout (10 s): the request waits it out and asks again
    fetched: list[Any] = []
    fetching = threading.Thread(target=lambda: fetched.append(told.fetch_token()))
    fetching.start()
    wait_for(lambda: throttle.requests == 1)
    wait_for(lambda: other.fleet.held() is not None)
    started = time.monotonic()
    with pytest.raises(TokenHeldError):
        other.valid_token()  # does not wait for the lock the told one holds
    assert time.monotonic() - started < 0.5
    fetching.join(10)
    assert other.valid_token() == fetched[0]
    assert [status for _, status in throttle.seen] == [429, 200]
    assert throttle.seen[1][0] - throttle.seen[0][0] >= 1.0


@pytest.mark.parametrize("cache_factory", ["file"], indirect=True)
def test_threads_outnumbering_the_pool_meet_a_hold_with_one_token_request_each_side_of_it(
    cache_factory: Callable[[], TokenCache], fake_resharmonics: FakeResharmonics
) -> None:
    """32 threads share one auth object and one plain Session() (10 connections) while the
    token endpoint answers 429 Retry-After: 1: the call that asked waits the second out and asks
    once more, the others wait on it (one auth object, one flight), so the endpoint sees the 429
    and one token request, every call goes through, and the calls after it on the same token."""
    fake = fake_resharmonics
    throttle = Throttle(fake)
    auth = fake.auth(cache=cache_factory())
    session = requests.Session()
    throttle.arm(1)
    start = threading.Barrier(32)
    outcomes: list[object] = []

    def call() -> None:
        start.wait()
        try:
            answer = session.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30)
            outcomes.append(answer.status_code)
        except TokenHeldError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=call) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == [200] * 32
    assert [status for _, status in throttle.seen] == [429, 200]
    token = auth.valid_token()
    after = [session.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30) for _ in range(3)]
    assert [answer.status_code for answer in after] == [200, 200, 200]
    assert auth.valid_token() == token and throttle.requests == 2
    session.close()


@pytest.mark.fake_resharmonics(jwt=False)
def test_calls_with_a_valid_token_go_on_while_the_fleet_holds(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    fake = fake_resharmonics
    background = fake.auth(timeout=1)
    inline = fake.auth(timeout=1, background_renewal=False, scope="api/read")
    for auth in (background, inline):
        auth.manager.clock = clock
        auth.valid_token()
    throttle = Throttle(fake)
    old_background, old_inline = background.token, inline.token
    throttle.arm(2)
    clock.advance(3600 - 30)  # due, valid (for the API too: the fake judges by real time)
    started = time.monotonic()
    assert background.valid_token() is old_background  # its renewal meets the 429
    wait_for(lambda: background.manager.fleet.held() is not None)
    for _ in range(10):
        assert background.valid_token() is old_background  # renewal held in the background
        assert inline.valid_token() is old_inline  # renewal held inline: the old one serves
        assert units(fake, background) == units(fake, inline) == 200
    wait_for(lambda: throttle.requests >= 1)
    assert time.time() < throttle.until  # all of that within the hold
    clock.advance(29.5)  # past the stale window, not expired: still served
    assert background.valid_token() is old_background
    assert time.monotonic() - started < 2.0
    assert throttle.requests == 1  # one 429, and nothing more while it holds
    # The background renewal runs again when the hold ends, not before.
    wait_for(lambda: background.token is not old_background)
    assert throttle.seen[1][0] >= throttle.until
    # A token that has expired cannot be served: that call gets the error, until when.
    throttle.arm(2)
    tokenless = fake.auth(timeout=1, scope="api/write")
    tokenless.manager.clock = clock
    with pytest.raises(TokenHeldError):
        tokenless.valid_token()
    assert background.stats.requests_held >= 1


# -- the token budget ------------------------------------------------------------------------


def test_the_budget_holds_back_the_request_over_it(fake_resharmonics: FakeResharmonics) -> None:
    heard: list[TokenEvent] = []
    auth = fake_resharmonics.auth(token_budget=(2, 60), on_event=heard.append)
    assert auth.token_budget == (2, 60.0)
    auth.fetch_token()
    token = auth.fetch_token()
    with pytest.raises(TokenHeldError) as caught:
        auth.fetch_token()
    error = caught.value
    assert error.status_code is None and error.retryable
    assert error.reason == "its token budget of 2 requests per 60 s is spent"
    assert 59 < error.seconds <= 60
    assert fake_resharmonics.token_requests == 2
    assert auth.valid_token() is token  # a valid token goes on
    assert auth.stats.requests_over_budget == 1 and auth.stats.token_requests == 2
    [held] = [event for event in heard if event.kind == "held"]
    assert (held.outcome, held.trigger) == ("budget", "explicit")
    assert held.duration is not None and 59 < held.duration <= 60
    # Per client, whatever the scope and the auth object: another of the same client waits.
    other = fake_resharmonics.auth(token_budget=(2, 60), scope="api/read")
    with pytest.raises(TokenHeldError):
        other.valid_token()
    assert fake_resharmonics.token_requests == 2


def test_the_budget_counts_retries_and_holds_back_a_retry_over_it(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.fail_token_requests("503")
    auth = fake_resharmonics.auth(token_budget=(2, 60))
    auth.fetch_token()  # a 503, then its retry: two requests
    assert fake_resharmonics.token_requests == 2
    with pytest.raises(TokenHeldError):
        auth.fetch_token()

    with FakeResharmonics() as fresh:
        fresh.fail_token_requests("503")
        one = fresh.auth(token_budget=(1, 60))
        with pytest.raises(
            TokenHeldError, match=r"HTTP 503.*; not retried: .*budget of 1 request per 60 s"
        ):
            one.fetch_token()
        assert fresh.token_requests == 1  # the retry would have been the second
        assert one.stats.requests_over_budget == 1


@pytest.mark.parametrize("cache_factory", CACHES, indirect=True)
def test_the_budget_is_counted_once_for_the_whole_fleet(
    cache_factory: Callable[[], TokenCache],
    members: Callable[..., TokenManager],
    fake_resharmonics: FakeResharmonics,
) -> None:
    fleet = [members(cache_factory(), budget=(3, 60)) for _ in range(4)]
    outcomes = []
    for manager in fleet * 2:
        try:
            manager.fetch_token()
            outcomes.append("made")
        except TokenHeldError:
            outcomes.append("held")
    assert outcomes.count("made") == 3 and fake_resharmonics.token_requests == 3
    assert sum(manager.stats().requests_over_budget for manager in fleet) == 5


@pytest.mark.parametrize("cache_factory", CACHES, indirect=True)
def test_a_cache_counts_a_budget_atomically(cache_factory: Callable[[], TokenCache]) -> None:
    caches = [cache_factory() for _ in range(8)]
    answers: list[float | None] = []
    lock = threading.Lock()
    start = threading.Barrier(len(caches))

    def spend(cache: TokenCache) -> None:
        start.wait(10)
        for _ in range(4):
            answer = cache.admit_token_request("client-key", 5, 60.0)
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=spend, args=(cache,)) for cache in caches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 32
    assert answers.count(0.0) == 5
    assert all(answer is not None and 59 < answer <= 60 for answer in answers if answer != 0.0)


@pytest.mark.parametrize("cache_factory", CACHES, indirect=True)
def test_a_cache_keeps_the_later_hold_and_ends_one_on_request(
    cache_factory: Callable[[], TokenCache],
) -> None:
    cache, other = cache_factory(), cache_factory()
    now = time.time()
    assert cache.held("client") is None
    cache.hold("client", now + 60, "the token endpoint answered HTTP 429 with Retry-After: 60 s")
    cache.hold("client", now + 5, "a shorter one")  # the later one stays
    hold = other.held("client")
    assert hold is not None and hold.until == pytest.approx(now + 60, abs=0.01)
    assert hold.reason == "the token endpoint answered HTTP 429 with Retry-After: 60 s"
    assert other.held("another client") is None
    other.hold("client", 0.0, "over")  # an until gone by ends it
    assert cache.held("client") is None
    cache.hold("client", now - 1, "gone by already")
    assert cache.held("client") is None


def test_budget_wait_counts_requests_before_and_after() -> None:
    assert budget_wait([], 100.0, 1, 10.0) == 0.0
    assert budget_wait([89.0], 100.0, 1, 10.0) == 0.0  # more than a window ago
    assert budget_wait([91.0], 100.0, 1, 10.0) == pytest.approx(1.0)
    assert budget_wait([95.0], 100.0, 1, 10.0) == pytest.approx(5.0)
    assert budget_wait([92.0, 95.0, 99.0], 100.0, 2, 10.0) == pytest.approx(5.0)
    # A retry counted for later (after its back-off) counts against a request before it.
    assert budget_wait([104.0], 100.0, 1, 10.0) == pytest.approx(14.0)


def test_a_pickled_auth_object_keeps_its_budget_and_counts_where_it_lands(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth(token_budget=(1, 60))
    auth.fetch_token()
    clone = pickle.loads(pickle.dumps(auth))
    assert clone.token_budget == (1, 60.0)
    with pytest.raises(TokenHeldError):  # the same process: its count of the client holds
        clone.fetch_token()
    assert fake_resharmonics.token_requests == 1


@pytest.mark.parametrize(
    "budget", [(0, 10), (1, 0), (1, -5), (1.5, 10), "5/day", (5,), (True, 10), (5, math.inf)]
)
def test_a_bad_budget_is_named(budget: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"token_budget must be a pair \(requests, seconds\)"
    ):
        ResharmonicsAuth("id", "secret", "https://auth.example/t", token_budget=budget)


def test_every_front_door_takes_a_budget(fake_resharmonics: FakeResharmonics) -> None:
    session = ResharmonicsSession(
        fake_resharmonics.client_id,
        fake_resharmonics.client_secret,
        fake_resharmonics.token_url,
        base_url=fake_resharmonics.base_url,
        token_budget=(1, 3600),
    )
    assert session.get("/api/v3/units").status_code == 200
    httpx = pytest.importorskip("httpx")
    from requests_resharmonics.httpx import ResharmonicsHTTPXAuth

    auth = ResharmonicsHTTPXAuth(
        fake_resharmonics.client_id,
        fake_resharmonics.client_secret,
        fake_resharmonics.token_url,
        token_budget=(1, 3600),
    )
    assert auth.token_budget == (1, 3600.0)
    with httpx.Client(auth=auth) as client:
        url = fake_resharmonics.base_url + "/api/v3/units"
        assert client.get(url).status_code == 200  # the session's token, from the cache
        fake_resharmonics.expire_all_tokens()
        with pytest.raises(TokenHeldError):
            client.get(url)  # its token rejected, and the budget spent: no new one
    assert fake_resharmonics.token_requests == 1


# -- the pause after a rejection, shared --------------------------------------------------------


@pytest.mark.parametrize("cache_factory", ["file"], indirect=True)
@pytest.mark.fake_resharmonics(server_lifetime=0)
def test_a_pause_after_rejected_tokens_is_shared_by_the_fleet(
    cache_factory: Callable[[], TokenCache],
    members: Callable[..., TokenManager],
    fake_resharmonics: FakeResharmonics,
) -> None:
    """An API that refuses every token: the first process learns it (a replacement refused
    too) and pauses; the others, sharing its cache, pause with it instead of buying a
    replacement each to learn the same."""
    first, second = members(cache_factory()), members(cache_factory())
    token = first.valid_token()
    replacement = first.renew_after_rejection(token)
    assert replacement is not None and replacement != token
    assert first.replacement_rejected(replacement) is None  # now it pauses, and says so
    assert second.valid_token() == replacement  # the shared token, rejected as well
    assert second.renew_after_rejection(replacement) is None  # paused: no token bought
    assert fake_resharmonics.token_requests == 2
    first.accepted(replacement)  # the API accepts tokens again: the pause ends, everywhere
    assert not second.fleet.rejections_paused()


# -- the fleet: eight processes, one told to wait -----------------------------------------------


@pytest.fixture(params=CACHES)
def shared_cache(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """A cache the processes of a fleet share, as `cache_workers.make_cache` builds it."""
    if request.param == "file":
        return ("file", str(tmp_path / "tokens.json"))
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        server_client = RedisTokenCache(server.url)
        server_client._client.flushdb()
        return ("redis", server.url)
    if request.param == "sqlite":
        return ("sql", f"sqlite:///{tmp_path}/tokens.db")
    postgres = request.getfixturevalue("postgres")
    postgres.execute("DROP TABLE IF EXISTS resharmonics_tokens")
    return ("sql", postgres.url())


def test_a_retry_after_told_to_one_of_eight_processes_holds_them_all(
    shared_cache: tuple[str, str], fake_resharmonics: FakeResharmonics
) -> None:
    """Eight processes share a client and a cache, calling the API all along. Their token
    comes due; the first to ask for a new one is answered ``429`` with ``Retry-After: 5``
    (and the gateway answers 429 to any request before those 5 seconds are over). The
    token endpoint sees no token request from any of them in those 5 seconds, and every
    call, made with a token still valid, succeeds.

    Their token requests time out after 2 s: the request told to wait 5 s does not wait it
    out (a wait longer than its timeout), which is where, before, it was sent again after
    2 s, and the other processes asked as soon as its lock was free.
    """
    fake = fake_resharmonics
    server = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "base_url": fake.base_url,
    }
    context = multiprocessing.get_context("spawn")
    start, go, stop = context.Barrier(PROCESSES), context.Event(), context.Event()
    results = context.Queue()
    workers = [
        context.Process(
            target=call_through_a_hold,
            args=(server, shared_cache, 2.0, 3600 - 30, start, go, stop, results),
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        assert [results.get(timeout=90) for _ in workers] == ["ready"] * PROCESSES
        assert fake.token_requests == 1  # one for the eight, cold
        throttle = Throttle(fake)
        throttle.arm(5)
        go.set()  # every token is due now: the first renewal meets the 429
        deadline = time.monotonic() + 40
        while not any(status == 200 for _, status in throttle.seen):
            assert time.monotonic() < deadline, f"no renewal after the hold: {throttle.seen}"
            time.sleep(0.05)
        time.sleep(1.0)  # the others take the new token from the cache, and go on calling
        stop.set()
        outcomes = [results.get(timeout=60) for _ in workers]
    finally:
        go.set()
        stop.set()
        for worker in workers:
            worker.join(20)
            if worker.is_alive():
                worker.kill()
                worker.join(5)
    (told_at, first), *rest = throttle.seen
    assert first == 429
    assert [status for _, status in rest] == [200], "a token request inside the 5 seconds"
    assert rest[0][0] - told_at >= 5.0
    assert all(errors == {} for _, errors, _ in outcomes), outcomes
    assert all(set(statuses) == {200} for statuses, _, _ in outcomes), outcomes
    assert sum(sum(statuses.values()) for statuses, _, _ in outcomes) > PROCESSES * 20
    assert sum(int(stats["requests_held"] or 0) for _, _, stats in outcomes) >= PROCESSES - 1
    assert all(worker.exitcode == 0 for worker in workers)
