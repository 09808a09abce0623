"""Tenants that come and go leave nothing behind: tokens, managers, bookings, connections."""

from __future__ import annotations

import collections
import gc
import os
import pickle
import time
import tracemalloc
import weakref

import pytest

from requests_resharmonics import MemoryTokenCache, ResharmonicsAuth
from requests_resharmonics._tokens import process
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock
from .test_fleet import client_sockets_to

#: Modules whose objects are the library's own (the fake's are not: it runs in the test).
LIBRARY = ("requests_resharmonics", "requests", "urllib3", "oauthlib")


def library_objects() -> collections.Counter[str]:
    """Count the live objects of the library and of the HTTP stack it uses, by type."""
    gc.collect()
    counts: collections.Counter[str] = collections.Counter()
    for found in gc.get_objects():
        module: object = type(found).__module__
        if not isinstance(module, str):  # a class's own descriptor, as for type objects
            continue
        if module.startswith(LIBRARY) and not module.startswith("requests_resharmonics.testing"):
            counts[f"{module}.{type(found).__qualname__}"] += 1
    return counts


def library_bytes() -> int:
    """Return the bytes allocated by the library's own code and not freed (tracemalloc on)."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(True, "*/requests_resharmonics/*", all_frames=True),
            tracemalloc.Filter(False, "*/requests_resharmonics/testing/*", all_frames=True),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def come_and_go(fake: FakeResharmonics, first: int, count: int) -> None:
    """Tenants ``first`` to ``first + count``: each gets a token, then is dropped."""
    for number in range(first, first + count):
        client_id, secret = fake.add_client(f"churn-{number}", f"secret-{number}")
        auth = ResharmonicsAuth(client_id, secret, fake.token_url)
        auth.valid_token()
        del auth


def test_expired_tokens_leave_the_memory_cache_as_later_ones_are_stored() -> None:
    cache, store = MemoryTokenCache(), process.current().memory_cache
    now = time.time()

    def value(number: int, obtained_at: float) -> str:
        return f'v1:id{number}:{{"obtained_at": {obtained_at}, "access_token": "t{number}"}}'

    cache.set("unknown lifetime", value(3, now - 7300), None)
    cache.set("expired", value(1, now - 7200), now - 3600)
    assert set(store.values) == {"expired", "unknown lifetime"}  # still valid when stored
    cache.set("valid", value(2, now - 60), now + 3540)
    assert set(store.values) == {"valid", "unknown lifetime"}
    # A token replaced again and again leaves no trail of expiry entries behind.
    for number in range(1000):
        cache.set("valid", value(number, now), now + 3600 + number)
    assert len(store.expiries) <= 2 * len(store.expires) + 64
    # Expired by the clock of the token stored: one obtained in 1970 sweeps 1970's tokens.
    cache.set("old clock", value(5, 1_000_000.0), 1_003_600.0)
    cache.set("old clock 2", value(6, 1_003_700.0), 1_007_300.0)
    assert "old clock" not in store.values and "valid" in store.values


def test_a_fetch_lock_lives_only_while_held_or_awaited() -> None:
    cache, store = MemoryTokenCache(), process.current().memory_cache
    for number in range(100):
        with cache.lock(f"tenant-{number}", 1.0) as acquired:
            assert acquired and f"tenant-{number}" in store.locks
    assert store.locks == {}


def test_an_auth_object_nobody_holds_leaves_no_manager_booking_or_connection(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    fake = fake_resharmonics
    state = process.current()
    kept = []
    for number in range(20):
        client_id, secret = fake.add_client(f"kept-{number}")
        auth = ResharmonicsAuth(client_id, secret, fake.token_url)
        auth.manager.clock = clock
        auth.valid_token()
        kept.append(auth)
    assert state.calendars.bookings() == 20
    gone = [weakref.ref(auth.manager) for auth in kept[10:]]
    del kept[10:], auth
    gc.collect()
    assert all(ref() is None for ref in gone)
    assert len(state.managers) == 10
    assert state.calendars.bookings() == 10  # the gone ones' renewals are no longer booked
    assert state.token_sessions.open_pools() == 1
    del kept
    gc.collect()
    assert len(state.managers) == 0 and state.calendars.bookings() == 0
    assert state.token_sessions.open_pools() == 0  # the last one out closed the session
    if os.path.isdir("/proc/self/fd"):
        assert client_sockets_to(fake.port) == 0


def test_tenants_sharing_a_client_share_its_booking_until_the_last_one_goes(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    state = process.current()
    first = fake_resharmonics.auth()
    first.manager.clock = clock
    first.valid_token()
    second = fake_resharmonics.auth()
    second.manager.clock = clock
    assert second.valid_token() == first.token  # the memory cache: one token, one booking
    assert state.calendars.bookings() == 1
    del first
    gc.collect()
    assert state.calendars.bookings() == 1  # the second still renews it
    assert second.token is not None
    assert second.manager.renew_at(second.token) == second.manager._current.renew_at  # type: ignore[union-attr]
    del second
    gc.collect()
    assert state.calendars.bookings() == 0


def test_a_pickled_and_restored_auth_object_comes_and_goes_like_any_other(
    fake_resharmonics: FakeResharmonics,
) -> None:
    state = process.current()
    auth = fake_resharmonics.auth()
    auth.valid_token()
    clone = pickle.loads(pickle.dumps(auth))
    clone.valid_token()
    del auth, clone
    gc.collect()
    assert len(state.managers) == 0 and state.calendars.bookings() == 0
    assert state.token_sessions.open_pools() == 0


@pytest.mark.fake_resharmonics(token_lifetime=3600)
def test_memory_after_many_tenants_came_and_went_is_that_of_the_tenants_alive(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """Ten tenants stay while 300 come and go, twice. Once the gone ones' tokens have
    expired (and a later token is stored), the library holds what it held for the ten,
    and the second 300 leave no more than the first (dicts keep the room of their busiest
    moment, not of every tenant ever seen)."""
    fake = fake_resharmonics
    alive = []
    for number in range(10):
        client_id, secret = fake.add_client(f"alive-{number}")
        alive.append(ResharmonicsAuth(client_id, secret, fake.token_url))
        alive[-1].valid_token()
    state = process.current()
    objects_before = library_objects()

    def an_hour_later() -> None:  # by the clock of the next token stored: one alive renews
        later = time.time() + 3601
        alive[0].manager.clock = lambda: later
        alive[0].fetch_token()

    # One frame: a byte counts as the library's when the library's own line allocated it
    # (its dicts, lists, tokens). What it makes inside requests or urllib3 is counted by type
    # in library_objects; deeper tracing made this test five times slower, and no stricter.
    tracemalloc.start(1)
    try:
        before = library_bytes()
        come_and_go(fake, 0, 300)
        during = library_bytes()
        an_hour_later()
        after_first = library_bytes()
        come_and_go(fake, 300, 300)
        an_hour_later()
        after_second = library_bytes()
    finally:
        tracemalloc.stop()
    # 300 tenants held some 1,000 bytes each while their tokens lived; once gone, about
    # nothing: the room their dicts kept at the busiest moment, and no more the second time.
    assert during - before > 150_000
    assert after_first - before < 0.15 * (during - before), (before, during, after_first)
    assert after_second - after_first < 0.1 * (during - before), (after_first, after_second)
    objects_after = library_objects()
    grown = {n: objects_after[n] - objects_before[n] for n in objects_after}
    assert sum(count for count in grown.values() if count > 0) <= 10, grown
    assert len(state.memory_cache.values) == 1  # the new token only: the others expired
    assert len(state.managers) == 10 and state.calendars.bookings() == 10
