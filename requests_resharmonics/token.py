"""The access token as a value, and the rules that say when it must be renewed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError

#: Renew a token this fraction of its lifetime before it expires, at most ``leeway`` seconds.
#: An hour-long token is renewed a minute early; a 2-second one 0.1 s early, so that it is
#: not fetched again on every call, and short-lived tokens cost few more requests than
#: their lifetimes. (A slow token endpoint widens the margin: see TokenManager.renew_at.)
RENEWAL_FRACTION = 0.05


#: What a bearer token may hold to be sent as a header value: visible ASCII, no spaces
#: (RFC 6750's b64token is stricter; anything outside this breaks the header itself).
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def is_header_safe(access_token: str) -> bool:
    """Return whether a token can be sent as ``Authorization: Bearer <token>``."""
    return _HEADER_SAFE.fullmatch(access_token) is not None


def fingerprint(access_token: str) -> str:
    """Return a short, non-reversible name for a token, safe to log and display."""
    return hashlib.sha256(access_token.encode("utf-8", "surrogatepass")).hexdigest()[:8]


@dataclass(frozen=True)
class Token:
    """A bearer token from the token endpoint, with the times that govern its renewal.

    Times are seconds since the epoch. ``expires_at`` is ``None`` when the endpoint said
    nothing of the lifetime; such a token is used until the API rejects it.

    Example:
        >>> token = Token("eyJ...", obtained_at=1000.0, expires_at=4600.0)
        >>> token.lifetime
        3600.0
        >>> token.renew_at(leeway=60.0)
        4540.0
    """

    access_token: str = field(repr=False)
    obtained_at: float
    expires_at: float | None = None
    token_type: str = "Bearer"
    scope: str | None = None

    @property
    def lifetime(self) -> float | None:
        """Seconds the token was granted for, or ``None`` when unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - self.obtained_at

    @property
    def fingerprint(self) -> str:
        """A short hash of the token that identifies it in logs without revealing it."""
        return fingerprint(self.access_token)

    def renew_at(self, leeway: float) -> float:
        """Return when a renewal is due: before expiry, by a margin fitted to the lifetime."""
        if self.expires_at is None:
            return math.inf
        lifetime = max(self.expires_at - self.obtained_at, 0.0)
        return self.expires_at - min(leeway, lifetime * RENEWAL_FRACTION)

    def is_expired(self, now: float) -> bool:
        """Return whether the token has passed its expiry time."""
        return self.expires_at is not None and now >= self.expires_at

    def as_dict(self, now: float) -> dict[str, Any]:
        """Return the token in the dict shape that requests-oauthlib users know."""
        result: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
        }
        if self.expires_at is not None:
            # Rounded, not truncated: a 3600-s token read just after its fetch says 3600.
            result["expires_in"] = max(round(self.expires_at - now), 0)
            result["expires_at"] = self.expires_at
        if self.scope:
            result["scope"] = self.scope
        return result

    @classmethod
    def from_dict(cls, value: Mapping[str, Any], now: float) -> Token:
        """Build a token from the dict shape of `as_dict` (or requests-oauthlib's).

        ``expires_at`` wins over ``expires_in``, which counts from ``now``.
        """
        access_token = value.get("access_token")
        if not isinstance(access_token, str) or not access_token.strip():
            raise ConfigurationError("a token needs a non-empty string 'access_token'")
        if not is_header_safe(access_token):
            raise ConfigurationError(
                "the token's access_token cannot be sent in a header (it holds spaces, "
                "control or non-ASCII characters)"
            )
        expires_at = positive_seconds(value.get("expires_at"))
        if expires_at is None:
            expires_in = positive_seconds(value.get("expires_in"))
            expires_at = now + expires_in if expires_in is not None else jwt_expiry(access_token)
        scope = value.get("scope")
        if isinstance(scope, (list, tuple)):
            scope = " ".join(str(word) for word in scope)
        return cls(
            access_token=access_token,
            obtained_at=now,
            expires_at=expires_at,
            scope=scope if isinstance(scope, str) else None,
        )

    def to_json(self) -> str:
        """Serialise the token for a shared cache."""
        return json.dumps(
            {
                "access_token": self.access_token,
                "obtained_at": self.obtained_at,
                "expires_at": self.expires_at,
                "token_type": self.token_type,
                "scope": self.scope,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Token | None:
        """Read a token written by `to_json`; return ``None`` for anything malformed."""
        try:
            value = json.loads(text)
        except (ValueError, RecursionError, UnicodeDecodeError):
            return None
        if not isinstance(value, dict):
            return None
        access_token = value.get("access_token")
        obtained_at = positive_seconds(value.get("obtained_at"))
        expires_at = value.get("expires_at")
        scope = value.get("scope")
        if not isinstance(access_token, str) or not is_header_safe(access_token):
            return None
        if obtained_at is None:
            return None
        if expires_at is not None and positive_seconds(expires_at) is None:
            return None
        return cls(
            access_token=access_token,
            obtained_at=obtained_at,
            expires_at=positive_seconds(expires_at),
            scope=scope if isinstance(scope, str) else None,
        )

    def __str__(self) -> str:
        return f"<{self.token_type} token {self.fingerprint}>"


def jwt_expiry(access_token: str) -> float | None:
    """Read the ``exp`` claim of a JWT without verifying it, for timing only.

    Returns ``None`` for anything that is not a JWT with a numeric ``exp``.
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(claims, dict):
        return None
    return positive_seconds(claims.get("exp"))


def positive_seconds(value: object) -> float | None:
    """Return ``value`` as a finite, positive number of seconds, or ``None``.

    Accepts numbers and numeric strings, as token services send both.
    """
    if isinstance(value, bool):
        return None
    if not isinstance(value, (int, float, str)):
        return None
    try:
        seconds = float(value)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return seconds
