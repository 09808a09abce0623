"""One engine under every reader: against the same misbehaving server, ``session.paginate``,
httpx's ``paginate`` and ``apaginate`` deliver the same rows, raise the same errors and pace
themselves the same way."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from requests_resharmonics import (
    CollectionChangedError,
    ExportCancelled,
    PageConnectionError,
    PageHTTPError,
    PageRequestError,
    PageTimeoutError,
    RepeatedRowsError,
    ShortPageError,
)
from requests_resharmonics.httpx import apaginate, async_client
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, envelope, good_page, numbered, paged_server
from .readers import BUILT_ON, HTTPX2_READERS, READERS, read, settings

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]
PATH = "/api/v3/rows"
TOTAL = 300
PROMPTLY = 3.0


def ids(rows: list[Any]) -> list[int]:
    return [row["id"] for row in rows]


@pytest.fixture(params=READERS)
def reader(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=READERS + BUILT_ON)
def any_reader(request: pytest.FixtureRequest) -> str:
    """Every reader: the export's own, the change feed and the dlt source."""
    if request.param == "dlt":
        pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")
    return str(request.param)


def pages(server: PagedServer) -> list[int]:
    """The pages asked for, without the change feed's one-row probe for the server's time."""
    return [asked.page for asked in server.asked if asked.size != 1]


def short_middle_page(asked: Asked) -> Reply:
    if asked.page == 1:
        return Reply(envelope(numbered(TOTAL)(1, 100)[:50], 1, 100, TOTAL))
    return good_page(asked, TOTAL)


def page_one_again(asked: Asked) -> Reply:
    if asked.page == 2:
        return Reply(envelope(numbered(TOTAL)(1, 100), 2, 100, TOTAL))
    return good_page(asked, TOTAL)


def shrinks_once_page_two_is_sent() -> Callable[[Asked], Reply]:
    sent = threading.Event()

    def answer(asked: Asked) -> Reply:
        if asked.page == 2:
            reply = good_page(asked, TOTAL)
            reply.before = sent.set
            return reply
        if asked.page == 1:
            sent.wait(10)
            return Reply(envelope(numbered(200)(1, 100), 1, 100, 200))
        return good_page(asked, TOTAL)

    return answer


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_reader_delivers_every_row_once_in_order(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    any_reader: str,
    concurrency: int,
) -> None:
    server = paged_server(lambda asked: good_page(asked, 1234))
    rows = read(any_reader, fake_resharmonics, server.base_url, PATH, concurrency=concurrency,
                page_size=100)  # fmt: skip
    assert ids(rows) == list(range(1234))
    assert sorted(pages(server)) == list(range(13))  # none asked twice, none past the end


def test_a_short_page_is_the_same_error_from_every_reader(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, any_reader: str
) -> None:
    server = paged_server(short_middle_page)
    with pytest.raises(ShortPageError) as raised:
        read(any_reader, fake_resharmonics, server.base_url, PATH, page_size=100)
    error = raised.value
    assert (error.page, error.expected, error.got, error.delivered) == (1, 100, 50, 100)
    assert "page 1 has 50 rows, expected 100" in str(error)
    assert pages(server) == [0, 1, 1]  # asked for once more, bypassing caches
    assert server.asked[-1].headers["cache-control"] == "no-cache"


def test_a_repeated_page_is_the_same_error_from_every_reader(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, any_reader: str
) -> None:
    server = paged_server(page_one_again)
    with pytest.raises(RepeatedRowsError) as raised:
        read(any_reader, fake_resharmonics, server.base_url, PATH, page_size=100, concurrency=3)
    error = raised.value
    assert (error.page, error.repeated, error.delivered) == (2, 100, 200)
    assert "page 2 repeats 100 rows already delivered (id 100, 101, 102, ...)" in str(error)


def test_a_shrinking_collection_is_the_same_error_from_every_reader(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, any_reader: str
) -> None:
    server = paged_server(shrinks_once_page_two_is_sent())
    with pytest.raises(CollectionChangedError) as raised:
        read(any_reader, fake_resharmonics, server.base_url, PATH, page_size=100, concurrency=4)
    error = raised.value
    assert (error.before, error.after, error.page, error.delivered) == ((300, 3), (200, 2), 1, 100)


def test_a_stale_page_is_asked_for_again_by_every_reader(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, reader: str
) -> None:
    def proxy(asked: Asked) -> Reply:  # a stale copy unless told not to
        return (
            good_page(asked, TOTAL) if "cache-control" in asked.headers else page_one_again(asked)
        )

    server = paged_server(proxy)
    rows = read(reader, fake_resharmonics, server.base_url, PATH, page_size=100, concurrency=2)
    assert ids(rows) == list(range(TOTAL))


def page_1_fails(reply: Reply) -> Callable[[Asked], Reply]:
    return lambda asked: reply if asked.page == 1 else good_page(asked, TOTAL)


@pytest.mark.parametrize(
    ("reply", "kind", "also"),
    [
        (Reply({"message": "Service Unavailable"}, 503), PageHTTPError, requests.HTTPError),
        (Reply(hang_up=True), PageConnectionError, requests.ConnectionError),
        (Reply(hang=True), PageTimeoutError, requests.Timeout),
    ],
    ids=["503", "hung-up", "timed-out"],
)
def test_a_failed_page_is_the_same_retryable_error_from_every_reader(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    reader: str,
    reply: Reply,
    kind: type,
    also: type,
) -> None:
    server = paged_server(page_1_fails(reply))
    with pytest.raises(PageRequestError) as raised:
        read(reader, fake_resharmonics, server.base_url, PATH, page_size=100, timeout=0.5)
    error = raised.value
    assert type(error) is kind and isinstance(error, also)
    assert error.retryable is True
    assert (error.page, error.delivered) == (1, 100)
    assert error.url == f"{server.base_url}{PATH}?page=1&size=100"


def test_a_page_cut_off_mid_body_is_a_retryable_page_request_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, reader: str
) -> None:
    def cut(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        reply.cut_after = 10 if asked.page == 1 else None
        return reply

    server = paged_server(cut)
    with pytest.raises(PageRequestError) as raised:
        read(reader, fake_resharmonics, server.base_url, PATH, page_size=100)
    assert type(raised.value) is PageRequestError
    assert raised.value.retryable is True


def test_every_reader_halves_its_pages_in_flight_after_429s(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, reader: str
) -> None:
    lock = threading.Lock()
    attempts: dict[int, int] = {}
    four_at_once = threading.Barrier(4)

    def answer(asked: Asked) -> Reply:
        with lock:
            attempt = attempts[asked.page] = attempts.get(asked.page, 0) + 1
        if 1 <= asked.page <= 4 and attempt == 1:
            four_at_once.wait(10)
            return Reply({"message": "Too Many Requests"}, 429, extra_headers={"Retry-After": "0"})
        return good_page(asked, 40 * 10)

    server = paged_server(answer)
    rows = read(reader, fake_resharmonics, server.base_url, PATH, page_size=10, concurrency=4)
    assert ids(rows) == list(range(400))
    retries = [a for a in server.asked if 1 <= a.page <= 4][4:]
    assert len(retries) == 4
    # Four 429s to pages sent together halved the limit once, from 4 to 2: the pages asked
    # again went out two at a time (one more for each page answered), never four at once.
    assert retries[0].in_flight <= 2
    assert max(retry.in_flight for retry in retries) <= 3


def test_cancel_from_another_thread_stops_a_sync_httpx_export_at_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    from requests_resharmonics.httpx import client, paginate

    server = paged_server(lambda a: Reply(hang=True) if a.page >= 1 else good_page(a, 1000))
    with client(**settings(fake_resharmonics, server.base_url)) as api:
        rows = paginate(api, PATH, page_size=100, concurrency=4, timeout=10)
        assert next(rows)["id"] == 0
        server.wait_for(lambda s: 1 in s.pages_asked())
        outcome: list[Any] = []

        def consume() -> None:
            try:
                outcome.extend(rows)
            except ExportCancelled as error:
                outcome.append(error)

        consumer = threading.Thread(target=consume)
        consumer.start()
        started = time.monotonic()
        rows.cancel()
        assert time.monotonic() - started < PROMPTLY
        consumer.join(PROMPTLY)
        assert not consumer.is_alive()
        assert isinstance(outcome[-1], ExportCancelled)
        assert ids(outcome[:-1]) == list(range(1, 100))
        server.close()  # the pages left hanging end; nothing more is asked
        asked = len(server.asked)
    assert len(server.asked) == asked


def test_cancel_stops_an_async_export_and_its_pages_in_flight(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(lambda a: Reply(hang=True) if a.page >= 1 else good_page(a, 1000))

    async def run() -> tuple[list[Any], float]:
        async with async_client(**settings(fake_resharmonics, server.base_url)) as api:
            export = apaginate(api, PATH, page_size=100, concurrency=4, timeout=10)
            seen: list[Any] = []

            async def consume() -> None:
                try:
                    async for row in export:
                        seen.append(row["id"])
                except ExportCancelled as error:
                    seen.append(error)

            consumer = asyncio.create_task(consume())
            while len(seen) < 100 or server.in_flight < 4:
                await asyncio.sleep(0.01)  # the first page read, four pages hanging
            started = time.monotonic()
            export.cancel()
            await asyncio.wait_for(consumer, PROMPTLY)
            await export.aclose()
            return seen, time.monotonic() - started

    seen, took = asyncio.run(run())
    assert took < PROMPTLY
    assert isinstance(seen[-1], ExportCancelled) and seen[:-1] == list(range(100))
    server.wait_for(lambda s: s.in_flight == 0, timeout=PROMPTLY)  # the tasks' requests closed


def test_an_async_export_left_with_break_inside_async_with_stops_its_pages(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(lambda a: Reply(hang=True) if a.page >= 2 else good_page(a, 1000))

    async def run() -> None:
        async with async_client(**settings(fake_resharmonics, server.base_url)) as api:
            async with apaginate(api, PATH, page_size=100, concurrency=3) as export:
                async for row in export:
                    if row["id"] == 150:
                        break
            assert repr(export).startswith(f"<AsyncExport GET {PATH}: ")

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started < 10
    server.wait_for(lambda s: s.in_flight == 0, timeout=PROMPTLY)


@pytest.mark.parametrize("reader", HTTPX2_READERS)
def test_httpx2_clients_are_read_by_the_same_functions(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, reader: str
) -> None:
    pytest.importorskip("httpx2", reason="httpx2 supports Python 3.11 and later")
    server = paged_server(lambda asked: good_page(asked, 1234))
    rows = read(reader, fake_resharmonics, server.base_url, PATH, concurrency=3)
    assert ids(rows) == list(range(1234))
    server = paged_server(short_middle_page)
    with pytest.raises(ShortPageError):
        read(reader, fake_resharmonics, server.base_url, PATH, page_size=100)
