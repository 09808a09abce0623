"""Guards of the cassette scrubbing: each test fails if one plausible bug is put into it.

Real vcrpy records real traffic to a local token server with `vcr_config`'s settings; the
cassette file must then hold none of the credentials a token request or answer can carry:
``client_secret``, ``client_assertion`` (a signed JWT that authenticates the client) and
``password`` (the password grant) in the form, ``access_token``, ``refresh_token`` and
``id_token`` in the answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from requests_resharmonics.testing import PLACEHOLDER_TOKEN, Answer, vcr_config

from .conftest import StartHost

vcr = pytest.importorskip("vcr")

SECRET = "s3cret-value-0b7d2e"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

#: Token request forms, each with a secret field, and the fields that must stay.
FORMS = {
    "client_secret": (
        {"grant_type": "client_credentials", "client_id": "abc", "client_secret": SECRET},
        ("grant_type=client_credentials", "client_id=abc"),
    ),
    "client_assertion": (
        {
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": SECRET,
        },
        ("grant_type=client_credentials", "client_assertion_type="),
    ),
    "password": (
        {"grant_type": "password", "username": "ops", "password": SECRET},
        ("grant_type=password", "username=ops"),
    ),
}


def record(tmp_path: Path, url: str, **kwargs: Any) -> str:
    """Record one POST with vcrpy and `vcr_config`; return the cassette's text."""
    cassette = tmp_path / "cassette.yaml"
    recorder = vcr.VCR(**vcr_config(record_mode="all"))
    with recorder.use_cassette(str(cassette)):
        response = requests.post(url, timeout=30, **kwargs)
    assert response.status_code == 200
    return cassette.read_text()


@pytest.mark.parametrize("field", list(FORMS))
def test_a_secret_field_of_a_token_request_never_reaches_a_cassette(
    tmp_path: Path, other_host: StartHost, field: str
) -> None:
    server = other_host(lambda incoming: Answer(200, {"token_type": "Bearer"}))
    form, kept = FORMS[field]
    text = record(tmp_path, f"http://127.0.0.1:{server.port}/oauth2/token", data=form)
    assert SECRET.encode() in server.seen[0].body  # it went over the wire, as it must
    assert SECRET not in text
    assert f"{field}=" not in text
    for part in kept:  # the rest of the form is recorded, for matching and reading
        assert part in text


#: Token answers, each holding a credential that must not be recorded.
ANSWERS: dict[str, dict[str, Any]] = {
    "access_token": {"access_token": SECRET, "token_type": "Bearer", "expires_in": 300},
    "refresh_token": {"access_token": "a.b.c", "refresh_token": SECRET, "token_type": "Bearer"},
    "id_token": {"access_token": "a.b.c", "id_token": SECRET, "token_type": "Bearer"},
    "id_token alone": {"id_token": SECRET, "token_type": "Bearer"},
}


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_a_credential_in_a_token_answer_never_reaches_a_cassette(
    tmp_path: Path, other_host: StartHost, answer: str
) -> None:
    server = other_host(lambda incoming: Answer(200, ANSWERS[answer]))
    form = {"grant_type": "client_credentials", "client_id": "abc"}
    text = record(tmp_path, f"http://127.0.0.1:{server.port}/oauth2/token", data=form)
    assert SECRET not in text
    assert "token_type" in text  # the answer is recorded, only its credentials go
    if "access_token" in ANSWERS[answer]:
        assert PLACEHOLDER_TOKEN in text
