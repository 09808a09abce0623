"""``requests_resharmonics.httpx.client()`` and ``async_client()``: the session's settings, read
the same way, for httpx users; the token goes to the API's host only."""

from __future__ import annotations

import asyncio
import warnings

import httpx
import pytest

from requests_resharmonics import ConfigurationError, ConfigurationWarning
from requests_resharmonics.httpx import ResharmonicsHTTPXAuth, async_client, client, paginate
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import StartHost


def test_client_reads_the_resharmonics_variables(resharmonics_env: FakeResharmonics) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one environment: nothing to warn about
        api = client()
    with api:
        assert isinstance(api, httpx.Client)
        assert str(api.base_url).rstrip("/") == resharmonics_env.base_url
        assert isinstance(api.auth, ResharmonicsHTTPXAuth)
        assert api.timeout.read == 60.0
        page = api.get("/api/v3/units", params={"size": 5}).json()["page"]
        assert page["totalElements"] == len(resharmonics_env.portfolio.units)
        assert len(list(paginate(api, "/api/v3/units", page_size=7))) == page["totalElements"]


def test_async_client_reads_them_too(resharmonics_env: FakeResharmonics) -> None:
    async def units() -> int:
        async with async_client(api_timeout=5) as api:
            assert isinstance(api, httpx.AsyncClient)
            assert api.timeout.read == 5
            answer = await api.get("/api/v3/units")
            total: int = answer.json()["page"]["totalElements"]
            return total

    assert asyncio.run(units()) == len(resharmonics_env.portfolio.units)


def test_arguments_win_over_the_variables(
    resharmonics_env: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = resharmonics_env
    monkeypatch.setenv("RESHARMONICS_CLIENT_ID", "someone-else")
    with client(fake.client_id, base_url=fake.base_url + "/") as api:
        assert api.get("/api/v3/units").status_code == 200
    assert fake.token_requests == 1


def test_a_fake_token_url_with_the_production_api_is_warned_about(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in fake_resharmonics.environ().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RESHARMONICS_BASE_URL")  # the base URL falls back to production's
    with pytest.warns(ConfigurationWarning, match="is the production API") as caught:
        api = client()
    api.close()  # no request was made
    assert "RESHARMONICS_BASE_URL is not set" in str(caught[0].message)
    assert caught[0].filename == __file__  # said at the caller's line


def test_missing_credentials_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESHARMONICS_CLIENT_ID", raising=False)
    monkeypatch.delenv("RESHARMONICS_CLIENT_SECRET", raising=False)
    with pytest.raises(ConfigurationError, match="RESHARMONICS_CLIENT_SECRET"):
        async_client(client_id="someone", base_url="http://127.0.0.1:9")


def test_the_token_goes_to_the_api_host_only(
    resharmonics_env: FakeResharmonics, other_host: StartHost
) -> None:
    elsewhere = other_host(lambda incoming: Answer(200, {"ok": True}))
    with client() as api:
        assert api.get("/api/v3/units").status_code == 200
        assert api.get(f"http://localhost:{elsewhere.port}/download").status_code == 200
    seen: Incoming = elsewhere.seen[0]
    assert "authorization" not in seen.headers


def test_paginate_refuses_an_async_client_and_says_what_to_use(
    resharmonics_env: FakeResharmonics,
) -> None:
    async def attempt() -> None:
        async with async_client() as api:
            paginate(api, "/api/v3/units")  # type: ignore[arg-type]

    with pytest.raises(ConfigurationError, match="use apaginate"):
        asyncio.run(attempt())
