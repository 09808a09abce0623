"""Token-endpoint connections shared by every auth object of a token URL, in one bounded pool.

Each auth object keeping a keep-alive connection of its own to the token endpoint makes
descriptors grow with tenants (a thousand idle tenants, a thousand sockets) although each
asks for a token once a lifetime. Here the auth objects of one token URL (with the same
timeout and retries) share one session whose pool keeps at most `DEFAULT_TOKEN_CONNECTIONS`
idle connections (see `set_max_connections`): a token request beyond them opens a
connection and closes it after use.

The shared session keeps no cookies (a token endpoint's cookie set for one tenant must
never reach another's request), and it forgets everything in a forked child.
"""

from __future__ import annotations

import http.cookiejar
import os
import threading
from typing import NamedTuple

import requests

from .._retries import token_request_retry
from ..errors import ConfigurationError
from .deadline import DeadlineAdapter

#: Idle connections kept per token host, for all auth objects of the process together.
DEFAULT_TOKEN_CONNECTIONS = 8


class _Key(NamedTuple):
    token_url: str
    retries: int
    timeout: float


class _Shared:
    __slots__ = ("session", "users")

    def __init__(self, session: requests.Session) -> None:
        self.session = session
        self.users = 0


_lock = threading.Lock()
_shared: dict[_Key, _Shared] = {}
_max_connections = DEFAULT_TOKEN_CONNECTIONS


def _new_session(key: _Key) -> requests.Session:
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = DeadlineAdapter(
        max_retries=token_request_retry(key.retries, key.timeout),
        pool_connections=4,
        pool_maxsize=_max_connections,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def acquire(token_url: str, retries: int, timeout: float) -> requests.Session:
    """Return the session shared by token requests to ``token_url``; count one more user."""
    key = _Key(token_url, retries, timeout)
    with _lock:
        shared = _shared.get(key)
        if shared is None:
            shared = _shared[key] = _Shared(_new_session(key))
        shared.users += 1
        return shared.session


def release(session: requests.Session) -> None:
    """Count one user less of ``session``; the last one out closes its connections."""
    with _lock:
        for key, shared in list(_shared.items()):
            if shared.session is session:
                shared.users -= 1
                if shared.users <= 0:
                    del _shared[key]
                    session.close()
                return


def open_pools() -> int:
    """Return how many shared token sessions the process holds (one per token URL in use)."""
    with _lock:
        return len(_shared)


def set_max_connections(count: int) -> None:
    """Set how many idle connections to each token host the process keeps (default 8).

    Applies to the sessions created afterwards; raise it when more token requests than
    that run at once for long (each beyond it opens a connection of its own).

    Example:
        >>> import requests_resharmonics
        >>> requests_resharmonics.set_token_connections(4)
    """
    global _max_connections
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigurationError(
            f"the token connections must be a whole number >= 1, not {count!r}"
        )
    _max_connections = count


def _forget_after_fork() -> None:
    # Pooled connections must not be shared with the parent, nor its lock's state.
    global _lock
    _lock = threading.Lock()
    _shared.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
