"""Guards of the dlt integration: each test fails if one plausible bug is put into it.

- `SpringPaginator` must fail a load whose ``totalElements`` changes between pages (rows may
  have shifted past a page boundary unread), whichever way it changes;
- `resharmonics_source` must give its token to the base URL's host only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from requests_resharmonics import PaginationError
from requests_resharmonics.testing import Answer, FakeResharmonics

from .conftest import StartHost
from .misbehaving import Asked, PagedServer, Reply, envelope, numbered, paged_server

dlt = pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")

from dlt.sources.helpers.rest_client.client import RESTClient  # noqa: E402

from requests_resharmonics.dlt import (  # noqa: E402
    ResharmonicsDltAuth,
    SpringPaginator,
    resharmonics_source,
)

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
    # The source builds its auth inside; catch it when the source checks its credentials.
    built: list[ResharmonicsDltAuth] = []
    requests_auth = ResharmonicsDltAuth.requests_auth

    def catch(self: ResharmonicsDltAuth) -> Any:
        built.append(self)
        return requests_auth(self)

    monkeypatch.setattr(ResharmonicsDltAuth, "requests_auth", catch)
    fake = fake_resharmonics
    resharmonics_source(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        base_url=fake.base_url,  # http://127.0.0.1:<port>
    )
    assert built
    auth = built[0]
    elsewhere = other_host(lambda incoming: Answer(200, {"elsewhere": True}))
    assert requests.get(f"http://localhost:{elsewhere.port}/x", auth=auth, timeout=30).ok
    assert "authorization" not in elsewhere.seen[0].headers
    units = requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30)
    assert units.status_code == 200  # the base URL's host gets it
