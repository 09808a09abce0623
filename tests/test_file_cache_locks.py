"""The file cache's fetch locks do not pile up: one nobody took for an hour is removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics

pytest.importorskip("filelock", reason="install the 'file' extra")

from requests_resharmonics.cache.file import STALE_LOCK_SECONDS, FileTokenCache

LONG_AGO = time.time() - STALE_LOCK_SECONDS - 60


def fetch_locks(folder: Path) -> set[str]:
    return {path.name for path in folder.glob("*.fetch.lock")}


def age(path: Path) -> None:
    os.utime(path, (LONG_AGO, LONG_AGO))


def test_a_write_removes_fetch_locks_nobody_took_for_an_hour(tmp_path: Path) -> None:
    cache = FileTokenCache(tmp_path / "cache" / "tokens.json")
    for key in ("a" * 16, "b" * 16):
        with cache.lock(key, wait=1) as acquired:
            assert acquired
    folder = tmp_path / "cache"
    assert fetch_locks(folder) == {
        f"tokens.json.{'a' * 16}.fetch.lock",
        f"tokens.json.{'b' * 16}.fetch.lock",
    }
    age(folder / f"tokens.json.{'a' * 16}.fetch.lock")
    others = folder / "notes.fetch.lock"  # not the cache's: left alone however old
    others.write_text("")
    age(others)
    cache.set("k", "v", None)
    assert fetch_locks(folder) == {f"tokens.json.{'b' * 16}.fetch.lock", "notes.fetch.lock"}
    assert cache.get("k") == "v"


def test_a_lock_in_use_is_kept_and_marked_used(
    tmp_path: Path, fake_resharmonics: FakeResharmonics
) -> None:
    folder = tmp_path / "cache"
    cache = FileTokenCache(folder / "tokens.json")
    auth = fake_resharmonics.auth(cache=cache, background_renewal=False)
    url = fake_resharmonics.base_url + "/api/v3/units"
    assert requests.get(url, auth=auth, timeout=10).status_code == 200
    (lock,) = folder.glob("*.fetch.lock")
    age(lock)
    fake_resharmonics.expire_all_tokens()  # the next call renews: it takes the lock again
    assert requests.get(url, auth=auth, timeout=10).status_code == 200
    assert lock.exists()
    assert lock.stat().st_mtime > LONG_AGO + 60
    assert fake_resharmonics.token_requests == 2
