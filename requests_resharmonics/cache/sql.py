"""`SQLTokenCache`: tokens shared through a table in SQLite or PostgreSQL."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ConfigurationError
from ..token import RENEWAL_FRACTION
from . import _sql_fleet
from . import _sql_sources as sources
from ._sql_sources import DIALECTS, Dialect, quietly
from ._sql_table import SQLCacheError, TokenTable, begin, lock_id
from .base import Hold, TokenCache, value_tag
from .redis import EXPIRY_MARGIN, UNKNOWN_LIFETIME_TTL

__all__ = ["SQLCacheError", "SQLTokenCache"]

DEFAULT_TABLE = "resharmonics_tokens"
#: Seconds to connect, and for SQLite how long a writer waits for another's commit.
DEFAULT_TIMEOUT = 5.0
#: SQLite fetch locks are lease rows under this prefix; a cache key never begins with it.
LOCK_PREFIX = "lock:"
_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout that ran out
_POLL_SECONDS = 0.02


class SQLTokenCache(TokenCache):
    """Tokens in a table of SQLite (one machine) or PostgreSQL (fleets on many machines).

    Tokens are stored encrypted with a key derived from the client secret and bound to their
    cache key, each row with an expiry that ends before its token does; expired rows are
    removed as new tokens are stored. While one process fetches a token it holds the key's
    fetch lock in the database, and the others wait, then read the token it stored:

    - PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``) on the
      connection that then stores the token; it ends with the transaction, or with the
      connection if the holder dies, and the server ends a holder idle longer than the lock's
      lease (``idle_in_transaction_session_timeout`` for that transaction only). Works through
      PgBouncer in transaction mode.
    - SQLite: a lease row that expires after the lock's wait, so a holder that dies delays
      the others by at most that.

    The table (``resharmonics_tokens`` unless ``table=`` says otherwise) is created on first
    use when missing, or beforehand with `create_table`. While the database is unreachable
    or refuses the table, calls fetch tokens directly and one warning is logged.

    Example:
        >>> cache = SQLTokenCache("postgresql://app:secret@db.internal:5432/app")
        >>> session = ResharmonicsSession(cache=cache)
        >>> SQLTokenCache("sqlite:////var/lib/myapp/tokens.db")  # processes of one machine
        SQLTokenCache('sqlite:////var/lib/myapp/tokens.db', table='resharmonics_tokens')

    Args:
        url: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db``, or
            ``postgresql://user:password@host:5432/dbname`` (extra ``[postgres]``). The
            password never appears in a repr, a log record or an error.
        connect: instead of a URL, a callable returning a DB-API connection of your own
            pool (closed after each use, which a pool's proxy such as SQLAlchemy's
            ``engine.raw_connection`` turns into a return), or a context manager lending one
            (psycopg_pool's ``pool.connection``). The connection must be the cache's alone
            while it has it: each operation commits.
        dialect: ``"postgresql"`` or ``"sqlite"``; with ``connect=``, read from the
            connection's driver (sqlite3, psycopg, psycopg2, pg8000) when not given.
        table: the table's name, letters, digits and ``_`` (PostgreSQL: ``schema.table``).
        timeout: seconds to connect; for SQLite, how long a write waits for another's.
    """

    seals = True

    def __init__(
        self,
        url: str | None = None,
        *,
        connect: Callable[[], Any] | None = None,
        dialect: Dialect | None = None,
        table: str = DEFAULT_TABLE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        _require_cryptography()
        if (url is None) == (connect is None):
            raise ConfigurationError("SQLTokenCache needs a database URL or connect=, not both")
        if dialect is not None and dialect not in DIALECTS:
            raise ConfigurationError(f"dialect must be 'postgresql' or 'sqlite', not {dialect!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        self._url, self._connect, self.timeout = url, connect, float(timeout)
        if url is not None:
            if not isinstance(url, str):
                raise ConfigurationError(f"url must be a string, not {type(url).__name__}")
            found = sources.dialect_of_url(url)
            if dialect is not None and dialect != found:
                raise ConfigurationError(f"the URL is a {found} URL, but dialect={dialect!r}")
            source, where = _source_of_url(url, found, self.timeout)
            self._table = TokenTable(source, found, table, where, sources.secrets_of(url))
        elif not callable(connect):
            raise ConfigurationError(f"connect must be callable, not {type(connect).__name__}")
        else:
            where = f"connect={getattr(connect, '__qualname__', type(connect).__name__)}"
            own = sources.UserConnections(connect, dialect)
            self._table = TokenTable(own, dialect, table, where, ())

    @property
    def table(self) -> str:
        """The name of the table that holds the tokens."""
        return self._table.name

    @property
    def dialect(self) -> Dialect | None:
        """``"postgresql"`` or ``"sqlite"``; None until a ``connect=`` connection tells."""
        return self._table.dialect

    def __repr__(self) -> str:
        return f"SQLTokenCache({self._table.where!r}, table={self.table!r})"

    def __reduce__(self) -> Any:
        # Connections stay behind; the URL (with its password) or the callable travels.
        if self._url is not None:
            return (_rebuild, (self._url, None, self.dialect, self.table, self.timeout))
        return (_rebuild, (None, self._connect, self.dialect, self.table, self.timeout))

    def close(self) -> None:
        """Close the connections kept idle between operations (a URL's PostgreSQL pool)."""
        self._table.source.close()

    def create_table(self) -> None:
        """Create the table now if it is missing (else on first use); raise if it cannot be.

        Raises:
            ConfigurationError: the database refused the table (no CREATE privilege, say).
            SQLCacheError: the database could not be reached.
        """
        self._table.run(None, lambda cursor: None)

    # -- values ----------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        """Return the value stored for ``key``, unless its row has expired."""

        def select(cursor: Any) -> Any:
            sql = "SELECT value FROM {table} WHERE cache_key = ? AND expires_at > ?"
            self._table.execute(cursor, sql, (key, time.time()))
            return cursor.fetchone()

        row = self._table.run(key, select)
        return row[0] if row is not None and isinstance(row[0], str) else None

    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store ``value`` for ``key`` until shortly before its token expires; drop expired rows."""
        now = time.time()
        if expires_at is None:
            until = now + UNKNOWN_LIFETIME_TTL
        else:
            remaining = expires_at - now
            until = expires_at - min(EXPIRY_MARGIN, remaining * RENEWAL_FRACTION)
        if until - now <= 0.001:
            return

        def store(cursor: Any) -> None:
            self._upsert(cursor, key, value, until)
            if self.dialect == "postgresql":
                # Rows another transaction holds are left to a later write: no waiting, so no
                # deadlock between processes cleaning up at once.
                self._table.execute(
                    cursor,
                    "DELETE FROM {table} WHERE cache_key IN (SELECT cache_key FROM "
                    "{table} WHERE expires_at <= ? LIMIT 1000 FOR UPDATE SKIP LOCKED)",
                    (now,),
                )
            else:
                self._table.execute(cursor, "DELETE FROM {table} WHERE expires_at <= ?", (now,))

        self._table.run(key, store)

    def delete_if(self, key: str, token_id: str) -> None:
        """Delete the value for ``key`` if it holds the token ``token_id``, in one statement."""
        tag = value_tag(token_id)
        sql = "DELETE FROM {table} WHERE cache_key = ? AND substr(value, 1, ?) = ?"
        self._table.run(key, lambda cursor: self._table.execute(cursor, sql, (key, len(tag), tag)))

    # -- what makes the fleet back off together (`_sql_fleet`) ----------------------------

    def hold(self, key: str, until: float, reason: str) -> None:
        """Hold ``key``'s token requests until ``until`` for every process using the table."""
        _sql_fleet.hold(self._table, key, until, reason)

    def held(self, key: str) -> Hold | None:
        """Return the hold on ``key``'s token requests in the table, if one is in place."""
        return _sql_fleet.held(self._table, key)

    def admit_token_request(
        self, key: str, limit: int, window: float, delay: float = 0.0
    ) -> float | None:
        """Count a token request of ``key`` within its budget, one process at a time.

        PostgreSQL counts by the server's clock (machines' clocks differ); SQLite, on one
        machine, by this one's.
        """
        return _sql_fleet.admit(self._table, key, limit, window, delay)

    def _upsert(self, cursor: Any, key: str, value: str, until: float) -> None:
        self._table.execute(
            cursor,
            "INSERT INTO {table} (cache_key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
            "expires_at = excluded.expires_at",
            (key, value, until),
        )

    # -- the fetch lock --------------------------------------------------------------------

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the database's fetch lock of ``key``, waiting at most ``wait`` seconds.

        The lock's lease is ``wait`` (at least a second): a holder that dies or stalls
        keeps the others waiting no longer.
        """
        if self.dialect is None:
            self.create_table()  # learns the dialect from a first connection
        lease = max(wait, 1.0)
        if self.dialect == "postgresql":
            with self._advisory_lock(key, wait, lease) as acquired:
                yield acquired
            return
        with self._lease(key, wait, lease) as acquired:
            yield acquired

    @contextmanager
    def _advisory_lock(self, key: str, wait: float, lease: float) -> Iterator[bool]:
        table = self._table
        number = lock_id(self.table, key)
        with table.source.borrow() as connection:
            table.translate(lambda: table.prepare(connection))
            if not table.translate(lambda: self._begin_locked(connection, number, wait, lease)):
                yield False
                return
            held = table.held()
            held[key] = connection  # this thread's reads and writes of key go through it
            try:
                yield True
            finally:
                del held[key]
                table.translate(connection.commit)  # stores the token and ends the lock

    def _begin_locked(self, connection: Any, number: int, wait: float, lease: float) -> bool:
        cursor = connection.cursor()
        try:
            begin(self._table, connection, cursor)  # a transaction-level lock needs one
            self._table.execute(
                cursor,
                "SELECT set_config('lock_timeout', ?, true), "
                "set_config('idle_in_transaction_session_timeout', ?, true)",
                (f"{max(1, int(wait * 1000))}ms", f"{int(lease * 1000)}ms"),
            )
            self._table.execute(
                cursor, "SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", (number,)
            )
            return True
        except Exception as error:
            quietly(connection.rollback)
            code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
            if code == _LOCK_NOT_AVAILABLE:
                return False
            raise
        finally:
            quietly(cursor.close)

    @contextmanager
    def _lease(self, key: str, wait: float, lease: float) -> Iterator[bool]:
        name, owner = LOCK_PREFIX + key, secrets.token_hex(16)
        deadline = time.monotonic() + wait
        acquired = self._take_lease(name, owner, lease)
        while not acquired and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
            acquired = self._take_lease(name, owner, lease)
        try:
            yield acquired
        finally:
            if acquired:
                sql = "DELETE FROM {table} WHERE cache_key = ? AND value = ?"
                self._table.run(
                    None, lambda cursor: self._table.execute(cursor, sql, (name, owner))
                )

    def _take_lease(self, name: str, owner: str, lease: float) -> bool:
        """Take the lease row if it is free or expired; return whether it is now ours."""

        def take(cursor: Any) -> bool:
            now = time.time()
            # Look before writing: waiters that only read keep out of the holder's way (a
            # write would take SQLite's write lock, and the holder's store would queue).
            self._table.execute(
                cursor, "SELECT expires_at FROM {table} WHERE cache_key = ?", (name,)
            )
            row = cursor.fetchone()
            if row is not None and row[0] > now:
                return False
            self._table.execute(
                cursor,
                "INSERT INTO {table} (cache_key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at WHERE {table}.expires_at <= ?",
                (name, owner, now + lease, now),
            )
            self._table.execute(cursor, "SELECT value FROM {table} WHERE cache_key = ?", (name,))
            row = cursor.fetchone()
            return row is not None and row[0] == owner

        return bool(self._table.run(None, take))


def _source_of_url(
    url: str, dialect: Dialect, timeout: float
) -> tuple[sources.SQLiteFile | sources.PostgresPool, str]:
    """Return the source of connections a URL names, and the URL in words without password."""
    if dialect == "sqlite":
        path = sources.sqlite_path(url)
        return sources.SQLiteFile(path, timeout), f"sqlite:///{path}"
    try:
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        raise ConfigurationError(
            "SQLTokenCache needs psycopg for PostgreSQL: "
            "pip install 'requests-resharmonics[postgres]'"
        ) from None
    conninfo = sources.postgres_conninfo(url)
    where = sources.describe_url(url)
    try:
        conninfo_to_dict(conninfo)
        unreadable = None
    except Exception as error:  # psycopg's message may quote the URL: never shown
        unreadable = type(error).__name__
    if unreadable is not None:
        raise ConfigurationError(
            f"SQLTokenCache could not read its PostgreSQL URL ({unreadable}); expected a "
            "form such as 'postgresql://user:password@host:5432/dbname'"
        )
    return sources.PostgresPool(conninfo, timeout), where


def _require_cryptography() -> None:
    try:
        import cryptography  # noqa: F401 - checked here, so a missing extra fails early
    except ImportError:
        raise ConfigurationError(
            "SQLTokenCache encrypts tokens with 'cryptography': pip install "
            "'requests-resharmonics[sqlite]' (or '[postgres]')"
        ) from None


def _rebuild(
    url: str | None,
    connect: Callable[[], Any] | None,
    dialect: Dialect | None,
    table: str,
    timeout: float,
) -> SQLTokenCache:
    return SQLTokenCache(url, connect=connect, dialect=dialect, table=table, timeout=timeout)
