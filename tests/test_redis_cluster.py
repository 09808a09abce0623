"""RedisTokenCache on a real three-node Redis Cluster: single flight across processes,
compare-and-delete, owner-only locks, and a node restart, through redis-py's RedisCluster."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests

from requests_resharmonics import RedisTokenCache
from requests_resharmonics.cache.codec import token_id
from requests_resharmonics.testing import FakeResharmonics

from .cache_workers import cluster_client
from .conftest import RedisClusterNodes
from .test_cache import PROCESSES, run_processes


def units(fake: FakeResharmonics, auth: Any) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_eight_processes_share_one_token_through_the_cluster(
    redis_cluster: RedisClusterNodes, fake_resharmonics: FakeResharmonics
) -> None:
    where = f"127.0.0.1:{redis_cluster.ports[0]}"
    outcomes = run_processes(fake_resharmonics, ("redis-cluster", where))
    assert sorted(outcomes) == [("first", 200, 0)] * PROCESSES + [("second", 200, 1)] * PROCESSES
    assert fake_resharmonics.token_requests == 2


def test_compare_and_delete_and_owner_locks_through_the_cluster(
    redis_cluster: RedisClusterNodes, fake_resharmonics: FakeResharmonics
) -> None:
    client = cluster_client(f"127.0.0.1:{redis_cluster.ports[1]}")
    cache = RedisTokenCache(client, prefix="cluster-test:")
    auth = fake_resharmonics.auth(cache=cache)
    assert units(fake_resharmonics, auth) == 200
    key = auth._manager.key
    stored = cache.get(key)
    assert stored is not None
    cache.delete_if(key, "not-this-token")
    assert cache.get(key) == stored
    assert auth.token is not None
    cache.delete_if(key, token_id(auth.token))
    assert cache.get(key) is None
    with cache.lock(key, wait=2) as held:
        assert held
        other = RedisTokenCache(client, prefix="cluster-test:")
        with other.lock(key, wait=0.2) as also_held:
            assert not also_held  # one holder at a time, across the cluster
        client.set(cache.name(key) + ":lock", "someone else", px=5000)
    # Our release did not delete the lock someone else holds now.
    assert client.get(cache.name(key) + ":lock") == b"someone else"
    assert client.keyslot(cache.name(key)) == client.keyslot(cache.name(key) + ":lock")


def test_a_node_restart_never_fails_a_call(
    redis_cluster: RedisClusterNodes,
    fake_resharmonics: FakeResharmonics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = fake_resharmonics
    client = cluster_client(f"127.0.0.1:{redis_cluster.ports[0]}")
    cache = RedisTokenCache(client, prefix="restart-test:")
    auth = fake.auth(cache=cache, background_renewal=False)
    assert units(fake, auth) == 200
    key = cache.name(auth._manager.key)
    owner = client.get_node_from_key(key).port
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    redis_cluster.stop_node(owner)
    try:
        for _ in range(3):
            fake.expire_all_tokens()
            assert units(fake, auth) == 200  # the cache is down: tokens come directly
    finally:
        redis_cluster.start_node(owner)
        redis_cluster.wait_until_healthy()
    messages = [record.getMessage() for record in caplog.records]
    assert sum("is unavailable" in message for message in messages) == 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fake.expire_all_tokens()
        assert units(fake, auth) == 200
        if client.exists(key):
            break
        time.sleep(0.2)
    assert client.exists(key)  # the renewed token is shared through the cluster again
    assert any("available again" in record.getMessage() for record in caplog.records)
