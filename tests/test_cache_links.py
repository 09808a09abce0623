"""Links planted where the file cache reads and writes are never followed."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics

pytest.importorskip("filelock", reason="install the 'file' extra")

from requests_resharmonics.cache.file import FileTokenCache


def unavailable(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]


def test_a_linked_default_folder_is_refused_and_left_alone(
    fake_resharmonics: FakeResharmonics,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    shared = tmp_path / "shared-project-folder"
    shared.mkdir()
    shared.chmod(0o755)
    cache_home = tmp_path / "cache-home"
    cache_home.mkdir()
    (cache_home / "requests-resharmonics").symlink_to(shared)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    cache = FileTokenCache()
    assert cache.path.parent == cache_home / "requests-resharmonics"
    auth = fake_resharmonics.auth(cache=cache)
    for _ in range(2):
        assert requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth).ok
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # not tightened to 0700
    assert list(shared.iterdir()) == []  # no tokens.json, no lock files
    warnings = unavailable(caplog)
    assert len(warnings) == 1
    assert "symbolic link" in warnings[0]


def test_a_link_to_a_valid_cache_is_not_read(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    # A real cache holding this very client's token: following the link would use it.
    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    writer = fake_resharmonics.auth(cache=FileTokenCache(own / "tokens.json"))
    writer.valid_token()
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    (planted / "tokens.json").symlink_to(own / "tokens.json")
    reader = fake_resharmonics.auth(cache=FileTokenCache(planted / "tokens.json"))
    assert reader.valid_token().access_token != writer.valid_token().access_token
    assert fake_resharmonics.token_requests == 2
    assert "symbolic link" in " ".join(unavailable(caplog))
