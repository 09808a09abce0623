"""The settings of an API client: arguments, then ``RESHARMONICS_*``, then the presets.

They are read as `ResharmonicsSession` reads them. Every way of building a client (the
httpx clients, the dlt source) reads them here, so that one set of variables gives the same
client everywhere, and the warning about a token URL and an API address of different
environments comes from every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import _config
from .._credentials import credentials_from_env


@dataclass(frozen=True)
class ApiSettings:
    """Where the API and its token service are, and the credentials for them."""

    client_id: str
    client_secret: str
    token_url: str
    base_url: str
    environment: str
    scope: str | None

    def __repr__(self) -> str:  # never the secret
        return f"ApiSettings(client_id={self.client_id!r}, base_url={self.base_url!r})"

    def hosts(self, allowed_hosts: Iterable[str] | None = None) -> list[str]:
        """Return the hosts that may receive the token: the API's, then ``allowed_hosts``."""
        return [urlsplit(self.base_url).hostname or "", *(allowed_hosts or ())]


def api_settings(
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    *,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    prompt: bool = False,
) -> ApiSettings:
    """Return the settings from these arguments, else ``RESHARMONICS_*``, else the presets.

    Warns (`ConfigurationWarning`) when the token URL and the base URL belong to different
    environments.

    Raises:
        ConfigurationError: a credential is missing or a setting is invalid, named.
    """
    name = _config.environment(environment)
    client_id, client_secret = credentials_from_env(client_id, client_secret, prompt=prompt)
    token = _config.token_url(token_url, name)
    base = _config.setting(base_url, _config.BASE_URL_VAR) or _config.BASE_URLS[name]
    base = _config.check_url(base, "base URL").rstrip("/")
    _config.warn_if_environments_differ(token, base)
    chosen = scope if scope is not None else _config.setting(None, _config.SCOPE_VAR)
    return ApiSettings(client_id, client_secret, token, base, name, chosen)
