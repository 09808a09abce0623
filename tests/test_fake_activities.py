"""The activities list a public dashboard reads: paged, by due day, with its shape's caveat."""

from __future__ import annotations

import collections
import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import HOLDING_STATUSES, FakeResharmonics


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def week_of_work(session: ResharmonicsSession, first: datetime.date) -> dict[str, int]:
    """What a housekeeping dashboard shows: the week's tasks by type, page by page."""
    counts: collections.Counter[str] = collections.Counter()
    page = 0
    while True:
        body = session.get("/api/v3/activities", params={
            "dueDate": first.isoformat(),
            "dueDateEnd": (first + datetime.timedelta(days=6)).isoformat(),
            "page": page, "size": 25,
        }).json()  # fmt: skip
        for activity in body["content"]:
            counts[activity["activityType"]["name"]] += 1
        if page >= body["page"]["totalPages"] - 1:
            return dict(counts)
        page += 1


def test_the_weeks_activities_by_due_day(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    portfolio = fake_resharmonics.portfolio
    first = portfolio.today
    counts = week_of_work(api, first)
    last = first + datetime.timedelta(days=6)
    expected = collections.Counter(
        portfolio.activity_types[activity.activity_type_id].name
        for activity in portfolio.activities.values()
        if first <= activity.due.date() <= last
    )
    assert counts == dict(expected) and counts["Departure clean"] > 0
    leaving = list(api.paginate("/api/v3/roomStays", {
        "checkOutDateFrom": first.isoformat(), "checkOutDateTo": last.isoformat(),
        "statuses": ",".join(HOLDING_STATUSES)}))  # fmt: skip
    assert counts["Departure clean"] == len(leaving)  # one clean for each departure


def test_the_list_pages_every_activity_and_checks_its_dates(api: ResharmonicsSession) -> None:
    body = api.get("/api/v3/activities", params={"size": 5}).json()
    assert body["page"]["totalElements"] > 100 and len(body["content"]) == 5
    one = body["content"][0]
    assert api.get(f"/api/v3/activities/{one['id']}").json() == one
    refused = api.get("/api/v3/activities", params={"dueDate": "31/12/2026"})
    assert refused.status_code == 400 and "dueDate" in refused.json()["message"]


def test_the_document_says_where_public_code_reads_activity_type_differently(
    api: ResharmonicsSession,
) -> None:
    operations: dict[str, Any] = api.get("/v3/api-docs").json()["paths"]
    listed = operations["/api/v3/activities"]["get"]
    assert listed["x-source"] == "client"
    assert {p["name"] for p in listed["parameters"]} >= {"dueDate", "dueDateEnd", "page", "size"}
    for operation in (listed, operations["/api/v3/activities/{id}"]["get"]):
        assert "activityType" in operation["x-guess"] and "string" in operation["x-guess"]
    row = api.get("/api/v3/activities", params={"size": 1}).json()["content"][0]
    assert isinstance(row["activityType"], dict)  # an object, as described: not a string
