"""Guards of `ResharmonicsHTTPXAuth`, through httpx's Client and AsyncClient against local servers.

Each test fails if one plausible bug is put into the httpx flows:

- a replacement token that the API rejects too must pause renewals after a rejection (else
  an API that rejects every token costs two billed tokens per call);
- the library's own host checks must run where httpx's do not: a redirect followed by hand
  (``client.send(response.next_request)``, httpx's documented way) carries the request's
  extensions but not its ``Authorization``, and runs the auth flow again; and a first call to
  a host outside ``allowed_hosts`` must go without the token.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from requests_resharmonics._tokens import pauses  # the one private seam: the pause's length
from requests_resharmonics.httpx import ResharmonicsHTTPXAuth
from requests_resharmonics.testing import EXPIRED_BODY, Answer, FakeResharmonics

from .conftest import OtherHost, StartHost


def httpx_auth(fake: FakeResharmonics, **kwargs: object) -> ResharmonicsHTTPXAuth:
    return ResharmonicsHTTPXAuth(fake.client_id, fake.client_secret, fake.token_url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def long_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """A first pause of a minute, so that no loaded machine sees it end within the test."""
    monkeypatch.setattr(pauses, "MIN_REJECTION_PAUSE", 60.0)


def rejecting_api(other_host: StartHost) -> OtherHost:
    """An API that rejects every token as expired (a skewed gateway clock, say)."""
    return other_host(lambda incoming: Answer(401, EXPIRED_BODY))


def pause_began(caplog: pytest.LogCaptureFixture) -> int:
    return sum("rejects new tokens" in record.getMessage() for record in caplog.records)


@pytest.mark.usefixtures("long_pause")
def test_a_rejected_replacement_pauses_renewals_sync(
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    api = rejecting_api(other_host)
    url = f"http://127.0.0.1:{api.port}/api/v3/units"
    auth = httpx_auth(fake_resharmonics, background_renewal=False)
    with httpx.Client(auth=auth, timeout=30) as client:
        assert client.get(url).status_code == 401  # a token, a replacement, both rejected
        assert fake_resharmonics.token_requests == 2
        assert pause_began(caplog) >= 1
        for _ in range(3):
            assert client.get(url).status_code == 401
        assert fake_resharmonics.token_requests == 2  # paused: no token bought per call
        assert len(api.seen) == 2 + 3  # and no replays
        # An accepted call ends the pause.
        assert client.get(fake_resharmonics.base_url + "/api/v3/units").status_code == 200


@pytest.mark.usefixtures("long_pause")
def test_a_rejected_replacement_pauses_renewals_async(
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    api = rejecting_api(other_host)
    url = f"http://127.0.0.1:{api.port}/api/v3/units"
    auth = httpx_auth(fake_resharmonics, background_renewal=False)

    async def run() -> None:
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            assert (await client.get(url)).status_code == 401
            assert fake_resharmonics.token_requests == 2
            assert pause_began(caplog) >= 1
            for _ in range(3):
                assert (await client.get(url)).status_code == 401
            assert fake_resharmonics.token_requests == 2
            assert len(api.seen) == 2 + 3
            ok = await client.get(fake_resharmonics.base_url + "/api/v3/units")
            assert ok.status_code == 200

    asyncio.run(run())


def moved_to(fake: FakeResharmonics, location: str) -> str:
    """Add an API route that redirects to ``location``; return its URL."""
    fake.add_route("GET", "/api/v3/moved", None, status=302, headers={"Location": location})
    return fake.base_url + "/api/v3/moved"


def test_a_redirect_followed_by_hand_to_another_host_goes_without_the_token_sync(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {"elsewhere": True}))
    url = moved_to(fake_resharmonics, f"http://localhost:{elsewhere.port}/signed-download")
    with httpx.Client(auth=httpx_auth(fake_resharmonics), timeout=30) as client:
        moved = client.get(url)
        assert moved.status_code == 302
        assert moved.request.headers["authorization"].startswith("Bearer ")  # the API's
        assert moved.next_request is not None
        assert client.send(moved.next_request).json() == {"elsewhere": True}
    assert len(elsewhere.seen) == 1
    assert "authorization" not in elsewhere.seen[0].headers


def test_a_redirect_followed_by_hand_to_another_host_goes_without_the_token_async(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {"elsewhere": True}))
    url = moved_to(fake_resharmonics, f"http://localhost:{elsewhere.port}/signed-download")

    async def run() -> None:
        async with httpx.AsyncClient(auth=httpx_auth(fake_resharmonics), timeout=30) as client:
            moved = await client.get(url)
            assert moved.status_code == 302
            assert moved.next_request is not None
            assert (await client.send(moved.next_request)).json() == {"elsewhere": True}

    asyncio.run(run())
    assert len(elsewhere.seen) == 1
    assert "authorization" not in elsewhere.seen[0].headers


def test_a_redirect_followed_by_hand_to_another_port_goes_without_the_token(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {"elsewhere": True}))
    url = moved_to(fake_resharmonics, f"http://127.0.0.1:{elsewhere.port}/signed-download")
    with httpx.Client(auth=httpx_auth(fake_resharmonics), timeout=30) as client:
        moved = client.get(url)
        assert moved.next_request is not None
        client.send(moved.next_request)
    assert "authorization" not in elsewhere.seen[0].headers


def test_a_first_call_to_a_host_not_allowed_goes_without_the_token(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {}))
    auth = httpx_auth(fake_resharmonics, allowed_hosts=["127.0.0.1"])
    api = fake_resharmonics.base_url + "/api/v3/units"
    not_allowed = f"http://localhost:{elsewhere.port}/download"
    with httpx.Client(auth=auth, timeout=30) as client:
        assert client.get(not_allowed).status_code == 200
        assert client.get(api).status_code == 200

    async def run() -> None:
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            assert (await client.get(not_allowed)).status_code == 200
            assert (await client.get(api)).status_code == 200

    asyncio.run(run())
    assert len(elsewhere.seen) == 2
    assert all("authorization" not in seen.headers for seen in elsewhere.seen)
    assert fake_resharmonics.api_requests == 2  # the allowed host got the token both times
