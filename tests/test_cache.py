"""Shared token caches: memory, file and Redis; single flight across processes."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from requests_resharmonics import (
    FileTokenCache,
    MemoryTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    Token,
)
from requests_resharmonics._tokens import process
from requests_resharmonics.cache import cache_key
from requests_resharmonics.cache.codec import SealedCodec, token_id
from requests_resharmonics.testing import FakeResharmonics

from .cache_workers import call_twice
from .conftest import RedisServer

PROCESSES = 8


def units(fake: FakeResharmonics, auth: ResharmonicsAuth) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


# -- keys and the memory cache -------------------------------------------------------------


def test_cache_key_combines_url_client_secret_and_scope_without_the_secret() -> None:
    key = cache_key("https://auth.example.com/t", "client", "s3cret-value", "api/read")
    assert "s3cret-value" not in key
    assert key == cache_key("https://auth.example.com/t", "client", "s3cret-value", "api/read")
    for other in [
        ("https://auth.example.com/u", "client", "s3cret-value", "api/read"),
        ("https://auth.example.com/t", "other", "s3cret-value", "api/read"),
        ("https://auth.example.com/t", "client", "rotated-value", "api/read"),
        ("https://auth.example.com/t", "client", "s3cret-value", None),
    ]:
        assert cache_key(*other) != key


def test_memory_cache_is_shared_by_auth_objects_of_the_same_client(
    fake_resharmonics: FakeResharmonics,
) -> None:
    first, second = fake_resharmonics.auth(), fake_resharmonics.auth()
    assert units(fake_resharmonics, first) == units(fake_resharmonics, second) == 200
    assert fake_resharmonics.token_requests == 1
    assert units(fake_resharmonics, fake_resharmonics.auth(scope="api/read")) == 200
    assert fake_resharmonics.token_requests == 2  # another scope is another key


def test_a_burst_of_rejections_across_auth_objects_makes_one_renewal(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auths = [fake_resharmonics.auth() for _ in range(4)]
    for auth in auths:
        units(fake_resharmonics, auth)
    fake_resharmonics.expire_all_tokens()
    for auth in auths:
        assert units(fake_resharmonics, auth) == 200
    assert fake_resharmonics.token_requests == 2


def test_memory_cache_pickles_to_the_store_where_it_lands() -> None:
    import pickle

    assert isinstance(pickle.loads(pickle.dumps(MemoryTokenCache())), MemoryTokenCache)


# -- the file cache ------------------------------------------------------------------------


def test_file_cache_modes(tmp_path: Path, fake_resharmonics: FakeResharmonics) -> None:
    path = tmp_path / "private" / "tokens.json"
    auth = fake_resharmonics.auth(cache=FileTokenCache(path))
    assert units(fake_resharmonics, auth) == 200
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for lock in path.parent.glob("*.lock"):
        assert stat.S_IMODE(lock.stat().st_mode) & 0o077 == 0
    stored = json.loads(path.read_text())
    assert list(stored) == [auth._manager.key]
    text = path.read_text()
    assert fake_resharmonics.client_secret not in text
    assert auth.token is not None
    assert auth.token.access_token not in text  # sealed with a key from the secret
    assert stored[auth._manager.key]["value"].startswith(f"v1:{token_id(auth.token)}:")


def test_default_file_cache_lives_in_the_user_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    directory = tmp_path / "cache" / "requests-resharmonics"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    cache = FileTokenCache()
    assert cache.path == directory / "tokens.json"
    assert units(fake_resharmonics, fake_resharmonics.auth(cache=cache)) == 200
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700  # our own directory is closed


def test_a_given_directory_keeps_its_mode(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    tmp_path.chmod(0o755)
    auth = fake_resharmonics.auth(cache=FileTokenCache(tmp_path / "tokens.json"))
    assert units(fake_resharmonics, auth) == 200
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "tokens.json").stat().st_mode) == 0o600


def test_file_cache_is_shared_between_auth_objects_in_different_processes_style(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    path = tmp_path / "tokens.json"
    first = fake_resharmonics.auth(cache=FileTokenCache(path))
    units(fake_resharmonics, first)
    process.current().memory_cache.clear()  # as if in another process: only the file is shared
    second = fake_resharmonics.auth(cache=FileTokenCache(path))
    assert units(fake_resharmonics, second) == 200
    assert fake_resharmonics.token_requests == 1


def test_corrupt_file_is_ignored_with_one_warning_and_rewritten(
    tmp_path: Path, fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{not json")
    path.chmod(0o600)
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    auth = fake_resharmonics.auth(cache=FileTokenCache(path))
    assert units(fake_resharmonics, auth) == 200
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "is not a token cache; it will be rewritten" in warnings[0].getMessage()
    assert list(json.loads(path.read_text())) == [auth._manager.key]


def test_unwritable_cache_never_breaks_calls(
    tmp_path: Path, fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    auth = fake_resharmonics.auth(cache=FileTokenCache(blocker / "tokens.json"))
    for _ in range(3):
        assert units(fake_resharmonics, auth) == 200
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs chown (root)")
def test_a_cache_file_owned_by_another_user_is_not_read(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    path = tmp_path / "tokens.json"
    planted = Token("planted-token", obtained_at=1e9, expires_at=4e9)
    auth = fake_resharmonics.auth(cache=FileTokenCache(path))
    value = auth._manager.codec.encode(planted)
    path.write_text(json.dumps({auth._manager.key: {"value": value, "expires_at": 4e9}}))
    os.chown(path, 65534, 65534)
    assert units(fake_resharmonics, auth) == 200
    assert auth.token is not None
    assert auth.token.access_token != "planted-token"


def test_a_concurrent_reader_never_sees_a_partial_file(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    big = "v1:id:" + "x" * 20000
    cache.set("k0", big, 4e9)
    stop = threading.Event()
    problems: list[Exception] = []

    def read() -> None:
        while not stop.is_set():
            try:
                json.loads((tmp_path / "tokens.json").read_bytes())
            except Exception as error:
                problems.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for number in range(200):
            cache.set(f"k{number % 7}", big, 4e9)
    finally:
        stop.set()
        reader.join()
    assert problems == []


def test_compare_and_delete_removes_only_the_rejected_token(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    cache.set("key", "v1:new-id:payload", 4e9)
    cache.delete_if("key", "old-id")
    assert cache.get("key") == "v1:new-id:payload"
    cache.delete_if("key", "new-id")
    assert cache.get("key") is None


def test_expired_entries_are_dropped_on_write(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    cache.set("old", "v1:a:payload", 1.0)
    cache.set("new", "v1:b:payload", 4e9)
    assert cache.get("old") is None
    assert cache.get("new") == "v1:b:payload"


def test_a_sealed_value_is_useless_without_the_secret(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    path = tmp_path / "tokens.json"
    auth = fake_resharmonics.auth(cache=FileTokenCache(path))
    units(fake_resharmonics, auth)
    value = json.loads(path.read_text())[auth._manager.key]["value"]
    key = auth._manager.key
    assert auth._manager.codec.decode(value) == auth.token
    assert SealedCodec("another secret", key).decode(value) is None
    assert SealedCodec("another secret", key).decode("v1:x:garbage") is None
    assert SealedCodec("another secret", key).decode("garbage") is None


def test_a_sealed_value_is_bound_to_its_cache_key(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    path = tmp_path / "tokens.json"
    fake = fake_resharmonics
    auth = fake.auth(cache=FileTokenCache(path))
    units(fake, auth)
    # Another key of the same secret: another scope of the same client.
    other = fake.auth(cache=FileTokenCache(path), scope="api/read")
    entries = json.loads(path.read_text())
    entries[other._manager.key] = entries[auth._manager.key]  # a value copied across keys
    path.write_text(json.dumps(entries))
    assert other._manager.codec.decode(entries[other._manager.key]["value"]) is None
    units(fake, other)
    assert other.token != auth.token  # it fetched its own instead of using the copy
    assert fake.token_requests == 2


# -- across processes ----------------------------------------------------------------------


def run_processes(fake: FakeResharmonics, cache: tuple[str, str]) -> list[tuple[Any, ...]]:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    expired = context.Event()
    results = context.Queue()
    server = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "base_url": fake.base_url,
    }
    workers = [
        context.Process(target=call_twice, args=(server, cache, start, expired, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=60) for _ in range(PROCESSES)]
        cold_start_requests = fake.token_requests
        fake.expire_all_tokens()
        expired.set()
        outcomes += [results.get(timeout=60) for _ in range(PROCESSES)]
    finally:
        # Whatever failed above, no worker may wait for ever, nor outlive the test.
        expired.set()
        for worker in workers:
            worker.join(10)
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(5)
    assert cold_start_requests == 1, "one token request for 8 processes at a cold start"
    assert all(worker.exitcode == 0 for worker in workers)
    return outcomes


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_eight_processes_share_one_token_through_a_file(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    outcomes = run_processes(fake_resharmonics, ("file", str(tmp_path / "tokens.json")))
    assert sorted(outcomes) == [("first", 200, 0)] * PROCESSES + [("second", 200, 1)] * PROCESSES
    assert fake_resharmonics.token_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_eight_processes_share_one_token_through_redis(
    redis_server: RedisServer, fake_resharmonics: FakeResharmonics
) -> None:
    outcomes = run_processes(fake_resharmonics, ("redis", redis_server.url))
    assert sorted(outcomes) == [("first", 200, 0)] * PROCESSES + [("second", 200, 1)] * PROCESSES
    assert fake_resharmonics.token_requests == 2


# -- the Redis cache -----------------------------------------------------------------------


def test_redis_ttl_ends_before_the_token(
    redis_server: RedisServer, fake_resharmonics: FakeResharmonics
) -> None:
    import redis

    cache = RedisTokenCache(redis_server.url, prefix="ttl-test:")
    auth = fake_resharmonics.auth(cache=cache)
    units(fake_resharmonics, auth)
    client = redis.Redis.from_url(redis_server.url)
    key = cache.name(auth._manager.key)
    ttl = client.pttl(key)
    assert 3000_000 < ttl <= (3600 - 60) * 1000
    stored = client.get(key)
    assert isinstance(stored, bytes)
    assert fake_resharmonics.client_secret.encode() not in stored
    assert auth.token is not None
    assert auth.token.access_token.encode() not in stored


def test_redis_lock_is_released_only_by_its_owner(redis_server: RedisServer) -> None:
    import redis

    cache = RedisTokenCache(redis_server.url, prefix="lock-test:")
    client = redis.Redis.from_url(redis_server.url)
    with cache.lock("k", wait=1) as acquired:
        assert acquired
        with cache.lock("k", wait=0.1) as second:
            assert not second
        lock = cache.name("k") + ":lock"
        assert client.get(lock) is not None  # ours, under the name the cache uses
        client.set(lock, "someone-else")  # our lock expired; another took it
    assert client.get(lock) == b"someone-else"


def test_redis_stopped_mid_run_and_restarted(
    own_redis_server: RedisServer,
    fake_resharmonics: FakeResharmonics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis

    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    cache = RedisTokenCache(own_redis_server.url)
    auth = fake_resharmonics.auth(cache=cache)
    assert units(fake_resharmonics, auth) == 200
    own_redis_server.stop()
    fake_resharmonics.expire_all_tokens()
    for _ in range(3):
        assert units(fake_resharmonics, auth) == 200
    assert len([r for r in caplog.records if "unavailable" in r.getMessage()]) == 1
    own_redis_server.start()
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200
    assert any("available again" in r.getMessage() for r in caplog.records)
    assert redis.Redis.from_url(own_redis_server.url).exists(cache.name(auth._manager.key))
    assert auth.token is not None
    assert auth._manager.codec.decode(cache.get(auth._manager.key)) == auth.token


def test_redis_cache_from_a_url_pickles(redis_server: RedisServer) -> None:
    import pickle

    cache = pickle.loads(pickle.dumps(RedisTokenCache(redis_server.url, prefix="p:")))
    assert cache.prefix == "p:"
    cache.set("k", "v1:id:payload", 4e9)
    assert cache.get("k") == "v1:id:payload"
    cache.delete_if("k", "other")
    assert cache.get("k") == "v1:id:payload"
    cache.delete_if("k", "id")
    assert cache.get("k") is None


def test_an_auth_object_with_a_shared_cache_pickles(
    redis_server: RedisServer, tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    import pickle

    for cache in (RedisTokenCache(redis_server.url), FileTokenCache(tmp_path / "t.json")):
        auth = fake_resharmonics.auth(cache=cache)
        units(fake_resharmonics, auth)
        clone = pickle.loads(pickle.dumps(auth))
        process.current().memory_cache.clear()
        clone._manager._current = None  # as in a fresh process: only the shared cache
        assert units(fake_resharmonics, clone) == 200
    assert fake_resharmonics.token_requests == 2
