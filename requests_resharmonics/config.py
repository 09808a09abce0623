"""Where settings come from: arguments, then environment variables, then the service's presets."""

from __future__ import annotations

import functools
import ipaddress
import os
from urllib.parse import urlsplit

from .errors import ConfigurationError, InsecureTransportError

CLIENT_ID_VAR = "RESHARMONICS_CLIENT_ID"
CLIENT_SECRET_VAR = "RESHARMONICS_CLIENT_SECRET"
TOKEN_URL_VAR = "RESHARMONICS_TOKEN_URL"
SCOPE_VAR = "RESHARMONICS_SCOPE"
BASE_URL_VAR = "RESHARMONICS_BASE_URL"
ENVIRONMENT_VAR = "RESHARMONICS_ENVIRONMENT"

PRODUCTION_TOKEN_URL = "https://auth.rerumapp.uk/oauth2/token"

#: API base URLs of the service's environments. The testing environment's token URL is sent to
#: each customer privately, so only production has a token URL preset.
BASE_URLS = {
    "production": "https://apiv3.rerumapp.uk",
    "testing": "https://apiv3.resharmonics-dev.com",
}
TOKEN_URLS = {"production": PRODUCTION_TOKEN_URL}

CLIENT_AUTH_METHODS = ("basic", "post")


def setting(value: str | None, variable: str) -> str | None:
    """Return ``value`` if given, else the environment variable's value if set and not blank."""
    if value is not None:
        return value
    found = os.environ.get(variable, "").strip()
    return found or None


def required(value: str | None, variable: str, what: str) -> str:
    """Return ``value`` or the environment variable, or fail naming both ways to supply it."""
    found = setting(value, variable)
    if not found:
        raise ConfigurationError(
            f"no {what}: pass it as an argument or set the {variable} environment variable"
        )
    return found


def environment(value: str | None) -> str:
    """Return the environment: the argument, else ``RESHARMONICS_ENVIRONMENT``, else production.

    An unknown name is an error wherever it comes from, never a silent production.
    """
    chosen = setting(value, ENVIRONMENT_VAR)
    if chosen is None:
        return "production"
    if not isinstance(chosen, str) or chosen.strip().lower() not in BASE_URLS:
        known = ", ".join(repr(name) for name in BASE_URLS)
        where = "" if value is not None else f" (from {ENVIRONMENT_VAR})"
        raise ConfigurationError(f"unknown environment {chosen!r}{where}; expected one of {known}")
    return chosen.strip().lower()


def token_url(value: str | None, environment_name: str) -> str:
    """Return the token URL: the argument, else ``RESHARMONICS_TOKEN_URL``, else the preset.

    Only production's token URL is public; for the testing environment it must be given.
    """
    found = setting(value, TOKEN_URL_VAR) or TOKEN_URLS.get(environment_name)
    if found is None:
        raise ConfigurationError(
            f"the {environment_name} environment's token URL is not public: pass token_url= "
            f"or set {TOKEN_URL_VAR} to the URL from your welcome e-mail"
        )
    return found


def check_client_auth(client_auth: str) -> str:
    """Return a known client authentication method, or fail listing the known ones."""
    if client_auth not in CLIENT_AUTH_METHODS:
        raise ConfigurationError(
            f"unknown client_auth {client_auth!r}; expected 'basic' (client_secret_basic) "
            "or 'post' (client_secret_post)"
        )
    return client_auth


@functools.lru_cache(maxsize=256)  # asked on every call to a plain-http host: keep it cheap
def is_loopback(host: str | None) -> bool:
    """Return whether ``host`` names this machine: ``localhost``, 127.0.0.0/8 or ::1.

    Judged by name only for ``localhost`` itself: ``*.localhost`` names are resolved by
    whatever resolver the machine has, which need not send them to loopback.
    """
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_transport_allowed() -> bool:
    """Return whether the user opted in to plain http, as oauthlib's variable allows."""
    return bool(os.environ.get("OAUTHLIB_INSECURE_TRANSPORT"))


def check_url(url: str, what: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL safe to send credentials to.

    https is required except for loopback hosts or when ``OAUTHLIB_INSECURE_TRANSPORT`` is set.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"the {what} must be a string, not {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as error:
        raise ConfigurationError(f"the {what} {url!r} is not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigurationError(
            f"the {what} {url!r} is not an absolute http(s) URL, such as {PRODUCTION_TOKEN_URL!r}"
        )
    if parts.scheme == "http" and not is_loopback(host) and not insecure_transport_allowed():
        raise InsecureTransportError(
            f"the {what} {url!r} uses plain http, which would expose credentials; use https "
            "(http is allowed only for localhost, or with OAUTHLIB_INSECURE_TRANSPORT=1)"
        )
    return url.strip()
