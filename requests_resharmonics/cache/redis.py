"""`RedisTokenCache`: tokens shared by processes on many machines, through Redis."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ConfigurationError
from ..token import RENEWAL_FRACTION
from .base import Hold, TokenCache, value_tag

#: A token leaves Redis this long before it expires (less for short-lived tokens).
EXPIRY_MARGIN = 60.0
#: A token of unknown lifetime is kept at most this long.
UNKNOWN_LIFETIME_TTL = 3600.0

# Each script touches one key, so Redis Cluster routes it like any single-key command.
_DELETE_IF_TOKEN = """
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1])) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
# A hold: "<until>|<reason>", kept if the one in place ends later; an until past ends it.
_HOLD = """
if tonumber(ARGV[1]) <= tonumber(ARGV[3]) then return redis.call('DEL', KEYS[1]) end
local current = redis.call('GET', KEYS[1])
if current then
    local previous = tonumber(string.match(current, '^([^|]+)'))
    if previous and previous >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[4])
return 1
"""
# A budget: the moments of the client's token requests, a sorted set scored by Redis's own
# clock (machines' clocks differ; the server's is one). Returns "0" when the request was
# counted, else the seconds until it could be.
_ADMIT = """
pcall(redis.replicate_commands)  -- Redis < 7: TIME before a write needs it (7: a no-op)
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local at = now + tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local near = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (at - window), '(' .. (at + window),
    'WITHSCORES')
local count = #near / 2
if count < limit then
    redis.call('ZADD', KEYS[1], at, ARGV[4])
    local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
    redis.call('PEXPIRE', KEYS[1], math.ceil((tonumber(last[2]) + window - now) * 1000) + 1000)
    return '0'
end
local oldest = tonumber(near[(count - limit + 1) * 2])
return tostring(math.max(oldest + window - at, 0.001))
"""
_RELEASE_IF_OWNER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _redis_module() -> Any:
    try:
        import cryptography  # noqa: F401 - checked here, so a missing extra fails early
        import redis
    except ImportError:
        raise ConfigurationError(
            "RedisTokenCache needs redis-py and cryptography: "
            "pip install 'requests-resharmonics[redis]'"
        ) from None
    return redis


#: How long a Redis command or connection may take, in seconds, unless the URL says
#: (``?socket_timeout=``): a Redis that stops answering (frozen, a network black hole)
#: then fails the command, and calls fetch tokens directly, instead of hanging for ever
#: (redis-py before 6 has no timeout of its own).
SOCKET_TIMEOUT = 5.0

#: The commands the cache uses: what a client must offer.
_COMMANDS = ("get", "set", "eval")
_SCHEMES = ("redis://", "rediss://", "unix://")


def _client_from_url(redis: Any, url: str) -> Any:
    # The URL may carry a password: the errors describe it without quoting it.
    if not url.strip().lower().startswith(_SCHEMES):
        raise ConfigurationError(
            "RedisTokenCache needs a Redis URL starting with redis://, rediss:// or unix:// "
            "(such as 'redis://localhost:6379/0'); the string given has no such scheme"
        )
    try:
        # The URL's own options win over these (redis-py's rule).
        return redis.Redis.from_url(
            url.strip(), socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )
    except (ValueError, TypeError) as error:
        raise ConfigurationError(
            f"RedisTokenCache could not read its Redis URL: {type(error).__name__} "
            "(expected a form such as 'redis://:password@host:6379/0')"
        ) from None


class RedisTokenCache(TokenCache):
    """Tokens in Redis, shared by every process on every machine that uses the same Redis.

    Tokens are stored encrypted with a key derived from the client secret, each with a TTL
    that ends before the token does. While one process fetches a token it holds a Redis
    lock (``SET NX PX`` with a random value, released only by its owner); the others wait,
    then read the token it stored. Every command touches a single key, so Redis Cluster and
    Sentinel clients work.

    Example:
        >>> cache = RedisTokenCache("redis://cache.internal:6379/0")
        >>> session = ResharmonicsSession(cache=cache)

    Args:
        client_or_url: a ``redis.Redis`` (or cluster / sentinel) client, or a Redis URL.
        prefix: prepended to every key this cache writes.
    """

    seals = True

    def __init__(self, client_or_url: Any, prefix: str = "requests-resharmonics:") -> None:
        redis = _redis_module()
        if not isinstance(prefix, str):
            raise ConfigurationError(f"prefix must be a string, not {type(prefix).__name__}")
        if isinstance(client_or_url, str):
            self._url: str | None = client_or_url
            self._client = _client_from_url(redis, client_or_url)
        elif all(callable(getattr(client_or_url, name, None)) for name in _COMMANDS):
            self._url = None
            self._client = client_or_url
        else:
            raise ConfigurationError(
                "RedisTokenCache needs a Redis URL such as 'redis://localhost:6379/0', or a "
                f"redis-py client (Redis, RedisCluster, a Sentinel master), not "
                f"{type(client_or_url).__name__}"
            )
        self.prefix = prefix

    def __repr__(self) -> str:
        pool = getattr(self._client, "connection_pool", None)
        if pool is None:  # a cluster client has a pool per node
            where = type(self._client).__name__
        else:
            kwargs = getattr(pool, "connection_kwargs", {})
            where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        return f"RedisTokenCache({where}, prefix={self.prefix!r})"

    def __reduce__(self) -> Any:
        # A client holds sockets and locks; a URL can be reconnected where the cache lands.
        if self._url is None:
            raise TypeError(
                "a RedisTokenCache built from a client cannot be pickled; "
                "build it from a URL (RedisTokenCache('redis://...')) to pickle it"
            )
        return (RedisTokenCache, (self._url, self.prefix))

    def name(self, key: str) -> str:
        """Return the Redis key of a cache key.

        The cache key is a hash tag (``{...}``), so that Redis Cluster puts the token and its
        fetch lock in one slot, on one node: they are there, or not, together. Were they
        apart, a node down would fail half of the cache's commands and the other half would
        pass, and the cache would flap between unavailable and available.
        """
        return f"{self.prefix}{{{key}}}"

    def get(self, key: str) -> str | None:
        """Return the value stored for ``key``."""
        value = self._client.get(self.name(key))
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store ``value`` for ``key`` with a TTL that ends before its token does."""
        if expires_at is None:
            ttl = UNKNOWN_LIFETIME_TTL
        else:
            remaining = expires_at - time.time()
            ttl = remaining - min(EXPIRY_MARGIN, remaining * RENEWAL_FRACTION)
        if ttl > 0.001:
            self._client.set(self.name(key), value, px=int(ttl * 1000))

    def delete_if(self, key: str, token_id: str) -> None:
        """Delete the value for ``key`` if it holds the token ``token_id``, atomically."""
        self._client.eval(_DELETE_IF_TOKEN, 1, self.name(key), value_tag(token_id))

    def hold(self, key: str, until: float, reason: str) -> None:
        """Hold ``key``'s token requests until ``until`` for every process using this Redis."""
        now = time.time()
        milliseconds = max(int((until - now) * 1000) + 1000, 1)
        name = self.name(key) + ":hold"
        self._client.eval(_HOLD, 1, name, repr(until), reason, repr(now), milliseconds)

    def held(self, key: str) -> Hold | None:
        """Return the hold on ``key``'s token requests in Redis, if one is in place."""
        value = self._client.get(self.name(key) + ":hold")
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return None
        until, _, reason = value.partition("|")
        try:
            moment = float(until)
        except ValueError:
            return None
        return Hold(moment, reason) if moment > time.time() else None

    def admit_token_request(
        self, key: str, limit: int, window: float, delay: float = 0.0
    ) -> float | None:
        """Count a token request of ``key`` within its budget, atomically, by Redis's clock."""
        name = self.name(key) + ":budget"
        answer = self._client.eval(
            _ADMIT, 1, name, limit, repr(float(window)), repr(float(delay)), secrets.token_hex(8)
        )
        if isinstance(answer, bytes):
            answer = answer.decode("ascii", "replace")
        return float(answer)

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the Redis fetch lock of ``key``, which expires by itself after ``wait``."""
        name = self.name(key) + ":lock"
        owner = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        expiry_ms = max(int(wait * 1000), 1000)
        acquired = bool(self._client.set(name, owner, nx=True, px=expiry_ms))
        while not acquired and time.monotonic() < deadline:
            time.sleep(0.02)
            acquired = bool(self._client.set(name, owner, nx=True, px=expiry_ms))
        try:
            yield acquired
        finally:
            if acquired:
                self._client.eval(_RELEASE_IF_OWNER, 1, name, owner)
