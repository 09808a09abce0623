"""Single flight across threads (behaviour 4): one token request per renewal."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock

THREADS = 32


def together(count: int, call: Callable[[], int]) -> list[int]:
    """Run ``call`` in ``count`` threads released at the same instant by a barrier."""
    barrier = threading.Barrier(count)

    def run() -> int:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(run) for _ in range(count)]
        return [future.result(timeout=30) for future in futures]


def get(url: str, auth: ResharmonicsAuth) -> Callable[[], int]:
    return lambda: requests.get(url, auth=auth, timeout=30).status_code


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_cold_start_makes_one_token_request(fake_resharmonics: FakeResharmonics) -> None:
    auth = fake_resharmonics.auth()
    statuses = together(THREADS, get(fake_resharmonics.base_url + "/api/v3/units", auth))
    assert statuses == [200] * THREADS
    assert fake_resharmonics.token_requests == 1


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_proactive_renewal_makes_one_token_request(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake_resharmonics.auth(background_renewal=False)
    auth._manager.clock = clock
    auth.valid_token()
    clock.advance(3590)  # inside the renewal window
    statuses = together(THREADS, get(fake_resharmonics.base_url + "/api/v3/units", auth))
    assert statuses == [200] * THREADS
    assert fake_resharmonics.token_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_burst_of_expiry_401s_makes_one_token_request(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth()
    auth.valid_token()
    fake_resharmonics.expire_all_tokens()
    statuses = together(THREADS, get(fake_resharmonics.base_url + "/api/v3/units", auth))
    assert statuses == [200] * THREADS
    assert fake_resharmonics.token_requests == 2
    assert fake_resharmonics.api_requests == 2 * THREADS


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_session_shares_the_same_single_flight(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    statuses = together(THREADS, lambda: session.get("/api/v3/units").status_code)
    assert statuses == [200] * THREADS
    fake_resharmonics.expire_all_tokens()
    statuses = together(THREADS, lambda: session.get("/api/v3/units").status_code)
    assert statuses == [200] * THREADS
    assert fake_resharmonics.token_requests == 2


def test_valid_token_is_read_without_waiting_for_a_renewal(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth = fake_resharmonics.auth()
    token = auth.valid_token()
    got: list[object] = []
    with auth._manager._lock:  # as if another thread were fetching a token right now
        reader = threading.Thread(target=lambda: got.append(auth.valid_token()))
        reader.start()
        # A reader that waits on the lock never ends while it is held: 10 s tells that apart
        # from a thread a loaded machine starts late (2 s was a guess at the machine's speed).
        reader.join(10)
        assert not reader.is_alive(), "a valid token must not wait on the renewal lock"
    assert got == [token]
