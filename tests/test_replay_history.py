"""After a replay, the live token sits in the final request only, not in ``history``.

requests-cache stores a response's ``history`` with its requests: a live token there would
land in its sqlite file after every replay.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import StartHost

requests_cache = pytest.importorskip("requests_cache")


def test_history_keeps_no_token_after_a_replay(fake_resharmonics: FakeResharmonics) -> None:
    auth = fake_resharmonics.auth()
    auth.valid_token()
    fake_resharmonics.expire_all_tokens()
    response = requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth)
    assert (response.status_code, len(response.history)) == (200, 1)
    live = fake_resharmonics.issued_tokens[-1]
    assert response.request.headers["Authorization"] == "Bearer " + live
    assert "Authorization" not in response.history[0].request.headers


def test_a_cached_replay_leaves_no_token_in_the_sqlite_file(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    database = tmp_path / "http_cache.sqlite"
    session = requests_cache.CachedSession(str(database), backend="sqlite")
    auth = fake_resharmonics.auth()
    url = fake_resharmonics.base_url + "/api/v3/units"
    assert session.get(url, auth=auth).status_code == 200
    fake_resharmonics.expire_all_tokens()
    # Another address of the same collection, so that the cache asks the server again.
    response = session.get(url + "?page=1", auth=auth)
    assert (response.status_code, len(response.history)) == (200, 1)
    assert session.get(url + "?page=1", auth=auth).from_cache
    session.close()
    stored = database.read_bytes()
    for wal in tmp_path.glob("http_cache.sqlite-*"):
        stored += wal.read_bytes()
    tokens = fake_resharmonics.issued_tokens
    assert len(tokens) == 2
    for token in tokens:  # the live replacement, and the one just rejected
        assert token.encode() not in stored
        assert token[-24:].encode() not in stored  # nor any recognisable part of it
    assert fake_resharmonics.client_secret.encode() not in stored


def test_a_redirect_after_a_replay_still_carries_the_new_token(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    seen: list[tuple[str, str]] = []

    def api(incoming: Incoming) -> Answer:
        token = incoming.headers.get("authorization", "")
        seen.append((incoming.path, token))
        if token == seen[0][1]:
            return Answer(401, {"message": "The incoming token has expired"})
        if incoming.path == "/start":
            return Answer(302, b"", {"Location": "/final"})
        return Answer(200, {"ok": True})

    server = other_host(api)
    auth = fake_resharmonics.auth()
    response = requests.get(f"http://127.0.0.1:{server.port}/start", auth=auth)
    new = "Bearer " + fake_resharmonics.issued_tokens[-1]
    assert response.status_code == 200
    assert [path for path, _ in seen] == ["/start", "/start", "/final"]
    assert [token for _, token in seen][1:] == [new, new]
    # requests rebuilds history from the redirects it followed; none keeps a token.
    assert [r.status_code for r in response.history] == [302]
    assert "Authorization" not in response.history[0].request.headers
