"""The fake stands up to a misbehaving client and to the web pages a developer visits.

Each test plays one reproducer: a body far too big, a chunk size that overflows, JSON nested
a hundred thousand deep, a cross-site or DNS-rebound request to the controls, settings of
``inf``, and the stats after a reset.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

MIB = 1024 * 1024
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def raw(fake: FakeResharmonics, request: bytes) -> bytes:
    """Send bytes as they are; return what the server answers before it closes."""
    with socket.create_connection(("127.0.0.1", fake.port), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


# -- bounded bodies and request log ---------------------------------------------------------


def test_a_body_past_the_bound_is_refused_unread(fake_resharmonics: FakeResharmonics) -> None:
    response = requests.post(
        fake_resharmonics.base_url + "/api/v3/contacts", data=b"x" * (48 * MIB), timeout=60
    )
    assert response.status_code == 413
    assert "over" in response.json()["message"]
    assert all(len(seen.body) < 2 * MIB for seen in fake_resharmonics.requests)
    assert requests.get(fake_resharmonics.base_url + "/api/v3/units").status_code == 401  # alive


def test_the_request_log_bounds_bytes_not_only_entries(fake_resharmonics: FakeResharmonics) -> None:
    body = b"y" * (MIB + MIB // 2)
    with requests.Session() as session:
        for _ in range(46):  # 69 MiB of bodies, each under the body bound
            session.post(fake_resharmonics.base_url + "/api/v3/contacts", data=body)
    kept = sum(len(seen.body) for seen in fake_resharmonics.requests)
    assert kept <= 64 * MIB
    assert fake_resharmonics.api_requests == 46  # the counters stay exact


# -- malformed framing and JSON ---------------------------------------------------------------


def test_a_chunk_size_that_overflows_is_a_400(fake_resharmonics: FakeResharmonics) -> None:
    head = (
        f"POST /api/v3/contacts HTTP/1.1\r\nHost: 127.0.0.1:{fake_resharmonics.port}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    for size in (b"FFFFFFFFFFFFFFFF", b"zz", b"-5"):
        answer = raw(fake_resharmonics, head.encode() + size + b"\r\nabc\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400"), (size, answer[:80])
    big = raw(fake_resharmonics, head.encode() + b"7FFFFFFF\r\nabc")
    assert big.startswith(b"HTTP/1.1 413")


def test_json_nested_a_hundred_thousand_deep_is_a_400(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    deep = b"[" * 100_000
    headers = {"Content-Type": "application/json"}
    for path in ("/api/v3/contacts", "/api/v3/bookings", "/api/v3/salesInvoices"):
        response = api.post(path, data=deep, headers=headers)
        assert response.status_code == 400, path
        assert "JSON" in response.json()["message"]
    control = requests.post(fake_resharmonics.controls_url + "routes", data=deep)
    assert control.status_code == 400
    assert api.get("/api/v3/units").status_code == 200


# -- the controls against web pages ------------------------------------------------------------


def test_a_cross_site_post_cannot_drive_the_controls(fake_resharmonics: FakeResharmonics) -> None:
    contact = fake_resharmonics.portfolio.add_contact("Ada", "Lovelace")
    url = fake_resharmonics.controls_url + "reset"
    page = {"Content-Type": "text/plain", "Origin": "http://evil.example"}
    refused = requests.post(url, data="{}", headers=page)
    assert refused.status_code == 403
    assert "origin" in refused.json()["error"]
    fetched = requests.post(url, data="{}", headers={"Sec-Fetch-Site": "cross-site"})
    assert fetched.status_code == 403
    route = {"method": "GET", "path": "/api/v3/units", "body": {"content": []}}
    assert requests.post(fake_resharmonics.controls_url + "routes", json=route,
                         headers=page).status_code == 403  # fmt: skip
    assert contact.id in fake_resharmonics.portfolio.contacts  # nothing was reset
    assert not [r for r in fake_resharmonics.router.routes if r.source == "user"]
    own = {"Origin": fake_resharmonics.base_url, "Sec-Fetch-Site": "same-origin"}
    assert requests.post(url, data="{}", headers=own).status_code == 200
    assert contact.id not in fake_resharmonics.portfolio.contacts


def test_a_rebound_host_name_cannot_read_or_drive_the_controls(
    fake_resharmonics: FakeResharmonics,
) -> None:
    port = fake_resharmonics.port
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", ""):
        answer = raw(fake_resharmonics, (f"GET /_fake/stats HTTP/1.1\r\nHost: {host}\r\n"
                                         "Connection: close\r\n\r\n").encode())  # fmt: skip
        assert answer.startswith(b"HTTP/1.1 403"), host
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        answer = raw(fake_resharmonics, (f"GET /_fake/stats HTTP/1.1\r\nHost: {host}\r\n"
                                         "Connection: close\r\n\r\n").encode())  # fmt: skip
        assert answer.startswith(b"HTTP/1.1 200"), host


# -- settings out of range ------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"token_lifetime": float("inf")},
        {"token_lifetime": 0},
        {"server_lifetime": float("nan")},
        {"api_delay": float("inf")},
        {"token_delay": -1},
    ],
)
def test_settings_out_of_range_are_refused_at_start(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        FakeResharmonics(**options)  # type: ignore[arg-type]


def test_settings_out_of_range_are_refused_when_changed(
    fake_resharmonics: FakeResharmonics,
) -> None:
    for name in ("api_delay", "token_delay", "hang_seconds", "token_lifetime"):
        with pytest.raises(ValueError, match=name):
            setattr(fake_resharmonics, name, float("inf"))
    url = fake_resharmonics.controls_url + "settings"
    refused = requests.post(url, data='{"apiDelay": 0.5, "tokenLifetime": 1e309}')  # inf
    assert refused.status_code == 400
    assert fake_resharmonics.api_delay == 0  # all or nothing
    assert requests.post(fake_resharmonics.controls_url + "latency",
                         data='{"api": Infinity}').status_code == 400  # fmt: skip


@pytest.mark.parametrize("flag", ["--token-lifetime", "--api-delay", "--token-delay",
                                  "--server-lifetime"])  # fmt: skip
def test_the_fake_server_refuses_inf_at_start(flag: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "requests_resharmonics", "fake-server", flag, "inf"],
        capture_output=True, text=True, env=CLEAN_ENV, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert flag in result.stderr and "number of seconds" in result.stderr
    assert "Traceback" not in result.stderr


# -- stats ------------------------------------------------------------------------------------


def test_stats_after_a_reset_agree_with_themselves(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    assert api.get("/api/v3/units").status_code == 200
    stats = fake_resharmonics.controls_url + "stats"
    assert requests.post(fake_resharmonics.controls_url + "reset").status_code == 200
    after = requests.get(stats).json()
    assert after == {"tokenRequests": 0, "apiRequests": 0, "issuedTokens": 0}
    client = (fake_resharmonics.client_id, fake_resharmonics.client_secret)
    grant = {"grant_type": "client_credentials"}
    assert requests.post(fake_resharmonics.token_url, data=grant, auth=client).ok
    assert requests.get(stats).json() == {"tokenRequests": 1, "apiRequests": 0, "issuedTokens": 1}
