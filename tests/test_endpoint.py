"""Token requests (behaviours 1 and 5): how they are made, and every way they can fail."""

from __future__ import annotations

import base64
import re
import socket
import time
from urllib.parse import parse_qsl

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth, TokenRequestError
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import FakeClock, StartHost


def token_calls(fake: FakeResharmonics) -> list[dict[str, str]]:
    return [
        dict(parse_qsl(seen.body.decode()))
        for seen in fake.requests
        if seen.path == "/oauth2/token"
    ]


def test_basic_client_auth_by_default_and_no_scope(fake_resharmonics: FakeResharmonics) -> None:
    token = fake_resharmonics.auth().fetch_token()
    assert token.access_token in fake_resharmonics.issued_tokens
    (seen,) = fake_resharmonics.requests
    assert seen.client_auth == "basic"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(
        f"{fake_resharmonics.client_id}:{fake_resharmonics.client_secret}".encode()
    ).decode()
    assert seen.headers["authorization"] == f"Basic {expected}"
    assert token_calls(fake_resharmonics) == [{"grant_type": "client_credentials"}]


def test_post_client_auth_sends_credentials_in_the_form(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.auth(client_auth="post").fetch_token()
    (seen,) = fake_resharmonics.requests
    assert seen.client_auth == "post"
    assert "authorization" not in seen.headers
    assert token_calls(fake_resharmonics) == [
        {
            "grant_type": "client_credentials",
            "client_id": fake_resharmonics.client_id,
            "client_secret": fake_resharmonics.client_secret,
        }
    ]


def test_scope_is_sent_only_when_given(fake_resharmonics: FakeResharmonics) -> None:
    token = fake_resharmonics.auth(scope=["api/read", "api/write"]).fetch_token()
    assert token_calls(fake_resharmonics)[0]["scope"] == "api/read api/write"
    assert token.scope == "api/read api/write"


def test_expiry_is_timed_from_when_the_request_was_sent(
    fake_resharmonics: FakeResharmonics,
) -> None:
    readings = iter([1000.0])
    auth = fake_resharmonics.auth()
    auth._manager.clock = lambda: next(readings, 5000.0)
    token = auth.fetch_token()
    assert token.obtained_at == 1000.0
    assert token.expires_at == 1000.0 + 3600


@pytest.mark.parametrize(
    ("fault", "expected_lifetime"),
    [("string-expires-in", 3600.0), ("no-expires-in", "jwt")],
)
def test_expires_in_as_string_or_missing(
    fake_resharmonics: FakeResharmonics, fault: str, expected_lifetime: object
) -> None:
    fake_resharmonics.fail_token_requests(fault)
    token = fake_resharmonics.auth().fetch_token()
    if expected_lifetime == "jwt":
        # No expires_in: the JWT's exp (whole seconds) tells the lifetime.
        assert token.expires_at is not None
        assert token.expires_at == pytest.approx(time.time() + 3600, abs=2)
    else:
        assert token.lifetime == expected_lifetime


@pytest.mark.fake_resharmonics(jwt=False)
def test_opaque_token_without_expires_in_has_unknown_lifetime(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.fail_token_requests("no-expires-in")
    auth = fake_resharmonics.auth()
    token = auth.fetch_token()
    assert token.expires_at is None
    assert auth.valid_token() is token  # used until the API rejects it


def test_transient_failures_are_retried_with_back_off(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.fail_token_requests("503", "500")
    token = fake_resharmonics.auth().fetch_token()
    assert token.access_token in fake_resharmonics.issued_tokens
    assert fake_resharmonics.token_requests == 3


def test_429_retry_after_is_honoured(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.fail_token_requests("429")
    started = time.monotonic()
    fake_resharmonics.auth().fetch_token()
    assert time.monotonic() - started >= 0.9  # the fake says Retry-After: 1
    assert fake_resharmonics.token_requests == 2


def test_retries_are_bounded(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.fail_token_requests("503", "503", "503", "503")
    with pytest.raises(TokenRequestError) as caught:
        fake_resharmonics.auth(token_retries=2).fetch_token()
    assert fake_resharmonics.token_requests == 3
    assert caught.value.status_code == 503
    assert "HTTP 503" in str(caught.value)
    assert "text/html" in str(caught.value)


def test_rejected_credentials(fake_resharmonics: FakeResharmonics) -> None:
    auth = ResharmonicsAuth("fake-client-id", "wrong-secret", fake_resharmonics.token_url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    error = caught.value
    assert isinstance(error, requests.RequestException)
    assert (error.status_code, error.error) == (400, "invalid_client")
    assert "invalid_client" in str(error)
    assert "check the client id and secret" in str(error)
    assert "wrong-secret" not in str(error)
    assert fake_resharmonics.token_requests == 1  # a 400 is not retried


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("html", "not a JSON object (text/html)"),
        ("malformed-json", "not a JSON object"),
        ("missing-access-token", "without an access_token"),
    ],
)
def test_unusable_answers(fake_resharmonics: FakeResharmonics, fault: str, words: str) -> None:
    fake_resharmonics.fail_token_requests(fault)
    with pytest.raises(TokenRequestError, match=re.escape(words)) as caught:
        fake_resharmonics.auth().fetch_token()
    assert caught.value.status_code == 200


def test_timeout(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.hang_seconds = 5
    fake_resharmonics.fail_token_requests("hang")
    started = time.monotonic()
    with pytest.raises(TokenRequestError, match=r"timed out after 0.3 s") as caught:
        fake_resharmonics.auth(timeout=0.3, token_retries=0).fetch_token()
    assert time.monotonic() - started < 2
    assert caught.value.status_code is None


def test_connection_reset_is_retried(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.fail_token_requests("reset")
    token = fake_resharmonics.auth().fetch_token()
    assert token.access_token in fake_resharmonics.issued_tokens


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = ResharmonicsAuth(
        "id", "secret", f"http://127.0.0.1:{port}/oauth2/token", token_retries=1
    )
    with pytest.raises(TokenRequestError, match="could not connect") as caught:
        auth.fetch_token()
    assert caught.value.status_code is None


def test_a_redirect_is_not_followed_with_credentials(
    other_host: StartHost, fake_resharmonics: FakeResharmonics
) -> None:
    target = other_host(lambda incoming: Answer(200, {"access_token": "stolen"}))
    redirector = other_host(
        lambda incoming: Answer(
            307, b"", {"Location": f"http://localhost:{target.port}/oauth2/token"}
        )
    )
    auth = ResharmonicsAuth(
        "id", "secret", f"http://127.0.0.1:{redirector.port}/oauth2/token", client_auth="post"
    )
    with pytest.raises(TokenRequestError, match="HTTP 307"):
        auth.fetch_token()
    assert target.seen == []


def test_the_endpoint_echoing_the_secret_does_not_leak_it(
    other_host: StartHost,
) -> None:
    def echo(incoming: Incoming) -> Answer:
        body = incoming.body.decode()
        return Answer(400, {"error": "invalid_request", "error_description": body})

    server = other_host(echo)
    auth = ResharmonicsAuth(
        "id", "s3cr3t/+x", f"http://127.0.0.1:{server.port}/t", client_auth="post"
    )
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    assert "s3cr3t" not in str(caught.value)
    assert "s3cr3t" not in (caught.value.description or "")
    assert caught.value.error == "invalid_request"


def test_token_type_other_than_bearer_is_refused(other_host: StartHost) -> None:
    server = other_host(
        lambda incoming: Answer(200, {"access_token": "x", "token_type": "mac", "expires_in": 9})
    )
    with pytest.raises(TokenRequestError, match="unsupported type 'mac'"):
        ResharmonicsAuth("id", "secret", f"http://127.0.0.1:{server.port}/t").fetch_token()


def test_oversized_answer_is_refused(other_host: StartHost) -> None:
    server = other_host(lambda incoming: Answer(200, b" " * (2 << 20)))
    with pytest.raises(TokenRequestError, match="over"):
        ResharmonicsAuth("id", "secret", f"http://127.0.0.1:{server.port}/t").fetch_token()


def test_a_broader_scope_than_asked_is_accepted(other_host: StartHost) -> None:
    server = other_host(
        lambda incoming: Answer(
            200, {"access_token": "x", "expires_in": 60, "scope": "api/read api/write"}
        )
    )
    auth = ResharmonicsAuth("id", "secret", f"http://127.0.0.1:{server.port}/t", scope="api/read")
    auth._manager.clock = FakeClock()
    assert auth.fetch_token().scope == "api/read api/write"
