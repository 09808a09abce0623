"""Code run in child processes by the shared-cache scenario (importable, for spawn)."""

from __future__ import annotations

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
    """The shared cache of a kind ("file", "redis", "sql") at a path or URL."""
    if kind == "file":
        return FileTokenCache(where)
    if kind == "sql":
        return SQLTokenCache(where)
    return RedisTokenCache(where)


def calls_with_shared_cache(
    server: dict[str, str], cache: tuple[str, str], calls: int, start: Any, results: Any
) -> None:
    """Wait for the others, then make ``calls`` calls; report the failures."""
    auth = ResharmonicsAuth(
        server["client_id"], server["client_secret"], server["token_url"], cache=make_cache(*cache)
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


def calls_in_rounds(
    server: dict[str, str], cache: tuple[str, str], rounds: int, barrier: Any, results: Any
) -> None:
    """Make one call a round, all processes together, the server expiring tokens between
    rounds; report the failures."""
    auth = ResharmonicsAuth(
        server["client_id"], server["client_secret"], server["token_url"], cache=make_cache(*cache)
    )
    failures = 0
    with requests.Session() as session:
        for _ in range(rounds):
            barrier.wait(120)
            try:
                ok = session.get(server["url"], auth=auth, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            failures += not ok
            barrier.wait(120)
    results.put(failures)


def numbered_page(request: Any) -> Any:
    """A synthetic list for the export benchmark: ``total`` numbered items, ~100 bytes each."""
    total = request.query.integer("total") or 0
    page = request.query.integer("page") or 0
    size = request.query.integer("size") or 20
    content = [
        {"n": n, "bookingReference": f"20261128-{n % 100000:05d}", "note": "x" * 48}
        for n in range(page * size, min((page + 1) * size, total))
    ]
    pages = -(-total // size)
    return {
        "content": content,
        "page": {"size": size, "number": page, "totalElements": total, "totalPages": pages},
    }


def stays_page(request: Any) -> Any:
    """`numbered_page` with a ``roomStayId`` on each row, as bookings rows have: the export's
    repeat check then keeps one id per row."""
    page = numbered_page(request)
    for row in page["content"]:
        row["roomStayId"] = 5_000_000 + row["n"]
    return page
