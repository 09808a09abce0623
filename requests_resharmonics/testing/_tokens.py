"""The fake token service: client-credentials tokens as the real one (AWS Cognito) issues them.

HTTP Basic or form client authentication, Cognito's error shapes, JWT-shaped tokens with
``exp``, and a table of issued tokens that the API consults, with the controls tests use
to expire or revoke them and to make the endpoint fail.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ._http import Answer, CutOff, Incoming, Reset

#: How many issued tokens are remembered before the long dead ones are forgotten.
REMEMBERED_TOKENS = 100_000

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


@dataclass
class Issued:
    """What the service remembers of a token it issued."""

    issued_at: float
    expires_at: float
    revoked: bool = False


class TokenService:
    """Issues tokens to its one client and judges the tokens the API receives."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_lifetime: float,
        server_lifetime: float | None,
        jwt: bool,
        stopping: threading.Event,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        #: Further clients (tenants of an integrator), id -> secret; see `add_client`.
        self.clients: dict[str, str] = {}
        self.token_lifetime = token_lifetime
        self.server_lifetime = server_lifetime
        self.jwt = jwt
        self.token_delay = 0.0
        self.hang_seconds = 30.0
        self._stopping = stopping
        self._lock = threading.Lock()
        self._issued: dict[str, Issued] = {}
        #: How many tokens were ever issued (the table above forgets long-dead ones).
        self.issued_count = 0
        self.faults: collections.deque[str] = collections.deque()

    # -- the endpoint ------------------------------------------------------------------

    def answer(self, incoming: Incoming) -> tuple[Answer | Reset | CutOff, str | None]:
        """Answer a token request; also say how the client authenticated."""
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
        if self.token_delay:
            self._stopping.wait(self.token_delay)
        if fault == "hang":
            self._stopping.wait(self.hang_seconds)
        elif fault == "reset":
            return Reset(), None
        elif fault == "cut-off":
            return CutOff(self._grant(incoming, None)[0]), None
        elif fault is not None and fault not in ("string-expires-in", "no-expires-in"):
            return _fault_answer(fault), None
        return self._grant(incoming, fault)

    def _grant(self, incoming: Incoming, fault: str | None) -> tuple[Answer, str | None]:
        if incoming.method != "POST":
            return _oauth_error(405, "invalid_request"), None
        content_type = incoming.headers.get("content-type", "")
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return _oauth_error(400, "invalid_request"), None
        form = dict(parse_qsl(incoming.body.decode("utf-8", "replace"), keep_blank_values=True))
        client_auth, credentials = _client_credentials(incoming.headers, form)
        if client_auth == "both":
            return _oauth_error(400, "invalid_request"), client_auth
        if credentials is None or credentials[1] != self._secret_of(credentials[0]):
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
            "access_token": self.issue(scope, credentials[0]),
            "token_type": "Bearer",
            "expires_in": int(self.token_lifetime),
        }
        if fault == "string-expires-in":
            body["expires_in"] = str(body["expires_in"])
        elif fault == "no-expires-in":
            del body["expires_in"]
        return Answer(200, body, {"Cache-Control": "no-store"}), client_auth

    def _secret_of(self, client_id: str) -> str | None:
        if client_id == self.client_id:
            return self.client_secret
        return self.clients.get(client_id)

    def issue(self, scope: str | None = None, client_id: str | None = None) -> str:
        """Issue a token (to ``client_id``, by default the main client) and remember it."""
        client_id = client_id or self.client_id
        now = time.time()
        lifetime = self.token_lifetime if self.server_lifetime is None else self.server_lifetime
        if self.jwt:
            claims = {
                "sub": client_id,
                "client_id": client_id,
                "token_use": "access",
                "scope": scope or "api/read api/write",
                "iat": int(now),
                "exp": int(now + self.token_lifetime),
                "jti": secrets.token_hex(8),
            }
            header = {"alg": "RS256", "kid": "fake-resharmonics"}
            parts = [
                _b64(json.dumps(header)),
                _b64(json.dumps(claims)),
                _b64(secrets.token_bytes(32)),
            ]
            access_token = ".".join(parts)
        else:
            access_token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._issued) >= REMEMBERED_TOKENS:  # a long-running server: forget the dead
                self._issued = {
                    key: issued
                    for key, issued in self._issued.items()
                    if issued.expires_at > now - 3600
                }
            self._issued[access_token] = Issued(issued_at=now, expires_at=now + lifetime)
            self.issued_count += 1
        return access_token

    # -- judging and controlling tokens ------------------------------------------------

    def verdict(self, access_token: str | None) -> str:
        """Judge a token: ``"valid"``, ``"expired"`` or ``"unknown"`` (never issued, or revoked)."""
        with self._lock:
            issued = self._issued.get(access_token) if access_token else None
            if issued is None or issued.revoked:
                return "unknown"
            return "expired" if time.time() >= issued.expires_at else "valid"

    @property
    def issued_tokens(self) -> list[str]:
        """Every token still remembered, oldest first."""
        with self._lock:
            return list(self._issued)

    def expire(self, access_token: str | None = None) -> int:
        """Expire one token now, or every token; return how many were still valid."""
        now = time.time()
        count = 0
        with self._lock:
            for key, issued in self._issued.items():
                if access_token in (None, key) and issued.expires_at > now:
                    count += 1
                if access_token in (None, key):
                    issued.expires_at = min(issued.expires_at, now)
        return count

    def expire_newest(self, min_age: float) -> str | None:
        """Expire the newest token issued at least ``min_age`` seconds ago; return it."""
        now = time.time()
        with self._lock:
            for access_token, issued in reversed(list(self._issued.items())):
                if now - issued.issued_at >= min_age:
                    issued.expires_at = min(issued.expires_at, now)
                    return access_token
        return None

    def revoke(self, access_token: str) -> None:
        """Make the API treat this token as unknown."""
        with self._lock:
            if access_token in self._issued:
                self._issued[access_token].revoked = True


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
