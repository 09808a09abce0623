"""Token-endpoint connections shared by every auth object of a token URL, in one bounded pool.

Each auth object keeping a keep-alive connection of its own to the token endpoint makes
descriptors grow with tenants (a thousand idle tenants, a thousand sockets) although each
asks for a token once a lifetime. Here the auth objects of one token URL (with the same
timeout and retries) share one session whose pool keeps at most `DEFAULT_TOKEN_CONNECTIONS`
idle connections (see `TokenSessions.set_max_connections`): a token request beyond them
opens a connection and closes it after use.

The shared session keeps no cookies (a token endpoint's cookie set for one tenant must
never reach another's request). The sessions are part of the process's state (`process`):
a forked child starts with none.
"""

from __future__ import annotations

import http.cookiejar
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


def checked_connections(count: object) -> int:
    """Return ``count`` if it is a valid number of connections; raise if not."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigurationError(
            f"the token connections must be a whole number >= 1, not {count!r}"
        )
    return count


class TokenSessions:
    """The token sessions of the process, one per token URL, timeout and retries."""

    def __init__(self, max_connections: int = DEFAULT_TOKEN_CONNECTIONS) -> None:
        self._lock = threading.Lock()
        self._shared: dict[_Key, _Shared] = {}
        self.max_connections = max_connections

    def acquire(self, token_url: str, retries: int, timeout: float) -> requests.Session:
        """Return the session shared by token requests to ``token_url``; count one more user."""
        key = _Key(token_url, retries, timeout)
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:
                shared = self._shared[key] = _Shared(self._new_session(key))
            shared.users += 1
            return shared.session

    def release(self, session: requests.Session) -> None:
        """Count one user less of ``session``; the last one out closes its connections."""
        with self._lock:
            for key, shared in list(self._shared.items()):
                if shared.session is session:
                    shared.users -= 1
                    if shared.users <= 0:
                        del self._shared[key]
                        session.close()
                    return

    def open_pools(self) -> int:
        """Return how many shared token sessions there are (one per token URL in use)."""
        with self._lock:
            return len(self._shared)

    def set_max_connections(self, count: int) -> None:
        """Set how many idle connections to each token host to keep (see `process`)."""
        self.max_connections = checked_connections(count)

    def close(self) -> None:
        """Close every session's idle connections; a later request opens new ones."""
        with self._lock:
            sessions = [shared.session for shared in self._shared.values()]
            self._shared.clear()
        for session in sessions:
            session.close()

    def _new_session(self, key: _Key) -> requests.Session:
        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = DeadlineAdapter(
            max_retries=token_request_retry(key.retries, key.timeout),
            pool_connections=4,
            pool_maxsize=self.max_connections,
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session


class SessionLease:
    """An endpoint's hold on a shared token session, given back once (see `TokenSessions`).

    Kept apart from the endpoint so that the end of its token manager can give it back
    without holding the endpoint: the last user of a token URL closes its connections.
    """

    __slots__ = ("session", "sessions")

    def __init__(self) -> None:
        self.session: requests.Session | None = None
        self.sessions: TokenSessions | None = None

    def take(self, sessions: TokenSessions, session: requests.Session) -> None:
        """Note that ``session`` of ``sessions`` is held."""
        self.sessions, self.session = sessions, session

    def give_back(self) -> None:
        """Give the session back, if it is still held."""
        sessions, session = self.sessions, self.session
        self.sessions = self.session = None
        if sessions is not None and session is not None:
            sessions.release(session)
