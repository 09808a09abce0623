"""One room-stay record in every list, and filters exactly as the document declares them."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import ROOM_STAY_STATUSES, FakeResharmonics

#: The room-stay record's fields: those the operations table lists for the bookings, room
#: stays and a booking's room stays lists, with the booking fields the bookings rows carry.
RECORD = {
    "organisationSettingsName", "organisationSettingsId", "roomStayId", "roomStayStatus",
    "unit", "startDate", "endDate", "netAmount", "vatAmount", "bookingId", "bookingReference",
    "customerReference", "channelId", "channelName", "otaReference", "bookingAccount",
    "bookingContact",
}  # fmt: skip


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def every(session: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(session.paginate(path, params, page_size=1000))


def total(session: ResharmonicsSession, path: str, **params: Any) -> int:
    response = session.get(path, params={**params, "size": 1})
    assert response.status_code == 200, (path, params, response.text)
    return int(response.json()["page"]["totalElements"])


def test_every_list_of_room_stays_renders_the_same_record(api: ResharmonicsSession) -> None:
    statuses = ",".join(ROOM_STAY_STATUSES)
    bookings = {row["roomStayId"]: row for row in every(api, "/api/v3/bookings", statuses=statuses)}
    stays = {row["roomStayId"]: row for row in every(api, "/api/v3/roomStays")}
    assert bookings == stays
    for row in stays.values():
        assert set(row) == RECORD
        assert set(row["unit"]) == {"id", "name", "buildingName", "unitTypeName"}
        assert set(row["bookingContact"]) == {"id", "firstName", "lastName", "emailAddress"}
    for booking_id in sorted({row["bookingId"] for row in stays.values()})[::25]:
        for row in every(api, f"/api/v3/bookings/{booking_id}/roomStays"):
            assert row == stays[row["roomStayId"]]


def test_the_status_update_answers_the_same_record(api: ResharmonicsSession) -> None:
    stay = every(api, "/api/v3/roomStays", statuses="ENQUIRY")[-1]
    update = {"statusUpdates": [{"roomStayId": stay["roomStayId"], "status": "PENDING"}]}
    moved = api.put(f"/api/v3/bookings/{stay['bookingId']}/updateStatuses", json=update)
    assert moved.status_code == 200, moved.text
    (answer,) = moved.json()
    assert answer["roomStayStatus"] == "PENDING"
    assert answer == next(
        row
        for row in every(api, "/api/v3/roomStays", bookingId=stay["bookingId"])
        if row["roomStayId"] == stay["roomStayId"]
    )


def test_created_filters_are_spelled_as_documented(api: ResharmonicsSession) -> None:
    everything = total(api, "/api/v3/roomStays")
    assert total(api, "/api/v3/roomStays", createdTo="2000-01-01") == 0
    assert total(api, "/api/v3/roomStays", createFrom="2999-01-01") == 0
    # The other spellings are unknown parameters on this list: ignored, as Spring ignores them.
    assert total(api, "/api/v3/roomStays", createTo="2000-01-01") == everything
    assert total(api, "/api/v3/roomStays", createdFrom="2999-01-01") == everything
    all_bookings = total(api, "/api/v3/bookings")
    assert total(api, "/api/v3/bookings", createdTo="2000-01-01") == 0
    assert total(api, "/api/v3/bookings", createdFrom="2999-01-01") == 0
    assert total(api, "/api/v3/bookings", createFrom="2999-01-01") == all_bookings


def test_check_out_dates_filter_room_stays_only(api: ResharmonicsSession) -> None:
    assert total(api, "/api/v3/roomStays", checkOutDateTo="2000-01-01") == 0
    everything = total(api, "/api/v3/bookings")
    assert total(api, "/api/v3/bookings", checkOutDateTo="2000-01-01") == everything


def test_the_document_declares_what_each_list_applies(api: ResharmonicsSession) -> None:
    spec = api.get("/v3/api-docs").json()["paths"]
    names = {p["name"] for p in spec["/api/v3/roomStays"]["get"]["parameters"]}
    assert {"createFrom", "createdTo", "checkOutDateFrom", "checkOutDateTo"} <= names
    assert not {"createTo", "createdFrom"} & names
    names = {p["name"] for p in spec["/api/v3/bookings"]["get"]["parameters"]}
    assert {"createdFrom", "createdTo"} <= names
    assert not {"createFrom", "createTo", "checkOutDateFrom", "checkOutDateTo"} & names


#: Declared parameters that select rather than filter, and why they do not narrow a list.
NOT_FILTERS = {
    ("/api/v3/rates", "companyId"): "the fake has no company-specific rates",
}


def _narrowing(param: dict[str, Any]) -> list[Any]:
    """Values of a parameter's kind that should leave out some rows, if it is applied."""
    schema, name = param["schema"], param["name"]
    if schema["type"] == "array":
        return list(schema.get("items", {}).get("enum", []))
    if "enum" in schema:
        return list(schema["enum"])
    if schema["type"] == "boolean":
        return ["true", "false"]
    if schema.get("format") in ("date", "date-time"):
        return ["1900-01-01" if name.endswith(("To", "End")) else "2999-01-01"]
    if schema["type"] == "integer":
        return [987654321]
    return ["no-such-value"]


def test_every_declared_filter_is_applied(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    dates = {
        "dateFrom": today.isoformat(),
        "dateTo": (today + datetime.timedelta(days=30)).isoformat(),
        "startDate": today.isoformat(),
        "endDate": (today + datetime.timedelta(days=30)).isoformat(),
    }
    spec = api.get("/v3/api-docs").json()["paths"]
    checked = 0
    for path, operations in spec.items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        params = [p for p in operation["parameters"] if p["in"] == "query"]
        if "size" not in {p["name"] for p in params}:
            continue  # not a paged list
        required = {p["name"]: dates[p["name"]] for p in params if p["required"]}
        base = total(api, path, **required)
        for param in params:
            name = param["name"]
            if param["required"] or name in ("page", "size", "sort"):
                continue
            if (path, name) in NOT_FILTERS:
                assert total(api, path, **required, **{name: 1}) == base
                continue
            counts = [total(api, path, **required, **{name: value}) for value in _narrowing(param)]
            assert base == 0 or any(count < base for count in counts), (path, name, counts)
            checked += 1
    assert checked >= 40


def test_a_failed_export_is_not_exported(api: ResharmonicsSession) -> None:
    posted = every(api, "/api/v3/salesInvoices", statuses="POSTED", exported="false")[0]
    body = {
        "externalId": "SAGE-9",
        "exportedDate": "2026-12-01T10:00:00Z",
        "exportStatus": "FAILED",
        "organisationSettingsId": posted["organisationSettingsId"],
    }
    path = f"/api/v3/salesInvoices/{posted['id']}/updateSalesInvoiceExportStatus"
    assert api.patch(path, json=body).status_code == 200
    exported = {row["id"] for row in every(api, "/api/v3/salesInvoices", exported="true")}
    waiting = {row["id"] for row in every(api, "/api/v3/salesInvoices", exported="false")}
    assert posted["id"] in waiting and posted["id"] not in exported
    assert api.patch(path, json={**body, "exportStatus": "EXPORTED"}).status_code == 200
    exported = {row["id"] for row in every(api, "/api/v3/salesInvoices", exported="true")}
    assert posted["id"] in exported
