"""Every fake setting reachable from other languages: ``fake-server`` flags, ``/_fake/settings``,
and a start banner whose commands paste into a shell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}


def token(fake_url: str, client: tuple[str, str]) -> str:
    answer = requests.post(fake_url, data={"grant_type": "client_credentials"}, auth=client)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def test_settings_control_reads_and_changes_every_setting(
    fake_resharmonics: FakeResharmonics,
) -> None:
    url = fake_resharmonics.controls_url + "settings"
    assert requests.get(url).json() == {
        "tokenLifetime": 3600.0, "serverLifetime": None, "tokenDelay": 0.0, "apiDelay": 0.0,
        "hangSeconds": 30.0, "expiryStyle": "message", "legacyPagination": False,
    }  # fmt: skip
    changes = {"legacyPagination": True, "expiryStyle": "www-authenticate", "serverLifetime": 0,
               "tokenLifetime": 120, "tokenDelay": 0.01, "apiDelay": 0.01,
               "hangSeconds": 2}  # fmt: skip
    changed = requests.post(url, json=changes)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {**changes, "serverLifetime": 0.0}
    client = (fake_resharmonics.client_id, fake_resharmonics.client_secret)
    answer = requests.post(fake_resharmonics.token_url, data={"grant_type": "client_credentials"},
                           auth=client).json()  # fmt: skip
    assert answer["expires_in"] == 120
    units = requests.get(fake_resharmonics.base_url + "/api/v3/units",
                         headers={"Authorization": "Bearer " + answer["access_token"]})  # fmt: skip
    assert units.status_code == 401  # serverLifetime 0: expired at once
    assert "invalid_token" in units.headers["WWW-Authenticate"]  # the expiry style
    requests.post(url, json={"serverLifetime": None})
    fresh = token(fake_resharmonics.token_url, client)
    listing = requests.get(fake_resharmonics.base_url + "/api/v3/units",
                           headers={"Authorization": "Bearer " + fresh}).json()  # fmt: skip
    assert "totalPages" in listing and "page" not in listing  # the legacy envelope


@pytest.mark.parametrize(
    "body",
    [{"legacyPagination": "yes"}, {"expiryStyle": "loud"}, {"tokenDelay": "1"},
     {"apiDelay": -1}, {"speed": 1}, {"apiDelay": 0.5, "serverLifetime": -3}],
)  # fmt: skip
def test_a_bad_setting_is_a_400_and_changes_nothing(
    fake_resharmonics: FakeResharmonics, body: dict[str, object]
) -> None:
    url = fake_resharmonics.controls_url + "settings"
    before = requests.get(url).json()
    refused = requests.post(url, json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]
    assert requests.get(url).json() == before


def test_control_keys_have_one_spelling(fake_resharmonics: FakeResharmonics) -> None:
    listing = requests.get(fake_resharmonics.controls_url).json()["controls"]
    text = json.dumps(listing)
    assert "access_token" not in text and "accessToken" in text
    client = (fake_resharmonics.client_id, fake_resharmonics.client_secret)
    access = token(fake_resharmonics.token_url, client)
    expired = requests.post(fake_resharmonics.controls_url + "tokens/expire",
                            json={"accessToken": access})  # fmt: skip
    assert expired.json() == {"expired": 1}


@pytest.fixture
def server_banner() -> Iterator[tuple[list[str], dict[str, str]]]:
    env = {**CLEAN_ENV, "RESHARMONICS_FAKE_CLIENT_SECRET": 'it\'s a $ecret "really"'}
    process = subprocess.Popen(
        [sys.executable, "-m", "requests_resharmonics", "fake-server", "--legacy-pagination",
         "--expiry-style", "www-authenticate", "--server-lifetime", "30", "--token-delay",
         "0.01", "--api-delay", "0.01", "--client-id", "o'brien"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n") for _ in range(15)]
        yield lines, env
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_fake_server_flags_reach_every_setting(
    server_banner: tuple[list[str], dict[str, str]],
) -> None:
    lines, _ = server_banner
    controls = next(line.split(": ", 1)[1].strip() for line in lines if "controls:" in line)
    assert requests.get(controls + "settings").json() == {
        "tokenLifetime": 3600.0, "serverLifetime": 30.0, "tokenDelay": 0.01, "apiDelay": 0.01,
        "hangSeconds": 30.0, "expiryStyle": "www-authenticate", "legacyPagination": True,
    }  # fmt: skip


@pytest.mark.skipif(shutil.which("curl") is None, reason="the banner's commands use curl")
def test_the_banners_commands_paste_into_a_shell(
    server_banner: tuple[list[str], dict[str, str]],
) -> None:
    lines, env = server_banner
    assert any("/v3/api-docs (needs a bearer token" in line for line in lines)
    assert "$ecret" not in "\n".join(lines)  # a chosen secret is never printed
    exports = [line.strip() for line in lines if line.strip().startswith("export ")]
    assert len(exports) == 4
    assert all(value.startswith(("'", '"')) for value in (e.split("=", 1)[1] for e in exports))
    commands = [line.strip() for line in lines if line.strip().startswith(("TOKEN=", "curl "))]
    script = "\n".join([*exports, *commands, 'echo "$RESHARMONICS_CLIENT_ID"'])
    shell = shutil.which("sh") or "/bin/sh"
    result = subprocess.run([shell, "-euc", script], capture_output=True, text=True, env=env,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    document, _, client_id = result.stdout.rpartition("}")
    assert json.loads(document + "}")["openapi"].startswith("3.")
    assert client_id.strip() == "o'brien"
