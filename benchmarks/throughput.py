"""Throughput of sequential keep-alive GETs: ResharmonicsAuth against a fixed header.

Run: python benchmarks/throughput.py [--calls 2000] [--rounds 5]

The calls are made in small blocks, the contenders taking turns block by block on their own
keep-alive connections to a fake server in another process, so that a noisy neighbour slows
every contender alike rather than one of them. Each contender's figure is its total calls
over its total time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import requests
from requests.auth import AuthBase

from remote import RemoteFake

from requests_resharmonics import ResharmonicsAuth, ResharmonicsSession


class FixedHeader(AuthBase):
    """The floor: a bearer header that never changes."""

    def __init__(self, token: str) -> None:
        self.header = "Bearer " + token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self.header
        return request


def rate(call: Callable[[], requests.Response], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call().raise_for_status()
    return calls / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--block", type=int, default=100, help="calls per turn")
    args = parser.parse_args()
    with RemoteFake() as fake:
        url = fake.base_url + "/api/v3/units/1001"
        auth = ResharmonicsAuth(fake.client_id, fake.client_secret, fake.token_url)
        floor_session = requests.Session()
        floor_session.auth = FixedHeader(auth.valid_token().access_token)
        auth_session = requests.Session()
        auth_session.auth = auth
        resharmonics_session = ResharmonicsSession(
            fake.client_id, fake.client_secret, token_url=fake.token_url, base_url=fake.base_url
        )
        contenders: dict[str, Callable[[], requests.Response]] = {
            "fixed Authorization header": lambda: floor_session.get(url),
            "ResharmonicsAuth": lambda: auth_session.get(url),
            "ResharmonicsSession": lambda: resharmonics_session.get("/api/v3/units/1001"),
        }
        for call in contenders.values():  # open the connections before timing
            call().raise_for_status()
        turns: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(max(args.calls // args.block, 1)):
            for name, call in contenders.items():
                turns[name].append(rate(call, args.block))
        calls = len(turns["fixed Authorization header"]) * args.block
        floor = turns["fixed Authorization header"]
        print(f"{calls} sequential keep-alive GETs each, in turns of {args.block}")
        print(f"  {'':28} {'calls/s':>8}   median ratio to the floor over turns")
        for name, rates in turns.items():
            overall = calls / sum(args.block / value for value in rates)
            ratio = statistics.median(ours / base for ours, base in zip(rates, floor))
            print(f"  {name:28} {overall:8.0f}   {ratio:5.3f}")
        print(f"  token requests: {fake.token_requests}")


if __name__ == "__main__":
    main()
