"""The soak: many threads, short-lived tokens, random revocations, for a while.

Run: tox -e soak -- --seconds 60       (CI runs a short form: tox -e soak)

32 threads share one ResharmonicsAuth and call the fake server (in another process) while
tokens live 1 second and the server expires the newest token early at random moments, as
the real service may. Revocations come at least a second apart and hit the newest token
that is at least a quarter of a second old, the one in use. (A token revoked the moment it
is issued, before the API has accepted it once, looks like an API that rejects every token:
replays with it get the 401 and renewals pause; SECURITY.rst says so.) With
--shared-session every thread shares one plain requests.Session(), whose pool of 10
connections overflows. It reports failed calls (target 0), token requests against the
minimum any client could make (target within 10%), and threads, open sockets and memory
at the start and the end (target: no growth). It exits non-zero when a call failed or
threads or sockets were left behind, and with --strict also when the token target is missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import threading
import time

import requests
from remote import RemoteFake

from requests_resharmonics import ResharmonicsAuth

MIN_REVOCATION_GAP = 1.0
MIN_REVOKED_AGE = 0.25


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def rss_mib() -> float:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return -1.0


def minimum_tokens(started: float, ended: float, lifetime: float, revoked: list[float]) -> int:
    """Tokens an ideal client needs: one per lifetime, and one more after each revocation
    of the token in use."""
    count, issued, pending = 1, started, sorted(revoked)
    while True:
        ends = issued + lifetime
        while pending and pending[0] <= issued:
            pending.pop(0)
        if pending and pending[0] < ends:
            ends = pending.pop(0)
        if ends >= ended:
            return count
        count, issued = count + 1, ends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--lifetime", type=float, default=1.0)
    parser.add_argument("--revocations-per-second", type=float, default=0.3)
    parser.add_argument("--strict", action="store_true", help="also enforce the token target")
    parser.add_argument(
        "--shared-session",
        action="store_true",
        help="all threads share one plain requests.Session() (urllib3's default pool of 10 "
        "connections, fewer than the threads), as most integrators write it",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with RemoteFake(token_lifetime=args.lifetime) as fake:
        auth = ResharmonicsAuth(fake.client_id, fake.client_secret, fake.token_url)
        url = fake.base_url + "/api/v3/units/1001"
        with requests.Session() as warm:
            warm.get(url, auth=auth, timeout=30).raise_for_status()
        gc.collect()
        start = {"threads": threading.active_count(), "fds": open_fds(), "rss": rss_mib()}
        first_token_at = time.time() - 0.01
        calls = [0] * args.threads
        failures = [0] * args.threads
        kinds: dict[str, int] = {}
        stop = threading.Event()
        barrier = threading.Barrier(args.threads + 1)

        shared = requests.Session() if args.shared_session else None

        def work(index: int) -> None:
            with shared or requests.Session() as session:
                barrier.wait()
                while not stop.is_set():
                    calls[index] += 1
                    try:
                        answer = session.get(url, auth=auth, timeout=30)
                        kind = f"HTTP {answer.status_code} after {len(answer.history)} replays"
                    except requests.RequestException as error:
                        kind = type(error).__name__
                    if not kind.startswith("HTTP 200 "):
                        failures[index] += 1
                        kinds[kind] = kinds.get(kind, 0) + 1

        workers = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
        for worker in workers:
            worker.start()
        barrier.wait()
        revoked: list[float] = []
        revocations = 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            gap = max(rng.expovariate(args.revocations_per_second), MIN_REVOCATION_GAP)
            time.sleep(max(min(gap, deadline - time.monotonic()), 0))
            if time.monotonic() >= deadline:
                break
            newest = fake.ask("issued_tokens")[-1]
            expired = fake.ask("expire_newest_token", MIN_REVOKED_AGE)
            if expired:
                revocations += 1
                if expired == newest:  # the token in use: an ideal client needs another
                    revoked.append(time.time())
        stop.set()
        for worker in workers:
            worker.join()
        ended = time.time()
        if shared is not None:
            shared.close()
        auth.close()
        time.sleep(0.5)  # let a background renewal in flight finish
        gc.collect()
        end = {"threads": threading.active_count(), "fds": open_fds(), "rss": rss_mib()}
        tokens = fake.token_requests
        minimum = minimum_tokens(first_token_at, ended, args.lifetime, revoked)

    total, failed = sum(calls), sum(failures)
    ratio = tokens / minimum
    print(
        f"soak: {args.threads} threads"
        + (" sharing one requests.Session() (10 connections)" if args.shared_session else "")
        + f" for {args.seconds:g} s, tokens live {args.lifetime:g} s, "
        f"{revocations} random revocations ({len(revoked)} of the token in use)"
    )
    print(f"  calls           {total}  ({total / args.seconds:.0f}/s)")
    print(f"  failed calls    {failed}   (target 0)")
    for kind, count in sorted(kinds.items()):
        print(f"    {kind}: {count}")
    print(f"  token requests  {tokens}  minimum {minimum}  ratio {ratio:.3f}   (target <= 1.10)")
    for key, unit in (("threads", ""), ("fds", ""), ("rss", " MiB")):
        print(f"  {key:15} start {start[key]:.0f}{unit}  end {end[key]:.0f}{unit}")
    problems = []
    if failed:
        problems.append("calls failed")
    if end["threads"] > start["threads"]:
        problems.append("threads left behind")
    if end["fds"] > start["fds"]:
        problems.append("file descriptors left behind")
    if args.strict and ratio > 1.10:
        problems.append("more than 10% above the minimum of token requests")
    print("  verdict         " + ("; ".join(problems) if problems else "all targets hold"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
