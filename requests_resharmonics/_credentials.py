"""What every front door shares: its arguments, its token, its host checks and its reprs.

`ResharmonicsAuth` (requests), `ResharmonicsHTTPXAuth` (httpx) and `ResharmonicsHTTPX2Auth`
(httpx2) are this class plus the few lines that add a header and drive the conversation
after an answer (`_replay.flow`) with their library. `ResharmonicsSession` talks to its auth
object through the public methods here, never through the token manager behind them.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from oauthlib.oauth2 import BackendApplicationClient

from . import _config
from ._display import html_repr, plain_repr, token_state
from ._retries import DEFAULT_TOKEN_RETRIES
from ._tokens.endpoint import DEFAULT_TIMEOUT, TokenEndpoint
from ._tokens.events import TokenEvent
from ._tokens.fleet import checked_budget
from ._tokens.manager import DEFAULT_LEEWAY, TokenManager
from ._tokens.stats import TokenStats
from .cache.base import TokenCache
from .errors import ConfigurationError, InsecureTransportError
from .token import Token

_Self = TypeVar("_Self", bound="Credentials")


class Credentials:
    """A client's credentials and token, as every front door holds them.

    The arguments are documented on `ResharmonicsAuth`; every front door takes them alike.
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
        token_budget: tuple[int, float] | None = None,
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
            token_budget=token_budget,
        )
        self.allowed_hosts = allowed_hosts  # the setter normalises

    @classmethod
    def from_env(cls: type[_Self], *, prompt: bool = False, **kwargs: Any) -> _Self:
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
    def client_id(self) -> str:
        """The client id tokens are requested for."""
        return self._manager.endpoint.client_id

    @property
    def scope(self) -> str | None:
        """The scope asked for, or ``None`` for every scope of the client."""
        return self._manager.endpoint.scope

    @property
    def client_auth(self) -> str:
        """How the client authenticates: ``"basic"`` (an HTTP Basic header) or ``"post"``."""
        return self._manager.endpoint.client_auth

    @property
    def allowed_hosts(self) -> frozenset[str] | None:
        """The hosts that may receive the token, or ``None`` for every host it is used with.

        Assigning a new set takes effect on the next call.
        """
        return self._allowed_hosts

    @allowed_hosts.setter
    def allowed_hosts(self, hosts: Iterable[str] | None) -> None:
        if isinstance(hosts, str):
            raise ConfigurationError("allowed_hosts must be a list of host names, not a string")
        self._allowed_hosts = None if hosts is None else frozenset(h.lower() for h in hosts)
        self._hosts_changed()

    @property
    def manager(self) -> TokenManager:
        """The `TokenManager` that holds and renews this object's token."""
        return self._manager

    @property
    def token(self) -> Token | None:
        """The current token, or ``None`` before the first fetch."""
        return self._manager.token

    @property
    def token_budget(self) -> tuple[int, float] | None:
        """At most so many token requests in any so many seconds, or ``None`` (no budget)."""
        budget = self._manager.budget
        return (budget.requests, budget.seconds) if budget is not None else None

    @property
    def stats(self) -> TokenStats:
        """A snapshot of this object's token costs: requests by outcome, durations, renewals.

        See `TokenStats`; `requests_resharmonics.process_stats` adds up every auth object.
        """
        return self._manager.stats()

    @property
    def oauth_client(self) -> BackendApplicationClient:
        """The oauthlib client that builds this object's token requests."""
        return self._manager.endpoint.client

    @property
    def on_new_token(self) -> Callable[[Token], object] | None:
        """Called with each new token this object starts using (fetched, or from the cache).

        Called in the thread that obtained it, after it is stored; its exceptions are
        logged, not raised. `ResharmonicsSession` sets it from ``token_updater``.
        """
        return self._manager.on_new_token

    @on_new_token.setter
    def on_new_token(self, listener: Callable[[Token], object] | None) -> None:
        if listener is not None and not callable(listener):
            raise ConfigurationError("on_new_token must be callable with a Token")
        self._manager.on_new_token = listener

    @property
    def token_answer_hooks(self) -> set[Callable[[Any], Any]]:
        """Called with each token answer, a `requests.Response`, before it is read.

        Each returns the answer to read, possibly changed: requests-oauthlib's
        ``access_token_response`` compliance hooks, which `ResharmonicsSession` keeps here.
        They run for every token request, renewals included (never for a token found in a
        shared cache), in the thread that makes it; the answer's ``request`` is ``None``.
        Add to the set to register one.
        """
        return self._manager.endpoint.answer_hooks

    def holds(self, client_id: str | None, client_secret: str | None) -> bool:
        """Return whether these are this object's client id and secret (``None``: any).

        For code that is handed credentials to check against ours; the secret is compared
        in constant time and never stored again.
        """
        return self._manager.endpoint.matches(client_id, client_secret)

    def now(self) -> float:
        """Return the time, in seconds since the epoch, that token expiry is measured by."""
        return self._manager.clock()

    def fetch_token(self) -> Token:
        """Fetch a new token now, replacing the current one, and return it."""
        return self._manager.fetch_token()

    def valid_token(self) -> Token:
        """Return a token good for the next call, fetching or renewing it only if needed."""
        return self._manager.valid_token()

    def set_token(self, token: Token | None) -> None:
        """Use ``token`` from now on, for users who bring one of their own.

        ``None`` forgets the current token: the next call fetches one.
        """
        self._manager.set_token(token)

    def close(self) -> None:
        """Close the connections kept open to the token endpoint."""
        self._manager.endpoint.close()

    def may_send_token_to(self, url: str) -> bool:
        """Return whether ``url``'s host may see the token; refuse plain http off loopback.

        Raises:
            InsecureTransportError: for a plain-http URL off loopback (unless
                ``OAUTHLIB_INSECURE_TRANSPORT`` is set), rather than send the token in clear.
        """
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

    def _hosts_changed(self) -> None:
        """Forget what was worked out from the old ``allowed_hosts`` (a front door's cache)."""

    def _fields(self) -> list[tuple[str, object]]:
        return [("client_id", self.client_id), ("token_url", self.token_url)]

    def __repr__(self) -> str:
        state = token_state(self.token, self.now())
        return plain_repr(type(self).__name__, self._fields(), state)

    def _repr_html_(self) -> str:
        state = token_state(self.token, self.now())
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
    token_budget: tuple[int, float] | None = None,
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
        budget=checked_budget(token_budget),
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
            + _config.misspelling_note(missing)
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
