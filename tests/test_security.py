"""Security (behaviour 6): secrets and tokens stay out of reprs, logs and error messages."""

from __future__ import annotations

import base64
import logging
import traceback

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth, TokenRequestError
from requests_resharmonics.testing import FakeResharmonics


def forbidden(fake: FakeResharmonics) -> list[str]:
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    return [fake.client_secret, basic, *fake.issued_tokens]


def assert_clean(text: str, fake: FakeResharmonics) -> None:
    for secret in forbidden(fake):
        assert secret not in text


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_no_log_record_at_any_level_carries_a_secret(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture, client_auth: str
) -> None:
    fake = fake_resharmonics
    caplog.set_level(logging.DEBUG)  # the root logger: every library we call
    auth = fake.auth(client_auth=client_auth)
    requests.get(fake.base_url + "/api/v3/units", auth=auth)
    fake.expire_all_tokens()
    requests.post(
        fake.base_url + "/api/v3/contacts",
        json={"firstName": "Ada", "lastName": "Byron"},
        auth=auth,
    )
    session = fake.session(client_auth=client_auth)
    session.get("/api/v3/bookings")
    fake.expire_all_tokens()
    session.get("/api/v3/bookings")
    session.fetch_token()
    fake.fail_token_requests("invalid_client")
    with pytest.raises(TokenRequestError):
        auth.fetch_token()
    assert fake.token_requests == 5  # the session reused the auth object's token
    assert any(record.name == "requests_resharmonics" for record in caplog.records)
    for record in caplog.records:
        assert_clean(record.getMessage(), fake)
        assert_clean(repr(record.args), fake)


def test_reprs_show_the_client_and_urls_but_no_secret(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    auth = fake.auth()
    session = fake.session()
    assert "no token yet" in repr(auth)
    auth.valid_token()
    session.fetch_token()
    for obj in (auth, session):
        for text in (repr(obj), str(obj), obj._repr_html_()):
            assert fake.client_id in text
            assert fake.token_url in text
            assert "token valid for 60 min" in text
            assert_clean(text, fake)
    assert fake.base_url in repr(session)
    assert_clean(repr(auth.token) + str(auth.token), fake)


def test_error_messages_and_tracebacks_carry_no_secret(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    auth = ResharmonicsAuth(fake.client_id, fake.client_secret + "-wrong", fake.token_url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    text = "".join(traceback.format_exception(caught.type, caught.value, caught.tb))
    assert_clean(text, fake)
    assert fake.client_secret not in text
    assert caught.value.response is None  # its request would carry the Basic credentials


def test_requests_oauthlib_logging_is_never_reached(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="requests_oauthlib")
    session = fake_resharmonics.session()
    session.get("/api/v3/units")
    session.fetch_token()
    assert [r for r in caplog.records if r.name.startswith("requests_oauthlib")] == []
