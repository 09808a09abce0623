"""Code run in child processes by the shared-cache tests (importable, for spawn)."""

from __future__ import annotations

import collections
import time
from typing import Any

import requests

from requests_resharmonics import (
    FileTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    SQLTokenCache,
    TokenCache,
)


def make_cache(kind: str, where: str) -> TokenCache:
    if kind == "file":
        return FileTokenCache(where)
    if kind == "sql":
        return SQLTokenCache(where)
    if kind == "redis-cluster":
        return RedisTokenCache(cluster_client(where))
    return RedisTokenCache(where)


def cluster_client(where: str) -> Any:
    """A RedisCluster client for ``host:port`` of any node, failing fast when a node is down."""
    from redis.cluster import RedisCluster

    host, _, port = where.partition(":")
    return RedisCluster(
        host=host,
        port=int(port),
        socket_timeout=1,
        socket_connect_timeout=1,
    )


def call_twice(
    server: dict[str, str], cache: tuple[str, str], start: Any, expired: Any, results: Any
) -> None:
    """Call the API when released, wait while the server expires every token, call again."""
    auth = ResharmonicsAuth(
        server["client_id"], server["client_secret"], server["token_url"], cache=make_cache(*cache)
    )
    url = server["base_url"] + "/api/v3/units"
    with requests.Session() as session:
        start.wait()
        first = session.get(url, auth=auth, timeout=30)
        results.put(("first", first.status_code, len(first.history)))
        expired.wait()
        second = session.get(url, auth=auth, timeout=30)
        results.put(("second", second.status_code, len(second.history)))


def call_timed(
    server: dict[str, str],
    cache: tuple[str, str],
    lock_wait: float,
    start: Any,
    results: Any,
) -> None:
    """Call the API once when released; report the status and how long the call took.

    ``lock_wait`` is how long this process waits for another's fetch lock, and so the lease
    of its own lock.
    """
    auth = ResharmonicsAuth(
        server["client_id"], server["client_secret"], server["token_url"], cache=make_cache(*cache)
    )
    auth._manager.lock_wait = lock_wait
    url = server["base_url"] + "/api/v3/units"
    with requests.Session() as session:
        start.wait()
        started = time.monotonic()
        answer = session.get(url, auth=auth, timeout=60)
        results.put((answer.status_code, time.monotonic() - started))


def call_through_a_hold(
    server: dict[str, str],
    cache: tuple[str, str],
    timeout: float,
    shift: float,
    start: Any,
    go: Any,
    stop: Any,
    results: Any,
) -> None:
    """Call the API every 50 ms until ``stop``; from ``go`` on, by a clock ``shift`` seconds
    ahead, so that the token is due for renewal (the API, on real time, still accepts it).
    Report every answer's status, every exception, and the auth object's stats."""
    auth = ResharmonicsAuth(
        server["client_id"],
        server["client_secret"],
        server["token_url"],
        cache=make_cache(*cache),
        timeout=timeout,
    )
    statuses: collections.Counter[int] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    url = server["base_url"] + "/api/v3/units"
    with requests.Session() as session:
        start.wait()
        shifted = False
        while not stop.is_set():
            if go.is_set() and not shifted:
                auth.manager.clock = lambda: time.time() + shift
                shifted = True
            try:
                statuses[session.get(url, auth=auth, timeout=30).status_code] += 1
            except Exception as error:
                errors[f"{type(error).__name__}: {error}"] += 1
            if not shifted:
                results.put("ready")
                go.wait(30)
            time.sleep(0.05)
    results.put((dict(statuses), dict(errors), auth.stats.as_dict()))
