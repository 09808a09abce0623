"""`FakeResharmonics`: a local stand-in for the Res:Harmonics token service and API."""

from __future__ import annotations

import base64
import binascii
import collections
import json
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..auth import ResharmonicsAuth
from ..session import ResharmonicsSession
from ._data import Record, generate
from ._http import Answer, CutOff, FakeHTTPServer, Incoming, Reset

EXPIRED_BODY = {"message": "The incoming token has expired"}
UNAUTHORIZED_BODY = {"message": "Unauthorized"}

#: How many requests `FakeResharmonics.requests` keeps (the counters count them all).
RECORDED_REQUESTS = 100_000

#: Faults the token endpoint can be told to answer with, one per queued token request.
TOKEN_FAULTS = (
    "503",  # an HTML 503 from a load balancer
    "500",  # a JSON server_error
    "429",  # Too Many Requests with Retry-After: 1
    "html",  # 200 with an HTML page
    "malformed-json",  # 200 with a cut-off JSON document
    "missing-access-token",  # 200 with JSON that has no access_token
    "invalid_client",  # 400 invalid_client although the credentials are right
    "hang",  # answers normally, but only after `hang_seconds`
    "reset",  # closes the connection without answering
    "cut-off",  # starts a normal answer and closes the connection halfway through
    "string-expires-in",  # a normal token whose expires_in is a string
    "no-expires-in",  # a normal token without expires_in
)

#: Faults the API can be told to answer with, one per queued API request.
API_FAULTS = (
    "pass",  # answer this request normally (to aim a fault at a later one, such as a replay)
    "reset",  # close the connection without answering
    "cut-off",  # start a normal answer and close the connection halfway through
    "503",  # Service Unavailable
)


@dataclass
class RecordedRequest:
    """One request the fake server received, for assertions in tests."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: bytes = field(repr=False)
    token: str | None = field(repr=False, default=None)
    client_auth: str | None = None
    headers: dict[str, str] = field(repr=False, default_factory=dict)


@dataclass
class _Issued:
    issued_at: float
    expires_at: float
    revoked: bool = False


class FakeResharmonics:
    """A real HTTP server on 127.0.0.1 that behaves like the Res:Harmonics service.

    It issues client-credentials tokens (HTTP Basic or form client authentication), answers
    expired tokens with the API Gateway's exact 401, and serves generated bookings, contacts
    and units with Spring-style pagination. Counters and controls let tests provoke every
    situation the real service can produce. It works from any test framework or script.

    Example:
        >>> with FakeResharmonics(token_lifetime=60) as fake:
        ...     auth = ResharmonicsAuth(fake.client_id, fake.client_secret, fake.token_url)
        ...     requests.get(fake.base_url + "/api/v3/units", auth=auth).json()["page"]
        {'size': 20, 'number': 0, 'totalElements': 24, 'totalPages': 2}

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
        token_delay: seconds every token request takes to answer.
        seed: seed of the generated data.
    """

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
        seed: int = 7,
    ) -> None:
        if expiry_style not in ("message", "www-authenticate"):
            raise ValueError("expiry_style must be 'message' or 'www-authenticate'")
        self.client_id = client_id
        self.client_secret = client_secret or "fake-secret-" + secrets.token_hex(12)
        self.token_lifetime = token_lifetime
        self.server_lifetime = server_lifetime
        self.jwt = jwt
        self.expiry_style = expiry_style
        self.legacy_pagination = legacy_pagination
        self.token_delay = token_delay
        #: How long the ``"hang"`` fault waits before answering.
        self.hang_seconds = 30.0
        self.data: dict[str, list[Record]] = generate(seed)
        self._port = port
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._issued: dict[str, _Issued] = {}
        self._faults: collections.deque[str] = collections.deque()
        self._api_faults: collections.deque[str] = collections.deque()
        self._throttled = 0
        self._retry_after = 1.0
        # Bounded, so that a long-running `resharmonics fake-server` does not grow without
        # end; the counters below stay exact.
        self._requests: collections.deque[RecordedRequest] = collections.deque(
            maxlen=RECORDED_REQUESTS
        )
        self._counts = {"token": 0, "api": 0}
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

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
        """Stop serving, close every connection and wait for the server's threads."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.close()
        if self._thread is not None:
            self._thread.join(5)

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
        return f"{self.base_url}/oauth2/token"

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
        """The requests received so far, oldest first (the latest 100,000)."""
        with self._lock:
            return list(self._requests)

    @property
    def token_requests(self) -> int:
        """How many requests reached the token endpoint."""
        with self._lock:
            return self._counts["token"]

    @property
    def api_requests(self) -> int:
        """How many requests reached the API (anything but the token endpoint)."""
        with self._lock:
            return self._counts["api"]

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, oldest first."""
        with self._lock:
            return list(self._issued)

    def reset_counters(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()
            self._counts = {"token": 0, "api": 0}

    # -- controls --------------------------------------------------------------------------

    def expire_all_tokens(self) -> None:
        """Make the API answer every token issued so far with the expiry 401."""
        now = time.time()
        with self._lock:
            for issued in self._issued.values():
                issued.expires_at = min(issued.expires_at, now)

    def revoke(self, access_token: str) -> None:
        """Make the API answer this token with ``{"message": "Unauthorized"}``."""
        with self._lock:
            if access_token in self._issued:
                self._issued[access_token].revoked = True

    def fail_token_requests(self, *faults: str) -> None:
        """Queue faults: each of the next token requests answers with one (see TOKEN_FAULTS)."""
        self._queue(self._faults, faults, TOKEN_FAULTS, "token")

    def fail_api_requests(self, *faults: str) -> None:
        """Queue faults: each of the next API requests answers with one (see API_FAULTS)."""
        self._queue(self._api_faults, faults, API_FAULTS, "API")

    def _queue(
        self,
        queue: collections.deque[str],
        faults: tuple[str, ...],
        known: tuple[str, ...],
        what: str,
    ) -> None:
        unknown = [fault for fault in faults if fault not in known]
        if unknown:
            raise ValueError(f"unknown {what} faults {unknown}; known: {', '.join(known)}")
        with self._lock:
            queue.extend(faults)

    def expire_token(self, access_token: str) -> None:
        """Make the API answer this one token with the expiry 401 from now on."""
        now = time.time()
        with self._lock:
            if access_token in self._issued:
                issued = self._issued[access_token]
                issued.expires_at = min(issued.expires_at, now)

    def expire_newest_token(self, min_age: float = 0.0) -> str | None:
        """Expire early the newest token issued at least ``min_age`` seconds ago; return it.

        This plays the service expiring the token in use before its ``expires_in``.
        """
        now = time.time()
        with self._lock:
            for access_token, issued in reversed(list(self._issued.items())):
                if now - issued.issued_at >= min_age:
                    issued.expires_at = min(issued.expires_at, now)
                    return access_token
        return None

    def throttle(self, count: int = 1, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` API requests with 429 and ``Retry-After``."""
        with self._lock:
            self._throttled += count
            self._retry_after = retry_after

    # -- the service -----------------------------------------------------------------------

    def _answer(self, incoming: Incoming) -> Answer | Reset | CutOff:
        answer: Answer | Reset | CutOff
        if incoming.path == "/oauth2/token":
            answer, client_auth = self._token_endpoint(incoming)
            token = None
        else:
            token = _bearer(incoming.headers.get("authorization", ""))
            answer, client_auth = self._api_with_faults(incoming, token), None
        status = answer.status if isinstance(answer, Answer) else 0
        with self._lock:
            self._counts["token" if incoming.path == "/oauth2/token" else "api"] += 1
            self._requests.append(
                RecordedRequest(
                    method=incoming.method,
                    path=incoming.path,
                    query=incoming.query,
                    status=status,
                    body=incoming.body,
                    token=token,
                    client_auth=client_auth,
                    headers=incoming.headers,
                )
            )
        return answer

    def _api_with_faults(self, incoming: Incoming, token: str | None) -> Answer | Reset | CutOff:
        with self._lock:
            fault = self._api_faults.popleft() if self._api_faults else "pass"
        if fault == "reset":
            return Reset()
        if fault == "503":
            return Answer(503, {"message": "Service Unavailable"})
        answer = self._api(incoming, token)
        return CutOff(answer) if fault == "cut-off" else answer

    def _token_endpoint(self, incoming: Incoming) -> tuple[Answer | Reset | CutOff, str | None]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if self.token_delay:
            self._stopping.wait(self.token_delay)
        if fault == "hang":
            self._stopping.wait(self.hang_seconds)
        elif fault == "reset":
            return Reset(), None
        elif fault == "cut-off":
            return CutOff(self._token_answer(incoming, None)[0]), None
        elif fault is not None and fault not in ("string-expires-in", "no-expires-in"):
            return _fault_answer(fault), None
        return self._token_answer(incoming, fault)

    def _token_answer(self, incoming: Incoming, fault: str | None) -> tuple[Answer, str | None]:
        """Answer a token request as the token service does."""
        if incoming.method != "POST":
            return _oauth_error(405, "invalid_request"), None
        content_type = incoming.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request"), None
        form = dict(parse_qsl(incoming.body.decode("utf-8", "replace"), keep_blank_values=True))
        client_auth, credentials = _client_credentials(incoming.headers, form)
        if client_auth == "both":
            return _oauth_error(400, "invalid_request"), client_auth
        if credentials != (self.client_id, self.client_secret):
            return _oauth_error(400, "invalid_client"), client_auth
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request"), client_auth
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type"), client_auth
        scope = form.get("scope")
        if scope is not None and not set(scope.split()) <= {"api/read", "api/write"}:
            return _oauth_error(400, "invalid_scope"), client_auth
        body: dict[str, Any] = {
            "access_token": self._issue(scope),
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime),
        }
        if fault == "string-expires-in":
            body["expires_in"] = str(body["expires_in"])
        elif fault == "no-expires-in":
            del body["expires_in"]
        return Answer(200, body, {"Cache-Control": "no-store"}), client_auth

    def _issue(self, scope: str | None) -> str:
        now = time.time()
        lifetime = self.token_lifetime if self.server_lifetime is None else self.server_lifetime
        if self.jwt:
            claims = {
                "sub": self.client_id,
                "client_id": self.client_id,
                "token_use": "access",
                "scope": scope or "api/read api/write",
                "iat": int(now),
                "exp": int(now + self.token_lifetime),
                "jti": secrets.token_hex(8),
            }
            access_token = ".".join(
                [
                    _b64(json.dumps({"alg": "RS256", "kid": "fake-resharmonics"})),
                    _b64(json.dumps(claims)),
                    _b64(secrets.token_bytes(32)),
                ]
            )
        else:
            access_token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._issued) >= RECORDED_REQUESTS:  # a long-running server: forget the dead
                self._issued = {
                    key: issued
                    for key, issued in self._issued.items()
                    if issued.expires_at > now - 3600
                }
            self._issued[access_token] = _Issued(issued_at=now, expires_at=now + lifetime)
        return access_token

    def _api(self, incoming: Incoming, token: str | None) -> Answer:
        with self._lock:
            issued = self._issued.get(token) if token else None
            if issued is None or issued.revoked:
                return Answer(401, UNAUTHORIZED_BODY)
            if time.time() >= issued.expires_at:
                return self._expired_answer()
            if self._throttled > 0:
                self._throttled -= 1
                return Answer(
                    429,
                    {"message": "Too Many Requests"},
                    {"Retry-After": f"{self._retry_after:g}"},
                )
        return self._route(incoming)

    def _expired_answer(self) -> Answer:
        if self.expiry_style == "www-authenticate":
            challenge = (
                'Bearer realm="resharmonics", error="invalid_token", '
                'error_description="the access token expired"'
            )
            return Answer(401, UNAUTHORIZED_BODY, {"WWW-Authenticate": challenge})
        return Answer(401, EXPIRED_BODY)

    def _route(self, incoming: Incoming) -> Answer:
        parts = [part for part in incoming.path.split("/") if part]
        if parts[:2] != ["api", "v3"] or len(parts) < 3:
            return Answer(404, {"message": "Not Found"})
        resource, rest = parts[2], parts[3:]
        if resource == "echo":
            return Answer(200, _echo(incoming))
        records = self.data.get(resource)
        if records is None or len(rest) > 1:
            return Answer(404, {"message": "Not Found"})
        if incoming.method not in ("GET", "HEAD"):
            return Answer(405, {"message": "Method Not Allowed"})
        if rest:
            found = [record for record in records if str(record["id"]) == rest[0]]
            return Answer(200, found[0]) if found else Answer(404, {"message": "Not Found"})
        return self._page(_filtered(records, incoming.query), incoming.query)

    def _page(self, records: list[Record], query: dict[str, str]) -> Answer:
        try:
            number = int(query.get("page", "0"))
            size = int(query.get("size", "20"))
        except ValueError:
            return Answer(400, {"message": "page and size must be whole numbers"})
        if number < 0 or not 1 <= size <= 1000:
            return Answer(400, {"message": "page must be >= 0 and size between 1 and 1000"})
        total_pages = math.ceil(len(records) / size)
        content = records[number * size : (number + 1) * size]
        page = {
            "size": size,
            "number": number,
            "totalElements": len(records),
            "totalPages": total_pages,
        }
        if self.legacy_pagination:
            return Answer(
                200,
                {
                    "content": content,
                    **page,
                    "first": number == 0,
                    "last": number >= total_pages - 1,
                    "numberOfElements": len(content),
                },
            )
        return Answer(200, {"content": content, "page": page})


def _filtered(records: list[Record], query: dict[str, str]) -> list[Record]:
    """Apply the bookings filters the real API documents, where a record has the field."""
    result = records
    statuses = query.get("statuses")
    if statuses:
        wanted = {status.strip().upper() for status in statuses.split(",")}
        result = [record for record in result if record.get("status") in wanted]
    for key in ("unitId", "bookingContactId", "bookingReference"):
        if query.get(key):
            result = [record for record in result if str(record.get(key)) == query[key]]
    if query.get("dateFrom"):
        result = [r for r in result if str(r.get("departureDate", "")) >= query["dateFrom"]]
    if query.get("dateTo"):
        result = [r for r in result if str(r.get("arrivalDate", "")) <= query["dateTo"]]
    return result


def _echo(incoming: Incoming) -> dict[str, Any]:
    return {
        "method": incoming.method,
        "path": incoming.path,
        "query": incoming.query,
        "contentType": incoming.headers.get("content-type"),
        "body": incoming.body.decode("utf-8", "replace"),
        "bodyLength": len(incoming.body),
    }


def _bearer(header: str) -> str | None:
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def _client_credentials(
    headers: dict[str, str], form: dict[str, str]
) -> tuple[str | None, tuple[str, str] | None]:
    """Return how the client authenticated and the (id, secret) it gave."""
    basic = None
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            basic = (user, password)
        except (binascii.Error, UnicodeDecodeError):
            basic = ("", "")
    posted = (form["client_id"], form["client_secret"]) if "client_secret" in form else None
    if basic and posted:
        return "both", None
    if basic:
        return "basic", basic
    if posted:
        return "post", posted
    return None, None


def _oauth_error(status: int, error: str) -> Answer:
    return Answer(status, {"error": error})


def _fault_answer(fault: str) -> Answer:
    if fault == "503":
        page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
        return Answer(503, page, content_type="text/html")
    if fault == "500":
        return Answer(500, {"error": "server_error"})
    if fault == "429":
        return Answer(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
    if fault == "html":
        return Answer(200, b"<html><body>Sign in</body></html>", content_type="text/html")
    if fault == "malformed-json":
        return Answer(200, b'{"access_token": "abc', content_type="application/json")
    if fault == "missing-access-token":
        return Answer(200, {"token_type": "Bearer", "expires_in": 3600})
    return _oauth_error(400, "invalid_client")


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
