"""The core promise under the concurrency users create: no expiry 401 ever reaches a caller.

Every cell shares one auth object among more threads than its client keeps connections
(a plain ``requests.Session()`` keeps 10), so that urllib3 closes the connections it cannot
pool while 401s are being read, and checks two things: every call succeeds, and every
renewal costs one token request. The long soak is a benchmark (``tox -e soak``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.testing import FakeResharmonics

THREADS = (16, 32, 64)
#: Connections the ResharmonicsSession of the matrix keeps: fewer than any thread count.
SMALL_POOL = 4
#: Calls per thread in the soak cells: enough for every revocation and its renewal.
CALLS_PER_THREAD = 8
#: Revocations during the soak cells, each at a random moment, of the token in use: the
#: last renewal's token, once calls have been answered with it.
REVOCATIONS = 3
#: The token endpoint's answers before it grants a token, in the 503-burst cells; fewer
#: than the token request's retries (2 by default).
TOKEN_503S = 2

Call = Callable[[], int]


@dataclass
class Client:
    """One way users share an auth object among threads: a callable per call, and how
    those calls are spread over threads."""

    call: Call
    executor_calls: bool = False  # ThreadPoolExecutor.map over more calls than workers
    closing: list[Callable[[], None]] = field(default_factory=list)


def plain_session(fake: FakeResharmonics, auth: ResharmonicsAuth) -> Client:
    session = requests.Session()  # urllib3's default pool: 10 connections
    url = fake.base_url + "/api/v3/units"
    return Client(
        lambda: session.get(url, auth=auth, timeout=30).status_code, closing=[session.close]
    )


def no_session(fake: FakeResharmonics, auth: ResharmonicsAuth) -> Client:
    url = fake.base_url + "/api/v3/units"
    return Client(lambda: requests.get(url, auth=auth, timeout=30).status_code)


def resharmonics_session(fake: FakeResharmonics, auth: ResharmonicsAuth) -> Client:
    session = fake.session(pool_maxsize=SMALL_POOL)  # fewer connections than threads
    return Client(lambda: session.get("/api/v3/units").status_code, False, [session.close])


def executor_over_session(fake: FakeResharmonics, auth: ResharmonicsAuth) -> Client:
    client = plain_session(fake, auth)
    client.executor_calls = True
    return client


CLIENTS = {
    "plain-session": plain_session,
    "requests-get": no_session,
    "resharmonics-session": resharmonics_session,
    "executor-over-session": executor_over_session,
}


class Tally:
    """Counts finished calls and lets a watcher wait for a number of them."""

    def __init__(self) -> None:
        self.done = 0
        self.failed: list[int] = []
        self.changed = threading.Condition()

    def record(self, status: int) -> None:
        with self.changed:
            self.done += 1
            if status != 200:
                self.failed.append(status)
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], bool], seconds: float = 30) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, seconds)


def run_calls(client: Client, threads: int, calls: int, tally: Tally) -> None:
    """Make ``calls`` calls from ``threads`` threads, released together."""

    def one() -> None:
        tally.record(client.call())

    if client.executor_calls:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(one) for _ in range(calls)]:
                future.result(timeout=60)
        return
    barrier = threading.Barrier(threads)
    per_thread, extra = divmod(calls, threads)

    def worker(index: int) -> None:
        barrier.wait(30)
        for _ in range(per_thread + (index < extra)):
            one()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(worker, index) for index in range(threads)]:
            future.result(timeout=60)


@pytest.fixture
def fake() -> Iterator[FakeResharmonics]:
    # A slow token endpoint widens the window in which calls find a renewal under way.
    with FakeResharmonics(token_delay=0.1) as server:
        yield server


def cold_start(fake: FakeResharmonics, client: Client, threads: int) -> int:
    tally = Tally()
    run_calls(client, threads, threads, tally)
    assert tally.failed == []
    return 1


def expiry_stampede(fake: FakeResharmonics, client: Client, threads: int) -> int:
    assert client.call() == 200
    fake.expire_all_tokens()  # revoked server-side: every call now meets the expiry 401
    tally = Tally()
    run_calls(client, threads, threads, tally)
    assert tally.failed == []
    return 2


def soak_with_revocations(fake: FakeResharmonics, client: Client, threads: int) -> int:
    calls = threads * CALLS_PER_THREAD
    tally = Tally()
    moments = sorted(random.Random(threads).sample(range(threads, 3 * threads), REVOCATIONS))
    revoked: list[str | None] = []

    def revoke() -> None:
        for number, moment in enumerate(moments):
            issued = number + 1  # the first token, then one renewal per revocation
            assert tally.wait_for(lambda n=issued: len(fake.issued_tokens) >= n)  # type: ignore[misc]
            # A call started after the token was issued has been answered: it is in use.
            until = max(moment, tally.done + threads + 1)
            assert tally.wait_for(lambda n=until: tally.done >= n)  # type: ignore[misc]
            revoked.append(fake.expire_newest_token())

    revoker = threading.Thread(target=revoke)
    revoker.start()
    run_calls(client, threads, calls, tally)
    # On a loaded machine the revoker may wake late: calls go on until it has revoked its
    # tokens, and one more round meets the last revocation, whenever it came.
    for _ in range(10):
        revoker.join(0.5)
        if not revoker.is_alive():
            break
        run_calls(client, threads, threads, tally)
    revoker.join(30)
    assert not revoker.is_alive()
    run_calls(client, threads, threads, tally)
    assert tally.failed == []
    assert len(revoked) == REVOCATIONS and None not in revoked
    return 1 + REVOCATIONS


def token_503_burst(fake: FakeResharmonics, client: Client, threads: int) -> int:
    assert client.call() == 200
    fake.expire_all_tokens()
    fake.fail_token_requests(*["503"] * TOKEN_503S)
    tally = Tally()
    run_calls(client, threads, threads, tally)
    assert tally.failed == []
    return 2


SCENARIOS = {
    "cold-start": cold_start,
    "expiry-stampede": expiry_stampede,
    "soak-with-revocations": soak_with_revocations,
    "token-503-burst": token_503_burst,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_no_expiry_401_reaches_a_caller(
    fake: FakeResharmonics, client_name: str, threads: int, scenario: str
) -> None:
    auth = fake.auth()
    client = CLIENTS[client_name](fake, auth)
    try:
        renewals = SCENARIOS[scenario](fake, client, threads)
    finally:
        for close in client.closing:
            close()
        auth.close()
    # One token request per renewal: the first token, then one per revocation (a 503 is
    # an attempt of the same request, retried by the endpoint, not another renewal).
    assert len(fake.issued_tokens) == renewals
    faults = TOKEN_503S if scenario == "token-503-burst" else 0
    assert fake.token_requests == renewals + faults
