"""`FakeResharmonics`: a local stand-in for the Res:Harmonics token service and API."""

from __future__ import annotations

import collections
import datetime
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ..auth import ResharmonicsAuth
from ..cache.memory import MemoryTokenCache
from ..session import ResharmonicsSession
from . import _controls
from ._faults import Faults
from ._http import Answer, CutOff, FakeHTTPServer, Incoming, Reset
from ._openapi import api_docs_route, document
from ._portfolio import Portfolio
from ._request_log import RecordedRequest, RequestLog, access_line
from ._routes import Handler, Route, Router
from ._settings import MAX_LIFETIME, Settings, check_seconds
from ._tokens import TokenService
from .api import ROUTES

EXPIRED_BODY = {"message": "The incoming token has expired"}
UNAUTHORIZED_BODY = {"message": "Unauthorized"}

_TOKEN_PATH = "/oauth2/token"


class FakeResharmonics(Settings, Faults):
    """A real HTTP server on 127.0.0.1 that behaves like the Res:Harmonics service.

    It issues client-credentials tokens (HTTP Basic or form client authentication), answers
    expired tokens with the API Gateway's exact 401, and serves every operation of the API
    description over one consistent, seeded `Portfolio`: bookings and room stays, guest
    stays, units, unit types, buildings, contacts, availability and rates, sales invoices,
    their items, payments and finance accounts, VAT profiles, extras, channels, booking
    types and the other reference data, every write, and ``GET /v3/api-docs``. Tests can add
    routes (`add_route`) and records (`portfolio`), and inject faults and latency on both the
    token endpoint and the API; ``/_fake/...`` offers the same controls and every setting
    over HTTP, for clients in other languages. Settings out of range raise ValueError.

    Example:
        >>> with FakeResharmonics(token_lifetime=60) as fake:
        ...     auth = ResharmonicsAuth(fake.client_id, fake.client_secret, fake.token_url)
        ...     requests.get(fake.base_url + "/api/v3/units", auth=auth).json()["page"]
        {'size': 20, 'number': 0, 'totalElements': 40, 'totalPages': 2}

    Args:
        token_lifetime: the ``expires_in`` the token endpoint advertises, in seconds.
        server_lifetime: how long the API really accepts a token; defaults to
            ``token_lifetime``. Set it lower to play a service that expires tokens early.
        client_id, client_secret: the one client the token service knows; the secret is
            random unless given.
        port: 0 (the default) picks a free port.
        jwt: issue JWT-shaped tokens carrying ``exp`` (else opaque strings).
        expiry_style: ``"message"`` (the 401 JSON body) or ``"www-authenticate"`` (an
            ``error="invalid_token"`` challenge, as HTTP APIs with JWT authorizers send).
        legacy_pagination: use the older envelope with ``totalPages``, ``number`` and
            ``last`` at the top level.
        token_delay: seconds every token request takes to answer (at most 600).
        api_delay: seconds every API request takes to answer (network latency; at most 600).
        seed: seed of the generated portfolio.
        today: the date the portfolio is built around (default: today), for tests that
            need the same data every day.
    """

    #: Whether this is the stand-in of a test replayed from a cassette, with no server
    #: (see `ReplayedResharmonics`); a test can skip its checks of the server's counters.
    replaying: bool = False

    def __init__(
        self,
        *,
        token_lifetime: float = 3600,
        server_lifetime: float | None = None,
        client_id: str = "fake-client-id",
        client_secret: str | None = None,
        port: int = 0,
        jwt: bool = True,
        expiry_style: str = "message",
        legacy_pagination: bool = False,
        token_delay: float = 0.0,
        api_delay: float = 0.0,
        seed: int = 7,
        today: datetime.date | None = None,
    ) -> None:
        self._stopping = threading.Event()
        secret = client_secret or "fake-secret-" + secrets.token_hex(12)
        self.tokens = TokenService(
            client_id,
            secret,
            check_seconds("token_lifetime", token_lifetime, MAX_LIFETIME, positive=True),
            None,
            jwt,
            self._stopping,
        )
        self.server_lifetime = server_lifetime
        self.token_delay = token_delay
        self.expiry_style = expiry_style
        #: Whether lists answer in the older envelope (``totalPages``... at the top level).
        self.legacy_pagination = legacy_pagination
        self.api_delay = api_delay
        self._issued_at_reset = 0
        self.seed = seed
        self.today = today
        #: The data every endpoint serves; change it to set up a test (see `Portfolio`).
        self.portfolio = Portfolio(seed, today)
        self.router = Router([*ROUTES, self._api_docs_route()])
        self._port = port
        self._lock = threading.Lock()
        self._api_faults: collections.deque[str] = collections.deque()
        self._throttled = 0
        self._retry_after = 1.0
        # Bounded, so that a long-running `resharmonics fake-server` does not grow without
        # end; its counters stay exact.
        self._log = RequestLog()
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Called with one line per request received (``fake.access_log = print``), or None.
        self.access_log: Callable[[str], None] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeResharmonics:
        """Start serving in a background thread; return self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = FakeHTTPServer(("127.0.0.1", self._port), self._answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-resharmonics",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, wait for the server's threads.

        The tokens it issued are also dropped from the process's `MemoryTokenCache`.
        """
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.close()
        if self._thread is not None:
            self._thread.join(5)
        # Its tokens die with it. Forgotten from the process's token cache, so that the next
        # fake on this port with this client (the next test's) is not sent them: that would
        # start its test with a 401, and record one into its cassette.
        MemoryTokenCache.forget(self.tokens.issued_tokens)

    def __enter__(self) -> FakeResharmonics:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"FakeResharmonics({where}, client_id={self.client_id!r})"

    # -- where and who ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the fake server is not running; call start() or use `with`")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The API's base URL, such as ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        """The token endpoint's URL."""
        return self.base_url + _TOKEN_PATH

    @property
    def controls_url(self) -> str:
        """Where the HTTP controls live (``GET`` it for the list)."""
        return self.base_url + _controls.PREFIX

    def environ(self) -> dict[str, str]:
        """Return the ``RESHARMONICS_*`` variables that point the library at this server."""
        return {
            "RESHARMONICS_CLIENT_ID": self.client_id,
            "RESHARMONICS_CLIENT_SECRET": self.client_secret,
            "RESHARMONICS_TOKEN_URL": self.token_url,
            "RESHARMONICS_BASE_URL": self.base_url,
        }

    def auth(self, **kwargs: Any) -> ResharmonicsAuth:
        """Return a `ResharmonicsAuth` for this server's client; kwargs are passed on."""
        return ResharmonicsAuth(self.client_id, self.client_secret, self.token_url, **kwargs)

    def add_client(self, client_id: str, client_secret: str | None = None) -> tuple[str, str]:
        """Let the token service issue tokens to one more client; return its id and secret.

        An integrator holds one client per operator it serves; a fleet of auth objects, one
        per tenant, each with credentials of its own, needs as many clients here. The secret
        is random unless given.

        Example:
            >>> client_id, secret = fake.add_client("tenant-42")
            >>> auth = ResharmonicsAuth(client_id, secret, fake.token_url)
        """
        secret = client_secret or "fake-secret-" + secrets.token_hex(12)
        self.tokens.clients[client_id] = secret
        return client_id, secret

    def session(self, **kwargs: Any) -> ResharmonicsSession:
        """Return a `ResharmonicsSession` for this server; kwargs are passed on."""
        options = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "token_url": self.token_url,
            "base_url": self.base_url,
            **kwargs,
        }
        return ResharmonicsSession(**options)

    # -- counters --------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, oldest first (the latest 100,000, at most 64 MiB)."""
        return self._log.requests()

    @property
    def token_requests(self) -> int:
        """How many requests reached the token endpoint."""
        return self._log.count("token")

    @property
    def api_requests(self) -> int:
        """How many requests reached the API (anything but the token endpoint and controls)."""
        return self._log.count("api")

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, oldest first."""
        return self.tokens.issued_tokens

    @property
    def tokens_issued_since_reset(self) -> int:
        """How many tokens the token endpoint issued since the counters were last reset."""
        with self._lock:
            return self.tokens.issued_count - self._issued_at_reset

    def reset_counters(self) -> None:
        """Forget the requests received so far (the tokens stay valid)."""
        with self._lock:
            self._issued_at_reset = self.tokens.issued_count
            self._log.clear()

    # -- controls --------------------------------------------------------------------------

    def expire_all_tokens(self) -> None:
        """Make the API answer every token issued so far with the expiry 401."""
        self.tokens.expire()

    def expire_token(self, access_token: str) -> None:
        """Make the API answer this one token with the expiry 401 from now on."""
        self.tokens.expire(access_token)

    def expire_newest_token(self, min_age: float = 0.0) -> str | None:
        """Expire early the newest token issued at least ``min_age`` seconds ago; return it.

        This plays the service expiring the token in use before its ``expires_in``.
        """
        return self.tokens.expire_newest(min_age)

    def revoke(self, access_token: str) -> None:
        """Make the API answer this token with ``{"message": "Unauthorized"}``."""
        self.tokens.revoke(access_token)

    def add_route(
        self,
        method: str,
        path: str,
        answer: Handler | Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        summary: str = "",
    ) -> None:
        """Serve an endpoint the fake does not model, or replace one it does.

        ``path`` may hold ``{name}`` parts (``/api/v3/invoices/{id}``). ``answer`` is a fixed
        JSON body (answered with ``status`` and ``headers``), or a function of an
        `ApiRequest` returning an `Answer`, a ``(status, body)`` pair or a JSON body. The
        route sits behind the same token check as the rest of the API, and appears in
        ``/v3/api-docs``.
        """
        if callable(answer):
            handler: Handler = answer
        else:
            fixed = Answer(status, answer if answer is not None else b"", dict(headers or {}))

            def handler(request: Any) -> Answer:
                return fixed

        self.router.add(
            Route(
                method.upper(),
                "/" + path.strip("/"),
                handler,
                summary or "Added by a test",
                "Added",
                status=status,
                source="user",
            )
        )

    def reset(self) -> None:
        """Start again: a fresh portfolio, no added routes, faults, throttling or counts."""
        with self._lock:
            self.tokens.faults.clear()
            self._api_faults.clear()
            self._throttled = 0
        self.portfolio = Portfolio(self.seed, self.today)
        self.router.clear_added()
        self.reset_counters()

    # -- the service -----------------------------------------------------------------------

    def _answer(self, incoming: Incoming) -> Answer | Reset | CutOff:
        started = time.perf_counter()
        answer = self._serve(incoming)
        if self.access_log is not None:
            self.access_log(access_line(incoming, answer, time.perf_counter() - started))
        return answer

    def _serve(self, incoming: Incoming) -> Answer | Reset | CutOff:
        if incoming.path.startswith(_controls.PREFIX):
            return _controls.answer(self, incoming)
        answer: Answer | Reset | CutOff
        is_token = incoming.path == _TOKEN_PATH
        if is_token:
            answer, client_auth = self.tokens.answer(incoming)
            token = None
        else:
            token = _bearer(incoming.headers.get("authorization", ""))
            answer, client_auth = self._api_with_faults(incoming, token), None
        status = answer.status if isinstance(answer, Answer) else 0
        self._log.record(
            "token" if is_token else "api",
            RecordedRequest(
                method=incoming.method,
                path=incoming.path,
                query=incoming.query,
                status=status,
                body=incoming.body,
                token=token,
                client_auth=client_auth,
                headers=incoming.headers,
            ),
        )
        return answer

    def _api(self, incoming: Incoming, token: str | None) -> Answer:
        verdict = self.tokens.verdict(token)
        if verdict == "unknown":
            return Answer(401, UNAUTHORIZED_BODY)
        if verdict == "expired":
            return self._expired_answer()
        with self._lock:
            if self._throttled > 0:
                self._throttled -= 1
                return Answer(
                    429,
                    {"message": "Too Many Requests"},
                    {"Retry-After": f"{self._retry_after:g}"},
                )
        return self.router.dispatch(incoming, self.portfolio, self.legacy_pagination)

    def _expired_answer(self) -> Answer:
        if self.expiry_style == "www-authenticate":
            challenge = (
                'Bearer realm="resharmonics", error="invalid_token", '
                'error_description="the access token expired"'
            )
            return Answer(401, UNAUTHORIZED_BODY, {"WWW-Authenticate": challenge})
        return Answer(401, EXPIRED_BODY)

    def _api_docs_route(self) -> Route:
        def api_docs(request: Any) -> Any:
            return document(self.router.routes, self.portfolio, self.base_url, self.token_url)

        return api_docs_route(api_docs)


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
