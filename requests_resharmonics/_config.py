"""Where settings come from: arguments, then environment variables, then the service's presets."""

from __future__ import annotations

import difflib
import functools
import ipaddress
import os
import sys
import warnings
from urllib.parse import urlsplit

from .errors import ConfigurationError, ConfigurationWarning, InsecureTransportError

CLIENT_ID_VAR = "RESHARMONICS_CLIENT_ID"
CLIENT_SECRET_VAR = "RESHARMONICS_CLIENT_SECRET"
TOKEN_URL_VAR = "RESHARMONICS_TOKEN_URL"
SCOPE_VAR = "RESHARMONICS_SCOPE"
BASE_URL_VAR = "RESHARMONICS_BASE_URL"
ENVIRONMENT_VAR = "RESHARMONICS_ENVIRONMENT"
#: The command line's fake server reads its own credentials, never the real ones.
FAKE_CLIENT_ID_VAR = "RESHARMONICS_FAKE_CLIENT_ID"
FAKE_CLIENT_SECRET_VAR = "RESHARMONICS_FAKE_CLIENT_SECRET"
#: How the fake server may answer an expired token, and the longest token lifetime and delay
#: it accepts, in seconds: here, so that ``resharmonics fake-server`` checks its flags
#: without loading the fake (`requests_resharmonics.testing` checks its settings with them).
FAKE_EXPIRY_STYLES = ("message", "www-authenticate")
FAKE_MAX_LIFETIME = 366 * 86400.0
FAKE_MAX_DELAY = 600.0
#: The size of the process's pool of background renewal workers (see `background`).
RENEWAL_WORKERS_VAR = "RESHARMONICS_RENEWAL_WORKERS"

#: Every ``RESHARMONICS_*`` variable the library and its command line read. Any other one
#: that is set is most likely a typo of one of these, which would leave the setting at its
#: default (production), so it is warned about.
KNOWN_VARIABLES = frozenset(
    {
        CLIENT_ID_VAR,
        CLIENT_SECRET_VAR,
        TOKEN_URL_VAR,
        SCOPE_VAR,
        BASE_URL_VAR,
        ENVIRONMENT_VAR,
        FAKE_CLIENT_ID_VAR,
        FAKE_CLIENT_SECRET_VAR,
        RENEWAL_WORKERS_VAR,
    }
)
_FAKE_VARIABLES = frozenset({FAKE_CLIENT_ID_VAR, FAKE_CLIENT_SECRET_VAR})
_PREFIX = "RESHARMONICS_"
_PACKAGE = __name__.rpartition(".")[0]

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
    Every auth object and session asks this first, so it also warns about the set
    ``RESHARMONICS_*`` variables the library does not read.
    """
    warn_about_unknown_variables()
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
        raise ConfigurationError(f"the {what} is not a valid URL: {error}") from None
    if "@" in parts.netloc:
        # requests would send the URL's user info as Basic credentials in place of ours, and
        # show the password in every repr and error: refused, and never echoed.
        where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        raise ConfigurationError(
            f"the {what} {where!r} must not carry a user name or password (user:password@); "
            "pass the client id and secret as the client id and secret arguments instead"
        )
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


def unknown_variables() -> list[str]:
    """Return the set variables that look like ``RESHARMONICS_*`` ones but that no one reads.

    That is every other ``RESHARMONICS_*`` name, the same names in another case (variables
    are case-sensitive outside Windows), and names with a near miss of the prefix
    (``RESHARMONIC_``, ``RES_HARMONICS_``).
    """
    return sorted(
        name for name in os.environ if name not in KNOWN_VARIABLES and _looks_like_ours(name)
    )


def misspellings() -> dict[str, str | None]:
    """Return each set variable that no one reads, with the known one it most likely means."""
    return {name: _meant(name) for name in unknown_variables()}


def misspelling_note(variables: list[str]) -> str:
    """Return ``"; X is set: did you mean Y?"`` for set misspellings of ``variables``, or ``""``.

    For errors about a missing variable, which a typo in its name is the likeliest cause of.
    """
    return "".join(
        f"; {name} is set: did you mean {meant}?"
        for name, meant in misspellings().items()
        if meant in variables
    )


def warn_about_unknown_variables() -> None:
    """Warn about each set variable that looks like a ``RESHARMONICS_*`` one but is not read.

    A misspelt variable is not an error (the settings may come from arguments), but it
    leaves its setting at the default, which may send the credentials to production.
    """
    for name, meant in misspellings().items():
        if meant is not None:
            hint = f"did you mean {meant}?"
        else:
            hint = "the library reads " + ", ".join(sorted(KNOWN_VARIABLES - _FAKE_VARIABLES))
        warn(f"{name} is set, but requests-resharmonics does not read it: {hint}")


def _squashed(name: str) -> str:
    """Return a name in capitals with its separators removed: ``RES_HARMONICS-ID`` is alike."""
    return "".join(character for character in name.upper() if character.isalnum())


_SQUASHED_KNOWN = {_squashed(name): name for name in KNOWN_VARIABLES}
_SQUASHED_PREFIX = _squashed(_PREFIX)


def _looks_like_ours(name: str) -> bool:
    if name.upper().startswith(_PREFIX):
        return True
    squashed = _squashed(name)
    if not squashed.startswith("RE"):  # cheap: most variables are not worth comparing
        return False
    # A prefix one letter or two away from RESHARMONICS: dropped, doubled or swapped letters.
    return any(
        difflib.SequenceMatcher(None, squashed[:length], _SQUASHED_PREFIX).ratio() >= 0.85
        for length in range(len(_SQUASHED_PREFIX) - 1, len(_SQUASHED_PREFIX) + 2)
    )


def _meant(name: str) -> str | None:
    """Return the known variable ``name`` most likely means, or ``None``."""
    exact = _SQUASHED_KNOWN.get(_squashed(name))
    if exact is not None:
        return exact
    close = difflib.get_close_matches(name.upper(), sorted(KNOWN_VARIABLES), n=1)
    return close[0] if close else None


def warn_if_environments_differ(token_url_value: str, base_url_value: str) -> None:
    """Warn when the token URL and the API address belong to different environments.

    A token from a testing (or fake) token service sent to the production API, or a
    production token sent to another API, is a mistake in the settings, most often a
    variable that was misspelt and so left at its production default.
    """
    token_production = _host_of(token_url_value) == _host_of(PRODUCTION_TOKEN_URL)
    api_production = _host_of(base_url_value) == _host_of(BASE_URLS["production"])
    if token_production == api_production:
        return
    token_side = f"the token URL {token_url_value}{default_note(token_url_value)}"
    api_side = f"the base URL {base_url_value}{default_note(base_url_value)}"
    if api_production:
        what = f"{token_side} is not production's, but {api_side} is the production API"
    else:
        what = f"{token_side} is production's, but {api_side} is not the production API"
    warn(
        f"{what}: tokens of one environment would be sent to the other; set "
        f"{TOKEN_URL_VAR} and {BASE_URL_VAR} (or token_url= and base_url=) to one environment"
    )


def default_note(url: str) -> str:
    """Return a note naming the default, if ``url`` is a preset that no variable replaced.

    For example ``" (production's, the default: RESHARMONICS_TOKEN_URL is not set)"``, else
    ``""``. Errors and warnings name the defaults they used, so that a misspelt or unset
    variable shows at once.
    """
    url = url.rstrip("/")
    if url == PRODUCTION_TOKEN_URL and setting(None, TOKEN_URL_VAR) is None:
        return f" (production's, the default: {TOKEN_URL_VAR} is not set)"
    for name, preset in BASE_URLS.items():
        if (url == preset or url.startswith(preset + "/")) and not setting(None, BASE_URL_VAR):
            return f" ({name}'s API, the default: {BASE_URL_VAR} is not set)"
    return ""


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def warn(message: str) -> None:
    """Issue a `ConfigurationWarning` at the first frame outside this package.

    Python shows each warning once per place in the caller's code, so a loop that builds
    sessions warns once, and the place shown is the caller's, not the library's.
    """
    level = 1
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_PACKAGE + "."):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, ConfigurationWarning, stacklevel=level + 1)
