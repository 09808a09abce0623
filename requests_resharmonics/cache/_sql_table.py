"""The token table of `SQLTokenCache`: statements run on lent connections, errors made safe.

A `TokenTable` knows one table in one database: its dialect (given, or read from the first
connection), how to create it, and how to run a unit of work in a transaction. Every
driver error leaves it as an `SQLCacheError` whose message names the database without its
password, raised outside the handler so that no ``__context__`` leads back to the driver's
exception (whose text may quote a URL).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import ConfigurationError, ResharmonicsError
from ._sql_sources import Dialect, PostgresPool, SQLiteFile, UserConnections, dialect_of, quietly

T = TypeVar("T")
Source = SQLiteFile | PostgresPool | UserConnections

# Unquoted-identifier characters only: the name is then quoted, so it keeps its case.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS {table} (cache_key VARCHAR(255) PRIMARY KEY, "
    "value TEXT NOT NULL, expires_at {real} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {index} ON {table} (expires_at)",
)


class SQLCacheError(ResharmonicsError):
    """The token cache's database failed: unreachable, or it refused a statement.

    The message names the database without its password. The library catches it, logs one
    warning, and fetches tokens directly until the database answers again.
    """

    retryable = True


class TokenTable:
    """One token table, reached through a source of connections."""

    def __init__(
        self,
        source: Source,
        dialect: Dialect | None,
        table: str,
        where: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.source = source
        self.dialect = dialect
        self.name = table
        self.where = where  # the database, in words without a password
        self._secrets = secrets
        self._quoted = quoted(table, dialect)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._held = threading.local()

    def run(self, key: str | None, work: Callable[[Any], T]) -> T:
        """Run ``work`` with a cursor, in a transaction of its own.

        When this thread holds ``key``'s PostgreSQL lock (`held`), ``work`` runs in the
        lock's transaction instead, and is committed as the lock ends.
        """
        connection = self.held().get(key) if key is not None else None
        if connection is not None:
            return self.translate(lambda: self._with_cursor(connection, work, commit=False))

        def borrowed() -> T:
            with self.source.borrow() as lent:
                self.prepare(lent)
                return self._with_cursor(lent, work, commit=True)

        return self.translate(borrowed)

    def exclusively(self, name: str, work: Callable[[Any], T]) -> T:
        """Run ``work`` in a transaction that no other one about ``name`` runs beside.

        PostgreSQL: a transaction-level advisory lock on ``name``; SQLite: the database's
        write lock, taken first (``BEGIN IMMEDIATE``). For a read that decides a write (a
        budget's count), which must not interleave with another process's.
        """

        def run() -> T:
            with self.source.borrow() as connection:
                self.prepare(connection)
                cursor = connection.cursor()
                try:
                    if self.dialect == "postgresql":
                        begin(self, connection, cursor)
                        self.execute(
                            cursor,
                            "SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))",
                            (lock_id(self.name, name),),
                        )
                    else:
                        if getattr(connection, "in_transaction", False):
                            connection.commit()
                        cursor.execute("BEGIN IMMEDIATE")
                    result = work(cursor)
                    connection.commit()
                    return result
                except BaseException:
                    quietly(connection.rollback)
                    raise
                finally:
                    quietly(cursor.close)

        return self.translate(run)

    def held(self) -> dict[str, Any]:
        """Return this thread's connections that hold a fetch lock, by cache key."""
        connections: dict[str, Any] | None = getattr(self._held, "connections", None)
        if connections is None:
            connections = self._held.connections = {}
        return connections

    def execute(self, cursor: Any, template: str, parameters: tuple[Any, ...] = ()) -> None:
        """Execute a statement written with ``?`` for values and ``{table}`` for the table."""
        postgres = self.dialect == "postgresql"
        sql = (
            template.replace("{table}", self._quoted)  # a checked, quoted name (`quoted`)
            .replace("{index}", quoted(self.name.rpartition(".")[2] + "_expires_at", None))
            .replace("{real}", "DOUBLE PRECISION" if postgres else "REAL")
        )
        if postgres:
            sql = sql.replace("?", "%s")  # psycopg, psycopg2 and pg8000 all take %s
        cursor.execute(sql, parameters)

    def translate(self, action: Callable[[], T]) -> T:
        """Run ``action``, turning a driver's error into an `SQLCacheError`."""
        try:
            return action()
        except ResharmonicsError:
            raise
        except Exception as error:
            failure = SQLCacheError(f"{self.where}: {self.describe(error)}")
        raise failure  # outside the handler: the driver's exception is not its context

    def describe(self, error: BaseException) -> str:
        """Return the first line of a driver's error, without the URL's password."""
        text = " ".join(str(error).strip().split("\n", 1)[0].split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__

    # -- the table itself ------------------------------------------------------------------

    def prepare(self, connection: Any) -> None:
        """Learn the dialect and make sure the table exists, once."""
        with self._ready_lock:
            if self._ready:
                return
            if self.dialect is None:
                found = dialect_of(connection)
                if found is None:
                    raise ConfigurationError(
                        f"SQLTokenCache cannot tell which database a "
                        f"{type(connection).__module__}.{type(connection).__name__} connection "
                        "talks to; pass dialect='postgresql' or dialect='sqlite'"
                    )
                self.dialect, self._quoted = found, quoted(self.name, found)
            failure = self._create(connection)
            if failure is not None:
                raise ConfigurationError(
                    f"SQLTokenCache cannot create its table {self.name!r} ({failure}); "
                    "create it beforehand or grant CREATE on its schema"
                )
            self._ready = True

    def _create(self, connection: Any) -> str | None:
        """Create the table if it is missing; return why it could not be, or None."""
        cursor = connection.cursor()
        try:
            if self.dialect == "postgresql":
                self.execute(cursor, "SELECT to_regclass(CAST(? AS TEXT))", (self._quoted,))
                if cursor.fetchone()[0] is not None:
                    connection.commit()
                    return None  # there already: no CREATE privilege needed
                # Processes starting together would otherwise race in the catalog.
                begin(self, connection, cursor)
                creating = lock_id(self.name, "")  # no cache key is empty
                self.execute(cursor, "SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", (creating,))
            for statement in _SCHEMA:
                self.execute(cursor, statement)
            connection.commit()
            return None
        except Exception as error:
            quietly(connection.rollback)
            return self.describe(error)
        finally:
            quietly(cursor.close)

    def _with_cursor(self, connection: Any, work: Callable[[Any], T], commit: bool) -> T:
        cursor = connection.cursor()
        try:
            result = work(cursor)
            if commit:
                connection.commit()
            return result
        except BaseException:
            if commit:
                quietly(connection.rollback)
            raise
        finally:
            quietly(cursor.close)


def quoted(table: str, dialect: Dialect | None) -> str:
    """Return ``table`` quoted for SQL, after checking it is a plain (schema.)name."""
    if not isinstance(table, str):
        raise ConfigurationError(f"table must be a string, not {type(table).__name__}")
    parts = table.split(".")
    schema_allowed = dialect != "sqlite" and len(parts) == 2
    if not (len(parts) == 1 or schema_allowed) or not all(_IDENTIFIER.fullmatch(p) for p in parts):
        raise ConfigurationError(
            "table must be a name of letters, digits and '_' (at most 48, not starting with "
            f"a digit; PostgreSQL also takes schema.table), not {table!r}"
        )
    return ".".join(f'"{part}"' for part in parts)


def lock_id(table: str, key: str) -> int:
    """Return the 64-bit advisory lock number of a cache key of ``table``."""
    digest = hashlib.sha256(f"requests-resharmonics\0{table}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def begin(table: TokenTable, connection: Any, cursor: Any) -> None:
    """Begin a transaction on a connection in autocommit mode (others begin by themselves)."""
    if getattr(connection, "autocommit", False) is True:
        table.execute(cursor, "BEGIN")
