"""The token half of `ResharmonicsSession`: `OAuth2Session`'s token attributes and methods.

Each is answered through the session's `ResharmonicsAuth`: the token the session holds, the
client and scope it was created for, fetching and renewing, and requests-oauthlib's
compliance hooks. The grant's authorization step has no place in client credentials, and
is refused in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from requests_oauthlib import OAuth2Session

from .._tokens.stats import TokenStats
from ..auth import ResharmonicsAuth
from ..errors import ConfigurationError
from ..token import Token
from . import oauth2session_idioms

_FIXED_CLIENT = (
    "the session's client id is fixed when it is created (its secret and cached tokens "
    "belong to it); create another ResharmonicsSession(client_id=..., client_secret=...)"
)
_NO_AUTHORIZATION = (
    "ResharmonicsSession.{}() does not apply: the client-credentials grant has no "
    "authorization step; the session fetches its tokens with fetch_token() or on first use"
)


class TokenMethods(OAuth2Session):  # type: ignore[misc]
    """`OAuth2Session`'s token attributes and methods, as `ResharmonicsSession` answers them.

    They go through the session's `ResharmonicsAuth`, which `ResharmonicsSession` sets as
    ``_resharmonics_auth`` when it is created.
    """

    _resharmonics_auth: ResharmonicsAuth

    @property
    def token_url(self) -> str:
        """The token endpoint this session fetches tokens from."""
        return self._resharmonics_auth.token_url

    @property
    def token(self) -> dict[str, Any]:
        """The current token as a dict, or ``{}`` before the first fetch.

        Its keys are ``access_token``, ``token_type``, ``expires_in`` and ``expires_at``.
        """
        auth: ResharmonicsAuth | None = self.__dict__.get("_resharmonics_auth")
        token = auth.token if auth is not None else None
        if token is None or auth is None:
            return {}
        return token.as_dict(auth.now())

    @token.setter
    def token(self, value: dict[str, Any] | None) -> None:
        auth: ResharmonicsAuth | None = self.__dict__.get("_resharmonics_auth")
        if auth is None:  # OAuth2Session.__init__ sets an empty token before ours exists
            return
        auth.set_token(Token.from_dict(value, auth.now()) if value else None)

    @property
    def stats(self) -> TokenStats:
        """A snapshot of the session's token costs (see `ResharmonicsAuth.stats`)."""
        return self._resharmonics_auth.stats

    @property
    def access_token(self) -> str | None:
        """The current access token string, or ``None`` before the first fetch.

        Assigning one makes the session use it from now on (its expiry read from the token
        if it is a JWT, else unknown: used until the API refuses it); deleting it, or
        assigning ``None``, makes the next call fetch a token.
        """
        token = self._resharmonics_auth.token
        return token.access_token if token is not None else None

    @access_token.setter
    def access_token(self, value: str | None) -> None:
        auth = self._resharmonics_auth
        token = Token.from_dict({"access_token": value}, auth.now()) if value else None
        auth.set_token(token)

    @access_token.deleter
    def access_token(self) -> None:
        self._resharmonics_auth.set_token(None)

    @property
    def client_id(self) -> str:
        """The client id tokens are requested for; fixed when the session is created."""
        return self._resharmonics_auth.client_id

    @client_id.setter
    def client_id(self, value: str) -> None:
        raise ConfigurationError(_FIXED_CLIENT)

    @client_id.deleter
    def client_id(self) -> None:
        raise ConfigurationError(_FIXED_CLIENT)

    @property
    def scope(self) -> str | None:
        """The scope tokens are requested with; fixed when the session is created."""
        auth: ResharmonicsAuth | None = self.__dict__.get("_resharmonics_auth")
        return auth.scope if auth is not None else None

    @scope.setter
    def scope(self, value: str | Iterable[str] | None) -> None:
        if "_resharmonics_auth" not in self.__dict__:
            return  # OAuth2Session.__init__ sets it before ours exists
        if oauth2session_idioms.same_scope(value, self.scope):
            return
        raise ConfigurationError(
            "the session's scope is fixed when it is created (its tokens are asked for with "
            "it); create another ResharmonicsSession(scope=...) for another scope"
        )

    @property
    def authorized(self) -> bool:
        """Whether the session holds a token that has not expired."""
        token = self._resharmonics_auth.token
        return token is not None and not token.is_expired(self._resharmonics_auth.now())

    def fetch_token(self, token_url: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Fetch a new token now and return it as a dict.

        `OAuth2Session.fetch_token`'s arguments are taken when they ask for what the session
        does anyway (its own token URL, client id and secret, ``auth=HTTPBasicAuth`` of
        them, ``include_client_id`` matching ``client_auth``); any other is refused, naming
        where that setting lives, rather than ignored.
        """
        self._check_token_arguments("fetch_token", token_url, kwargs)
        self._resharmonics_auth.fetch_token()
        return self.token

    def valid_token(self) -> dict[str, Any]:
        """Return a token good for the next call, as a dict, fetching it only if needed."""
        self._resharmonics_auth.valid_token()
        return self.token

    def refresh_token(self, token_url: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Fetch a new token: client credentials have no refresh token, so renewal is a fetch.

        Takes the arguments `fetch_token` takes; ``refresh_token=`` is refused.
        """
        self._check_token_arguments("refresh_token", token_url, kwargs)
        self._resharmonics_auth.fetch_token()
        return self.token

    def _check_token_arguments(
        self, method: str, token_url: str | None, kwargs: dict[str, Any]
    ) -> None:
        auth = self._resharmonics_auth
        oauth2session_idioms.check_token_arguments(
            method,
            {"token_url": token_url, **kwargs},
            token_url=auth.token_url,
            client_auth=auth.client_auth,
            scope=auth.scope,
            holds=auth.holds,
        )

    def register_compliance_hook(self, hook_type: str, hook: Callable[..., Any]) -> None:
        """Register a requests-oauthlib compliance hook, run as `OAuth2Session` runs it.

        ``"access_token_response"`` hooks get each token answer (a `requests.Response`,
        whose ``request`` is ``None``) before it is read, and return the answer to read;
        they run for every token request, renewals included. ``"protected_request"`` hooks
        get ``(url, headers, data)`` before each call that is not ``withhold_token``, and
        return them. The refresh-token hooks and ``"access_token_request"`` are refused
        with a `ConfigurationError` saying why; an unknown type too.
        """
        if not callable(hook):
            raise ConfigurationError(f"a compliance hook must be callable, not {hook!r}")
        self.compliance_hook[hook_type].add(hook)

    def authorization_url(self, url: str, state: str | None = None, **kwargs: Any) -> Any:
        """Refused: the client-credentials grant has no authorization step."""
        raise ConfigurationError(_NO_AUTHORIZATION.format("authorization_url"))

    def token_from_fragment(self, authorization_response: str) -> Any:
        """Refused: the client-credentials grant has no authorization step."""
        raise ConfigurationError(_NO_AUTHORIZATION.format("token_from_fragment"))
