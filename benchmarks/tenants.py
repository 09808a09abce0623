"""Fleets of tenants in one process: threads, descriptors, memory and token requests.

Run: tox -e tenants                   (100, 1,000 and 10,000 tenants; a few minutes each)
     python tenants.py --tenants 1000 --library /path/to/an/older/checkout

Each tenant is one ResharmonicsAuth with a client of its own on the fake token service,
which runs in a child process (always this checkout's fake, so that an older library can be
measured against the same server). Tokens live --lifetime seconds and are renewed
--leeway seconds before expiry: by default 30 s and 1 s (about the proportions of hour-long
tokens renewed a minute early, a hundred times faster), and for fleets whose renewals would
then come faster than 83 a second, a lifetime long enough to keep them at that (120 s for
10,000 tenants, leeway a thirtieth of it): a fake token service on a small machine serves
about 130 token requests a second while 10,000 tenants are swept, and beyond it the run
measures the fake, not the library. All tenants are started together (their first calls
come at once from 16 threads); then two threads keep asking every tenant for a valid token
(what each call does first), in sweeps a few milliseconds apart, and four threads make real
API calls, round robin across the tenants, so that the API judges the tokens, for
--lifetimes lifetimes (4) after the last first token.

Reported per run: peak threads and open descriptors of the process (the benchmark's own 8
threads and its 4 API connections included), resident memory per idle tenant (after the
start, less the process before the tenants existed), token requests per tenant per
lifetime (the steady state, from each tenant's second token on; and over the whole run,
the start-up spread included), the most token requests in any one second after the first
tokens against the average rate (the target: at most 2), how late renewals were sent
after the moment booked for them, and failed calls (a token call that raised, or an API
call not answered 200).

Then churn (--churn, 100,000 by default; 0 to skip): --alive tenants (100) stay and renew
while that many more come and go, each taking a token and being dropped, from 8 threads.
Reported: the memory the process holds with the alive tenants alone (once each has
renewed), at the end of the churn, and once the gone tenants' tokens have expired (one
lifetime later, while the alive ones renew): Python allocations traced from before the
alive tenants existed (tracemalloc), live objects, and what the library keeps per tenant
(managers, calendar bookings, memory-cached tokens, fetch locks, token sessions).
"""

from __future__ import annotations

import argparse
import base64
import collections
import gc
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(HERE)
OWN_THREADS = 8  # main, sampler, 2 sweepers, 4 API callers (16 more start the tenants)
#: The default lifetime keeps a fleet's renewals at most this many a second (see above).
MOST_RENEWALS_A_SECOND = 10_000 / 120


# -- the server, in a child process ------------------------------------------------------


def serve(tenants: int, lifetime: float, churn: int = 0) -> None:
    """Run the fake with ``tenants`` (and ``churn``) clients; answer commands from stdin."""
    from requests_resharmonics.testing import FakeResharmonics

    with FakeResharmonics(token_lifetime=lifetime, jwt=False) as fake:
        for number in range(tenants):
            fake.add_client(f"tenant-{number}", f"secret-of-tenant-{number}")
        for number in range(churn):
            fake.add_client(f"churn-{number}", f"secret-of-churn-{number}")
        seen: list[tuple[float, str]] = []
        answer = fake.tokens.answer

        def recorded(incoming: Any) -> Any:
            reply = answer(incoming)
            if reply[1] is not None:  # a token was asked for by a client we know: which one?
                basic = incoming.headers.get("authorization", "").partition(" ")[2]
                who = base64.b64decode(basic).decode().partition(":")[0]
                seen.append((time.time(), who))
            return reply

        fake.tokens.answer = recorded  # type: ignore[method-assign]
        print(json.dumps({"base_url": fake.base_url, "token_url": fake.token_url}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "requests":
                print(json.dumps(seen), flush=True)
            elif command == "stop":
                return


class Server:
    def __init__(self, tenants: int, lifetime: float, churn: int = 0) -> None:
        env = dict(os.environ, PYTHONPATH=CHECKOUT)
        command = [sys.executable, __file__, "--serve", str(tenants), "--lifetime", str(lifetime)]
        self.process = subprocess.Popen(
            [*command, "--churn", str(churn)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        urls = json.loads(self.process.stdout.readline())
        self.base_url, self.token_url = urls["base_url"], urls["token_url"]

    def token_requests(self) -> list[tuple[float, str]]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("requests\n")
        self.process.stdin.flush()
        return [tuple(pair) for pair in json.loads(self.process.stdout.readline())]  # type: ignore[misc]

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        self.process.wait(30)


# -- measuring the process ---------------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def library_threads() -> int:
    """The library's threads: renewals, deadline timers or watchdog (by their names)."""
    names = ("resharmonics-token-renewal", "requests-resharmonics-deadline")
    return sum(1 for thread in threading.enumerate() if thread.name.startswith(names))


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True, name="sampler")
        self.stop = threading.Event()
        self.threads = threading.active_count()
        self.library_threads = library_threads()
        self.fds = open_fds()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.sample()

    def sample(self) -> None:
        self.threads = max(self.threads, threading.active_count())
        self.library_threads = max(self.library_threads, library_threads())
        self.fds = max(self.fds, open_fds())


# -- one run -------------------------------------------------------------------------------


def run(count: int, lifetime: float, leeway: float, lifetimes: float) -> dict[str, Any]:
    import requests

    import requests_resharmonics
    from requests_resharmonics import ResharmonicsAuth

    server = Server(count, lifetime)
    sampler = Sampler()
    sampler.start()
    triggers: list[tuple[float, str]] = []  # (when a token request began, why)
    listen = getattr(getattr(requests_resharmonics, "_tokens", None), "process", None)
    heard: Any = None
    try:
        totals = getattr(requests_resharmonics, "process_stats", None)  # absent before 0.2
        stats_before = totals().as_dict() if totals is not None else None
        gc.collect()
        memory_before = rss_bytes()
        fleet = [
            ResharmonicsAuth(
                f"tenant-{n}", f"secret-of-tenant-{n}", server.token_url, leeway=leeway
            )
            for n in range(count)
        ]
        failed = collections.Counter()
        if listen is not None and hasattr(listen, "add_listener"):

            def heard(event: Any) -> None:
                if event.kind == "token-request" and event.duration is not None:
                    triggers.append((time.time() - event.duration, str(event.trigger)))

            listen.add_listener(heard)
        started = time.time()
        start_threads = []
        for offset in range(16):  # the tenants' first calls, all at once

            def first_calls(offset: int = offset) -> None:
                for auth in fleet[offset::16]:
                    try:
                        auth.valid_token()
                    except Exception as error:
                        failed[type(error).__name__] += 1

            start_threads.append(threading.Thread(target=first_calls))
        for thread in start_threads:
            thread.start()
        for thread in start_threads:
            thread.join()
        first_tokens_done = time.time()
        gc.collect()
        sampler.sample()
        memory_per_tenant = (rss_bytes() - memory_before) / count
        stop = threading.Event()
        calls = collections.Counter()
        lags: list[float] = []  # per renewal: when its request went out, less when booked

        def sweep(share: list[Any]) -> None:
            booked: dict[int, tuple[Any, float]] = {}
            while not stop.is_set():
                for auth in share:
                    try:
                        token = auth.valid_token()
                        calls["token"] += 1
                    except Exception as error:
                        failed[type(error).__name__] += 1
                        continue
                    seen = booked.get(id(auth))
                    if seen is not None and seen[0] is not token:
                        lags.append(token.obtained_at - seen[1])
                    if seen is None or seen[0] is not token:
                        booked[id(auth)] = (token, renewal_moment(auth, token))
                stop.wait(0.005)

        def call_api(offset: int) -> None:
            url = server.base_url + "/api/v3/units/1001"
            with requests.Session() as session:
                index = offset
                while not stop.is_set():
                    auth = fleet[index % count]
                    index += 4
                    try:
                        status = session.get(url, auth=auth, timeout=30).status_code
                        calls["api"] += 1
                        if status != 200:
                            failed[f"HTTP {status}"] += 1
                    except Exception as error:
                        failed[type(error).__name__] += 1
                    stop.wait(0.02)

        workers = [threading.Thread(target=sweep, args=(fleet[i::2],)) for i in range(2)]
        workers += [threading.Thread(target=call_api, args=(i,)) for i in range(4)]
        for worker in workers:
            worker.start()
        stop.wait(first_tokens_done + lifetimes * lifetime - time.time())
        stop.set()
        for worker in workers:
            worker.join()
        ended = time.time()
        seen = server.token_requests()
        library_stats = None
        if totals is not None and stats_before is not None:  # what the library counted
            after = totals().as_dict()
            library_stats = {
                name: round(float(value or 0) - float(stats_before[name] or 0), 3)
                for name, value in after.items()
                if name != "last_request_seconds"
            }
    finally:
        sampler.stop.set()
        server.stop()
        if heard is not None:
            listen.remove_listener(heard)
    return {
        "tenants": count,
        "lifetime": lifetime,
        "leeway": leeway,
        "workers": renewal_workers(requests_resharmonics),
        "peak_threads": sampler.threads,
        "peak_library_threads": sampler.library_threads,
        "peak_fds": sampler.fds,
        "rss_kib_per_tenant": memory_per_tenant / 1024,
        "first_tokens_seconds": first_tokens_done - started,
        **token_figures(seen, started, first_tokens_done, ended, lifetime, count),
        **lag_figures(lags),
        "busiest_seconds": busiest_seconds(seen, triggers, first_tokens_done + 1),
        "calls": calls["token"],
        "api_calls": calls["api"],
        "failed": sum(failed.values()),
        "failures": dict(failed),
        "library_stats": library_stats,
    }


def busiest_seconds(
    seen: list[tuple[float, str]], triggers: list[tuple[float, str]], after: float
) -> list[dict[str, Any]]:
    """The five busiest seconds at the token endpoint, each with why the library asked."""
    per_second = collections.Counter(int(when) for when, _ in seen if when >= after)
    why: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for when, trigger in triggers:
        why[int(when)][trigger] += 1
    return [
        {"second": second - int(after), "requests": count, **why.get(second, {})}
        for second, count in per_second.most_common(5)
    ]


def renewal_moment(auth: Any, token: Any) -> float:
    """Return when ``auth`` renews ``token``: the moment booked for it (any version)."""
    current = getattr(getattr(auth, "_manager", None), "_current", None)
    if current is not None and current.token is token:
        return float(current.renew_at)
    return float("nan")


def lag_figures(lags: list[float]) -> dict[str, Any]:
    """How late renewals went out after the moment booked for them, in seconds."""
    known = sorted(lag for lag in lags if lag == lag)  # not NaN
    if not known:
        return {"renewal_lag_p50": None, "renewal_lag_p99": None, "renewal_lag_max": None}
    return {
        "renewal_lag_p50": round(known[len(known) // 2], 4),
        "renewal_lag_p99": round(known[min(len(known) - 1, int(len(known) * 0.99))], 4),
        "renewal_lag_max": round(known[-1], 4),
    }


def renewal_workers(library: Any) -> int | str:
    """Return the renewal pool's size in the library measured, whichever version it is."""
    tokens = getattr(library, "_tokens", None)
    state = getattr(tokens, "process", None)  # the process-wide state, since 0.2
    if state is not None:
        return int(state.current().renewals.max_workers)
    pool = getattr(getattr(tokens, "background", None), "workers", None)
    if pool is None:
        pool = getattr(getattr(library, "background", None), "workers", None)
    return int(pool()) if pool is not None else "one thread per renewal"


def token_figures(
    seen: list[tuple[float, str]],
    started: float,
    first_done: float,
    ended: float,
    lifetime: float,
    count: int,
) -> dict[str, Any]:
    by_tenant: dict[str, list[float]] = collections.defaultdict(list)
    for when, who in seen:
        by_tenant[who].append(when)
    steady: list[float] = []
    whole: list[float] = []
    for times in by_tenant.values():
        times.sort()
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        whole.extend(gaps)
        steady.extend(gaps[1:])
    after_start = [when for when, _ in seen if when >= first_done + 1]
    per_second = collections.Counter(int(when) for when in after_start)
    window = max(ended - (first_done + 1), 1.0)
    average = len(after_start) / window
    return {
        "token_requests": len(seen),
        "per_lifetime_steady": lifetime * len(steady) / sum(steady) if steady else None,
        "per_lifetime_whole": lifetime * len(whole) / sum(whole) if whole else None,
        "max_per_second": max(per_second.values()) if per_second else 0,
        "average_per_second": average,
        "max_over_average": (max(per_second.values()) / average) if per_second else None,
        "tenants_renewing": sum(1 for times in by_tenant.values() if len(times) > 1),
    }


# -- churn: tenants that come and go ---------------------------------------------------------


def library_state() -> dict[str, Any]:
    """What the library keeps for tenants, as far as the version measured tells."""
    module = sys.modules.get("requests_resharmonics._tokens.process")
    state = getattr(module, "current", None)
    figures: dict[str, Any] = {"objects": len(gc.get_objects())}
    if not callable(state):
        return figures
    process = state()
    store = getattr(process, "memory_cache", None)
    calendars = getattr(process, "calendars", None)
    figures.update(
        managers=len(getattr(process, "managers", ())),
        bookings=calendars.bookings() if hasattr(calendars, "bookings") else None,
        memory_cache_tokens=len(store.values) if store is not None else None,
        fetch_locks=len(store.locks) if store is not None else None,
        token_sessions=process.token_sessions.open_pools(),
    )
    return figures


def churn(count: int, alive_count: int, lifetime: float, leeway: float) -> dict[str, Any]:
    """``count`` tenants come and go beside ``alive_count`` that stay; what memory holds."""
    import tracemalloc

    from requests_resharmonics import ResharmonicsAuth

    server = Server(alive_count, lifetime, churn=count)
    stop = threading.Event()
    failed: collections.Counter[str] = collections.Counter()
    gc.collect()
    tracemalloc.start()  # before the alive tenants: what they hold is measured, whole
    try:
        alive = [
            ResharmonicsAuth(
                f"tenant-{n}", f"secret-of-tenant-{n}", server.token_url, leeway=leeway
            )
            for n in range(alive_count)
        ]

        def keep_alive() -> None:  # the tenants that stay keep calling: they renew
            while not stop.is_set():
                for auth in alive:
                    try:
                        auth.valid_token()
                    except Exception as error:
                        failed[type(error).__name__] += 1
                stop.wait(0.01)

        sweeper = threading.Thread(target=keep_alive)
        sweeper.start()
        while any(auth.token is None for auth in alive):
            time.sleep(0.05)
        stop.wait(lifetime)  # each alive tenant renews once: its memory as it will stay
        gc.collect()
        before = {**library_state(), "traced_kib": tracemalloc.get_traced_memory()[0] / 1024}
        rss_before = rss_bytes()
        started = time.time()

        def come_and_go(offset: int) -> None:
            for number in range(offset, count, 8):
                try:
                    auth = ResharmonicsAuth(
                        f"churn-{number}",
                        f"secret-of-churn-{number}",
                        server.token_url,
                        leeway=leeway,
                    )
                    auth.valid_token()
                except Exception as error:
                    failed[type(error).__name__] += 1
                del auth

        threads = [threading.Thread(target=come_and_go, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        churned = time.time()
        gc.collect()
        at_end = {**library_state(), "traced_kib": tracemalloc.get_traced_memory()[0] / 1024}
        # The gone tenants' tokens expire within a lifetime; the alive tenants' renewals
        # store later tokens meanwhile, which sweeps them out of the memory cache.
        stop.wait(lifetime + 2 * leeway + 2)
        gc.collect()
        traced, peak = tracemalloc.get_traced_memory()
        after = {**library_state(), "traced_kib": traced / 1024}
    finally:
        tracemalloc.stop()
        stop.set()
        server.stop()
    return {
        "churned": count,
        "alive": alive_count,
        "churn_seconds": round(churned - started, 1),
        "before": before,
        "at_end_of_churn": at_end,
        "a_lifetime_later": after,
        "traced_peak_kib": round(peak / 1024),
        "held_after_kib": round(after["traced_kib"] - before["traced_kib"], 1),
        "rss_growth_kib": round((rss_bytes() - rss_before) / 1024),
        "failed": sum(failed.values()),
        "failures": dict(failed),
    }


def summary(figures: dict[str, Any]) -> str:
    """One line saying what the run's targets ask."""
    ratio = figures.get("max_over_average")
    verdict = "ok" if ratio is not None and ratio <= 2 else "ABOVE 2"
    return (
        f"{figures['tenants']:,} tenants ({figures['lifetime']:g}-s tokens): busiest second "
        f"{figures['max_per_second']} token "
        f"requests, {figures['average_per_second']:.1f} a second on average: "
        f"{ratio:.2f} times the mean ({verdict}); renewals sent after their booked moment "
        f"by {figures['renewal_lag_p50']} s (median), {figures['renewal_lag_p99']} s (99%), "
        f"{figures['renewal_lag_max']} s (most); {figures['failed']} failed calls"
    )


def churn_summary(figures: dict[str, Any]) -> str:
    before, after = figures["before"], figures["a_lifetime_later"]
    return (
        f"churn: {figures['churned']:,} tenants came and went beside {figures['alive']:,} "
        f"alive in {figures['churn_seconds']} s; memory traced with the alive alone "
        f"{before['traced_kib']:.0f} KiB, at the end of the churn "
        f"{figures['at_end_of_churn']['traced_kib']:.0f} KiB, a lifetime later "
        f"{after['traced_kib']:.0f} KiB (held: {figures['held_after_kib']:+.1f} KiB); "
        f"managers {before.get('managers')} -> {after.get('managers')}, bookings "
        f"{before.get('bookings')} -> {after.get('bookings')}, memory-cached tokens "
        f"{before.get('memory_cache_tokens')} -> {after.get('memory_cache_tokens')}; "
        f"{figures['failed']} failed"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="*", default=[100, 1000, 10000])
    parser.add_argument("--lifetime", type=float, help="token lifetime (default: see above)")
    parser.add_argument("--leeway", type=float, help="default: a thirtieth of the lifetime")
    parser.add_argument(
        "--lifetimes", type=float, default=4.0, help="run length after the start, in lifetimes"
    )
    parser.add_argument("--library", help="import requests_resharmonics from this folder")
    parser.add_argument("--workers", type=int, help="renewal workers (default: the library's)")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", help="append each run's figures to this file")
    parser.add_argument(
        "--churn", type=int, default=100_000, help="tenants that come and go (0: none)"
    )
    parser.add_argument("--alive", type=int, default=100, help="tenants that stay meanwhile")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve, args.lifetime or 30.0, args.churn)
        return 0
    if args.library:
        sys.path.insert(0, os.path.abspath(args.library))
    import requests_resharmonics

    if args.workers is not None:
        requests_resharmonics.set_renewal_workers(args.workers)
    where = os.path.dirname(os.path.dirname(requests_resharmonics.__file__))
    print(f"library: {where}  label: {args.label or '-'}", flush=True)
    runs = []
    for count in args.tenants:
        lifetime = args.lifetime or max(30.0, count / MOST_RENEWALS_A_SECOND)
        figures = run(count, lifetime, args.leeway or lifetime / 30, args.lifetimes)
        figures["label"] = args.label
        runs.append(figures)
        print(json.dumps(figures), flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(figures) + "\n")
    for figures in runs:
        print(summary(figures), flush=True)
    if args.churn > 0 and args.tenants:
        # In a process of its own: the runs above leave tokens that would live on in this
        # one's memory cache for a lifetime, and blur what the churn leaves.
        command = [sys.executable, __file__, "--tenants", "--churn", str(args.churn)]
        command += ["--alive", str(args.alive), "--label", args.label]
        for option, value in (("--lifetime", args.lifetime), ("--leeway", args.leeway)):
            if value is not None:
                command += [option, str(value)]
        for option, value in (("--library", args.library), ("--json", args.json)):
            if value:
                command += [option, value]
        if args.workers is not None:
            command += ["--workers", str(args.workers)]
        return subprocess.run(command, check=False).returncode
    if args.churn > 0:
        lifetime = args.lifetime or 30.0
        figures = churn(args.churn, args.alive, lifetime, args.leeway or lifetime / 30)
        figures["label"] = args.label
        print(json.dumps(figures), flush=True)
        print(churn_summary(figures), flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
