"""Exports against servers that misbehave as live paged APIs do: every row exactly once, or an
error (or, lenient, a warning) that says what could not be guaranteed."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from requests_resharmonics import (
    CollectionChangedError,
    InconsistentPagesError,
    PaginationWarning,
    RepeatedRowsError,
    ShortPageError,
)
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, envelope, good_page, numbered, paged_server

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]
TOTAL = 300


def export(fake: FakeResharmonics, server: PagedServer, **options: Any) -> list[Any]:
    session = fake.session(retries=0)
    return list(session.paginate(server.url, page_size=100, **options))


def ids(rows: list[Any]) -> list[int]:
    return [row["id"] for row in rows]


def short_middle_page(asked: Asked) -> Reply:
    if asked.page == 1:
        rows = numbered(TOTAL)(1, 100)[:50]
        return Reply(envelope(rows, 1, 100, TOTAL))
    return good_page(asked, TOTAL)


def test_a_short_middle_page_is_an_error_that_says_how_short(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(short_middle_page)
    with pytest.raises(ShortPageError) as raised:
        export(fake_resharmonics, server)
    error = raised.value
    assert (error.page, error.expected, error.got, error.delivered) == (1, 100, 50, 100)
    assert "page 1 has 50 rows, expected 100" in str(error)
    assert "100 rows were delivered before it" in str(error)
    assert server.pages_asked() == [0, 1, 1]  # asked for once more, bypassing caches
    assert server.asked[-1].headers["cache-control"] == "no-cache"


def test_a_lenient_export_warns_of_a_short_page_and_delivers_what_it_got(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(short_middle_page)
    with pytest.warns(PaginationWarning, match="page 1 has 50 rows, expected 100"):
        rows = export(fake_resharmonics, server, lenient=True)
    assert ids(rows) == [*range(150), *range(200, 300)]


def test_a_short_page_that_was_a_stale_copy_is_replaced_by_the_second_answer(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def stale_until_asked_fresh(asked: Asked) -> Reply:
        if asked.page == 1 and "cache-control" not in asked.headers:
            return short_middle_page(asked)
        return good_page(asked, TOTAL)

    server = paged_server(stale_until_asked_fresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ids(export(fake_resharmonics, server)) == list(range(TOTAL))


def page_one_again(asked: Asked) -> Reply:
    """Page 2 answered with page 1's rows, under page 2's (correct) metadata."""
    if asked.page == 2:
        return Reply(envelope(numbered(TOTAL)(1, 100), 2, 100, TOTAL))
    return good_page(asked, TOTAL)


def test_rows_repeated_from_an_earlier_page_are_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(page_one_again)
    with pytest.raises(RepeatedRowsError) as raised:
        export(fake_resharmonics, server, concurrency=3)
    error = raised.value
    assert (error.page, error.repeated, error.delivered) == (2, 100, 200)
    assert "page 2 repeats 100 rows already delivered (id 100, 101, 102, ...)" in str(error)


def test_a_stale_page_served_by_a_proxy_is_asked_for_again(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def proxy(asked: Asked) -> Reply:  # serves a stale copy unless told not to
        if "cache-control" in asked.headers:
            return good_page(asked, TOTAL)
        return page_one_again(asked)

    server = paged_server(proxy)
    rows = export(fake_resharmonics, server, concurrency=2)
    assert ids(rows) == list(range(TOTAL))  # 300 rows, 300 distinct


def test_rows_without_an_id_repeated_as_a_whole_page_are_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def repeat(asked: Asked) -> Reply:
        rows = numbered(TOTAL, id_field=None)
        return Reply(envelope(rows(min(asked.page, 1), 100), asked.page, 100, TOTAL))

    server = paged_server(repeat)
    with pytest.raises(RepeatedRowsError, match="page 2 repeats the rows of the page before"):
        export(fake_resharmonics, server)


def test_a_lenient_export_skips_repeated_rows_with_a_warning(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def one_row_shifted(asked: Asked) -> Reply:  # a row inserted before page 2 was read
        rows = numbered(TOTAL)(asked.page, 100)
        if asked.page == 2:
            rows = [{"id": 199, "name": "row 199"}, *rows[:-1]]
        return Reply(envelope(rows, asked.page, 100, TOTAL))

    server = paged_server(one_row_shifted)
    with pytest.warns(PaginationWarning, match="page 2 repeats 1 rows already delivered"):
        rows = export(fake_resharmonics, server, lenient=True)
    assert ids(rows) == list(range(299))  # the repeated row once; the warning names the gap


def test_a_total_that_shrinks_while_later_pages_are_in_flight_is_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(shrinks_after_page_two_arrived(threading.Event()))
    with pytest.raises(CollectionChangedError) as raised:
        export(fake_resharmonics, server, concurrency=4)
    error = raised.value
    assert (error.before, error.after, error.page, error.delivered) == ((300, 3), (200, 2), 1, 100)
    assert "page 1 says 200 rows in 2 pages, page 0 said 300 rows in 3 pages" in str(error)


def test_a_lenient_export_keeps_the_rows_of_pages_already_fetched(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(shrinks_after_page_two_arrived(threading.Event()))
    with pytest.warns(PaginationWarning, match="the list changed during the export"):
        rows = export(fake_resharmonics, server, concurrency=4, lenient=True)
    assert ids(rows) == list(range(TOTAL))  # page 2's rows, fetched first, are not dropped


def shrinks_after_page_two_arrived(sent: threading.Event) -> Callable[[Asked], Reply]:
    """Page 2 is answered first; page 1 then says the list shrank to 2 pages."""

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


def test_a_total_that_grows_is_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def grows(asked: Asked) -> Reply:
        total = TOTAL + (1 if asked.page >= 1 else 0)
        return Reply(envelope(numbered(total)(asked.page, 100), asked.page, 100, total, 3))

    server = paged_server(grows)
    with pytest.raises(CollectionChangedError, match="page 1 says 301 rows in 3 pages"):
        export(fake_resharmonics, server)


def test_a_middle_page_that_says_it_is_the_last_is_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def ends_early(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        if asked.page == 1:
            reply.body["page"].pop("totalPages")
            reply.body["page"].pop("totalElements")
            reply.body["page"]["last"] = True
        return reply

    server = paged_server(ends_early)
    with pytest.raises(InconsistentPagesError, match="page 1 says it is the last"):
        export(fake_resharmonics, server)


def test_an_empty_page_before_the_last_is_a_short_page(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def empty(asked: Asked) -> Reply:
        if asked.page == 1:
            return Reply(envelope([], 1, 100, TOTAL))
        return good_page(asked, TOTAL)

    server = paged_server(empty)
    with pytest.raises(ShortPageError, match="page 1 has 0 rows, expected 100"):
        export(fake_resharmonics, server)


def test_a_short_last_page_is_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def short_last(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        if asked.page == 2:
            reply.body["content"] = reply.body["content"][:99]
        return reply

    server = paged_server(short_last)
    with pytest.raises(ShortPageError, match="page 2 has 99 rows, expected 100"):
        export(fake_resharmonics, server)


def test_a_server_that_caps_the_page_size_silently_is_followed(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def capped(asked: Asked) -> Reply:  # asked for 100 a page, answers 40 a page
        return Reply(envelope(numbered(TOTAL)(asked.page, 40), asked.page, 40, TOTAL))

    server = paged_server(capped)
    assert ids(export(fake_resharmonics, server)) == list(range(TOTAL))


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_consistent_export_delivers_every_row_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, concurrency: int
) -> None:
    server = paged_server(lambda asked: good_page(asked, 1234))
    session = fake_resharmonics.session()
    rows = session.paginate(server.url, page_size=100, concurrency=concurrency)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ids(list(rows)) == list(range(1234))
    assert (rows.delivered, rows.total) == (1234, 1234)
    assert sorted(server.pages_asked()) == list(range(13))  # none asked twice


def test_repeats_are_caught_once_the_ids_are_kept_compactly(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from requests_resharmonics._export import seen_ids as idset

    monkeypatch.setattr(idset, "SMALL", 10)  # past 10 ids, the compact table keeps them
    server = paged_server(page_one_again)
    with pytest.raises(RepeatedRowsError, match="page 2 repeats 100 rows already delivered"):
        export(fake_resharmonics, server)
    seen = idset.IdSet()
    seen.update(range(5000))
    seen.update(["a", "b"])
    assert seen.seen_of([4999, 5000, "a", "c", 0]) == [4999, "a", 0]
    assert len(seen) == 5002


def test_a_failed_page_names_its_url_its_number_and_the_rows_delivered(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    import requests

    from requests_resharmonics import PageHTTPError, PageRequestError

    def fails(asked: Asked) -> Reply:
        if asked.page == 2:
            return Reply({"message": "Internal Server Error"}, 500)
        return good_page(asked, TOTAL)

    server = paged_server(fails)
    with pytest.raises(PageHTTPError) as raised:
        export(fake_resharmonics, server)
    error = raised.value
    assert isinstance(error, requests.HTTPError)  # as a page error always was
    assert error.response is not None and error.response.status_code == 500
    assert (error.page, error.delivered) == (2, 200)
    assert error.url == f"{server.url}?page=2&size=100"
    assert str(error) == (
        f"GET {server.url} page 2 answered HTTP 500 Internal Server Error ({error.url}): "
        '{"message": "Internal Server Error"}; 200 rows were delivered before it'
    )

    def cut_off(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        reply.cut_after = 10 if asked.page == 1 else None
        return reply

    server = paged_server(cut_off)
    with pytest.raises(PageRequestError) as cut:
        export(fake_resharmonics, server)
    assert isinstance(cut.value, requests.RequestException)
    assert (cut.value.page, cut.value.delivered) == (1, 100)
    assert "closed the connection 10 bytes into the body" in str(cut.value)
