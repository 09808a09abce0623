"""A cassette recorded across a token expiry replays offline, the 401 and the renewal in it.

The 401 reader works on whatever ``raw`` a response has; under vcrpy that is vcrpy's
stand-in, not urllib3's response, whether it records or replays.
"""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.testing import EXPIRED_BODY, FakeResharmonics, vcr_config

vcr = pytest.importorskip("vcr")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def calls(base: str, secret: str, expire: Callable[[], None]) -> list[object]:
    """Two calls with a token expiry between them, through a requests auth object."""
    auth = ResharmonicsAuth("fake-client-id", secret, base + "/oauth2/token")
    with requests.Session() as session:
        first = session.get(base + "/api/v3/units", params={"size": 2}, auth=auth, timeout=30)
        expire()
        second = session.get(base + "/api/v3/units", params={"size": 2}, auth=auth, timeout=30)
    return [
        first.status_code,
        second.status_code,
        [answer.status_code for answer in second.history],
        second.history[0].json() if second.history else None,
        [unit["id"] for unit in second.json()["content"]],
    ]


def test_a_cassette_recorded_across_a_token_expiry_replays_without_network(
    tmp_path: Path,
) -> None:
    cassette = tmp_path / "expiry.yaml"
    secret = "cassette-expiry-secret-7d21"
    port = free_port()
    fake = FakeResharmonics(
        port=port, seed=3, today=datetime.date(2026, 11, 28), client_secret=secret
    )
    with fake, vcr.VCR(**vcr_config(record_mode="once")).use_cassette(str(cassette)) as tape:
        recorded = calls(fake.base_url, secret, fake.expire_all_tokens)
        assert fake.token_requests == 2
        assert len(tape) == 5  # token, call, 401, token, replay
    assert recorded[:4] == [200, 200, [401], EXPIRED_BODY]
    assert secret not in cassette.read_text()

    # The fake is stopped; "none" refuses anything the cassette does not hold. Another
    # secret, so no token of the recording is found in the process's memory cache.
    base = f"http://127.0.0.1:{port}"
    with vcr.VCR(**vcr_config(record_mode="none")).use_cassette(str(cassette)) as tape:
        replayed = calls(base, "not-the-secret", lambda: None)
        assert tape.all_played
    assert replayed == recorded
