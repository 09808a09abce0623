"""The fake's API: each documented endpoint, its filters, its errors, and the writes."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

TODAY = datetime.date.today()


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def get(session: ResharmonicsSession, path: str, **params: Any) -> Any:
    response = session.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def every(session: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(session.paginate(path, params, page_size=500))


def day(offset: int) -> str:
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


# -- every documented read answers with the documented fields -----------------------------

LISTS = {
    "/api/v3/bookings": {
        "bookingId", "bookingReference", "customerReference", "roomStayId", "roomStayStatus",
        "startDate", "endDate", "netAmount", "vatAmount", "bookingContact", "unit",
        "organisationSettingsId", "organisationSettingsName",
    },
    "/api/v3/roomStays": {
        "roomStayId", "roomStayStatus", "startDate", "endDate", "unit", "bookingContact",
        "netAmount", "vatAmount", "bookingId", "channelId", "channelName", "otaReference",
        "bookingAccount",
    },
    "/api/v3/guestStays": {
        "id", "dateFrom", "dateTo", "roomStayId", "contactId", "unitId", "status",
    },
    "/api/v3/units": {"id", "unitName", "buildingName", "bookable", "unitTypeName"},
    "/api/v3/unitTypes": {
        "id", "building", "name", "unitTypeCode", "shortDescription", "minStay", "maxStay",
        "maxOccupancy", "type",
    },
    "/api/v3/buildings": {"id", "buildingName"},
    "/api/v3/contacts": {
        "id", "firstName", "lastName", "middleNames", "status", "marketingOptOut",
        "contactSalesAccount",
    },
}  # fmt: skip


@pytest.mark.parametrize(("path", "fields"), list(LISTS.items()))
def test_each_list_answers_a_page_of_rows_with_the_documented_fields(
    api: ResharmonicsSession, path: str, fields: set[str]
) -> None:
    body = get(api, path)
    assert body["content"], path
    assert body["page"]["totalElements"] >= len(body["content"])
    for row in body["content"]:
        assert fields <= set(row), fields - set(row)


def test_booking_rows_nest_contact_and_unit_as_documented(api: ResharmonicsSession) -> None:
    row = get(api, "/api/v3/bookings", size=1)["content"][0]
    assert set(row["bookingContact"]) == {"id", "firstName", "lastName", "emailAddress"}
    assert set(row["unit"]) == {"id", "name", "buildingName", "unitTypeName"}
    created, dash, number = row["bookingReference"].partition("-")  # YYYYMMDD-NNNNN
    datetime.datetime.strptime(created, "%Y%m%d")
    assert (dash, len(number)) == ("-", 5)
    assert row["startDate"] < row["endDate"]


def test_unit_detail_differs_from_its_list_row(api: ResharmonicsSession) -> None:
    row = get(api, "/api/v3/units", size=1)["content"][0]
    detail = get(api, f"/api/v3/units/{row['id']}")
    assert set(detail) == {"id", "name", "unitType", "publish", "bookable"}
    assert detail["name"] == row["unitName"]
    assert detail["unitType"]["name"] == row["unitTypeName"]
    unit_type = get(api, f"/api/v3/unitTypes/{detail['unitType']['id']}")
    assert unit_type["name"] == row["unitTypeName"]
    assert unit_type["building"]["name"] == row["buildingName"]


def test_room_stay_and_guest_stay_details(api: ResharmonicsSession) -> None:
    row = get(api, "/api/v3/roomStays", size=1)["content"][0]
    detail = get(api, f"/api/v3/roomStays/{row['roomStayId']}")
    assert (detail["id"], detail["startDate"], detail["endDate"]) == (
        row["roomStayId"],
        row["startDate"],
        row["endDate"],
    )
    assert set(detail["rate"]) == {"id", "rateCode", "rateType", "name"}
    assert set(detail["estimatedArrivalTime"]) == {"hour", "minute", "second", "nano"}
    assert detail["booking"]["id"] == row["bookingId"]
    guest_row = get(api, "/api/v3/guestStays", size=1)["content"][0]
    guest = get(api, f"/api/v3/guestStays/{guest_row['id']}")
    assert guest["contact"]["id"] == guest_row["contactId"]
    assert guest["roomStay"]["id"] == guest_row["roomStayId"]
    assert guest["type"] in ("BUSINESS", "DIRECT", "DAYTIME", "OVERNIGHT")


def test_rates_need_both_dates_and_give_a_daily_calendar(api: ResharmonicsSession) -> None:
    missing = api.get("/api/v3/rates", params={"dateFrom": day(0)})
    assert missing.status_code == 400
    assert "dateTo" in missing.json()["message"]
    unit = get(api, "/api/v3/units/1001")
    rates = every(api, "/api/v3/rates", unitTypeId=unit["unitType"]["id"], dateFrom=day(0),
                  dateTo=day(364))  # fmt: skip
    assert {rate["rateType"] for rate in rates} == {"DAILY", "WEEKLY", "MONTHLY"}
    for rate in rates:
        assert [entry["date"] for entry in rate["rates"]] == [day(n) for n in range(365)]
        assert all(entry["amount"] > 0 for entry in rate["rates"])
    by_code = every(api, "/api/v3/rates", rateCode="FLEX", dateFrom=day(0), dateTo=day(0))
    assert {rate["rateCode"] for rate in by_code} == {"FLEX"}
    assert len(by_code) == 12  # one per unit type


def test_availability_search_applies_the_booking_rules(api: ResharmonicsSession) -> None:
    found = every(api, "/api/v3/availabilities", dateFrom=day(20), dateTo=day(27), guests=2)
    assert found
    for offer in found:
        assert offer["inventoryTypeName"]
        for rate in offer["rateAvailabilities"]:
            assert rate["nights"] == 7
            assert rate["avgRate"] > 0
    crowd = every(api, "/api/v3/availabilities", dateFrom=day(20), dateTo=day(27), guests=50)
    assert crowd == []
    past = every(api, "/api/v3/availabilities", dateFrom=day(-20), dateTo=day(-13))
    assert past == []


# -- filters --------------------------------------------------------------------------------


def stays_of(rows: list[dict[str, Any]]) -> set[int]:
    return {row["roomStayId"] for row in rows}


def test_date_range_is_an_overlap_filter(api: ResharmonicsSession) -> None:
    rows = every(api, "/api/v3/bookings", dateFrom=day(10), dateTo=day(20))
    assert rows
    for row in rows:
        assert row["startDate"] <= day(20)
        assert row["endDate"] >= day(10)
    everything = every(api, "/api/v3/bookings")
    overlapping = {
        row["roomStayId"]
        for row in everything
        if row["startDate"] <= day(20) and row["endDate"] >= day(10)
    }
    assert stays_of(rows) == overlapping
    assert any(row["startDate"] < day(10) for row in rows)  # stays that began before count


def test_statuses_repeated_or_comma_separated(api: ResharmonicsSession) -> None:
    repeated = every(api, "/api/v3/bookings", statuses=["CONFIRMED", "CHECKED_IN"])
    commas = every(api, "/api/v3/bookings", statuses="CONFIRMED,CHECKED_IN")
    assert repeated == commas
    assert {row["roomStayStatus"] for row in repeated} == {"CONFIRMED", "CHECKED_IN"}
    lower = every(api, "/api/v3/bookings", statuses="confirmed")
    assert {row["roomStayStatus"] for row in lower} == {"CONFIRMED"}


def test_bookings_leave_out_pending_unless_asked(api: ResharmonicsSession) -> None:
    assert "PENDING" not in {row["roomStayStatus"] for row in every(api, "/api/v3/bookings")}
    pending = every(api, "/api/v3/bookings", statuses="PENDING")
    assert pending
    assert {row["roomStayStatus"] for row in pending} == {"PENDING"}


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("unitId", lambda row: row["unit"]["id"]),
        ("bookingContactId", lambda row: row["bookingContact"]["id"]),
        ("bookingId", lambda row: row["bookingId"]),
        ("bookingReference", lambda row: row["bookingReference"]),
    ],
)
def test_id_and_reference_filters(api: ResharmonicsSession, name: str, read: Any) -> None:
    sample = get(api, "/api/v3/bookings", size=1, page=7)["content"][0]
    rows = every(api, "/api/v3/bookings", **{name: read(sample)})
    assert sample in rows
    assert {read(row) for row in rows} == {read(sample)}


def test_unknown_parameters_are_ignored(api: ResharmonicsSession) -> None:
    plain = get(api, "/api/v3/units", size=5)
    assert get(api, "/api/v3/units", size=5, colour="green", unitId="x") == plain


def test_room_stays_filter_on_check_out_dates_and_spell_create_as_documented(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    leaving = every(api, "/api/v3/roomStays", checkOutDateFrom=day(0), checkOutDateTo=day(30))
    assert leaving
    assert all(day(0) <= row["endDate"] <= day(30) for row in leaving)
    everything = every(api, "/api/v3/roomStays")
    recent = every(api, "/api/v3/roomStays", createFrom=day(-10))
    assert 0 < len(recent) < len(everything)
    # createdFrom is the bookings list's spelling: here it is an unknown parameter, ignored.
    assert every(api, "/api/v3/roomStays", createdFrom=day(-10)) == everything
    stays = fake_resharmonics.portfolio.room_stays
    since = datetime.datetime.combine(
        TODAY - datetime.timedelta(days=10), datetime.time(), datetime.timezone.utc
    )
    assert stays_of(recent) == {key for key, stay in stays.items() if stay.created >= since}


def test_last_updated_filter_finds_what_changed(api: ResharmonicsSession) -> None:
    before = datetime.datetime.now(datetime.timezone.utc).isoformat()
    assert every(api, "/api/v3/bookings", lastUpdatedFrom=before) == []
    enquiry = every(api, "/api/v3/bookings", statuses="ENQUIRY", dateFrom=day(1))[0]
    update = {"statusUpdates": [{"roomStayId": enquiry["roomStayId"], "status": "PENDING"}]}
    api.put(f"/api/v3/bookings/{enquiry['bookingId']}/updateStatuses", json=update)
    changed = every(api, "/api/v3/bookings", lastUpdatedFrom=before, statuses="PENDING")
    assert stays_of(changed) == {enquiry["roomStayId"]}


def test_guest_stays_default_to_three_statuses(api: ResharmonicsSession) -> None:
    default = every(api, "/api/v3/guestStays")
    assert {row["status"] for row in default} == {"CONFIRMED", "CHECKED_IN", "CHECKED_OUT"}
    cancelled = every(api, "/api/v3/guestStays", statuses="CANCELLED")
    assert cancelled
    assert {row["status"] for row in cancelled} == {"CANCELLED"}
    guest = get(api, f"/api/v3/guestStays/{default[0]['id']}")
    email = guest["contact"]["emailAddress"]
    mine = every(api, "/api/v3/guestStays", emailAddress=email.upper())
    assert {row["contactId"] for row in mine} == {guest["contact"]["id"]}


def test_sort_by_a_field_and_a_nested_field(api: ResharmonicsSession) -> None:
    rows = get(api, "/api/v3/bookings", sort="startDate,desc", size=50)["content"]
    assert [row["startDate"] for row in rows] == sorted(
        (row["startDate"] for row in every(api, "/api/v3/bookings")), reverse=True
    )[:50]
    names = [
        row["unit"]["name"] for row in get(api, "/api/v3/roomStays", sort="unit.name")["content"]
    ]
    assert names == sorted(names)


# -- errors in Spring's manner --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "words"),
    [
        ("GET", "/api/v3/units/999999", {}, 404, "999999"),
        ("GET", "/api/v3/roomStays/1", {}, 404, "not found"),
        ("GET", "/api/v3/nothing", {}, 404, "api/v3/nothing"),
        ("GET", "/api/v3/units/abc", {}, 400, "'id'"),
        ("GET", "/api/v3/bookings", {"dateFrom": "2026-13-01"}, 400, "'dateFrom'"),
        ("GET", "/api/v3/bookings", {"statuses": "SOLD"}, 400, "'statuses'"),
        ("GET", "/api/v3/bookings", {"unitId": "one"}, 400, "'unitId'"),
        ("GET", "/api/v3/availabilities/unit/1001/intervals", {"dateFrom": "2026-01-01"}, 400,
         "'dateTo'"),
        ("GET", "/api/v3/bookings", {"sort": "colour"}, 400, "'colour'"),
        ("DELETE", "/api/v3/units", {}, 405, "'DELETE'"),
        ("POST", "/api/v3/units/1001", {}, 405, "'POST'"),
    ],
)  # fmt: skip
def test_errors_are_json_and_name_what_is_wrong(
    api: ResharmonicsSession,
    method: str,
    path: str,
    params: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = api.request(method, path, params=params)
    assert response.status_code == status
    body = response.json()
    assert (body["status"], body["path"]) == (status, path)
    assert body["error"] and body["timestamp"]
    assert words in body["message"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_unknown_token_is_refused_before_any_route(fake_resharmonics: FakeResharmonics) -> None:
    for path in ("/api/v3/units", "/api/v3/nothing", "/v3/api-docs"):
        response = requests.get(fake_resharmonics.base_url + path)
        assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})


# -- writes ---------------------------------------------------------------------------------


def test_create_a_contact_and_read_it_back(api: ResharmonicsSession) -> None:
    body = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "primaryContactEmailAddress": {"email": "ada@example.com", "primary": True},
    }
    created = api.post("/api/v3/contacts", json=body)
    assert created.status_code == 201
    contact = get(api, f"/api/v3/contacts/{created.json()['id']}")
    assert (contact["firstName"], contact["status"]) == ("Ada", "ACTIVE")
    assert every(api, "/api/v3/contacts", emailAddress="ADA@example.com") == [contact]
    refused = api.post("/api/v3/contacts", json={"firstName": "Ada"})
    assert refused.status_code == 400
    assert "lastName" in refused.json()["message"]
    assert api.post("/api/v3/contacts", data=b"{not json").status_code == 400


def booking_body(api: ResharmonicsSession, **changes: Any) -> dict[str, Any]:
    contact = get(api, "/api/v3/contacts", size=1)["content"][0]
    rate = get(api, "/api/v3/rates", rateCode="FLEX", dateFrom=day(0), dateTo=day(0))
    body = {
        "channelId": 1,
        "bookingFinanceAccountId": 701,
        "billingFinanceAccountId": 701,
        "bookingContactId": contact["id"],
        "billingFrequencyId": 1,
        "bookingTypeId": 1,
        "roomStays": [
            {"rateId": rate["content"][0]["id"], "startDate": day(300), "endDate": day(304)}
        ],
    }
    return {**body, **changes}


def test_create_a_booking_then_confirm_it(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    created = api.post("/api/v3/bookings", json=booking_body(api))
    assert created.status_code == 201
    booking = created.json()
    assert set(booking) == {"id", "bookingReference", "roomStays"}
    stays = every(api, f"/api/v3/bookings/{booking['id']}/roomStays")
    assert [(s["roomStayStatus"], s["startDate"], s["endDate"]) for s in stays] == [
        ("ENQUIRY", day(300), day(304))
    ]
    rows = every(api, "/api/v3/bookings", bookingReference=booking["bookingReference"])
    assert stays_of(rows) == stays_of(stays)
    unit = stays[0]["unit"]["id"]
    intervals = f"/api/v3/availabilities/unit/{unit}/intervals"
    window = {"dateFrom": day(300), "dateTo": day(303)}
    assert get(api, intervals, **window)["content"][0]["available"] is True  # an enquiry
    update = {"statusUpdates": [{"roomStayId": stays[0]["roomStayId"], "status": "CONFIRMED"}]}
    moved = api.put(f"/api/v3/bookings/{booking['id']}/updateStatuses", json=update)
    assert moved.status_code == 200
    assert moved.json()[0]["roomStayStatus"] == "CONFIRMED"
    assert get(api, intervals, **window)["content"] == [
        {"startDate": day(300), "endDate": day(303), "available": False}
    ]
    guests = every(api, "/api/v3/guestStays", dateFrom=day(300), dateTo=day(300), unitId=unit)
    assert {row["roomStayId"] for row in guests} == stays_of(stays)


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"channelId": None}, 400, "channelId"),
        ({"roomStays": []}, 400, "roomStays"),
        ({"bookingContactId": 1}, 400, "bookingContactId 1"),
        ({"roomStays": [{"rateId": 1, "startDate": "2027-01-01", "endDate": "2027-01-03"}]}, 400,
         "rateId"),
        ({"roomStays": [{"rateId": 60001, "startDate": "2027-01-05", "endDate": "2027-01-03"}]},
         400, "endDate"),
        ({"roomStays": [{"rateId": 60001, "startDate": "soon", "endDate": "2027-01-03"}]}, 400,
         "startDate"),
    ],
)  # fmt: skip
def test_booking_validation(
    api: ResharmonicsSession, changes: dict[str, Any], status: int, words: str
) -> None:
    response = api.post("/api/v3/bookings", json=booking_body(api, **changes))
    assert response.status_code == status
    assert words in response.json()["message"]


def test_status_updates_are_all_or_nothing_and_checked(api: ResharmonicsSession) -> None:
    booking = api.post("/api/v3/bookings", json=booking_body(api)).json()
    stay = every(api, f"/api/v3/bookings/{booking['id']}/roomStays")[0]["roomStayId"]
    other = get(api, "/api/v3/roomStays", size=1)["content"][0]["roomStayId"]
    path = f"/api/v3/bookings/{booking['id']}/updateStatuses"

    def move(*updates: tuple[int, str]) -> requests.Response:
        body = {"statusUpdates": [{"roomStayId": key, "status": to} for key, to in updates]}
        response: requests.Response = api.put(path, json=body)
        return response

    assert move((stay, "CHECKED_IN")).status_code == 400  # an enquiry cannot check in
    assert move((stay, "CANCELLED")).status_code == 400  # not a status this call sets
    assert move((stay, "CONFIRMED"), (other, "CONFIRMED")).status_code == 400
    assert get(api, f"/api/v3/roomStays/{stay}")["roomStayStatus"] == "ENQUIRY"  # untouched
    assert (
        api.put("/api/v3/bookings/1/updateStatuses", json={"statusUpdates": []}).status_code == 404
    )


def test_confirming_a_double_booking_is_refused(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    held = every(api, "/api/v3/roomStays", statuses="CONFIRMED", dateFrom=day(30))[0]
    rate = get(api, f"/api/v3/roomStays/{held['roomStayId']}")["rate"]["id"]
    clash = [{"rateId": rate, "unitId": held["unit"]["id"], "startDate": held["startDate"],
              "endDate": held["endDate"]}]  # fmt: skip
    booking = api.post("/api/v3/bookings", json=booking_body(api, roomStays=clash)).json()
    stay = every(api, f"/api/v3/bookings/{booking['id']}/roomStays")[0]["roomStayId"]
    update = {"statusUpdates": [{"roomStayId": stay, "status": "CONFIRMED"}]}
    response = api.put(f"/api/v3/bookings/{booking['id']}/updateStatuses", json=update)
    assert response.status_code == 409
    assert "already held" in response.json()["message"]
