"""Property-based tests of everything that reads what the network sends."""

from __future__ import annotations

import json
from typing import Any

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict

from requests_resharmonics import PaginationError, Token, TokenRequestError
from requests_resharmonics._export.export import read_page
from requests_resharmonics._replay.body_requests import is_expired_token_response
from requests_resharmonics._tokens.endpoint import TokenEndpoint, _Reply
from requests_resharmonics.cache.codec import PlainCodec, SealedCodec
from requests_resharmonics.token import is_header_safe, jwt_expiry

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=20,
)
bearer_tokens = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=50
)
# Good answers are drawn often too: the parser must turn them into tokens, not just survive.
token_fields = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.one_of(bearer_tokens, st.text(max_size=60), json_values),
        "token_type": st.one_of(st.sampled_from(["Bearer", "bearer", "mac", ""]), json_values),
        "expires_in": st.one_of(
            st.integers(1, 10**6),
            st.integers(-10, 10**12),
            st.floats(),
            st.text(max_size=12),
            json_values,
        ),
        "scope": st.one_of(st.text(max_size=30), json_values),
        "error": st.one_of(st.sampled_from(["invalid_client", "invalid_grant"]), json_values),
        "error_description": json_values,
    },
)
good_token_fields = st.fixed_dictionaries(
    {"access_token": bearer_tokens, "expires_in": st.integers(1, 10**6)},
    optional={
        "token_type": st.sampled_from(["Bearer", "bearer", "BEARER"]),
        "scope": st.text(max_size=30),
        "id_token": json_values,
    },
)
encodings = st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1", "utf-8-sig"])
statuses = st.integers(100, 599)
content_types = st.one_of(
    st.sampled_from(["application/json", "text/html", "application/json; charset=utf-16", ""]),
    st.text(max_size=30),
)


def encoded(document: Any, encoding: str) -> bytes:
    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    return (
        text.encode(encoding, "surrogatepass")
        if encoding.startswith("utf")
        else text.encode(encoding, "replace")
    )


ENDPOINT = TokenEndpoint("https://auth.example.com/oauth2/token", "client", "secret")


def clearly_valid(status: int, body: bytes) -> dict[str, Any] | None:
    """Return the answer's fields when it is, beyond doubt, a good token answer."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not (200 <= status < 300 and isinstance(payload, dict)) or payload.get("error"):
        return None
    access_token, expires_in = payload.get("access_token"), payload.get("expires_in")
    token_type, scope = payload.get("token_type", "Bearer"), payload.get("scope")
    valid = (
        isinstance(access_token, str)
        and is_header_safe(access_token)
        and isinstance(token_type, str)
        and token_type.lower() == "bearer"
        and isinstance(expires_in, int)
        and not isinstance(expires_in, bool)
        and 0 < expires_in < 10**9
        and (scope is None or isinstance(scope, str))
    )
    return payload if valid else None


def read(status: int, content_type: str, body: bytes) -> None:
    headers = CaseInsensitiveDict({"Content-Type": content_type})
    token = ENDPOINT._read_answer(_Reply(status, headers, body), sent_at=1000.0)
    expected = clearly_valid(status, body)
    if expected is not None:  # a parser that refused everything must not pass
        assert isinstance(token, Token), token
        assert token.access_token == expected["access_token"]
        assert token.expires_at == 1000.0 + expected["expires_in"]
    if isinstance(token, TokenRequestError):
        return
    assert 200 <= status < 300
    assert isinstance(token, Token)
    assert isinstance(token.access_token, str)
    assert is_header_safe(token.access_token)  # whatever arrives, it can be sent
    assert token.expires_at is None or token.expires_at > 0


@SETTINGS
@given(statuses, content_types, st.binary(max_size=300))
def test_token_parser_on_arbitrary_bytes(status: int, content_type: str, body: bytes) -> None:
    read(status, content_type, body)


@SETTINGS
@given(
    st.one_of(st.integers(200, 299), statuses),
    content_types,
    st.one_of(token_fields, good_token_fields),
    encodings,
)
def test_token_parser_on_token_shaped_json(
    status: int, content_type: str, fields: dict[str, Any], encoding: str
) -> None:
    read(status, content_type, encoded(fields, encoding))


@SETTINGS
@given(json_values, encodings)
def test_token_parser_on_any_json(document: Any, encoding: str) -> None:
    read(200, "application/json", encoded(document, encoding))


@SETTINGS
@given(bearer_tokens, st.integers(1, 10**6))
def test_a_good_answer_is_always_a_token(access_token: str, expires_in: int) -> None:
    body = json.dumps(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in}
    )
    token = ENDPOINT._read_answer(_Reply(200, CaseInsensitiveDict(), body.encode()), 1000.0)
    assert isinstance(token, Token)
    assert token.access_token == access_token
    assert token.expires_at == 1000.0 + expires_in


@SETTINGS
@given(
    st.text(min_size=1, max_size=50).filter(lambda text: text.strip() and not is_header_safe(text))
)
def test_a_token_that_cannot_be_a_header_is_always_refused(access_token: str) -> None:
    body = json.dumps({"access_token": access_token, "token_type": "Bearer"})
    refused = ENDPOINT._read_answer(_Reply(200, CaseInsensitiveDict(), body.encode()), 1000.0)
    assert isinstance(refused, TokenRequestError)
    assert refused.description == "the access_token is not a valid bearer token"


def response(status: int, headers: dict[str, str], body: bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers = CaseInsensitiveDict(headers)
    answer._content = body
    return answer


header_values = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=80,
)


@SETTINGS
@given(
    statuses,
    st.dictionaries(
        st.sampled_from(["WWW-Authenticate", "Content-Type", "Content-Length", "X-Other"]),
        header_values,
    ),
    st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
)
def test_expiry_detector_never_raises(status: int, headers: dict[str, str], body: bytes) -> None:
    verdict = is_expired_token_response(response(status, headers, body))
    assert isinstance(verdict, bool)
    if verdict:
        assert status == 401


@SETTINGS
@given(
    st.sampled_from(
        [
            "The incoming token has expired",
            "the incoming token has expired.",
            "  THE INCOMING TOKEN HAS EXPIRED  ",
        ]
    ),
    encodings,
    st.dictionaries(st.text(max_size=8).filter(lambda k: k != "message"), json_values, max_size=3),
)
def test_expiry_message_is_recognised_in_any_encoding(
    message: str, encoding: str, extra: dict[str, Any]
) -> None:
    body = encoded({**extra, "message": message}, encoding)
    assert is_expired_token_response(response(401, {}, body))
    assert not is_expired_token_response(response(403, {}, body))


@SETTINGS
@given(encodings)
def test_unauthorized_is_not_expired(encoding: str) -> None:
    assert not is_expired_token_response(
        response(401, {}, encoded({"message": "Unauthorized"}, encoding))
    )


@SETTINGS
@given(header_values)
def test_invalid_token_challenge(prefix: str) -> None:
    challenge = f'Bearer {prefix} error="invalid_token"'
    assert is_expired_token_response(response(401, {"WWW-Authenticate": challenge}, b""))


@SETTINGS
@given(st.one_of(st.binary(max_size=200).map(lambda b: b.decode("latin-1")), st.text(max_size=200)))
def test_cached_values_decode_to_a_token_or_none(value: str) -> None:
    for codec in (PlainCodec(), SealedCodec("secret", "a cache key")):
        decoded = codec.decode(value)
        assert decoded is None or decoded.access_token


@SETTINGS
@given(st.text(max_size=200))
def test_jwt_expiry_never_raises(access_token: str) -> None:
    expiry = jwt_expiry(access_token)
    assert expiry is None or expiry > 0


@SETTINGS
@given(json_values)
def test_page_reader_gives_a_page_or_a_clear_error(payload: Any) -> None:
    try:
        page = read_page(payload, "GET /x")
    except PaginationError as error:
        assert "GET /x" in str(error)
        return
    assert isinstance(page.items, list)
