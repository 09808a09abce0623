"""The fake's rates one by one: ``/rates/{id}`` and its segments agree with the rates list."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def get(session: ResharmonicsSession, path: str, **params: Any) -> Any:
    response = session.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_rate_and_its_segments_agree_with_the_list(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    later = today + datetime.timedelta(days=9)
    listed = get(api, "/api/v3/rates", dateFrom=today.isoformat(), dateTo=later.isoformat(),
                 size=1)["content"][0]  # fmt: skip
    one = get(api, f"/api/v3/rates/{listed['id']}")
    assert one == {key: value for key, value in listed.items() if key != "rates"}
    assert set(one["ratePlan"]) == {"id", "title", "description", "vatInclusive",
                                    "webDescription", "bookingTermsId"}  # fmt: skip
    segments = get(api, f"/api/v3/rates/{listed['id']}/rateSegments", dateFrom=today.isoformat(),
                   dateTo=later.isoformat(), size=100)["content"]  # fmt: skip
    assert segments == listed["rates"]
    default = get(api, f"/api/v3/rates/{listed['id']}/rateSegments", size=100)
    assert default["page"]["totalElements"] == 28  # 28 days from today, by default
    assert default["content"][0]["date"] == today.isoformat()
    assert api.get("/api/v3/rates/1").status_code == 404
    too_long = {"dateFrom": "2000-01-01", "dateTo": "2099-01-01"}
    assert api.get(f"/api/v3/rates/{listed['id']}/rateSegments", params=too_long).status_code == 400
    assert api.get("/api/v3/rates", params=too_long).status_code == 400


def test_invoice_lists_filter_on_last_update_and_organisation(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    until = (today - datetime.timedelta(days=60)).isoformat()
    old = list(api.paginate("/api/v3/salesInvoices", {"lastUpdatedTo": until}, page_size=500))
    assert old and all(row["lastUpdated"] <= until + "T23:59:59Z" for row in old)
    everything = get(api, "/api/v3/salesInvoices")["page"]["totalElements"]
    assert (
        get(api, "/api/v3/salesInvoices", organisationSettingsId=1)["page"]["totalElements"]
        == everything
    )
    assert get(api, "/api/v3/salesInvoices", organisationSettingsId=2)["content"] == []
