"""The fake's settings: token lifetimes, delays and the expiry style, each checked when set.

A setting out of range (``inf``, a negative delay, a lifetime of years) is refused with a
ValueError naming it, when the fake starts or when a control changes it, rather than
failing on every request afterwards.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .. import _config

if TYPE_CHECKING:
    from ._tokens import TokenService

#: How an expired token can be answered (see `FakeResharmonics`); the longest token lifetime
#: and the longest delay the fake accepts, in seconds. Defined in `_config`, which the
#: ``fake-server`` command's parser reads without loading the fake.
EXPIRY_STYLES = _config.FAKE_EXPIRY_STYLES
MAX_LIFETIME = _config.FAKE_MAX_LIFETIME
MAX_DELAY = _config.FAKE_MAX_DELAY


def check_seconds(name: str, value: float, upper: float, *, positive: bool = False) -> float:
    """Return a number of seconds, or raise ValueError naming the setting and its range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds, not {type(value).__name__}")
    seconds = float(value)
    low_ok = seconds > 0 if positive else seconds >= 0
    if not (math.isfinite(seconds) and low_ok and seconds <= upper):
        low = "more than 0" if positive else "0 or more"
        raise ValueError(f"{name} must be {low} and at most {upper:.0f} seconds, not {value!r}")
    return seconds


class Settings:
    """The settings half of `FakeResharmonics` (a mixin: the token service holds most)."""

    tokens: TokenService
    _api_delay: float
    _expiry_style: str

    @property
    def client_id(self) -> str:
        """The client id the token service accepts."""
        return self.tokens.client_id

    @property
    def client_secret(self) -> str:
        """The client secret the token service accepts."""
        return self.tokens.client_secret

    @property
    def token_lifetime(self) -> float:
        """The ``expires_in`` of new tokens, in seconds."""
        return self.tokens.token_lifetime

    @token_lifetime.setter
    def token_lifetime(self, value: float) -> None:
        self.tokens.token_lifetime = check_seconds(
            "token_lifetime", value, MAX_LIFETIME, positive=True
        )

    @property
    def server_lifetime(self) -> float | None:
        """How long the API accepts new tokens, in seconds (None: their ``expires_in``)."""
        return self.tokens.server_lifetime

    @server_lifetime.setter
    def server_lifetime(self, value: float | None) -> None:
        if value is not None:
            value = check_seconds("server_lifetime", value, MAX_LIFETIME)
        self.tokens.server_lifetime = value

    @property
    def token_delay(self) -> float:
        """Seconds every token request waits before it is answered."""
        return self.tokens.token_delay

    @token_delay.setter
    def token_delay(self, value: float) -> None:
        self.tokens.token_delay = check_seconds("token_delay", value, MAX_DELAY)

    @property
    def api_delay(self) -> float:
        """Seconds every API request waits before it is answered (network latency)."""
        return self._api_delay

    @api_delay.setter
    def api_delay(self, value: float) -> None:
        self._api_delay = check_seconds("api_delay", value, MAX_DELAY)

    @property
    def hang_seconds(self) -> float:
        """How long the ``"hang"`` faults (token endpoint and API) wait before answering."""
        return self.tokens.hang_seconds

    @hang_seconds.setter
    def hang_seconds(self, value: float) -> None:
        self.tokens.hang_seconds = check_seconds("hang_seconds", value, MAX_DELAY)

    @property
    def expiry_style(self) -> str:
        """How an expired token is answered: ``"message"`` or ``"www-authenticate"``."""
        return self._expiry_style

    @expiry_style.setter
    def expiry_style(self, value: str) -> None:
        if value not in EXPIRY_STYLES:
            raise ValueError("expiry_style must be 'message' or 'www-authenticate'")
        self._expiry_style = value
