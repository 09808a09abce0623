"""Where `SQLTokenCache` gets its connections: a SQLite file, a PostgreSQL URL, or yours.

Each source lends a DB-API connection for one operation (or for the time a fetch lock is
held) and takes it back afterwards. None of them ever puts a password into a message: a
URL is described by `describe_url`, and `secrets_of` names what to mask in driver errors.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ConfigurationError

Dialect = Literal["sqlite", "postgresql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")

#: Connections a forked child inherited from its parent's pool: kept, never closed, since
#: closing one would end the parent's session on the server.
_INHERITED: list[Any] = []
#: Driver modules (the first part of a connection class's module) and their dialects.
_DRIVERS: dict[str, Dialect] = {
    "sqlite3": "sqlite",
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
    "pg8000": "postgresql",
}


def dialect_of(connection: Any) -> Dialect | None:
    """Return the dialect of a DB-API connection, from its driver's module; None if unknown.

    A pool's proxy (SQLAlchemy's ``raw_connection()``) is looked through to the driver's
    connection it wraps.
    """
    for candidate in (
        connection,
        getattr(connection, "driver_connection", None),
        getattr(connection, "dbapi_connection", None),
    ):
        if candidate is not None:
            found = _DRIVERS.get(type(candidate).__module__.partition(".")[0])
            if found is not None:
                return found
    return None


def quietly(action: Callable[[], object]) -> None:
    """Run a clean-up step whose failure changes nothing (a close, a rollback)."""
    with contextlib.suppress(Exception):
        action()


# -- URLs ------------------------------------------------------------------------------------


def dialect_of_url(url: str) -> Dialect:
    """Return the dialect a URL names, or raise a ConfigurationError that does not quote it."""
    scheme, separator, _ = url.partition("://")
    scheme = scheme.strip().lower()
    if separator and scheme == "sqlite":
        return "sqlite"
    if separator and scheme.partition("+")[0] in ("postgresql", "postgres"):
        return "postgresql"
    raise ConfigurationError(
        "SQLTokenCache needs a URL starting with sqlite:/// (such as "
        "'sqlite:////var/lib/app/tokens.db') or postgresql:// (such as "
        "'postgresql://user:password@host:5432/dbname'), or connect=; the string given "
        "has neither scheme"
    )


def sqlite_path(url: str) -> Path:
    """Return the absolute file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    rest = url.strip()[len("sqlite:") :]
    if not rest.startswith("///") or "?" in rest:
        raise ConfigurationError(
            "a SQLite URL reads sqlite:///relative/path.db or sqlite:////absolute/path.db, "
            "with no host and no query"
        )
    path = unquote(rest[3:])
    if path in ("", ":memory:"):
        raise ConfigurationError(
            "SQLTokenCache needs a SQLite file that processes share; an in-memory database "
            "is one connection's own (use MemoryTokenCache within one process)"
        )
    return Path(path).expanduser().absolute()


def postgres_conninfo(url: str) -> str:
    """Return a URL psycopg accepts: SQLAlchemy's ``postgresql+psycopg://`` loses its driver."""
    scheme, _, rest = url.strip().partition("://")
    return f"postgresql://{rest}" if "+" in scheme else url.strip()


def describe_url(url: str) -> str:
    """Return the URL without its password or query: ``postgresql://app@db:5432/tokens``."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() == "sqlite":
        return f"sqlite:///{sqlite_path(url)}"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        raise ConfigurationError(
            "SQLTokenCache could not read its PostgreSQL URL: the port is not a number"
        ) from None
    user = f"{unquote(parts.username)}@" if parts.username else ""
    return f"postgresql://{user}{parts.hostname or ''}{port}{parts.path}"


def secrets_of(url: str) -> tuple[str, ...]:
    """Return the strings of a URL that no message may show: its password, in every form."""
    parts = urlsplit(url.strip())
    found = {url, url.strip()}
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        raw = userinfo.partition(":")[2]
        found |= {raw, unquote(raw)}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower() in ("password", "sslpassword"):
            found |= {value}
    return tuple(sorted((s for s in found if s), key=len, reverse=True))


# -- sources ---------------------------------------------------------------------------------


class SQLiteFile:
    """A SQLite file: a new connection per operation (cheap), the file created 0600."""

    dialect: Dialect = "sqlite"

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._created = False

    @contextmanager
    def borrow(self) -> Iterator[Any]:
        """Lend a connection to the file; it is closed afterwards."""
        import sqlite3

        if not self._created:
            self._create_file()
        # The timeout is SQLite's busy wait: how long a writer waits for another's commit.
        connection = sqlite3.connect(str(self.path), timeout=self.timeout)
        try:
            yield connection
        finally:
            connection.close()

    def _create_file(self) -> None:
        # The file holds sealed tokens only, but it is nobody else's business: a new file is
        # the owner's alone, and SQLite gives its journal the same mode.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, flags, 0o600))
        self._created = True

    def close(self) -> None:
        """Nothing to close: connections live for one operation."""


class PostgresPool:
    """Connections to a PostgreSQL URL, a few kept idle between operations.

    An idle connection is reused only if it is younger than `MAX_IDLE_SECONDS` and the
    server has not closed it (a restart, an idle timeout): a renewal an hour later would
    otherwise meet a dead socket first.
    """

    dialect: Dialect = "postgresql"
    MAX_IDLE = 4
    MAX_IDLE_SECONDS = 60.0

    def __init__(self, conninfo: str, timeout: float) -> None:
        self._conninfo = conninfo
        self._timeout = timeout
        self._idle: list[tuple[Any, float]] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @contextmanager
    def borrow(self) -> Iterator[Any]:
        """Lend a connection; it goes back to the pool, or is closed after a failure."""
        connection = self._take() or self._open()
        try:
            yield connection
        except BaseException:
            quietly(connection.close)
            raise
        self._give_back(connection)

    def _open(self) -> Any:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        extra: dict[str, Any] = {"connect_timeout": max(2, round(self._timeout))}
        if "application_name" not in conninfo_to_dict(self._conninfo):
            # Lets a DBA see whose sessions hold the fetch locks (pg_stat_activity).
            extra["application_name"] = "requests-resharmonics token cache"
        # Autocommit: a lookup is one round trip, not a SELECT and a COMMIT. What needs a
        # transaction (the fetch lock, creating the table) begins one itself.
        return psycopg.connect(self._conninfo, autocommit=True, **extra)

    def _take(self) -> Any:
        with self._lock:
            self._after_fork()
            while self._idle:
                connection, since = self._idle.pop()
                if time.monotonic() - since < self.MAX_IDLE_SECONDS and _alive(connection):
                    return connection
                quietly(connection.close)
        return None

    def _give_back(self, connection: Any) -> None:
        from psycopg.pq import TransactionStatus

        usable = (
            not connection.closed and connection.info.transaction_status == TransactionStatus.IDLE
        )
        with self._lock:
            self._after_fork()
            if usable and len(self._idle) < self.MAX_IDLE:
                self._idle.append((connection, time.monotonic()))
                return
        quietly(connection.close)

    def _after_fork(self) -> None:
        if self._pid != os.getpid():
            _INHERITED.extend(connection for connection, _ in self._idle)
            self._idle = []
            self._pid = os.getpid()

    def close(self) -> None:
        """Close the idle connections (those lent out close when they come back)."""
        with self._lock:
            self._after_fork()
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            quietly(connection.close)


class UserConnections:
    """Connections from ``connect=``, the user's own.

    ``connect()`` returns a DB-API connection (closed after use, which a pool's proxy turns
    into a return) or a context manager that lends one (psycopg_pool's ``pool.connection``).
    """

    def __init__(self, connect: Callable[[], Any], dialect: Dialect | None) -> None:
        self.connect = connect
        self.dialect = dialect

    @contextmanager
    def borrow(self) -> Iterator[Any]:
        """Lend a connection of the user's."""
        made = self.connect()
        if callable(getattr(made, "cursor", None)):
            try:
                yield made
            finally:
                quietly(made.close)
        elif isinstance(made, AbstractContextManager) or hasattr(made, "__enter__"):
            with made as connection:
                yield connection
        else:
            raise ConfigurationError(
                "connect= must return a DB-API connection (an object with cursor()) or a "
                f"context manager that lends one, not {type(made).__name__}"
            )

    def close(self) -> None:
        """Nothing to close: the connections are the user's."""


def _alive(connection: Any) -> bool:
    """Whether an idle connection is still open: a socket the server closed reads as ready."""
    if connection.closed:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
