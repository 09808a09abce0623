"""Asking the token endpoint for a token, and reading its answer without trusting it."""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

from .. import _config, _describe
from .._json import json_document
from .._retries import DEFAULT_TOKEN_RETRIES
from ..cache.base import cache_key
from ..cache.codec import PlainCodec, SealedCodec
from ..errors import TokenRequestError, token_request_error
from ..token import Token, is_header_safe, jwt_expiry, positive_seconds
from . import answer_hooks
from . import process as _process
from .transport import SessionLease

DEFAULT_TIMEOUT = 10.0
_MAX_ANSWER_BYTES = 1 << 20
#: RFC 6749's error codes (5.2) and the two that token services also send: an answer with
#: none of them did not come from a token service, so the URL is the first thing to check.
_OAUTH2_ERRORS = frozenset(
    {"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client"}
    | {"unsupported_grant_type", "invalid_scope", "server_error", "temporarily_unavailable"}
)


class TokenEndpoint:
    """Requests tokens from one token URL for one client, through a session of its own.

    Token requests never go through the user's authenticated session: that would recurse
    through the auth, and requests-oauthlib's code paths log credentials at DEBUG.

    Example:
        >>> endpoint = TokenEndpoint("https://auth.rerumapp.uk/oauth2/token", "id", "secret")
        >>> token = endpoint.request_token()
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        client_auth: str = "basic",
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_TOKEN_RETRIES,
        process: _process.ProcessState | None = None,
    ) -> None:
        #: The process-wide state whose token sessions, watchdog, renewal pool and stats
        #: this client uses (and its token manager with it): the current one by default.
        self.process = process if process is not None else _process.current()
        self.token_url = token_url
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = scope
        self.client_auth = client_auth
        self.timeout = timeout
        self.retries = retries
        self.client = BackendApplicationClient(client_id, scope=scope)
        #: Called with each token answer (a `requests.Response`) before it is read, each
        #: returning the answer to read: requests-oauthlib's ``access_token_response``
        #: compliance hooks. A set, as `OAuth2Session.compliance_hook` holds them.
        self.answer_hooks: set[answer_hooks.AnswerHook] = set()
        self._session: requests.Session | None = None
        self._session_lock = threading.Lock()
        #: The shared session this endpoint holds: given back by `close`, or by the end of
        #: the token manager that owns this endpoint (a tenant dropped without `close`).
        self.lease = SessionLease()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        state["lease"] = SessionLease()
        del state["_session_lock"]
        del state["process"]  # the state of the process where it lands
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._session_lock = threading.Lock()
        self.process = _process.current()

    def __repr__(self) -> str:
        return f"TokenEndpoint(token_url={self.token_url!r}, client_id={self.client_id!r})"

    def matches(self, client_id: str | None, client_secret: str | None) -> bool:
        """Return whether these are this endpoint's client id and secret (``None``: any).

        The secret is compared in constant time.
        """
        if client_id is not None and client_id.strip() != self.client_id:
            return False
        if client_secret is None:
            return True
        given = client_secret.strip().encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self._client_secret.encode("utf-8", "surrogatepass"))

    def secrets(self) -> tuple[str, ...]:
        """Return the strings that must never appear in messages: the secret and its encodings."""
        secret = self._client_secret
        return (secret, self._basic_credentials(), quote(secret), quote_plus(secret))

    def scrub(self, text: str) -> str:
        """Return ``text`` with any copy of the client's secrets masked."""
        for secret in self.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    @property
    def session(self) -> requests.Session:
        """The session token requests go through, with retries mounted.

        It is shared with every endpoint of the same token URL, timeout and retries in the
        process (see `transport`), so that connections to the token endpoint do not grow
        with the number of auth objects.
        """
        with self._session_lock:
            if self._session is None:
                sessions = self.process.token_sessions
                self._session = sessions.acquire(self.token_url, self.retries, self.timeout)
                self.lease.take(sessions, self._session)
            return self._session

    def close(self) -> None:
        """Stop using the shared token connections; the last user closes them."""
        with self._session_lock:
            self.lease.give_back()
            self._session = None

    def cache_key(self) -> str:
        """Return this client's key in a token cache (a hash, never the secret)."""
        return cache_key(self.token_url, self.client_id, self._client_secret, self.scope)

    def client_key(self) -> str:
        """Return the key of this client whatever its scope: what a token service counts by."""
        return cache_key(self.token_url, self.client_id, self._client_secret, None)

    def cache_codec(self, sealed: bool) -> PlainCodec:
        """Return how this client's tokens are written into a cache (sealed: encrypted)."""
        return SealedCodec(self._client_secret, self.cache_key()) if sealed else PlainCodec()

    def after_fork(self, process: _process.ProcessState) -> None:
        """Forget the parent's lock and connections in a freshly forked child process.

        ``process`` is the child's state, which replaced the parent's (see `process`).
        """
        self.process = process
        self._session_lock = threading.Lock()
        self._session = None
        self.lease = SessionLease()  # the parent's connections are the parent's to close

    def _basic_credentials(self) -> str:
        pair = f"{self.client_id}:{self._client_secret}".encode()
        return base64.b64encode(pair).decode("ascii")

    def request_token(self, clock: Callable[[], float] = time.time) -> Token:
        """Ask the endpoint for a new token and return it.

        Raises:
            TokenRequestError: the endpoint refused, failed, timed out or answered nonsense.
        """
        # Errors are built where they are found but raised here, outside any ``except``:
        # they carry no ``__context__`` (requests' exception, whose request holds the
        # credentials), and the frames of a traceback hold no credentials either (error
        # trackers record local variables): they live in a `_Form` that hides them.
        sent_at = clock()
        outcome = self._exchange(_Form(self), sent_at)
        if isinstance(outcome, TokenRequestError):
            raise outcome
        return outcome

    def _exchange(self, form: _Form, sent_at: float) -> Token | TokenRequestError:
        reply = self._post(form)
        if isinstance(reply, TokenRequestError):
            return reply
        if self.answer_hooks:
            reply = self._through_hooks(reply)
            if isinstance(reply, TokenRequestError):
                return reply
        return self._read_answer(reply, sent_at)

    def _through_hooks(self, reply: _Reply) -> _Reply | TokenRequestError:
        """Pass the answer through the `answer_hooks` (see `answer_hooks.run`)."""
        passed = answer_hooks.run(
            self.answer_hooks, reply.status, reply.headers, reply.content, self.token_url
        )
        if isinstance(passed, str):
            return self._error(passed, reply.status)
        return _Reply(passed.status_code, passed.headers, passed.content or b"", reply.attempts)

    def _post(self, form: _Form) -> _Reply | TokenRequestError:
        """Send the token request; return its bounded answer, or the error."""
        started = time.monotonic()
        with self.process.watchdog.deadline(self.timeout) as watch:
            try:
                response = self.session.post(
                    self.token_url,
                    data=form.body,
                    headers=form.headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                    proxies=self._proxies,
                    # An auth of its own, so that requests does not put a ~/.netrc entry for
                    # the token host in place of the client's credentials.
                    auth=_as_prepared,
                )
            except requests.ConnectionError as error:
                if watch.expired or _timed_out(error):
                    return self._timed_out(watch.attempts, started)
                return self._error(
                    f"could not connect: {_describe.describe(error, self.token_url)}"
                )
            except requests.Timeout:
                return self._timed_out(watch.attempts, started)
            except (requests.RequestException, Urllib3HTTPError, OSError, ValueError) as error:
                return self._error(f"failed: {self._cause(error)}")
            with response:
                try:
                    content = response.raw.read(_MAX_ANSWER_BYTES + 1, decode_content=True)
                except (requests.RequestException, Urllib3HTTPError, OSError, ValueError) as error:
                    if watch.expired:
                        return self._timed_out(watch.attempts, started)
                    what = f"was cut off while answering: {self._cause(error)}"
                    return self._error(what, response.status_code, retryable=True)
                if watch.expired:  # the deadline cut the body short: what arrived is partial
                    return self._timed_out(watch.attempts, started)
                return _Reply(
                    response.status_code, response.headers, content or b"", watch.attempts
                )

    @property
    def _proxies(self) -> dict[str, Any] | None:
        # A loopback token URL may be plain http: it must never go to a proxy in clear.
        if _config.is_loopback(urlsplit(self.token_url).hostname):
            return {"http": None, "https": None, "all": None}
        return None

    def _error(
        self,
        what: str,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
        *,
        retryable: bool | None = None,
    ) -> TokenRequestError:
        where = f"{self.token_url}{_config.default_note(self.token_url)}"
        message = self.scrub(f"token request to {where} {what}")
        return token_request_error(
            message,
            status_code=status_code,
            error=self.scrub(error) if error else error,
            description=self.scrub(description) if description else description,
            retryable=retryable,
        )

    def _timed_out(self, attempts: int, started: float) -> TokenRequestError:
        if attempts <= 1:
            return self._error(f"timed out after {self.timeout:g} s")
        spent = time.monotonic() - started
        return self._error(
            f"timed out: {attempts} attempts of up to {self.timeout:g} s each, "
            f"{round(spent, 1):g} s in all"
        )

    def _excerpt(self, text: str, limit: int = 200) -> str:
        """Return network text masked first, then cut: a cut must not split a secret."""
        return _short(self.scrub(text), limit)

    def _cause(self, error: BaseException) -> str:
        return self._excerpt(_describe.describe(error, self.token_url), 300)

    def _reason(self, error: BaseException) -> str:
        return self._excerpt(f"{type(error).__name__}: {error}", 300)

    def _read_answer(self, reply: _Reply, sent_at: float) -> Token | TokenRequestError:
        status = reply.status
        if len(reply.content) > _MAX_ANSWER_BYTES:
            return self._error(f"got an answer over {_MAX_ANSWER_BYTES} bytes", status)
        payload = _json_object(reply.content)
        error = _text(payload.get("error")) if payload is not None else None
        description = _text(payload.get("error_description")) if payload is not None else None
        if not 200 <= status < 300 or error:
            return self._refused(reply, payload, error, description)
        if payload is None:
            kind = self._excerpt(reply.headers.get("Content-Type") or "no content type")
            return self._error(
                f"got HTTP {status} with a body that is not a JSON object ({kind})",
                status,
                description="the answer is not a JSON object",
            )
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token.strip():
            return self._error(
                f"got HTTP {status} without an access_token",
                status,
                description="the answer has no access_token",
            )
        if not is_header_safe(access_token):
            return self._error(
                f"got HTTP {status} with an access_token that cannot be sent in an "
                "Authorization header (it holds spaces, control or non-ASCII characters)",
                status,
                description="the access_token is not a valid bearer token",
            )
        token_type = payload.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            return self._error(
                f"got a token of unsupported type {self._excerpt(str(token_type))!r}; "
                "expected Bearer",
                status,
                description="unsupported token_type",
            )
        expires_in = positive_seconds(payload.get("expires_in"))
        scope = payload.get("scope")
        parsed = self._parse_with_oauthlib(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                **({"expires_in": int(expires_in)} if expires_in is not None else {}),
                **({"scope": scope} if isinstance(scope, str) else {}),
            },
            status,
        )
        if isinstance(parsed, TokenRequestError):
            return parsed
        if expires_in is not None:
            expires_at: float | None = sent_at + expires_in
        else:
            expires_at = jwt_expiry(access_token)
        granted = parsed.get("scope")
        return Token(
            access_token=access_token,
            obtained_at=sent_at,
            expires_at=expires_at,
            scope=" ".join(granted) if isinstance(granted, list) else self.scope,
        )

    def _parse_with_oauthlib(
        self, fields: dict[str, Any], status: int
    ) -> dict[str, Any] | TokenRequestError:
        """Let oauthlib's client validate the answer, as any OAuth2Session user's would be."""
        try:
            parsed: dict[str, Any] = self.client.parse_request_body_response(
                json.dumps(fields), scope=self.scope
            )
        except OAuth2Error as error:
            return self._error(
                f"got an answer oauthlib rejects: {self._excerpt(str(error.error))}",
                status,
                error=error.error,
                description=error.description,
            )
        except Warning as warning:  # oauthlib's way of saying the scope granted differs
            parsed = dict(getattr(warning, "token", fields))
        except (ValueError, TypeError) as error:
            return self._error(f"got an unreadable token ({self._reason(error)})", status)
        return parsed

    def _refused(
        self,
        reply: _Reply,
        payload: dict[str, Any] | None,
        error: str | None,
        description: str | None,
    ) -> TokenRequestError:
        status = reply.status
        if payload is None:
            kind = self._excerpt(reply.headers.get("Content-Type") or "no content type")
            what = f"was answered HTTP {status} ({kind}, not an OAuth2 error)"
        elif error:
            what = f"was refused: HTTP {status} {self._excerpt(error)}"
            if description:
                what += f": {self._excerpt(description)}"
        else:
            said = _text(payload.get("message"))
            what = f"was answered HTTP {status}" + (f": {self._excerpt(said)}" if said else "")
        if reply.attempts > 1:
            what += f", after {reply.attempts} attempts"
        if error == "invalid_client":
            what += " (check the client id and secret)"
        elif error not in _OAUTH2_ERRORS and 300 <= status < 500 and status != 429:
            # (A 429 is a throttle in front of the right URL, not a sign of a wrong one.)
            # A wrong path, or a URL that is not a token service's: no OAuth2 error body.
            moved = reply.headers.get("Location")
            where = f"; it redirects to {self._excerpt(moved)}" if moved else ""
            what += f" (no OAuth2 error in the answer: check the token URL{where})"
        return self._error(what, status, error, description)


class _Form:
    """A token request's body and headers: they hold the credentials, so no repr shows them."""

    __slots__ = ("body", "headers")

    def __init__(self, endpoint: TokenEndpoint) -> None:
        self.headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if endpoint.client_auth == "post":
            self.body: str = endpoint.client.prepare_request_body(
                include_client_id=True,
                client_secret=endpoint._client_secret,
            )
        else:
            self.body = endpoint.client.prepare_request_body()
            self.headers["Authorization"] = "Basic " + endpoint._basic_credentials()

    def __repr__(self) -> str:
        return "<token request form, credentials hidden>"


class _Reply:
    """The token endpoint's answer, bounded; its repr shows no token."""

    __slots__ = ("attempts", "content", "headers", "status")

    def __init__(self, status: int, headers: Any, content: bytes, attempts: int = 1) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.attempts = attempts

    def __repr__(self) -> str:
        return f"<token endpoint answer: HTTP {self.status}, {len(self.content)} bytes>"


def _as_prepared(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Leave the token request's headers as `_Form` made them."""
    return request


def _json_object(content: bytes) -> dict[str, Any] | None:
    """Return the body as a JSON object, or ``None`` if it is anything else."""
    payload = json_document(content)
    return payload if isinstance(payload, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _short(text: str, limit: int = 200) -> str:
    """Return a printable, bounded excerpt of text that came from the network."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "..."


def _timed_out(error: requests.ConnectionError) -> bool:
    """Return whether a failure is a read timeout that urllib3's retries wrapped."""
    reason = getattr(error.args[0] if error.args else None, "reason", None)
    if isinstance(error, requests.Timeout):
        return True
    # urllib3 counts a refused connection as a connect timeout; it is not one.
    return isinstance(reason, Urllib3TimeoutError) and not isinstance(reason, NewConnectionError)
