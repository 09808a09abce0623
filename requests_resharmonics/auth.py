"""`ResharmonicsAuth`: a requests auth object that keeps a valid bearer token on every call."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Iterable
from typing import Any, Callable
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from . import _config
from ._display import html_repr, plain_repr, token_state
from ._replay.hook import AnswerHook, body_position
from ._retries import DEFAULT_TOKEN_RETRIES
from ._tokens.endpoint import DEFAULT_TIMEOUT, TokenEndpoint
from ._tokens.events import TokenEvent
from ._tokens.manager import DEFAULT_LEEWAY, TokenManager
from ._tokens.stats import TokenStats
from .cache.base import TokenCache
from .errors import ConfigurationError, InsecureTransportError
from .token import Token

log = logging.getLogger("requests_resharmonics")


class ResharmonicsAuth(AuthBase):
    """Authenticates requests to the Res:Harmonics API with a client-credentials token.

    The first call fetches a token; later calls reuse it until shortly before it expires. When
    the API still answers ``401 {"message": "The incoming token has expired"}``, the token is
    renewed once and the request replayed. Threads may share one object: each renewal is one
    token request, however many threads need it.

    Example:
        >>> auth = ResharmonicsAuth("my-client-id", "my-client-secret")
        >>> requests.get("https://apiv3.rerumapp.uk/api/v3/bookings", auth=auth)
        <Response [200]>

    Args:
        client_id: the client id from Res:Harmonics API support.
        client_secret: its secret.
        token_url: defaults to ``RESHARMONICS_TOKEN_URL``, else the environment's token URL
            (only production has a public one).
        scope: space-separated scopes to ask for; by default none is sent and the service
            grants every scope of the client.
        leeway: renew at most this many seconds before expiry (less for short-lived tokens).
        timeout: seconds to wait for the token endpoint, per attempt.
        client_auth: ``"basic"`` (HTTP Basic, the default) or ``"post"`` (in the form body).
        token_retries: how many times to retry a token request on connection errors, 429
            and 5xx.
        allowed_hosts: hosts to send the token to; ``None`` (the default) sends it to every
            host this auth object is used with, as any requests auth object does.
        background_renewal: renew a token that is due but still valid in a worker of the
            process's renewal pool while calls go on using it, so that no call waits for the
            token endpoint; False renews inline, in the call that finds it due.
        cache: where tokens are shared: the default `MemoryTokenCache` shares them with every
            auth object of the same client in the process; `FileTokenCache` and
            `RedisTokenCache` share them between processes and machines.
        environment: ``"production"`` or ``"testing"``; defaults to
            ``RESHARMONICS_ENVIRONMENT``, else production. It only chooses the default token
            URL here (the testing one is not public, so it needs ``token_url``).
        on_event: called with a `TokenEvent` for every token request, renewal, replay after
            the expiry 401 and shared-cache lookup, in the thread where it happened (a
            worker of the shared pool for background renewals); keep it quick. Should it
            raise, the exception is logged and the call goes on.

    Whitespace around the client id and secret is removed, whether they come from arguments
    or from the environment (a secret pasted with its newline works).
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str | None = None,
        *,
        scope: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        timeout: float = DEFAULT_TIMEOUT,
        client_auth: str = "basic",
        token_retries: int = DEFAULT_TOKEN_RETRIES,
        allowed_hosts: Iterable[str] | None = None,
        cache: TokenCache | None = None,
        background_renewal: bool = True,
        environment: str | None = None,
        on_event: Callable[[TokenEvent], object] | None = None,
    ) -> None:
        self._manager = build_manager(
            client_id,
            client_secret,
            token_url,
            scope=scope,
            leeway=leeway,
            timeout=timeout,
            client_auth=client_auth,
            token_retries=token_retries,
            cache=cache,
            background_renewal=background_renewal,
            environment=environment,
            on_event=on_event,
        )
        self._origins: dict[str, bool] = {}
        self.allowed_hosts = allowed_hosts  # the setter normalises

    @classmethod
    def from_env(cls, *, prompt: bool = False, **kwargs: Any) -> ResharmonicsAuth:
        """Create an auth object from the ``RESHARMONICS_*`` environment variables.

        Reads ``RESHARMONICS_CLIENT_ID``, ``RESHARMONICS_CLIENT_SECRET``,
        ``RESHARMONICS_TOKEN_URL`` and ``RESHARMONICS_SCOPE``; keyword arguments override them.
        With ``prompt=True`` in an interactive session (a terminal or a notebook), missing
        credentials are asked for, the secret without echo, instead of raising.

        Raises:
            ConfigurationError: naming the variable that is missing.
        """
        client_id, client_secret = credentials_from_env(
            kwargs.pop("client_id", None), kwargs.pop("client_secret", None), prompt=prompt
        )
        kwargs.setdefault("scope", _config.setting(None, _config.SCOPE_VAR))
        return cls(client_id, client_secret, kwargs.pop("token_url", None), **kwargs)

    @property
    def token_url(self) -> str:
        """The token endpoint this object fetches tokens from."""
        return self._manager.endpoint.token_url

    @property
    def allowed_hosts(self) -> frozenset[str] | None:
        """The hosts that may receive the token, or ``None`` for every host it is used with.

        Assigning a new set takes effect on the next call: the verdicts remembered per
        origin are forgotten.
        """
        return self._allowed_hosts

    @allowed_hosts.setter
    def allowed_hosts(self, hosts: Iterable[str] | None) -> None:
        if isinstance(hosts, str):
            raise ConfigurationError("allowed_hosts must be a list of host names, not a string")
        self._allowed_hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._origins = {}

    @property
    def client_id(self) -> str:
        """The client id tokens are requested for."""
        return self._manager.endpoint.client_id

    @property
    def scope(self) -> str | None:
        """The scope asked for, or ``None`` for every scope of the client."""
        return self._manager.endpoint.scope

    @property
    def manager(self) -> TokenManager:
        """The `TokenManager` that holds and renews this object's token.

        The one renewal mechanism, which `ResharmonicsSession` and other adapters drive
        through it rather than through this object's internals.
        """
        return self._manager

    @property
    def token(self) -> Token | None:
        """The current token, or ``None`` before the first fetch."""
        return self._manager.token

    @property
    def stats(self) -> TokenStats:
        """A snapshot of this object's token costs: requests by outcome, durations, renewals.

        See `TokenStats`; `requests_resharmonics.process_stats` adds up every auth object.
        """
        return self._manager.stats()

    def fetch_token(self) -> Token:
        """Fetch a new token now, replacing the current one, and return it."""
        return self._manager.fetch_token()

    def valid_token(self) -> Token:
        """Return a token good for the next call, fetching or renewing it only if needed."""
        return self._manager.valid_token()

    def close(self) -> None:
        """Close the connections kept open to the token endpoint."""
        self._manager.endpoint.close()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the bearer token to ``request`` and watch its answer for the expiry 401."""
        url = request.url or ""
        if (self._allowed_hosts is not None or not url.startswith("https://")) and not (
            self._may_send_token_to_origin(url)
        ):
            return request
        token = self._manager.valid_token()
        request.headers["Authorization"] = "Bearer " + token.access_token
        hook = AnswerHook(self._manager, token, body_position(request.body))
        request.hooks["response"].append(hook)
        return request

    def _may_send_token_to_origin(self, url: str) -> bool:
        """`_may_send_token_to`, remembered per origin: it is asked on every call."""
        start = url.find("://") + 3
        slash = url.find("/", start)
        origin = url if slash < 0 else url[:slash]
        verdict = self._origins.get(origin)
        if verdict is None:
            verdict = self._may_send_token_to(url)
            if url.startswith("https://") or _config.is_loopback(urlsplit(url).hostname):
                if len(self._origins) > 512:
                    self._origins.clear()
                self._origins[origin] = verdict  # independent of OAUTHLIB_INSECURE_TRANSPORT
        return verdict

    def _may_send_token_to(self, url: str) -> bool:
        """Return whether this URL's host may see the token; refuse plain http off loopback."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
        except ValueError:
            return False
        if self._allowed_hosts is not None and host not in self._allowed_hosts:
            return False
        if parts.scheme != "https" and not (
            _config.is_loopback(host) or _config.insecure_transport_allowed()
        ):
            raise InsecureTransportError(
                f"refusing to send a bearer token over plain {parts.scheme or 'unknown'} "
                f"scheme to {host or url!r}; use https (or set OAUTHLIB_INSECURE_TRANSPORT=1)"
            )
        return True

    def _fields(self) -> list[tuple[str, object]]:
        return [("client_id", self.client_id), ("token_url", self.token_url)]

    def __repr__(self) -> str:
        state = token_state(self.token, self._manager.clock())
        return plain_repr(type(self).__name__, self._fields(), state)

    def _repr_html_(self) -> str:
        state = token_state(self.token, self._manager.clock())
        return html_repr(type(self).__name__, self._fields(), state)


def build_manager(
    client_id: str,
    client_secret: str,
    token_url: str | None,
    *,
    scope: str | Iterable[str] | None,
    leeway: float,
    timeout: float,
    client_auth: str,
    token_retries: int,
    cache: TokenCache | None,
    background_renewal: bool,
    environment: str | None,
    on_event: Callable[[TokenEvent], object] | None,
) -> TokenManager:
    """Check an auth object's arguments and return the `TokenManager` they describe.

    Shared by `ResharmonicsAuth` and the httpx auth, so that both take the same arguments
    the same way.

    Raises:
        ConfigurationError: naming the argument that is wrong.
    """
    if on_event is not None and not callable(on_event):
        raise ConfigurationError("on_event must be callable with a TokenEvent")
    for value, what in ((client_id, "client id"), (client_secret, "client secret")):
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"the {what} must be a non-empty string")
    url = _config.token_url(token_url, _config.environment(environment))
    endpoint = TokenEndpoint(
        _config.check_url(url, "token URL"),
        client_id.strip(),
        client_secret.strip(),
        scope=_scope_string(scope),
        client_auth=_config.check_client_auth(client_auth),
        timeout=_positive(timeout, "timeout"),
        retries=_count(token_retries, "token_retries"),
    )
    return TokenManager(
        endpoint,
        leeway=leeway,
        cache=cache,
        background=bool(background_renewal),
        on_event=on_event,
    )


def credentials_from_env(
    client_id: str | None, client_secret: str | None, *, prompt: bool = False
) -> tuple[str, str]:
    """Return the client id and secret from arguments, the environment, or a prompt.

    A prompt that cannot be answered (a notebook run headless by nbconvert or papermill, a
    closed stdin) counts as no answer: the error then names the missing variables.
    """
    client_id = _config.setting(client_id, _config.CLIENT_ID_VAR)
    client_secret = _config.setting(client_secret, _config.CLIENT_SECRET_VAR)
    if prompt and (client_id is None or client_secret is None) and _interactive():
        if client_id is None:
            client_id = _ask(input, "Res:Harmonics client id: ")
        if client_secret is None:
            client_secret = _ask(getpass.getpass, "Res:Harmonics client secret: ")
    missing = [
        variable
        for value, variable in (
            (client_id, _config.CLIENT_ID_VAR),
            (client_secret, _config.CLIENT_SECRET_VAR),
        )
        if value is None
    ]
    if client_id is None or client_secret is None:
        raise ConfigurationError(
            "missing Res:Harmonics credentials: set "
            + " and ".join(missing)
            + " (or pass client_id= and client_secret=)"
        )
    return client_id, client_secret


def _ask(ask: Callable[[str], str], question: str) -> str | None:
    try:
        return ask(question).strip() or None
    except (NotImplementedError, EOFError, OSError, RuntimeError):
        # IPython's StdinNotImplementedError is a NotImplementedError: a kernel without stdin.
        return None


def _interactive() -> bool:
    """Return whether a person can answer a prompt: a terminal, or a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _scope_string(scope: str | Iterable[str] | None) -> str | None:
    if scope is None:
        return None
    if isinstance(scope, str):
        return " ".join(scope.split()) or None
    try:
        words = [str(word).strip() for word in scope]
    except TypeError:
        raise ConfigurationError(
            f"scope must be a string or a list of strings, not {scope!r}"
        ) from None
    return " ".join(word for word in words if word) or None


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number >= 0, not {value!r}")
    return value
