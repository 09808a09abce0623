"""What makes a fleet back off together, in `SQLTokenCache`'s table: holds and budgets.

Rows beside the tokens, in the same table: ``hold:<client key>`` holds a client's token
requests until its ``expires_at`` (its value: the reason, as JSON), and
``budget:<client key>`` lists the moments of its recent token requests (a JSON array),
counted in a transaction no other process's count runs beside (`TokenTable.exclusively`).
Neither holds a secret, and both expire like tokens: the next token stored sweeps them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ._sql_table import TokenTable
from .base import Hold, budget_wait

HOLD_PREFIX = "hold:"
BUDGET_PREFIX = "budget:"


def hold(table: TokenTable, key: str, until: float, reason: str) -> None:
    """Hold ``key``'s token requests until ``until``, unless a later hold is in place."""
    name = HOLD_PREFIX + key
    if until <= time.time():
        sql = "DELETE FROM {table} WHERE cache_key = ?"
        table.run(None, lambda cursor: table.execute(cursor, sql, (name,)))
        return
    value = json.dumps({"reason": reason})
    sql = (
        "INSERT INTO {table} (cache_key, value, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
        "expires_at = excluded.expires_at WHERE {table}.expires_at < excluded.expires_at"
    )
    table.run(None, lambda cursor: table.execute(cursor, sql, (name, value, until)))


def held(table: TokenTable, key: str) -> Hold | None:
    """Return the hold on ``key``'s token requests, if one is in place."""

    def select(cursor: Any) -> Any:
        sql = "SELECT value, expires_at FROM {table} WHERE cache_key = ? AND expires_at > ?"
        table.execute(cursor, sql, (HOLD_PREFIX + key, time.time()))
        return cursor.fetchone()

    row = table.run(None, select)
    if row is None:
        return None
    found = _json(row[0])
    reason = found.get("reason") if isinstance(found, dict) else None
    return Hold(float(row[1]), reason if isinstance(reason, str) else "")


def admit(table: TokenTable, key: str, limit: int, window: float, delay: float) -> float:
    """Count a token request of ``key`` if its budget allows; else the seconds to wait."""
    name = BUDGET_PREFIX + key

    def count(cursor: Any) -> float:
        now = time.time()
        if table.dialect == "postgresql":  # the server's clock: the fleet's machines' differ
            table.execute(cursor, "SELECT EXTRACT(EPOCH FROM clock_timestamp())")
            now = float(cursor.fetchone()[0])
        table.execute(cursor, "SELECT value FROM {table} WHERE cache_key = ?", (name,))
        row = cursor.fetchone()
        found = _json(row[0]) if row is not None else None
        counted = [
            moment
            for moment in (found if isinstance(found, list) else [])
            if isinstance(moment, (int, float)) and moment > now - window
        ]
        wait = budget_wait(counted, now + delay, limit, window)
        if wait == 0.0:
            counted.append(now + delay)
        if counted:
            table.execute(
                cursor,
                "INSERT INTO {table} (cache_key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (cache_key) DO UPDATE SET value = excluded.value, "
                "expires_at = excluded.expires_at",
                (name, json.dumps(sorted(counted)), max(counted) + window),
            )
        elif row is not None:
            table.execute(cursor, "DELETE FROM {table} WHERE cache_key = ?", (name,))
        return wait

    return table.exclusively(name, count)


def _json(text: object) -> object:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        return None
