"""The benchmark scenarios. Each returns a row of figures for one contender."""

from __future__ import annotations

import statistics
import threading
import time
import timeit
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contenders import Contender, Server
from remote import RemoteFake

Figures = dict[str, Any]
PATH = "/api/v3/units/1001"


def server_of(fake: RemoteFake) -> Server:
    return Server(fake.base_url, fake.token_url, fake.client_id, fake.client_secret)


def safe_get(contender: Contender, url: str) -> bool:
    """Make one call; return whether it succeeded (200), counting exceptions as failures."""
    try:
        return contender.get(url) == 200
    except Exception:
        return False


def throughput(contenders: dict[str, Contender], url: str, calls: int, block: int) -> Figures:
    """(a) Sequential keep-alive GETs, contenders taking turns block by block."""
    for contender in contenders.values():
        safe_get(contender, url)  # open connections and fetch tokens before timing
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, float] = dict.fromkeys(contenders, 0.0)
    for _ in range(max(calls // block, 1)):
        for name, contender in contenders.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            for _ in range(block):
                contender.get(url)
            rates[name].append(block / (time.perf_counter() - started))
            cpu[name] += time.process_time() - started_cpu
    floor = rates["floor: fixed header"]
    return {
        name: {
            "calls/s": len(values) * block / sum(block / value for value in values),
            "ratio": statistics.median(
                ours / base for ours, base in zip(values, floor, strict=True)
            ),
            # The client's own CPU per call: steadier than wall time on a shared machine.
            "CPU µs/call": 1e6 * cpu[name] / (len(values) * block),
            "CPU ratio": cpu["floor: fixed header"] / cpu[name],
        }
        for name, values in rates.items()
    }


def auth_step_cost(contender: Contender, url: str, number: int = 20000) -> float | None:
    """(b) Microseconds the library adds to one request with a valid token (no network)."""
    step = contender.auth_step(url)
    if step is None:
        return None
    step()
    best = min(timeit.repeat(step, number=number, repeat=5))
    return best / number * 1e6


def threads_for(
    make: Callable[[Server], Contender], fake: RemoteFake, threads: int, seconds: float
) -> Figures:
    """(c), (d) Many threads calling for a while; failed calls and token requests."""
    before = fake.token_requests  # before the contender: some fetch when they are made
    contender = make(server_of(fake))
    url = fake.base_url + PATH
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(threads)

    def work() -> tuple[int, int]:
        calls = failures = 0
        barrier.wait()
        while time.monotonic() < deadline:
            calls += 1
            failures += not safe_get(contender, url)
        return calls, failures

    with ThreadPoolExecutor(threads) as pool:
        results = [future.result() for future in [pool.submit(work) for _ in range(threads)]]
    contender.close()
    calls = sum(calls for calls, _ in results)
    failures = sum(failures for _, failures in results)
    return {
        "calls": calls,
        "failed": failures,
        "failed %": 100.0 * failures / max(calls, 1),
        "token requests": fake.token_requests - before,
    }


def together(contender: Contender, url: str, threads: int) -> tuple[int, int]:
    """Release ``threads`` calls at one instant; return (calls, failures)."""
    barrier = threading.Barrier(threads)

    def work() -> bool:
        barrier.wait()
        return safe_get(contender, url)

    with ThreadPoolExecutor(threads) as pool:
        outcomes = [future.result() for future in [pool.submit(work) for _ in range(threads)]]
    return len(outcomes), outcomes.count(False)


def cold_start(make: Callable[[Server], Contender], fake: RemoteFake, threads: int) -> Figures:
    """(e) Many threads making their first call together: token requests.

    Contenders that fetch in their constructor (the session-style ones) have made their one
    request before the threads start; that request is counted.
    """
    before = fake.token_requests
    contender = make(server_of(fake))
    _calls, failures = together(contender, fake.base_url + PATH, threads)
    contender.close()
    return {"failed": failures, "token requests": fake.token_requests - before}


def burst_of_401s(make: Callable[[Server], Contender], fake: RemoteFake, threads: int) -> Figures:
    """(f) Many threads receiving the expiry 401 together: failures and new token requests."""
    contender = make(server_of(fake))
    url = fake.base_url + PATH
    safe_get(contender, url)
    fake.ask("expire_all_tokens")
    before = fake.token_requests
    _calls, failures = together(contender, url, threads)
    contender.close()
    return {"failed": failures, "token requests": fake.token_requests - before}


def latencies(
    make: Callable[[], Contender], fake: RemoteFake, threads: int, seconds: float
) -> Figures:
    """(h) Call latencies while tokens keep expiring and the token endpoint is slow.

    The first token is fetched before timing starts: a cold start waits for a token whatever
    the library does.
    """
    contender = make()
    url = fake.base_url + PATH
    safe_get(contender, url)
    deadline = time.monotonic() + seconds
    barrier = threading.Barrier(threads)

    def work() -> tuple[list[float], int]:
        spent: list[float] = []
        failures = 0
        barrier.wait()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            failures += not safe_get(contender, url)
            spent.append(time.perf_counter() - started)
        return spent, failures

    with ThreadPoolExecutor(threads) as pool:
        results = [future.result() for future in [pool.submit(work) for _ in range(threads)]]
    contender.close()
    spent = sorted(value for values, _ in results for value in values)
    return {
        "calls": len(spent),
        "failed": sum(failures for _, failures in results),
        "p50 ms": 1000 * spent[len(spent) // 2],
        "p99.9 ms": 1000 * spent[min(int(len(spent) * 0.999), len(spent) - 1)],
        "slowest ms": 1000 * spent[-1],
        "token requests": fake.token_requests - 1,  # beyond the first
    }
