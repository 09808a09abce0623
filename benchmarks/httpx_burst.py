"""httpx: token requests per burst after an expiry, and how long the event loop stalls.

Run: ``python benchmarks/httpx_burst.py [--calls 64] [--token-delay 0.5]`` (needs the
``httpx`` extra). Against the fake server in this process:

- 64 calls from a thread pool over one ``httpx.Client``, then 64 coroutines over one
  ``httpx.AsyncClient``, each burst right after the server expired every token: the token
  requests each burst caused (target: 1) and its wall time;
- the longest gap of a coroutine ticking every 10 ms while a cold start waits for a token
  endpoint that takes ``--token-delay`` seconds (target: far below that delay; a token
  request made on the loop would stall it for the whole delay).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from requests_resharmonics.httpx import ResharmonicsHTTPXAuth
from requests_resharmonics.testing import FakeResharmonics


def auth_for(fake: FakeResharmonics) -> ResharmonicsHTTPXAuth:
    return ResharmonicsHTTPXAuth(fake.client_id, fake.client_secret, fake.token_url)


def sync_burst(fake: FakeResharmonics, calls: int) -> tuple[int, float]:
    auth = auth_for(fake)
    url = fake.base_url + "/api/v3/units"
    with httpx.Client(auth=auth, limits=httpx.Limits(max_connections=calls)) as client:
        auth.valid_token()
        fake.expire_all_tokens()
        before = fake.token_requests
        started = time.perf_counter()
        with ThreadPoolExecutor(calls) as pool:
            statuses = list(pool.map(lambda _: client.get(url).status_code, range(calls)))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * calls, statuses
    return fake.token_requests - before, elapsed


def async_burst(fake: FakeResharmonics, calls: int) -> tuple[int, float]:
    auth = auth_for(fake)

    async def run() -> tuple[int, float]:
        async with httpx.AsyncClient(auth=auth, base_url=fake.base_url) as client:
            await auth.avalid_token()
            fake.expire_all_tokens()
            before = fake.token_requests
            started = time.perf_counter()
            answers = await asyncio.gather(*(client.get("/api/v3/units") for _ in range(calls)))
            elapsed = time.perf_counter() - started
        assert [a.status_code for a in answers] == [200] * calls
        return fake.token_requests - before, elapsed

    return asyncio.run(run())


def loop_stall(fake: FakeResharmonics, token_delay: float) -> float:
    fake.token_delay = token_delay
    auth = auth_for(fake)

    async def run() -> float:
        longest = 0.0
        async with httpx.AsyncClient(auth=auth, base_url=fake.base_url) as client:
            call = asyncio.create_task(client.get("/api/v3/units"))
            last = time.perf_counter()
            while not call.done():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                longest, last = max(longest, now - last), now
            (await call).raise_for_status()
        return longest

    try:
        return asyncio.run(run())
    finally:
        fake.token_delay = 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=64)
    parser.add_argument("--token-delay", type=float, default=0.5)
    args = parser.parse_args()
    with FakeResharmonics(token_delay=0.2) as fake:
        tokens, seconds = sync_burst(fake, args.calls)
        print(
            f"sync,  {args.calls} threads after expiry:    {tokens} token request(s), {seconds:.2f} s"
        )
        tokens, seconds = async_burst(fake, args.calls)
        print(
            f"async, {args.calls} coroutines after expiry: {tokens} token request(s), {seconds:.2f} s"
        )
    with FakeResharmonics() as fake:
        stall = loop_stall(fake, args.token_delay)
        print(
            f"event loop: longest stall {stall * 1000:.0f} ms while a token request took "
            f"{args.token_delay * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
