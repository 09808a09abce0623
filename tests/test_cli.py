"""The command line, end to end in subprocesses against the fake server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile

import pytest
import requests

from requests_resharmonics import __version__
from requests_resharmonics.testing import FakeResharmonics

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}
# The command line caches tokens per user: its tests keep theirs apart from the user's.
CLEAN_ENV["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="resharmonics-cli-tests-")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "requests_resharmonics", *args],
        capture_output=True,
        text=True,
        env={**CLEAN_ENV, **(env or {})},
        timeout=60,
        check=False,
    )


def test_demo_shows_all_four_token_events() -> None:
    result = run("demo", "--lifetime", "1.5")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for event in (
        "fetched from the token endpoint",
        "(reused the current token)",
        "is due for renewal: renewing it in the background, calls keep using it",
        "got the expiry 401: renewing it and replaying the call",
    ):
        assert event in out
    # The renewal before expiry really happened: a new token is fetched after the due event.
    due = out.index("is due for renewal")
    assert "fetched from the token endpoint" in out[due:]
    assert re.search(r"^\d\d:\d\d:\d\d\.\d{3} ", out, re.MULTILINE)
    assert "0 failed" in out


def test_token_prints_the_token_and_nothing_else(fake_resharmonics: FakeResharmonics) -> None:
    result = run("token", env=fake_resharmonics.environ())
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n")
    token = result.stdout.strip()
    assert fake_resharmonics.issued_tokens == [token]
    # Usable as curl -H "Authorization: Bearer $(resharmonics token)" would use it.
    response = requests.get(
        fake_resharmonics.base_url + "/api/v3/units",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200


def test_token_with_flags(fake_resharmonics: FakeResharmonics) -> None:
    fake = fake_resharmonics
    result = run(
        "token",
        "--client-id",
        fake.client_id,
        "--client-secret",
        fake.client_secret,
        "--token-url",
        fake.token_url,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == fake.issued_tokens[-1]


def test_token_without_credentials_says_what_to_set() -> None:
    result = run("token")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "RESHARMONICS_CLIENT_ID and RESHARMONICS_CLIENT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_token_with_wrong_secret_fails_clearly(fake_resharmonics: FakeResharmonics) -> None:
    env = {**fake_resharmonics.environ(), "RESHARMONICS_CLIENT_SECRET": "wrong-secret"}
    result = run("token", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "invalid_client" in result.stderr
    assert "check the client id and secret" in result.stderr
    assert "wrong-secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_get_prints_bookings(fake_resharmonics: FakeResharmonics) -> None:
    result = run(
        "get",
        "/api/v3/bookings",
        "--param",
        "size=3",
        "-p",
        "page=1",
        env=fake_resharmonics.environ(),
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["page"]["number"] == 1
    assert len(body["content"]) == 3
    assert "bookingReference" in body["content"][0]
    assert result.stdout.startswith("{\n  ")  # pretty


def test_get_reports_http_errors(fake_resharmonics: FakeResharmonics) -> None:
    result = run("get", "/api/v3/bookings/1", env=fake_resharmonics.environ())
    assert result.returncode == 1
    assert "HTTP 404" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["get", "/x", "--param", "novalue"], "expected KEY=VALUE"),
        (["demo", "--lifetime", "soon"], "expected a number of seconds"),
        (["fake-server", "--token-lifetime", "-1"], "positive number"),
        ([], "required"),
    ],
)
def test_usage_errors(args: list[str], words: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert words in result.stderr


def test_unreachable_token_endpoint_fails_clearly() -> None:
    result = run(
        "token",
        env={
            "RESHARMONICS_CLIENT_ID": "id",
            "RESHARMONICS_CLIENT_SECRET": "secret",
            "RESHARMONICS_TOKEN_URL": "http://127.0.0.1:9/oauth2/token",
        },
    )
    assert result.returncode == 1
    assert "could not connect" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["demo", "--help"],
        ["token", "--help"],
        ["get", "--help"],
        ["fake-server", "--help"],
    ],
)
def test_help_everywhere(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: resharmonics")


def test_version() -> None:
    assert run("--version").stdout.strip() == f"resharmonics {__version__}"


def test_fake_server_runs_in_the_foreground() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "requests_resharmonics", "fake-server", "--token-lifetime", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CLEAN_ENV,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(5)]
        found = dict(line.strip().split(":", 1) for line in lines[1:] if ":" in line)
        token_url = found["token URL"].strip()
        client = (found["client id"].strip(), found["client secret"].strip())
        answer = requests.post(token_url, data={"grant_type": "client_credentials"}, auth=client)
        assert answer.json()["expires_in"] == 60
        base_url = found["base URL"].strip()
        units = requests.get(
            base_url + "/api/v3/units",
            headers={"Authorization": "Bearer " + answer.json()["access_token"]},
        )
        assert units.status_code == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "resharmonics")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"resharmonics {__version__}"
