"""The clients compared, each used the way its own documentation says.

Every contender answers `get(url)` with the HTTP status (or raises, as the library does) and,
where the library has one, exposes its per-request auth step for the no-network timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import requests
from requests.auth import AuthBase


class Server:
    """What a contender needs to know of the fake server."""

    def __init__(self, base_url: str, token_url: str, client_id: str, client_secret: str) -> None:
        self.base_url = base_url
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret


class Contender:
    """A client under test. Subclasses set `name` and build their client in `__init__`."""

    name = ""
    shares_tokens_across_processes = False

    def __init__(self, server: Server) -> None:
        self.server = server

    def get(self, url: str) -> int:
        raise NotImplementedError

    def auth_step(self, url: str) -> Callable[[], object] | None:
        """The work the library adds to one request with a valid token, without the network."""
        return None

    def close(self) -> None:
        """Release connections."""


class _PerThreadSession(Contender):
    """An AuthBase shared by all threads, each thread with a requests.Session of its own."""

    auth: AuthBase

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            self._sessions.append(session)
        return session

    def get(self, url: str) -> int:
        return self._session().get(url, auth=self.auth, timeout=30).status_code

    def auth_step(self, url: str) -> Callable[[], object]:
        prepared = requests.Request("GET", url).prepare()

        def step() -> object:
            prepared.hooks = {"response": []}
            return self.auth(prepared)

        return step

    def close(self) -> None:
        for session in self._sessions:
            session.close()


class FixedHeader(_PerThreadSession):
    """The floor: a bearer header that never changes (it cannot survive an expiry)."""

    name = "floor: fixed header"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        answer = requests.post(
            server.token_url,
            data={"grant_type": "client_credentials"},
            auth=(server.client_id, server.client_secret),
            timeout=30,
        )
        header = "Bearer " + answer.json()["access_token"]

        class _Fixed(AuthBase):
            def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
                request.headers["Authorization"] = header
                return request

        self.auth = _Fixed()


class Resharmonics(_PerThreadSession):
    name = "ResharmonicsAuth"
    shares_tokens_across_processes = True

    def __init__(self, server: Server, **options: Any) -> None:
        super().__init__(server)
        from requests_resharmonics import ResharmonicsAuth

        self.auth = ResharmonicsAuth(
            server.client_id, server.client_secret, server.token_url, **options
        )


class ResharmonicsSessionContender(Contender):
    name = "ResharmonicsSession"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        from requests_resharmonics import ResharmonicsSession

        self.session = ResharmonicsSession(
            server.client_id,
            server.client_secret,
            token_url=server.token_url,
            base_url=server.base_url,
        )

    def get(self, url: str) -> int:
        return self.session.get(url, timeout=30).status_code

    def auth_step(self, url: str) -> Callable[[], object]:
        prepared = requests.Request("GET", url).prepare()
        auth = self.session.auth

        def step() -> object:
            prepared.hooks = {"response": []}
            return auth(prepared)

        return step

    def close(self) -> None:
        self.session.close()


class RequestsOAuthlib(Contender):
    """requests-oauthlib's backend application flow: fetch_token, then call.

    Its documentation leaves expiry to the user: on TokenExpiredError the call has failed,
    and the user's handler fetches a new token before the next one.
    """

    name = "requests-oauthlib"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        from oauthlib.oauth2 import BackendApplicationClient
        from requests_oauthlib import OAuth2Session

        self.session = OAuth2Session(client=BackendApplicationClient(client_id=server.client_id))
        self.fetch()

    def fetch(self) -> None:
        self.session.fetch_token(
            token_url=self.server.token_url,
            client_id=self.server.client_id,
            client_secret=self.server.client_secret,
        )

    def get(self, url: str) -> int:
        from oauthlib.oauth2 import TokenExpiredError

        try:
            return int(self.session.get(url, timeout=30).status_code)
        except TokenExpiredError:
            self.fetch()
            raise

    def auth_step(self, url: str) -> Callable[[], object]:
        client = self.session._client
        return lambda: client.add_token(url, http_method="GET", headers={})

    def close(self) -> None:
        self.session.close()


class RequestsOAuth2Client(_PerThreadSession):
    name = "requests-oauth2client"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        from requests_oauth2client import OAuth2Client, OAuth2ClientCredentialsAuth

        client = OAuth2Client(
            token_endpoint=server.token_url,
            client_id=server.client_id,
            client_secret=server.client_secret,
            testing=True,  # allows the fake server's http://127.0.0.1 endpoint
        )
        self.auth = OAuth2ClientCredentialsAuth(client)


class RequestsAuth(_PerThreadSession):
    name = "requests-auth"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        import requests_auth

        self.auth = requests_auth.OAuth2ClientCredentials(
            server.token_url, server.client_id, server.client_secret
        )


class Authlib(Contender):
    name = "Authlib"

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        from authlib.integrations.requests_client import OAuth2Session

        self.session = OAuth2Session(
            server.client_id,
            server.client_secret,
            token_endpoint=server.token_url,
            grant_type="client_credentials",
        )
        self.session.fetch_token()

    def get(self, url: str) -> int:
        return int(self.session.get(url, timeout=30).status_code)

    def auth_step(self, url: str) -> Callable[[], object]:
        prepared = requests.Request("GET", url).prepare()
        session = self.session

        def step() -> object:
            session.ensure_active_token(session.token)
            return session.token_auth(prepared)

        return step

    def close(self) -> None:
        self.session.close()


ALL: list[type[Contender]] = [
    FixedHeader,
    Resharmonics,
    ResharmonicsSessionContender,
    RequestsOAuthlib,
    RequestsOAuth2Client,
    RequestsAuth,
    Authlib,
]
