"""Benchmarks of requests-resharmonics beside the libraries users would otherwise pick.

Run: tox -e bench            (or: python benchmarks/bench.py [--quick] [--chart out.png])

Every figure comes from one run on one machine, against the project's fake server running in
a separate process. See benchmarks/README.rst for the scenarios and the latest table.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import scenarios
from contenders import ALL, Contender, FixedHeader, Resharmonics, Server
from remote import RemoteFake

THREADS = 8
BURST = 32
PROCESSES = 8


def table(title: str, rows: dict[str, dict[str, Any]], columns: list[str]) -> str:
    """Format rows as an reStructuredText simple table."""

    def cell(value: Any) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, float):
            return f"{value:.3f}" if value < 10 else f"{value:.0f}"
        return str(value)

    header = ["contender", *columns]
    body = [[name, *(cell(row.get(column)) for column in columns)] for name, row in rows.items()]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    lines = [
        title,
        "",
        rule,
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        rule,
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in body]
    lines += [rule, ""]
    return "\n".join(lines)


def machine() -> str:
    versions = []
    for package in (
        "requests",
        "urllib3",
        "requests-oauthlib",
        "requests-oauth2client",
        "requests-auth",
        "Authlib",
        "redis",
        "psycopg",
        "requests-resharmonics",
    ):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        + ", ".join(versions)
    )


def contenders_except_floor() -> list[type[Contender]]:
    return [cls for cls in ALL if cls is not FixedHeader]


def run_throughput(args: argparse.Namespace, results: dict[str, Any]) -> None:
    with RemoteFake() as fake:
        server = scenarios.server_of(fake)
        contenders = {cls.name: cls(server) for cls in ALL}
        url = fake.base_url + scenarios.PATH
        rows = scenarios.throughput(contenders, url, args.calls, 25)
        for name, contender in contenders.items():
            rows[name]["auth µs"] = scenarios.auth_step_cost(contender, url)
            contender.close()
    results["a"] = rows
    print(
        table(
            f"(a) {args.calls} sequential keep-alive GETs each, ratio to the floor (median over "
            "turns of 25); (b) the auth step with a valid token, µs (timeit, no network)",
            rows,
            ["calls/s", "ratio", "CPU µs/call", "CPU ratio", "auth µs"],
        ),
        flush=True,
    )


def run_expiry(
    args: argparse.Namespace, results: dict[str, Any], key: str, options: dict[str, Any], title: str
) -> None:
    rows = {}
    for cls in contenders_except_floor():
        with RemoteFake(**options) as fake:
            rows[cls.name] = scenarios.threads_for(cls, fake, THREADS, args.seconds)
    results[key] = rows
    print(table(title, rows, ["calls", "failed", "failed %", "token requests"]), flush=True)


def run_together(
    results: dict[str, Any],
    key: str,
    title: str,
    scenario: Callable[[Callable[[Server], Contender], RemoteFake, int], Any],
) -> None:
    rows = {}
    for cls in contenders_except_floor():
        with RemoteFake(token_delay=0.1) as fake:
            rows[cls.name] = scenario(cls, fake, BURST)
    results[key] = rows
    print(table(title, rows, ["failed", "token requests"]), flush=True)


def run_shared_caches(args: argparse.Namespace, results: dict[str, Any]) -> None:
    """(g) and (i): the shared caches, file, Redis, SQLite and PostgreSQL (caches.py)."""
    import caches

    cold: dict[str, dict[str, Any]] = {}
    renewals: dict[str, dict[str, Any]] = {}
    with caches.caches() as available:
        for name, cache in available.items():
            row = f"ResharmonicsAuth + {name}"
            if cache is None:
                cold[row] = renewals[row] = {"calls": "skipped: server not installed"}
                continue
            if "g" in args.only:
                cold[row] = caches.cold_start(cache)
            if "i" in args.only:
                renewals[row] = {**caches.renewals(cache), **caches.lookups(cache)}
    if "g" in args.only:
        results["g"] = cold
        print(
            table(
                f"(g) {PROCESSES} processes started together, 20 calls each, sharing a cache",
                cold,
                ["calls", "failed", "token requests"],
            ),
            flush=True,
        )
    if "i" in args.only:
        results["i"] = renewals
        print(
            table(
                f"(i) {PROCESSES} processes sharing a cache through {caches.ROUNDS} expiries "
                "(one call each a round); the cost of a cached lookup "
                f"({caches.LOOKUPS} lookups)",
                renewals,
                [
                    "failed",
                    "token requests cold",
                    "per renewal",
                    "get p50 µs",
                    "get p99 µs",
                    "get+decrypt p50 µs",
                ],
            ),
            flush=True,
        )


def run_latency(args: argparse.Namespace, results: dict[str, Any]) -> None:
    rows = {}
    for label, background in (("background renewal on", True), ("background renewal off", False)):
        with RemoteFake(token_lifetime=3, token_delay=0.5) as fake:
            server = scenarios.server_of(fake)
            rows[f"ResharmonicsAuth, {label}"] = scenarios.latencies(
                functools.partial(Resharmonics, server, background_renewal=background),
                fake,
                THREADS,
                args.latency_seconds,
            )
    results["h"] = rows
    print(
        table(
            f"(h) {THREADS} threads for {args.latency_seconds:g} s; tokens live 3 s and every token "
            "request takes 0.5 s",
            rows,
            ["calls", "failed", "p50 ms", "p99.9 ms", "slowest ms", "token requests"],
        ),
        flush=True,
    )


def chart(results: dict[str, Any], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no chart: install matplotlib (pip install 'requests-resharmonics[bench]')")
        return
    panels = [
        ("a", "ratio", "(a) throughput / floor"),
        ("c", "failed %", "(c) failed calls %, early expiry"),
        ("d", "token requests", "(d) token requests in 6 s of 2 s tokens (log scale)"),
        ("e", "token requests", "(e) token requests, 32-thread cold start"),
        ("f", "failed", "(f) failed calls of 32 receiving the expiry 401 together"),
    ]
    panels = [panel for panel in panels if panel[0] in results]
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 2.6 * len(panels)))
    for axis, (key, column, title) in zip(
        list(axes) if len(panels) > 1 else [axes], panels, strict=True
    ):
        names = list(results[key])
        values = [float(results[key][name].get(column) or 0) for name in names]
        axis.barh(names, values, color=["#2a7" if "Resharmonics" in n else "#999" for n in names])
        axis.set_title(title, fontsize=10)
        if "log scale" in title:
            axis.set_xscale("log")
        axis.invert_yaxis()
        for y, value in enumerate(values):
            axis.text(value, y, f" {value:.3g}", va="center", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"chart written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--only", default="abcdefghi", help="scenarios to run, e.g. 'ae'")
    parser.add_argument("--chart", metavar="PNG", help="also draw a chart (needs matplotlib)")
    parser.add_argument("--calls", type=int, help="calls per contender in (a) (default 3000)")
    args = parser.parse_args()
    args.calls = args.calls or (500 if args.quick else 3000)
    args.seconds = 2.0 if args.quick else 6.0
    args.latency_seconds = 6.0 if args.quick else 30.0
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the others refuse http
    started = time.monotonic()
    print(f"machine: {machine()}\ncommand: {' '.join(['python', *sys.argv])}\n", flush=True)
    results: dict[str, Any] = {}
    if "a" in args.only or "b" in args.only:
        run_throughput(args, results)
    if "c" in args.only:
        run_expiry(
            args,
            results,
            "c",
            {"token_lifetime": 3600, "server_lifetime": 1},
            f"(c) {THREADS} threads for {args.seconds:g} s; the server expires each token "
            "1 s after issuing it although expires_in says 3600",
        )
    if "d" in args.only:
        run_expiry(
            args,
            results,
            "d",
            {"token_lifetime": 2},
            f"(d) {THREADS} threads for {args.seconds:g} s; tokens honestly live 2 s",
        )
    if "e" in args.only:
        run_together(
            results,
            "e",
            f"(e) {BURST} threads making their first call at the same "
            "instant (token requests take 0.1 s)",
            scenarios.cold_start,
        )
    if "f" in args.only:
        run_together(
            results,
            "f",
            f"(f) {BURST} threads receiving the expiry 401 at the same "
            "instant: token requests beyond the first token",
            scenarios.burst_of_401s,
        )
    if "g" in args.only or "i" in args.only:
        run_shared_caches(args, results)
    if "h" in args.only:
        run_latency(args, results)
    if args.chart:
        chart(results, args.chart)
    print(f"total time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
