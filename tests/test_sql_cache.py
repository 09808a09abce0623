"""SQLTokenCache on a real PostgreSQL server the tests start, and on SQLite files."""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from requests_resharmonics import ConfigurationError, ResharmonicsAuth, SQLTokenCache
from requests_resharmonics.cache.sql import SQLCacheError
from requests_resharmonics.testing import FakeResharmonics

from .cache_workers import call_timed
from .postgres_server import PASSWORD, PostgresServer, free_port
from .test_cache import PROCESSES, run_processes

#: The lease of the killed holder's lock: how long it may delay the others at most.
LEASE = 2.0
DIALECTS = ["sqlite", "postgresql"]


@pytest.fixture(params=DIALECTS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL of each dialect, its token table empty."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tokens.db"
    server: PostgresServer = request.getfixturevalue("postgres")
    server.execute("DROP TABLE IF EXISTS resharmonics_tokens")
    return server.url()


def units(fake: FakeResharmonics, auth: ResharmonicsAuth) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


def raw_rows(url: str, postgres: PostgresServer | None) -> list[tuple[Any, ...]]:
    """Every row of the token table, read around the cache."""
    sql = "SELECT cache_key, value, expires_at FROM resharmonics_tokens ORDER BY cache_key"
    if url.startswith("sqlite"):
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            return connection.execute(sql).fetchall()
    assert postgres is not None
    return postgres.execute(sql)


# -- one token request per renewal, across processes ----------------------------------------


@pytest.mark.fake_resharmonics(token_delay=0.2)
def test_eight_processes_make_one_token_request_cold_and_one_per_expiry(
    url: str, fake_resharmonics: FakeResharmonics
) -> None:
    outcomes = run_processes(fake_resharmonics, ("sql", url))  # asserts 1 request cold
    assert sorted(outcomes) == [("first", 200, 0)] * PROCESSES + [("second", 200, 1)] * PROCESSES
    assert fake_resharmonics.token_requests == 2


def test_a_holder_killed_mid_request_delays_the_others_by_at_most_its_lease(
    url: str, fake_resharmonics: FakeResharmonics
) -> None:
    fake = fake_resharmonics
    holding, release = threading.Event(), threading.Event()
    seen: list[float] = []
    answer = fake.tokens.answer

    def hang_the_first(incoming: Any) -> Any:
        seen.append(time.monotonic())
        if len(seen) == 1:
            holding.set()  # the holder is inside its token request, holding the lock
            release.wait(30)
        return answer(incoming)

    fake.tokens.answer = hang_the_first  # type: ignore[method-assign]
    server = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "base_url": fake.base_url,
    }
    context = multiprocessing.get_context("spawn")
    now, start, results = context.Event(), context.Event(), context.Queue()
    now.set()
    holder = context.Process(target=call_timed, args=(server, ("sql", url), LEASE, now, results))
    # The others would wait for a lock 30 s: only its lease (or the holder's death) frees it.
    others = [
        context.Process(target=call_timed, args=(server, ("sql", url), 30.0, start, results))
        for _ in range(3)
    ]
    for process in [*others, holder]:
        process.start()
    try:
        assert holding.wait(60), "the holder never reached the token endpoint"
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        start.set()
        outcomes = [results.get(timeout=60) for _ in others]
    finally:
        release.set()
        start.set()
        for process in [*others, holder]:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
    assert [status for status, _ in outcomes] == [200] * len(others)
    assert len(seen) == 2, "the holder's request, then one for all the others"
    # A call waits for the lease's end at most, then one token request (and the load of
    # seven processes starting on two cores).
    assert max(seconds for _, seconds in outcomes) < LEASE + 3.0


# -- what the database holds ---------------------------------------------------------------


def test_the_database_holds_no_readable_token_or_secret(
    url: str, request: pytest.FixtureRequest, fake_resharmonics: FakeResharmonics
) -> None:
    fake = fake_resharmonics
    auth = fake.auth(cache=SQLTokenCache(url))
    assert units(fake, auth) == 200
    assert auth.token is not None
    secrets = [auth.token.access_token, fake.client_secret]
    if url.startswith("sqlite"):
        path = Path(url[len("sqlite:///") :])
        dumps = [file.read_bytes() for file in path.parent.glob(path.name + "*")]
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres")
        dumped = subprocess.run(
            [str(postgres.bin / "pg_dump"), "--data-only", postgres.url()],
            capture_output=True,
            check=True,
            timeout=60,
        )
        dumps = [dumped.stdout]
    assert any(auth._manager.key.encode() in dump for dump in dumps)  # the row is there
    for dump in dumps:
        for secret in secrets:
            assert secret.encode() not in dump


def test_a_value_copied_to_another_key_is_useless(
    url: str, request: pytest.FixtureRequest, fake_resharmonics: FakeResharmonics
) -> None:
    fake = fake_resharmonics
    auth = fake.auth(cache=SQLTokenCache(url))
    assert units(fake, auth) == 200
    other = fake.auth(cache=SQLTokenCache(url), scope="api/read")  # same secret, other key
    postgres = request.getfixturevalue("postgres") if url.startswith("postgresql") else None
    [(_, sealed, until)] = raw_rows(url, postgres)
    SQLTokenCache(url).set(other._manager.key, sealed, until + 120)
    assert other._manager.codec.decode(sealed) is None
    assert units(fake, other) == 200
    assert other.token != auth.token
    assert fake.token_requests == 2


def test_expired_rows_are_never_served_and_are_removed(
    url: str, request: pytest.FixtureRequest
) -> None:
    cache = SQLTokenCache(url)
    now = time.time()
    cache.set("fresh", "v1:aa:one", now + 3600)
    cache.set("soon", "v1:bb:two", now + 3600)
    postgres = request.getfixturevalue("postgres") if url.startswith("postgresql") else None
    # Make "soon" expired, as time would.
    if postgres is None:
        with sqlite3.connect(url[len("sqlite:///") :]) as connection:
            connection.execute("UPDATE resharmonics_tokens SET expires_at = ?", (now - 1,))
    else:
        postgres.execute("UPDATE resharmonics_tokens SET expires_at = %s", (now - 1,))
    assert cache.get("soon") is None
    assert cache.get("fresh") is None
    cache.set("next", "v1:cc:three", now + 3600)
    assert [row[0] for row in raw_rows(url, postgres)] == ["next"]
    # A token's row ends before the token does, as in Redis.
    [(_, _, until)] = raw_rows(url, postgres)
    assert now + 3600 - 60 - 1 < until <= now + 3600 - 60


# -- the lock --------------------------------------------------------------------------------


def test_the_lock_is_one_holder_at_a_time_and_waits_at_most_its_wait(url: str) -> None:
    cache, other = SQLTokenCache(url), SQLTokenCache(url)
    with cache.lock("k", wait=1) as acquired:
        assert acquired
        started = time.monotonic()
        with other.lock("k", wait=0.3) as second:
            assert not second
        assert 0.25 < time.monotonic() - started < 2.5
        with other.lock("another key", wait=0.3) as third:
            assert third
    with other.lock("k", wait=0.3) as fourth:
        assert fourth


def test_a_stalled_holder_loses_the_lock_after_its_lease(url: str) -> None:
    cache = SQLTokenCache(url)
    stalled = cache.lock("k", wait=1.0)  # a lease of 1 s; never released by its holder
    assert stalled.__enter__()
    started = time.monotonic()
    with SQLTokenCache(url).lock("k", wait=20) as acquired:
        waited = time.monotonic() - started
        assert acquired
    assert waited < 1.0 + 2.0
    if url.startswith("postgresql"):
        # The server ended the stalled holder's session; its release finds it gone.
        with pytest.raises(SQLCacheError, match="postgresql://postgres@127"):
            stalled.__exit__(None, None, None)
    else:
        stalled.__exit__(None, None, None)  # its lease was taken over: nothing to delete


def test_postgres_reads_and_writes_of_the_holder_are_committed_as_the_lock_ends(
    postgres: PostgresServer,
) -> None:
    postgres.execute("DROP TABLE IF EXISTS resharmonics_tokens")
    cache, other = SQLTokenCache(postgres.url()), SQLTokenCache(postgres.url())
    with cache.lock("k", wait=1) as acquired:
        assert acquired
        cache.set("k", "v1:aa:value", time.time() + 3600)
        assert cache.get("k") == "v1:aa:value"  # in the lock's transaction
        assert other.get("k") is None  # not yet committed
    assert other.get("k") == "v1:aa:value"


# -- failures --------------------------------------------------------------------------------


def test_an_unreachable_database_means_direct_fetches_and_one_warning(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_password = "Unreachable-Pa55"
    cache = SQLTokenCache(f"postgresql://app:{secret_password}@127.0.0.1:{free_port()}/db")
    auth = fake_resharmonics.auth(cache=cache)
    for _ in range(3):
        assert units(fake_resharmonics, auth) == 200
        fake_resharmonics.expire_all_tokens()
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert "postgresql://app@127.0.0.1" in warnings[0]
    assert "Connection refused" in warnings[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret_password not in logged
    assert secret_password not in repr(cache)
    with pytest.raises(SQLCacheError) as raised:
        cache.get("k")
    assert secret_password not in str(raised.value)
    assert raised.value.__context__ is None and raised.value.__cause__ is None


def test_a_table_that_cannot_be_created_is_one_clear_warning(
    postgres: PostgresServer,
    fake_resharmonics: FakeResharmonics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    cache = SQLTokenCache(postgres.limited_url(), table="tokens_nobody_may_create")
    auth = fake_resharmonics.auth(cache=cache)
    assert units(fake_resharmonics, auth) == 200
    [warning] = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert "cannot create its table 'tokens_nobody_may_create'" in warning
    assert "permission denied" in warning
    with pytest.raises(ConfigurationError, match="grant CREATE"):
        cache.create_table()


def test_a_sqlite_file_that_cannot_be_made_is_one_warning(
    tmp_path: Path, fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    (tmp_path / "a-file").write_text("not a folder")
    auth = fake_resharmonics.auth(cache=SQLTokenCache(f"sqlite:///{tmp_path}/a-file/tokens.db"))
    assert units(fake_resharmonics, auth) == 200
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200
    warnings = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert "SQLCacheError" in warnings[0]


def test_connections_the_server_closed_are_not_reused(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    postgres.execute("DROP TABLE IF EXISTS resharmonics_tokens")
    cache = SQLTokenCache(postgres.url())
    cache.set("k", "v1:aa:value", time.time() + 3600)  # one connection now idle in the pool
    ended = postgres.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'requests-resharmonics token cache'"
    )
    assert ended == [(True,)]
    deadline = time.monotonic() + 10
    while postgres.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'requests-resharmonics token cache'"
    ) != [(0,)]:
        assert time.monotonic() < deadline
    assert cache.get("k") == "v1:aa:value"  # on a new connection, no error


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        ({"url": "mysql://u:pw@host/db"}, "sqlite:///"),
        ({"url": "sqlite:///:memory:"}, "MemoryTokenCache"),
        ({"url": "sqlite://host/tokens.db"}, "no host"),
        ({"url": "postgresql://u:pw@host:notaport/db"}, "port is not a number"),
        ({"url": "postgresql://u:pw@host/db?no_such_option=1"}, "could not read"),
        ({"url": "sqlite:///t.db", "table": "tokens; DROP TABLE x"}, "letters, digits"),
        ({"url": "sqlite:///t.db", "table": "main.tokens"}, "letters, digits"),
        ({"url": "sqlite:///t.db", "dialect": "postgresql"}, "sqlite URL"),
        ({"url": "sqlite:///t.db", "timeout": 0}, "timeout"),
        ({"connect": "not callable"}, "callable"),
        ({}, "URL or connect="),
    ],
)
def test_bad_settings_are_named_without_quoting_the_url(
    arguments: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigurationError, match=says) as raised:
        SQLTokenCache(**arguments)
    assert "pw@" not in str(raised.value)


def test_a_schema_qualified_table_on_postgres(postgres: PostgresServer) -> None:
    postgres.execute("CREATE SCHEMA IF NOT EXISTS app")
    cache = SQLTokenCache(postgres.url(), table="app.Tokens_2")
    cache.set("k", "v1:aa:value", time.time() + 3600)
    assert postgres.execute('SELECT cache_key FROM app."Tokens_2"') == [("k",)]
    assert repr(cache) == (
        f"SQLTokenCache('postgresql://postgres@127.0.0.1:{postgres.port}/postgres', "
        "table='app.Tokens_2')"
    )


def test_connections_of_your_own(
    postgres: PostgresServer, tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    import psycopg

    postgres.execute("DROP TABLE IF EXISTS resharmonics_tokens")
    opened: list[Any] = []

    def autocommitting() -> Any:
        opened.append(psycopg.connect(postgres.url(), autocommit=True))
        return opened[-1]

    @contextmanager
    def from_a_pool() -> Iterator[Any]:  # lends a connection, as psycopg_pool's does
        with psycopg.connect(postgres.url()) as connection:
            yield connection

    caches = [
        SQLTokenCache(connect=autocommitting),  # dialect read from the driver
        SQLTokenCache(connect=from_a_pool, dialect="postgresql"),
        SQLTokenCache(connect=lambda: sqlite3.connect(tmp_path / "own.db")),
    ]
    for cache in caches:
        auth = fake_resharmonics.auth(cache=cache)
        with cache.lock(auth._manager.key, wait=1) as acquired:
            assert acquired
        assert units(fake_resharmonics, auth) == 200
    assert fake_resharmonics.token_requests == 2  # the two PostgreSQL caches share one table
    assert all(connection.closed for connection in opened)
    assert repr(caches[0]) == (
        "SQLTokenCache('connect=test_connections_of_your_own.<locals>.autocommitting', "
        "table='resharmonics_tokens')"
    )

    with pytest.raises(ConfigurationError, match="DB-API connection"):
        SQLTokenCache(connect=lambda: object()).create_table()

    class Unknown:
        def cursor(self) -> None:
            raise AssertionError("never used")

        def close(self) -> None:
            pass

    with pytest.raises(ConfigurationError, match="pass dialect='postgresql'"):
        SQLTokenCache(connect=Unknown).create_table()


def test_a_cache_from_a_url_pickles_with_its_url(postgres: PostgresServer) -> None:
    cache = SQLTokenCache(postgres.url(), table="pickled_tokens")
    cache.set("k", "v1:aa:value", time.time() + 3600)
    pickled = pickle.dumps(cache)
    assert PASSWORD.encode() in pickled  # as SECURITY.rst says: a pickle holds the URL
    clone = pickle.loads(pickled)
    assert clone.get("k") == "v1:aa:value"
    assert repr(clone) == repr(cache)
    assert PASSWORD not in repr(cache)
    cache.close()
