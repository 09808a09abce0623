"""Guards of the dlt integration: each test fails if one plausible bug is put into it.

- `SpringPaginator` must fail a load whose ``totalElements`` changes between pages (rows may
  have shifted past a page boundary unread), whichever way it changes;
- `resharmonics_source` must give its token to the base URL's host only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from requests_resharmonics import PaginationError
from requests_resharmonics.testing import Answer, FakeResharmonics

from .conftest import StartHost
from .misbehaving import Asked, PagedServer, Reply, envelope, numbered, paged_server

dlt = pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")

from dlt.sources.helpers.rest_client.client import RESTClient  # noqa: E402

from requests_resharmonics import ResharmonicsSession  # noqa: E402
from requests_resharmonics import dlt as dlt_module  # noqa: E402
from requests_resharmonics.dlt import SpringPaginator, resharmonics_source  # noqa: E402

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]


def read_all(server: PagedServer) -> list[Any]:
    client = RESTClient(base_url=server.base_url, paginator=SpringPaginator())
    pages = client.paginate("/api/v3/rows", params={"size": 100}, data_selector="content")
    return [row for page in pages for row in page]


@pytest.mark.parametrize("later_total", [299, 301], ids=["shrinks", "grows"])
def test_a_total_that_changes_between_pages_fails_the_load(
    paged_server: StartServer, later_total: int
) -> None:
    def changes(asked: Asked) -> Reply:
        total = 300 if asked.page == 0 else later_total  # three pages either way
        return Reply(envelope(numbered(total)(asked.page, 100), asked.page, 100, total, 3))

    server = paged_server(changes)
    with pytest.raises(PaginationError, match=f"300 rows, then {later_total} at page 1"):
        read_all(server)


def test_a_steady_total_loads_every_row(paged_server: StartServer) -> None:
    def steady(asked: Asked) -> Reply:
        return Reply(envelope(numbered(300)(asked.page, 100), asked.page, 100, 300))

    server = paged_server(steady)
    assert [row["id"] for row in read_all(server)] == list(range(300))
    assert server.pages_asked() == [0, 1, 2]


def test_the_sources_token_goes_to_the_base_urls_host_only(
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The source builds its session inside (every resource reads through it): catch it.
    built: list[ResharmonicsSession] = []

    class Caught(ResharmonicsSession):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(dlt_module, "ResharmonicsSession", Caught)
    fake = fake_resharmonics
    resharmonics_source(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        base_url=fake.base_url,  # http://127.0.0.1:<port>
    )
    assert built
    session = built[0]
    elsewhere = other_host(lambda incoming: Answer(200, {"elsewhere": True}))
    assert session.get(f"http://localhost:{elsewhere.port}/x", timeout=30).ok
    assert "authorization" not in elsewhere.seen[0].headers
    units = session.get("/api/v3/units", timeout=30)
    assert units.status_code == 200  # the base URL's host gets it
