"""Cassettes from vcrpy and pytest-recording: no secrets in them, and they replay offline."""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from requests_resharmonics.testing import PLACEHOLDER_TOKEN, FakeResharmonics, vcr_config
from requests_resharmonics.testing._cassettes import scrub_request, scrub_response
from requests_resharmonics.token import jwt_expiry

vcr = pytest.importorskip("vcr")

pytest_plugins = ("pytester",)

DAY = datetime.date(2026, 11, 28)

#: Records (or replays) a few calls through a session configured from the environment.
SCRIPT = textwrap.dedent(
    """
    import json, sys

    import vcr

    from requests_resharmonics import ResharmonicsSession
    from requests_resharmonics.testing import vcr_config

    cassette_path, record_mode, client_auth = sys.argv[1:4]
    recorder = vcr.VCR(**vcr_config(record_mode=record_mode))
    with recorder.use_cassette(cassette_path) as cassette:
        with ResharmonicsSession(client_auth=client_auth) as session:
            units = session.get("/api/v3/units", params={"size": 5}).json()["content"]
            stays = session.get("/api/v3/roomStays", params={"size": 3}).json()["content"]
    print(json.dumps({
        "units": [unit["id"] for unit in units],
        "stays": [stay["roomStayId"] for stay in stays],
        "all_played": cassette.all_played,
        "interactions": len(cassette),
    }))
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_script(cassette: Path, mode: str, client_auth: str, environ: dict[str, str]) -> Any:
    env = {**os.environ, **environ}
    env.pop("RESHARMONICS_SCOPE", None)
    env.pop("RESHARMONICS_ENVIRONMENT", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cassette), mode, client_auth],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def assert_no_secrets(text: str, secret: str, client_id: str, tokens: set[str]) -> None:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    for forbidden in (secret, quote(secret), quote_plus(secret), basic, *tokens):
        assert forbidden not in text
    assert "authorization" not in text.lower()
    assert not re.search(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9]", text)
    assert "client_secret" not in text


def issued_tokens(fake: FakeResharmonics) -> set[str]:
    tokens = {request.token for request in fake.requests if request.token}
    assert tokens, "the API saw no token"
    return tokens


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_a_vcrpy_cassette_holds_no_secret_and_replays_without_the_token_service(
    tmp_path: Path, client_auth: str
) -> None:
    cassette = tmp_path / "units.yaml"
    secret = "cassette-secret-" + client_auth + "-4f1d9c"
    fake = FakeResharmonics(port=free_port(), seed=3, today=DAY, client_secret=secret)
    with fake:
        environ = fake.environ()
        recorded = run_script(cassette, "once", client_auth, environ)
        tokens = issued_tokens(fake)
        assert fake.token_requests == 1
    assert recorded["interactions"] == 3  # the token request is in the cassette

    text = cassette.read_text()
    assert_no_secrets(text, secret, fake.client_id, tokens)
    assert PLACEHOLDER_TOKEN in text
    assert "grant_type=client_credentials" in text

    # The fake is stopped: nothing listens on its port, and "none" refuses any request
    # the cassette does not hold.
    replayed = run_script(cassette, "none", client_auth, environ)
    assert replayed == {**recorded, "all_played": True}


RECORDED_TEST = """
import datetime
import json
import os
from pathlib import Path

import pytest

from requests_resharmonics import ResharmonicsSession

PORT = {port}
RECORDING = os.environ.get("RECORDING") == "1"


@pytest.fixture
def api(request, monkeypatch):
    if RECORDING:
        fake = request.getfixturevalue("resharmonics_env")
        yield
        seen = sorted({{r.token for r in fake.requests if r.token}})
        Path(os.environ["SEEN_TOKENS"]).write_text(json.dumps(seen))
    else:  # no fake: the cassette alone answers
        base = f"http://127.0.0.1:{{PORT}}"
        monkeypatch.setenv("RESHARMONICS_CLIENT_ID", "fake-client-id")
        monkeypatch.setenv("RESHARMONICS_CLIENT_SECRET", "not-the-secret")
        monkeypatch.setenv("RESHARMONICS_TOKEN_URL", base + "/oauth2/token")
        monkeypatch.setenv("RESHARMONICS_BASE_URL", base)
        yield


@pytest.mark.vcr
@pytest.mark.fake_resharmonics(
    port=PORT, seed=3, today=datetime.date(2026, 11, 28), client_secret="{secret}"
)
def test_bookings(api):
    with ResharmonicsSession() as session:
        rows = session.get("/api/v3/bookings", params={{"size": 4}}).json()["content"]
    assert len(rows) == 4
    Path(os.environ["ROWS"]).write_text(json.dumps([row["roomStayId"] for row in rows]))
"""


def test_pytest_recording_records_with_the_plugins_vcr_config_and_replays_offline(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "pytest-recording-secret-77ab"
    pytester.makepyfile(test_recorded=RECORDED_TEST.format(port=free_port(), secret=secret))
    for name in ("RESHARMONICS_SCOPE", "RESHARMONICS_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    seen, rows = tmp_path / "seen.json", tmp_path / "rows.json"
    monkeypatch.setenv("SEEN_TOKENS", str(seen))
    monkeypatch.setenv("ROWS", str(rows))

    monkeypatch.setenv("RECORDING", "1")
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--record-mode=once").assert_outcomes(
        passed=1
    )
    recorded_rows = json.loads(rows.read_text())
    (cassette,) = (pytester.path / "cassettes" / "test_recorded").glob("*.yaml")
    text = cassette.read_text()
    assert_no_secrets(text, secret, "fake-client-id", set(json.loads(seen.read_text())))
    assert PLACEHOLDER_TOKEN in text

    monkeypatch.setenv("RECORDING", "0")
    rows.unlink()
    replay = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--record-mode=none", "--block-network"
    )
    replay.assert_outcomes(passed=1)
    assert json.loads(rows.read_text()) == recorded_rows


def test_a_token_answer_is_scrubbed_to_a_placeholder_that_still_expires() -> None:
    body = json.dumps(
        {"access_token": "eyJreal.token.here", "refresh_token": "r", "token_type": "Bearer"}
    ).encode()
    response = {"body": {"string": body}, "headers": {"Content-Length": [str(len(body))]}}
    scrubbed = scrub_response(response)
    payload = json.loads(scrubbed["body"]["string"])
    assert payload == {"access_token": PLACEHOLDER_TOKEN, "token_type": "Bearer"}
    assert scrubbed["headers"]["Content-Length"] == [str(len(scrubbed["body"]["string"]))]
    # Without expires_in, the library reads the expiry from the JWT: 2100-01-01.
    assert jwt_expiry(PLACEHOLDER_TOKEN) == 4102444800


def test_only_token_requests_lose_their_secret_fields() -> None:
    from vcr.request import Request

    token_request = Request(
        "POST",
        "https://auth.example.test/oauth2/token",
        b"grant_type=client_credentials&client_id=abc&client_secret=s%3Dcret",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert scrub_request(token_request).body == b"grant_type=client_credentials&client_id=abc"
    other = Request("POST", "https://api.example.test/api/v3/contacts", b'{"a": 1}', {})
    assert scrub_request(other).body == b'{"a": 1}'


def test_options_extend_the_scrubbing_instead_of_replacing_it() -> None:
    def mine(request: Any) -> Any:
        return request

    settings = vcr_config(
        filter_headers=["x-api-key"], before_record_request=mine, record_mode="none"
    )
    assert settings["filter_headers"] == [
        "authorization",
        "proxy-authorization",
        "x-auth-token",
        "x-api-key",
    ]
    assert settings["before_record_request"] == [scrub_request, mine]
    assert settings["before_record_response"] == [scrub_response]
    assert settings["record_mode"] == "none"
    vcr.VCR(**settings)  # vcrpy takes them as they are
