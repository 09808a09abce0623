"""requests-oauthlib's `OAuth2Session` idioms, as `ResharmonicsSession` answers each of them.

Every argument, attribute and hook of `OAuth2Session` that applies to the client-credentials
grant works as it does there; the others are refused with an error that names what to do
instead, never accepted and then ignored. docs/coming-from-requests-oauthlib.rst lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..auth import ResharmonicsAuth
    from ..token import Token

#: `OAuth2Session` arguments that cannot apply to client credentials, and what to do instead.
REFUSED_ARGUMENTS = {
    "auto_refresh_url": "tokens are renewed automatically, from token_url: leave it out",
    "auto_refresh_kwargs": "tokens are renewed automatically, from token_url: leave it out",
    "redirect_uri": "the client-credentials grant has no redirect: leave it out",
    "state": "the client-credentials grant has no authorization step: leave it out",
    "pkce": "PKCE protects the authorization-code grant; client credentials have no "
    "authorization step: leave it out",
    "client": "the session makes its own oauthlib BackendApplicationClient (the "
    "client-credentials grant): pass client_id= and client_secret= instead",
}

#: Arguments of `OAuth2Session.fetch_token` and ``refresh_token`` that the session's token
#: requests cannot take per call, and where the setting lives instead.
_FIXED_PER_SESSION = {
    "timeout": "the token requests' timeout is set with ResharmonicsSession(timeout=...)",
    "headers": "token requests carry the session's own headers",
    "verify": "token requests use connections of their own, which follow REQUESTS_CA_BUNDLE",
    "proxies": "token requests use connections of their own, which follow the HTTPS_PROXY "
    "and NO_PROXY variables",
    "cert": "client certificates (mutual TLS) are not supported for token requests",
    "body": "the token request's form is the session's own (grant_type and scope)",
    "force_querystring": "the token request is a POSTed form, as RFC 6749 requires",
    "method": "the token request is a POST, as RFC 6749 requires",
}

#: Arguments of other grants than client credentials.
_OTHER_GRANTS = frozenset(
    {"code", "authorization_response", "username", "password", "code_verifier", "refresh_token"}
)

#: Compliance hooks the session runs, and those it refuses, with the reason in words.
RUN_HOOKS = ("access_token_response", "protected_request")
REFUSED_HOOKS = {
    "access_token_request": "the session builds its token requests itself (their form and "
    "Authorization header hold the secret); choose client_auth= and scope= when creating "
    "the session instead",
    "refresh_token_request": "client credentials have no refresh token: every renewal is a "
    "new token request",
    "refresh_token_response": "client credentials have no refresh token: every renewal is a "
    "new token request, whose answer goes through the access_token_response hooks; "
    "register the hook there",
}

Hook = Callable[..., Any]


class ComplianceHooks(dict[str, set[Hook]]):
    """The session's ``compliance_hook``: the hooks it runs, by kind.

    Looking up a kind the session does not run raises a `ConfigurationError` saying why,
    rather than handing out a set whose hooks would never be called.
    """

    def __missing__(self, kind: str) -> set[Hook]:
        raise ConfigurationError(hook_refusal(kind))


def hook_refusal(kind: str) -> str:
    """Return why the session does not run hooks of ``kind``."""
    if kind in REFUSED_HOOKS:
        return f"ResharmonicsSession does not run {kind} hooks: {REFUSED_HOOKS[kind]}"
    known = ", ".join(repr(name) for name in (*RUN_HOOKS, *REFUSED_HOOKS))
    return f"unknown compliance hook type {kind!r}; requests-oauthlib's are {known}"


def refuse_arguments(kwargs: dict[str, Any]) -> None:
    """Refuse `OAuth2Session` constructor arguments that cannot apply, naming the alternative.

    Raises:
        ConfigurationError: for an `OAuth2Session` argument of another grant.
        TypeError: for any other unknown keyword, as Python would.
    """
    refused = [name for name in kwargs if name in REFUSED_ARGUMENTS]
    if refused:
        reasons = "; ".join(f"{name}: {REFUSED_ARGUMENTS[name]}" for name in refused)
        raise ConfigurationError(
            f"ResharmonicsSession does not take {', '.join(refused)} ({reasons})"
        )
    if kwargs:
        name = next(iter(kwargs))
        raise TypeError(f"ResharmonicsSession() got an unexpected keyword argument {name!r}")


def check_token_arguments(
    method: str,
    kwargs: dict[str, Any],
    *,
    token_url: str,
    client_auth: str,
    scope: str | None,
    holds: Callable[[str | None, str | None], bool],
) -> None:
    """Accept `OAuth2Session.fetch_token` arguments that ask for what the session does anyway.

    ``method`` is the name the error messages give (``"fetch_token"``, ``"refresh_token"``);
    ``holds(client_id, client_secret)`` says whether those are the session's credentials
    (``None`` for either: not given).

    Raises:
        ConfigurationError: for an argument that would change the token request, naming
            where that setting lives or what to do instead.
    """
    where = f"ResharmonicsSession.{method}()"
    given = {name: value for name, value in kwargs.items() if value is not None}
    url = given.pop("token_url", None)
    if url is not None and url != token_url:
        raise ConfigurationError(
            f"{where} fetches from the session's token URL {token_url}, not {url}; create "
            "another session for another token URL"
        )
    client_id = given.pop("client_id", None)
    client_secret = given.pop("client_secret", None)
    auth = given.pop("auth", None)
    if auth is not None:
        client_id, client_secret = _basic_pair(where, auth, client_auth)
    if (client_id is not None or client_secret is not None) and not holds(client_id, client_secret):
        raise ConfigurationError(
            f"{where} uses the session's own client id and secret; create another "
            "ResharmonicsSession(client_id=..., client_secret=...) for other credentials"
        )
    include_client_id = given.pop("include_client_id", None)
    if include_client_id is not None and bool(include_client_id) != (client_auth == "post"):
        sends = "in the form" if client_auth == "post" else "in an HTTP Basic header"
        want = "basic" if client_auth == "post" else "post"
        raise ConfigurationError(
            f"{where} does not take include_client_id={include_client_id!r}: this session "
            f"sends the client id and secret {sends}; create the session with "
            f"client_auth={want!r} to send them the other way"
        )
    asked = given.pop("scope", None)
    if asked is not None and not same_scope(asked, scope):
        raise ConfigurationError(
            f"{where} asks for the session's scope ({scope or 'none'}); create another "
            "ResharmonicsSession(scope=...) for another scope"
        )
    # What the session does anyway, said out loud: accepted.
    if isinstance(given.get("method"), str) and given["method"].upper() == "POST":
        del given["method"]
    if given.get("verify") is True:
        del given["verify"]
    if given.get("force_querystring") is False:
        del given["force_querystring"]
    if given.get("body") == "":
        del given["body"]
    for name in given:
        if name == "refresh_token":
            raise ConfigurationError(
                f"{where} does not take refresh_token=: client credentials have no refresh "
                "token; a renewal is a new token request with the client id and secret"
            )
        if name in _OTHER_GRANTS:
            raise ConfigurationError(
                f"{where} does not take {name}=: it belongs to another grant than client "
                "credentials, the only one the Res:Harmonics API offers"
            )
        if name in _FIXED_PER_SESSION:
            raise ConfigurationError(f"{where} does not take {name}=: {_FIXED_PER_SESSION[name]}")
    if given:
        names = ", ".join(f"{name}=" for name in given)
        raise ConfigurationError(
            f"{where} does not take {names}: the session's token request carries only "
            "grant_type=client_credentials and its scope, never extra parameters"
        )


def _basic_pair(where: str, auth: Any, client_auth: str) -> tuple[str | None, str | None]:
    """Return the credentials of an ``auth=`` given for the token request, if it is Basic."""
    username = getattr(auth, "username", None)
    password = getattr(auth, "password", None)
    if not isinstance(username, str) or not isinstance(password, str):
        raise ConfigurationError(
            f"{where} does not take auth={type(auth).__name__}(...): the token request "
            "authenticates with the session's client id and secret"
        )
    if client_auth != "basic":
        raise ConfigurationError(
            f"{where} does not take auth=: this session sends its client id and secret in "
            "the form (client_auth='post'); create it with client_auth='basic' for HTTP Basic"
        )
    return username, password


def same_scope(one: Any, other: Any) -> bool:
    """Return whether two scopes (strings or lists of words) ask for the same words."""
    return _scope_words(one) == _scope_words(other)


def _scope_words(scope: Any) -> frozenset[str]:
    if scope is None:
        return frozenset()
    words = scope.split() if isinstance(scope, str) else [str(word) for word in scope]
    return frozenset(words)


#: `requests.Session.request`'s parameters after the method and URL, in order.
_REQUEST_PARAMETERS = (
    "params", "data", "headers", "cookies", "files", "auth", "timeout", "allow_redirects",
    "proxies", "hooks", "stream", "verify", "cert", "json",
)  # fmt: skip


def by_keyword(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Return `requests.Session.request`'s arguments after the URL, all by keyword.

    So that the session can read and replace ``headers``, ``data`` and ``timeout`` however
    they were passed.

    Raises:
        TypeError: for more positional arguments than the method takes, or one given twice.
    """
    if len(args) > len(_REQUEST_PARAMETERS):
        raise TypeError(
            f"request() takes at most {len(_REQUEST_PARAMETERS) + 2} positional arguments"
        )
    named = dict(zip(_REQUEST_PARAMETERS, args, strict=False))  # args may be fewer
    twice = sorted(set(named) & set(kwargs))
    if twice:
        raise TypeError(f"request() got multiple values for argument {twice[0]!r}")
    return {**named, **kwargs}


class TokenDictUpdater:
    """Calls a ``token_updater`` with each new token in its dict shape.

    A class rather than a lambda, so that a session with a ``token_updater`` pickles (when
    the updater itself does, as a module-level function does).
    """

    def __init__(self, updater: Callable[[dict[str, Any]], object], auth: ResharmonicsAuth) -> None:
        self.updater = updater
        self.auth = auth

    def __call__(self, token: Token) -> object:
        return self.updater(token.as_dict(self.auth.now()))
