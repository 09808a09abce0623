"""The shared caches side by side: file, Redis, SQLite and PostgreSQL.

(g) 8 processes started together, 20 calls each: token requests. (i) 8 processes through
three expiries: token requests per renewal; and what a cached lookup costs (the cache's
``get``, then the decryption of the sealed token), which is what a process pays to take a
token another process fetched.

Redis and PostgreSQL servers of the benchmark's own are started on free ports (redis-server
on the PATH; PostgreSQL from /usr/lib/postgresql/*/bin, through tests/postgres_server.py);
a cache whose server is not installed is reported as skipped.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from remote import RemoteFake
from workers import make_cache

PROCESSES = 8
ROUNDS = 3
LOOKUPS = 2000
PATH = "/api/v3/units/1001"

Caches = dict[str, tuple[str, str] | None]


@contextlib.contextmanager
def caches() -> Iterator[Caches]:
    """Start what each cache needs; yield name -> (kind, where), None where not installed."""
    folder = tempfile.mkdtemp(prefix="resharmonics-bench-")
    redis = _start_redis()
    postgres = _start_postgres()
    try:
        yield {
            "FileTokenCache": ("file", os.path.join(folder, "tokens.json")),
            "RedisTokenCache": ("redis", redis[1]) if redis else None,
            "SQLTokenCache, SQLite": ("sql", f"sqlite:///{folder}/tokens.db"),
            "SQLTokenCache, PostgreSQL": ("sql", postgres.url()) if postgres else None,
        }
    finally:
        if redis is not None:
            redis[0].terminate()
            redis[0].wait(10)
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


def cold_start(cache: tuple[str, str], calls: int = 20) -> dict[str, Any]:
    """(g) ``PROCESSES`` processes start together and make ``calls`` calls each."""
    from workers import calls_with_shared_cache

    with RemoteFake(token_delay=0.1) as fake:
        context = multiprocessing.get_context("spawn")
        start, queue = context.Barrier(PROCESSES), context.Queue()
        server = _server(fake)
        workers = [
            context.Process(
                target=calls_with_shared_cache, args=(server, cache, calls, start, queue)
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        failures = sum(queue.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(30)
        return {
            "calls": calls * PROCESSES,
            "failed": failures,
            "token requests": fake.token_requests,
        }


def renewals(cache: tuple[str, str]) -> dict[str, Any]:
    """(i) ``PROCESSES`` processes call together; the server expires every token; again."""
    from workers import calls_in_rounds

    with RemoteFake(token_delay=0.1) as fake:
        context = multiprocessing.get_context("spawn")
        rounds, queue = context.Barrier(PROCESSES + 1), context.Queue()
        workers = [
            context.Process(
                target=calls_in_rounds, args=(_server(fake), cache, ROUNDS + 1, rounds, queue)
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        try:
            rounds.wait(120)  # everyone ready: the cold round
            rounds.wait(120)  # the cold round done
            cold = fake.token_requests
            for _ in range(ROUNDS):
                fake.ask("expire_all_tokens")
                rounds.wait(120)
                rounds.wait(120)
            failures = sum(queue.get(timeout=120) for _ in workers)
        finally:
            for worker in workers:
                worker.join(30)
                if worker.is_alive():
                    worker.kill()
        return {
            "calls": PROCESSES * (ROUNDS + 1),
            "failed": failures,
            "token requests cold": cold,
            "per renewal": (fake.token_requests - cold) / ROUNDS,
        }


def lookups(cache: tuple[str, str]) -> dict[str, Any]:
    """(i) A token in the cache: the cost of reading it, and of reading and decrypting it."""
    from requests_resharmonics import ResharmonicsAuth

    with RemoteFake() as fake:
        auth = ResharmonicsAuth(
            fake.client_id, fake.client_secret, fake.token_url, cache=make_cache(*cache)
        )
        auth.valid_token()  # fetched and stored
        manager = auth._manager
        shared, key, codec = manager.cache.cache, manager.key, manager.codec
        assert codec.decode(shared.get(key)) == auth.token, "the cache lost the token"
        reads, decoded = [], []
        for _ in range(LOOKUPS):
            started = time.perf_counter()
            value = shared.get(key)
            middle = time.perf_counter()
            codec.decode(value)
            reads.append(middle - started)
            decoded.append(time.perf_counter() - started)
        close = getattr(shared, "close", None)
        if close is not None:
            close()
        return {
            "get p50 µs": statistics.median(reads) * 1e6,
            "get p99 µs": statistics.quantiles(reads, n=100)[98] * 1e6,
            "get+decrypt p50 µs": statistics.median(decoded) * 1e6,
        }


def _server(fake: RemoteFake) -> dict[str, str]:
    return {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "url": fake.base_url + PATH,
    }


def _start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.02)
    process.terminate()
    return None


def _start_postgres() -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's tests/
    try:
        from tests.postgres_server import PostgresServer, find_binaries
    except ImportError:
        return None
    found = find_binaries()
    if found is None:
        return None
    server = PostgresServer(found)
    server.start()
    return server
