"""A token from a cache, revoked server-side since, is replaced instead of failing for an hour.

The command line reuses tokens through the file cache between runs; fleets share them
through Redis. Once such a token is revoked, the API answers ``401 Unauthorized`` (not the
expiry message) until it would have expired.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics

pytest.importorskip("filelock", reason="install the 'file' extra")

from requests_resharmonics.cache.file import FileTokenCache


def cli(fake: FakeResharmonics, cache_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}
    env.update(fake.environ(), XDG_CACHE_HOME=str(cache_home))
    return subprocess.run(
        [sys.executable, "-m", "requests_resharmonics", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_command_line_replaces_a_revoked_cached_token(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    first = cli(fake_resharmonics, tmp_path, "token")
    assert first.returncode == 0, first.stderr
    cached = first.stdout.strip()
    fake_resharmonics.revoke(cached)
    result = cli(fake_resharmonics, tmp_path, "get", "/api/v3/units")
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("{")
    assert fake_resharmonics.token_requests == 2
    # The replacement is cached in its place: the next run costs no token request.
    again = cli(fake_resharmonics, tmp_path, "get", "/api/v3/units")
    assert again.returncode == 0, again.stderr
    assert fake_resharmonics.token_requests == 2


def test_a_revoked_token_from_a_shared_file_cache_is_dropped(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    fetcher = fake_resharmonics.auth(cache=FileTokenCache(tmp_path / "tokens.json"))
    token = fetcher.valid_token()
    fake_resharmonics.revoke(token.access_token)
    # Another process's auth object, as it were: its first token comes from the file.
    reader = fake_resharmonics.auth(cache=FileTokenCache(tmp_path / "tokens.json"))
    response = requests.get(url, auth=reader)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert fake_resharmonics.token_requests == 2
    assert reader.token is not None and reader.token.access_token != token.access_token


def test_a_401_to_a_token_fetched_here_is_returned_as_it_is(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    url = fake_resharmonics.base_url + "/api/v3/units"
    auth = fake_resharmonics.auth(cache=FileTokenCache(tmp_path / "tokens.json"))
    token = auth.valid_token()
    fake_resharmonics.revoke(token.access_token)
    # Its own token refused: about the client's rights, not the token; no new token bought.
    for _ in range(3):
        response = requests.get(url, auth=auth)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
    assert fake_resharmonics.token_requests == 1
