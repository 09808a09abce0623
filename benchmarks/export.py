"""Whole-collection exports: sequential, overlapped and concurrent, against 100 ms of latency.

    python export.py [--pages 200] [--memory-pages 2000]

The fake runs in its own process with ``api_delay`` 0.1 s, so each page costs a round trip
as it would over a network. Caller work is 50 ms per page (a sleep, as a database write
would). Targets (issue "fast exports"): overlap with caller work at most 1.1 times the pure
network time; concurrency 8 at most 0.2 of the sequential export; peak memory for 2,000
pages within 10 MiB of that for 20; no failed export and one token request per expiry,
with tokens expired and 429s injected during the export.
"""

from __future__ import annotations

import argparse
import threading
import time
import tracemalloc
from typing import Any

from remote import RemoteFake
from workers import numbered_page

from requests_resharmonics import ResharmonicsSession

PATH = "/api/v3/numbers"
PAGE_SIZE = 100


def session_for(fake: RemoteFake) -> ResharmonicsSession:
    return ResharmonicsSession(
        fake.client_id, fake.client_secret, fake.token_url, base_url=fake.base_url
    )


def export(
    session: ResharmonicsSession, pages: int, *, work: float, prefetch: bool, concurrency: int
) -> tuple[float, int]:
    """Walk ``pages`` pages; sleep ``work`` per page as the caller's work. Return time, items."""
    started = time.perf_counter()
    count = 0
    params = {"total": pages * PAGE_SIZE}
    for item in session.paginate(
        PATH, params, page_size=PAGE_SIZE, prefetch=prefetch, concurrency=concurrency
    ):
        count += 1
        if work and item["n"] % PAGE_SIZE == 0:
            time.sleep(work)
    return time.perf_counter() - started, count


def speed(pages: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    with RemoteFake(api_delay=0.1) as fake:
        fake.ask("add_route", "GET", PATH, numbered_page)
        session = session_for(fake)
        session.fetch_token()
        network = pages * 0.1
        for label, prefetch, concurrency in (
            ("sequential", False, 1),
            ("overlap (default)", True, 1),
            ("concurrency=8", True, 8),
        ):
            for work in (0.0, 0.05):
                seconds, count = export(
                    session, pages, work=work, prefetch=prefetch, concurrency=concurrency
                )
                assert count == pages * PAGE_SIZE
                rows[f"{label}, {'50 ms work' if work else 'no work'}"] = {
                    "seconds": seconds,
                    "ratio to network": seconds / network,
                }
    return rows


def memory(pages: int) -> float:
    """Peak traced memory, in MiB, of an export of ``pages`` pages written nowhere."""
    with RemoteFake() as fake:
        fake.ask("add_route", "GET", PATH, numbered_page)
        session = session_for(fake)
        session.fetch_token()
        tracemalloc.start()
        tracemalloc.reset_peak()
        export(session, pages, work=0.0, prefetch=True, concurrency=8)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def under_fire(pages: int) -> dict[str, Any]:
    """Concurrency 8 while tokens are expired every second and 429s come every half second."""
    with RemoteFake(api_delay=0.1) as fake:
        fake.ask("add_route", "GET", PATH, numbered_page)
        session = session_for(fake)
        session.fetch_token()
        stop = threading.Event()
        expiries = 0
        throttled = 0

        def fire() -> None:
            nonlocal expiries, throttled
            while not stop.wait(0.5):
                fake.ask("throttle", 2, 0.2)
                throttled += 2
                if int(time.monotonic() * 2) % 2 == 0:
                    fake.ask("expire_all_tokens")
                    expiries += 1

        before = fake.token_requests
        firing = threading.Thread(target=fire)
        firing.start()
        try:
            seconds, count = export(session, pages, work=0.0, prefetch=True, concurrency=8)
            failed = count != pages * PAGE_SIZE
        finally:
            stop.set()
            firing.join()
        return {
            "seconds": seconds,
            "failed": failed,
            "expiries": expiries,
            "429s injected": throttled,
            "token requests": fake.token_requests - before,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--memory-pages", type=int, default=2000)
    args = parser.parse_args()
    rows = speed(args.pages)
    print(f"export of {args.pages} pages of {PAGE_SIZE}, API latency 100 ms "
          f"(pure network time {args.pages * 0.1:.1f} s)")  # fmt: skip
    print(f"  {'export':36} {'seconds':>8} {'x network':>10}")
    for label, row in rows.items():
        print(f"  {label:36} {row['seconds']:8.2f} {row['ratio to network']:10.3f}")
    sequential = rows["sequential, no work"]["seconds"]
    overlap = rows["overlap (default), 50 ms work"]["seconds"] / sequential
    concurrent = rows["concurrency=8, no work"]["seconds"] / sequential
    small, large = memory(20), memory(args.memory_pages)
    fire = under_fire(args.pages)
    print("targets")
    print(f"  overlap with work / sequential without work  {overlap:.3f}  (target <= 1.10)")
    print(f"  concurrency 8 / sequential                  {concurrent:.3f}  (target <= 0.20)")
    print(f"  peak memory, 20 pages          {small:.2f} MiB")
    print(f"  peak memory, {args.memory_pages} pages       {large:.2f} MiB  "
          f"(difference {large - small:.2f}, target <= 10)")  # fmt: skip
    print(f"  under fire: {fire['seconds']:.2f} s, failed {fire['failed']}, "
          f"{fire['expiries']} expiries, {fire['429s injected']} 429s injected, "
          f"{fire['token requests']} token requests (target: as many as expiries)")  # fmt: skip


if __name__ == "__main__":
    main()
