"""Code run in child processes by the shared-cache scenario (importable, for spawn)."""

from __future__ import annotations

from typing import Any

import requests

from requests_resharmonics import FileTokenCache, RedisTokenCache, ResharmonicsAuth


def calls_with_shared_cache(
    server: dict[str, str], cache: tuple[str, str], calls: int, start: Any, results: Any
) -> None:
    """Wait for the others, then make ``calls`` calls; report the failures."""
    kind, where = cache
    shared = FileTokenCache(where) if kind == "file" else RedisTokenCache(where)
    auth = ResharmonicsAuth(
        server["client_id"], server["client_secret"], server["token_url"], cache=shared
    )
    failures = 0
    with requests.Session() as session:
        start.wait()
        for _ in range(calls):
            try:
                ok = session.get(server["url"], auth=auth, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            failures += not ok
    results.put(failures)
