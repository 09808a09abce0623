"""The token value and its expiry rules (no network)."""

from __future__ import annotations

import base64
import json
import math

import pytest

from requests_resharmonics import ConfigurationError, Token
from requests_resharmonics.token import fingerprint, jwt_expiry, positive_seconds


def jwt(claims: object) -> str:
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_hour_long_token_is_renewed_about_a_minute_early() -> None:
    token = Token("t", obtained_at=0.0, expires_at=3600.0)
    assert token.renew_at(leeway=60.0) == 3540.0


def test_short_token_margin_shrinks_with_its_lifetime() -> None:
    token = Token("t", obtained_at=0.0, expires_at=2.0)
    assert token.renew_at(leeway=60.0) == pytest.approx(1.9)


def test_token_without_expiry_is_never_due() -> None:
    token = Token("t", obtained_at=0.0)
    assert token.renew_at(60.0) == math.inf
    assert not token.is_expired(1e12)
    assert token.lifetime is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3600, 3600.0),
        (3600.5, 3600.5),
        ("3600", 3600.0),
        (" 3600 ", 3600.0),
        ("1e3", 1000.0),
        (0, None),
        (-5, None),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
        (float("nan"), None),
        (float("inf"), None),
        (10**400, None),
        ([3600], None),
    ],
)
def test_positive_seconds(value: object, expected: float | None) -> None:
    assert positive_seconds(value) == expected


def test_jwt_expiry_reads_exp_without_verifying() -> None:
    assert jwt_expiry(jwt({"exp": 1_800_000_000})) == 1_800_000_000.0


@pytest.mark.parametrize(
    "access_token",
    ["opaque-token", "a.b", "a.!!!.c", jwt(["not", "a", "dict"]), jwt({"exp": "never"}), "..."],
)
def test_jwt_expiry_is_none_for_anything_else(access_token: str) -> None:
    assert jwt_expiry(access_token) is None


def test_repr_and_str_never_show_the_token() -> None:
    token = Token("very-secret-token-value", obtained_at=0.0, expires_at=10.0)
    assert "very-secret-token-value" not in repr(token)
    assert "very-secret-token-value" not in str(token)
    assert fingerprint("very-secret-token-value") in str(token)


def test_as_dict_and_from_dict_round_trip() -> None:
    token = Token("abc", obtained_at=100.0, expires_at=3700.0, scope="api/read")
    as_dict = token.as_dict(now=700.0)
    assert as_dict == {
        "access_token": "abc",
        "token_type": "Bearer",
        "expires_in": 3000,
        "expires_at": 3700.0,
        "scope": "api/read",
    }
    again = Token.from_dict(as_dict, now=700.0)
    assert (again.access_token, again.expires_at, again.scope) == ("abc", 3700.0, "api/read")


def test_from_dict_counts_expires_in_from_now() -> None:
    token = Token.from_dict({"access_token": "abc", "expires_in": "60"}, now=1000.0)
    assert token.expires_at == 1060.0


@pytest.mark.parametrize("value", [{}, {"access_token": ""}, {"access_token": 42}])
def test_from_dict_needs_an_access_token(value: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="access_token"):
        Token.from_dict(value, now=0.0)
