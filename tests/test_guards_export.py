"""Guards of the export checks: each test fails if one plausible bug is put into them.

- more rows delivered than the first page's ``totalElements`` must be reported, not only fewer;
- the ids already delivered must survive the switch of the id set to its compact form, so
  that an early page repeated after that point is still caught.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from requests_resharmonics import InconsistentPagesError, PaginationWarning, RepeatedRowsError
from requests_resharmonics._export import (
    seen_ids as id_set,  # the one private seam: the switch point
)
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, envelope, good_page, numbered, paged_server

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]


def export(fake: FakeResharmonics, server: PagedServer, **options: Any) -> list[Any]:
    session = fake.session(retries=0)
    return list(session.paginate(server.url, page_size=100, concurrency=1, **options))


def last_page_too_long(asked: Asked) -> Reply:
    """250 rows in 3 pages, says every page; the last one holds 100 rows instead of 50."""
    rows = numbered(300)(asked.page, 100)
    return Reply(envelope(rows, asked.page, 100, 250))


def test_more_rows_than_the_first_page_announced_are_an_error(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(last_page_too_long)
    with pytest.raises(InconsistentPagesError) as raised:
        export(fake_resharmonics, server)
    message = str(raised.value)
    assert "250" in message, message  # what the first page said
    assert "300" in message, message  # what came


def test_a_lenient_export_warns_of_more_rows_than_announced(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(last_page_too_long)
    with pytest.warns(PaginationWarning, match="delivered 300 rows, but its first page said 250"):
        rows = export(fake_resharmonics, server, lenient=True)
    assert [row["id"] for row in rows] == list(range(300))  # nothing it fetched is dropped


def test_an_early_page_repeated_after_the_ids_turned_compact_is_caught(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Past 250 ids the compact table takes over: during page 2, with 200 ids already held
    # in the small set. Page 3 then repeats page 0, whose ids were added before the switch.
    monkeypatch.setattr(id_set, "SMALL", 250)

    def page_zero_again(asked: Asked) -> Reply:
        if asked.page == 3:
            return Reply(envelope(numbered(500)(0, 100), 3, 100, 500))
        return good_page(asked, 500)

    server = paged_server(page_zero_again)
    with pytest.raises(RepeatedRowsError) as raised:
        export(fake_resharmonics, server)
    error = raised.value
    assert (error.page, error.repeated, error.delivered) == (3, 100, 300)
    assert "page 3 repeats 100 rows already delivered (id 0, 1, 2, ...)" in str(error)


def test_the_compact_id_set_keeps_every_id_added_before_the_switch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(id_set, "SMALL", 250)
    seen = id_set.IdSet()
    seen.update(range(200))  # still the small set
    seen.update(range(200, 300))  # the switch happens here
    seen.update(["late"])
    assert len(seen) == 301
    assert seen.seen_of([0, 199, 200, 299, "late", 300, "early"]) == [0, 199, 200, 299, "late"]


def test_a_consistent_export_across_the_switch_raises_nothing(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(id_set, "SMALL", 250)
    server = paged_server(lambda asked: good_page(asked, 500))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = export(fake_resharmonics, server)
    assert [row["id"] for row in rows] == list(range(500))
