"""`RedisChangeState`: a change feed's state in Redis, for passes run on any machine."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Mapping
from typing import Any

from ..errors import ChangeStateError, ConfigurationError

#: How long a pass may hold the state before another may take it: a pass that died (a
#: killed job) must not keep every later one out for ever.
DEFAULT_LOCK_SECONDS = 3600.0

# Each script touches the state's own keys only, both in one hash slot ({...} tags), so
# Redis Cluster runs it like any command.
_SAVE_IF_OWNER = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""
_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisChangeState:
    """A change feed's state in Redis: one pass at a time, on any machine.

    The state is one key (``resharmonics:changes:{NAME}``) holding the JSON the feed saves;
    a pass holds a lock key beside it (``SET NX PX`` with a random value) from its start
    to its end, so a second pass fails at once with a retryable `ChangeStateError`. The
    lock expires after ``lock_seconds`` (an hour), so a pass that died does not keep the
    others out for ever; a pass that outlived its lock cannot save (its save checks, in one
    script, that it still holds the lock).

    Example:
        >>> state = RedisChangeState("redis://cache.internal:6379/0", "bookings")
        >>> for row in session.changes("/api/v3/bookings", state=state):
        ...     upsert(row)

    Args:
        redis: a Redis URL (``redis://``, ``rediss://``, ``unix://``) or a redis-py client.
        name: the feed's name; each list (and each set of parameters) needs its own.
        lock_seconds: how long a pass may hold the state at most.
    """

    def __init__(
        self, redis: Any, name: str, *, lock_seconds: float = DEFAULT_LOCK_SECONDS
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("RedisChangeState needs a name for the feed, such as "
                                     "'bookings'")  # fmt: skip
        if (
            isinstance(lock_seconds, bool)
            or not isinstance(lock_seconds, (int, float))
            or (not lock_seconds > 0)
        ):
            raise ConfigurationError(
                f"lock_seconds must be a positive number, not {lock_seconds!r}"
            )
        self.name = name.strip()
        self.key = "resharmonics:changes:{" + self.name + "}"
        self.lock_key = self.key + ":lock"
        self.lock_seconds = float(lock_seconds)
        self._client = _client(redis)
        self._owner: str | None = None

    def acquire(self) -> None:
        """Take the lock, or raise a retryable `ChangeStateError`."""
        owner = secrets.token_hex(16)
        try:
            taken = self._client.set(self.lock_key, owner, nx=True,
                                     px=int(self.lock_seconds * 1000))  # fmt: skip
        except Exception as error:
            raise _unreachable(error) from None
        if not taken:
            raise ChangeStateError(f"another pass of the change feed {self.name!r} holds its "
                                   "state in Redis; try again once it has ended",
                                   retryable=True)  # fmt: skip
        self._owner = owner

    def load(self) -> Mapping[str, Any] | None:
        """Return the saved state, or None before the first complete pass."""
        try:
            raw = self._client.get(self.key)
        except Exception as error:
            raise _unreachable(error) from None
        if raw is None:
            return None
        try:
            state = json.loads(raw)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise ChangeStateError(f"the Redis key {self.key} does not hold a change state")
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        """Store ``state``, only if this pass still holds the lock."""
        text = json.dumps(state, separators=(",", ":"))
        try:
            saved = self._client.eval(_SAVE_IF_OWNER, 2, self.key, self.lock_key,
                                      self._owner or "", text)  # fmt: skip
        except Exception as error:
            raise _unreachable(error) from None
        if not saved:
            raise ChangeStateError(
                f"the pass of the change feed {self.name!r} held its state longer than "
                f"lock_seconds ({self.lock_seconds:g}) and may no longer save it: its rows "
                "come again next pass"
            )

    def release(self) -> None:
        """Release the lock (only ours)."""
        owner, self._owner = self._owner, None
        if owner is None:
            return
        with contextlib.suppress(Exception):  # the lock expires on its own
            self._client.eval(_RELEASE_IF_OWNER, 1, self.lock_key, owner)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _client(redis: Any) -> Any:
    if not isinstance(redis, str):
        if all(hasattr(redis, command) for command in ("get", "set", "eval")):
            return redis
        raise ConfigurationError("RedisChangeState takes a Redis URL or a redis-py client")
    try:
        import redis as library
    except ImportError:
        raise ConfigurationError(
            "RedisChangeState needs redis-py: pip install 'requests-resharmonics[redis]'"
        ) from None
    if not redis.strip().lower().startswith(("redis://", "rediss://", "unix://")):
        raise ConfigurationError(
            "RedisChangeState needs a Redis URL starting with redis://, rediss:// or unix://"
        )
    try:
        return library.Redis.from_url(redis.strip())
    except (ValueError, TypeError) as error:  # the URL may hold a password: not quoted
        raise ConfigurationError(f"RedisChangeState could not read its Redis URL: "
                                 f"{type(error).__name__}") from None  # fmt: skip


def _unreachable(error: Exception) -> ChangeStateError:
    return ChangeStateError(f"Redis could not be reached for the change state: "
                            f"{type(error).__name__}", retryable=True)  # fmt: skip
