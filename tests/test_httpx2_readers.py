"""httpx2 offers the readers and ready clients of requests_resharmonics.httpx."""

from __future__ import annotations

import asyncio

import pytest

from requests_resharmonics.testing import FakeResharmonics

httpx2 = pytest.importorskip("httpx2")

from requests_resharmonics import httpx2 as front  # noqa: E402


def test_a_client_from_the_settings_reads_a_whole_collection(
    resharmonics_env: FakeResharmonics,
) -> None:
    with front.client() as api:
        assert isinstance(api, httpx2.Client)
        rows = list(front.paginate(api, "/api/v3/units", page_size=7))
    with resharmonics_env.session() as session:
        expected = [row["id"] for row in session.paginate("/api/v3/units")]
    assert [row["id"] for row in rows] == expected and len(set(expected)) == len(expected) > 0


def test_an_async_client_reads_the_same_rows(resharmonics_env: FakeResharmonics) -> None:
    async def read() -> list[object]:
        async with front.async_client() as api:
            return [row["id"] async for row in front.apaginate(api, "/api/v3/units")]

    ids = asyncio.run(read())
    assert len(ids) == len(set(ids)) > 0
