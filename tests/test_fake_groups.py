"""The fake's other groups: reference data, room-stay guests and activities, and the writes.

Every operation recovered from the API description is served and documented; creating a
booking needs nothing but what the fake's lists show; what a write creates appears in every
list and detail that should show it.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

#: The 57 operations recovered from the published API description.
DOCUMENTED = """
GET /api/v3/accessGroups; POST /api/v3/accessGroups; GET /api/v3/activities/{id};
GET /api/v3/areas; POST /api/v3/areas; GET /api/v3/areas/{id}; PUT /api/v3/areas/{id};
GET /api/v3/bookingTypes; GET /api/v3/bookingTypes/{id}; GET /api/v3/bookings;
POST /api/v3/bookings; POST /api/v3/bookings/{bookingId}/payments;
PUT /api/v3/bookings/{bookingId}/updateStatuses; GET /api/v3/bookings/{id}/roomStays;
POST /api/v3/buildings; GET /api/v3/channels/{id}; GET /api/v3/cities; POST /api/v3/cities;
GET /api/v3/cities/{id}; PUT /api/v3/cities/{id}; GET /api/v3/contacts; POST /api/v3/contacts;
GET /api/v3/contacts/{id}; POST /api/v3/contacts/merge; GET /api/v3/extras;
GET /api/v3/extras/{rateId}; GET /api/v3/financeAccounts;
PATCH /api/v3/financeAccounts/{id}/updateFinanceAccountExportStatus; GET /api/v3/guestStays;
POST /api/v3/guestStays; GET /api/v3/guestStays/{id}; GET /api/v3/rates; GET /api/v3/rates/{id};
GET /api/v3/rates/{id}/rateSegments; GET /api/v3/roomStays;
PATCH /api/v3/roomStays/roomStays/{id}/lock; GET /api/v3/roomStays/{id};
GET /api/v3/roomStays/{id}/activities; GET /api/v3/roomStays/{id}/guests;
GET /api/v3/salesInvoices; POST /api/v3/salesInvoices;
GET /api/v3/salesInvoices/salesInvoiceItems/{id}; GET /api/v3/salesInvoices/{id};
GET /api/v3/salesInvoices/{id}/salesInvoiceItems; PATCH /api/v3/salesInvoices/{id}/exported;
PATCH /api/v3/salesInvoices/{id}/updateSalesInvoiceExportStatus; GET /api/v3/unitAccessGroups;
PUT /api/v3/unitAccessGroups; POST /api/v3/unitAccessGroups; GET /api/v3/unitTypes;
POST /api/v3/unitTypes; GET /api/v3/unitTypes/{id}; GET /api/v3/units; POST /api/v3/units;
GET /api/v3/units/{id}; GET /api/v3/vatProfiles; GET /api/v3/vatProfiles/{vatProfileId}/taxSeasons
"""


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


def test_every_documented_operation_is_served_and_described(api: ResharmonicsSession) -> None:
    operations = {tuple(op.split()) for op in DOCUMENTED.replace("\n", " ").split(";")}
    assert len(operations) == 57
    paths = get(api, "/v3/api-docs")["paths"]
    described = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert operations <= described, operations - described
    for method, path in described - operations - {("GET", "/v3/api-docs")}:
        operation = paths[path][method.lower()]
        assert operation["x-source"] in ("live", "client", "guess"), (method, path)
        assert operation.get("x-guess") or operation["x-source"] == "live", (method, path)


def test_every_detail_path_answers_for_a_seeded_id(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    portfolio = fake_resharmonics.portfolio
    ids = {
        "bookings": min(portfolio.bookings), "roomStays": min(portfolio.room_stays),
        "guestStays": min(portfolio.guest_stays), "units": min(portfolio.units),
        "unitTypes": min(portfolio.unit_types), "contacts": min(portfolio.contacts),
        "rates": min(portfolio.rate_plans), "extras": min(portfolio.rate_plans),
        "salesInvoices": min(portfolio.sales_invoices), "channels": min(portfolio.channels),
        "bookingTypes": 1, "billingFrequencies": 1, "cities": 1, "areas": min(portfolio.areas),
        "activities": min(portfolio.activities), "vatProfiles": 1,
        "availabilities": min(portfolio.units),
    }  # fmt: skip
    item = min(portfolio.sales_invoices) * 1000 + 1
    dates = {"dateFrom": "2026-12-01", "dateTo": "2026-12-08", "startDate": "2026-12-01",
             "endDate": "2026-12-08"}  # fmt: skip
    checked = 0
    for path, operations in get(api, "/v3/api-docs")["paths"].items():
        operation = operations.get("get")
        if operation is None or "{" not in path:
            continue
        group = path.split("/")[3]
        url = path.replace("salesInvoiceItems/{id}", f"salesInvoiceItems/{item}")
        url = re.sub(r"{\w+}", str(ids[group]), url)
        required = {
            p["name"] for p in operation["parameters"] if p["required"] and p["in"] == "query"
        }
        response = api.get(url, params={name: dates[name] for name in required})
        assert response.status_code == 200, (url, response.text)
        checked += 1
    assert checked >= 19


def test_create_a_booking_from_what_the_lists_show(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    start, end = today + datetime.timedelta(days=20), today + datetime.timedelta(days=24)
    channel = next(row for row in every(api, "/api/v3/channels") if row["name"] == "Direct")
    assert channel["bookingType"]["id"] in {row["id"] for row in every(api, "/api/v3/bookingTypes")}
    account = every(api, "/api/v3/financeAccounts")[0]["id"]
    contact = every(api, "/api/v3/contacts")[0]["id"]
    frequency = every(api, "/api/v3/billingFrequencies")[0]["id"]
    offers = every(
        api, "/api/v3/availabilities", dateFrom=start.isoformat(), dateTo=end.isoformat()
    )
    rate = offers[0]["rateAvailabilities"][0]["rateId"]
    body = {
        "channelId": channel["id"], "bookingTypeId": channel["bookingType"]["id"],
        "bookingFinanceAccountId": account, "billingFinanceAccountId": account,
        "bookingContactId": contact, "billingFrequencyId": frequency,
        "roomStays": [{"rateId": rate, "startDate": start.isoformat(), "endDate": end.isoformat()}],
    }  # fmt: skip
    created = api.post("/api/v3/bookings", json=body)
    assert created.status_code == 201, created.text
    booking = get(api, f"/api/v3/bookings/{created.json()['id']}")
    assert booking["bookingReference"] == created.json()["bookingReference"]
    assert booking["channel"]["id"] == channel["id"]
    assert booking["bookingType"]["id"] == channel["bookingType"]["id"]
    assert booking["billingFrequency"]["id"] == frequency
    (stay,) = booking["roomStays"]
    assert stay["roomStayStatus"] == "ENQUIRY"
    path = f"/api/v3/bookings/{booking['id']}/updateStatuses"
    check_in = {"statusUpdates": [{"roomStayId": stay["id"], "status": "CHECKED_IN"}]}
    confirm = {"statusUpdates": [{"roomStayId": stay["id"], "status": "CONFIRMED"}]}
    assert api.put(path, json=confirm).status_code == 200
    refused = api.put(path, json=check_in)  # it starts in 20 days
    assert refused.status_code == 400
    assert refused.json()["error"] == "Bad Request" and "checked in" in refused.json()["message"]
    assert get(api, f"/api/v3/roomStays/{stay['id']}")["roomStayStatus"] == "CONFIRMED"


def test_every_bookings_channel_and_booking_type_are_in_their_lists(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    channels = {row["id"] for row in every(api, "/api/v3/channels")}
    kinds = {row["id"] for row in every(api, "/api/v3/bookingTypes")}
    rows = every(api, "/api/v3/roomStays")
    assert {row["channelId"] for row in rows} <= channels
    for booking_id in sorted({row["bookingId"] for row in rows})[:40]:
        booking = get(api, f"/api/v3/bookings/{booking_id}")
        assert booking["channel"]["id"] in channels and booking["bookingType"]["id"] in kinds
    assert api.get("/api/v3/bookings/1").status_code == 404


def test_a_room_stays_guests_are_its_guest_stays_contacts(api: ResharmonicsSession) -> None:
    guest_rows = every(api, "/api/v3/guestStays", statuses="CHECKED_OUT")
    shared = next(row["roomStayId"] for row in guest_rows
                  if sum(r["roomStayId"] == row["roomStayId"] for r in guest_rows) > 1)  # fmt: skip
    expected = [row["contactId"] for row in guest_rows if row["roomStayId"] == shared]
    guests = every(api, f"/api/v3/roomStays/{shared}/guests")
    assert [guest["id"] for guest in guests] == expected
    assert {"firstName", "lastName", "jobTitle", "contactSalesAccount"} <= set(guests[0])
    newcomer = next(
        row["id"] for row in every(api, "/api/v3/contacts") if row["id"] not in expected
    )
    added = api.post("/api/v3/guestStays", json={"roomStayId": shared, "contactId": newcomer})
    assert added.status_code == 201, added.text
    assert added.json()["roomStay"]["id"] == shared
    assert [g["id"] for g in every(api, f"/api/v3/roomStays/{shared}/guests")] == [
        *expected,
        newcomer,
    ]
    assert added.json()["id"] in {
        row["id"]
        for row in every(api, "/api/v3/guestStays", contactId=newcomer, statuses="CHECKED_OUT")
    }
    assert get(api, f"/api/v3/guestStays/{added.json()['id']}")["contact"]["id"] == newcomer
    again = api.post("/api/v3/guestStays", json={"roomStayId": shared, "contactId": newcomer})
    assert again.status_code == 400


def test_activities_and_the_room_stay_lock(api: ResharmonicsSession) -> None:
    stay = every(api, "/api/v3/roomStays", statuses="CHECKED_OUT")[0]
    activities = every(api, f"/api/v3/roomStays/{stay['roomStayId']}/activities")
    clean = next(row for row in activities if row["activityType"]["category"] == "CLEANING")
    assert clean["dueDate"].startswith(stay["endDate"]) and clean["status"] == "CLOSED"
    assert set(clean["activityType"]) >= {
        "created",
        "lastUpdated",
        "links",
        "deleted",
        "systemType",
    }
    assert get(api, f"/api/v3/activities/{clean['id']}") == clean
    assert get(api, f"/api/v3/roomStays/{stay['roomStayId']}")["locked"] is False
    locked = api.patch(f"/api/v3/roomStays/roomStays/{stay['roomStayId']}/lock")
    assert locked.status_code == 200 and locked.json()["locked"] is True
    assert get(api, f"/api/v3/roomStays/{stay['roomStayId']}")["locked"] is True
    assert api.patch("/api/v3/roomStays/roomStays/1/lock").status_code == 404


def test_units_and_unit_types_created_appear_everywhere(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    kind = api.post(
        "/api/v3/unitTypes", json={"building": {"id": 2}, "name": "Loft", "type": "ONE_BEDROOM"}
    )
    assert kind.status_code == 201, kind.text
    type_id = kind.json()["id"]
    assert kind.json()["building"]["id"] == 2
    assert get(api, f"/api/v3/unitTypes/{type_id}") == kind.json()
    assert type_id in {row["id"] for row in every(api, "/api/v3/unitTypes")}
    unit = api.post("/api/v3/units", json={"name": "Foundry Loft 1", "unitType": {"id": type_id}})
    assert unit.status_code == 201, unit.text
    detail = get(api, f"/api/v3/units/{unit.json()['id']}")
    assert detail["unitType"] == {"id": type_id, "name": "Loft"} and detail["bookable"] is True
    row = next(row for row in every(api, "/api/v3/units") if row["id"] == detail["id"])
    assert row["buildingName"] == "The Foundry" and row["unitTypeName"] == "Loft"
    today = fake_resharmonics.portfolio.today.isoformat()
    intervals = get(
        api, f"/api/v3/availabilities/unit/{detail['id']}/intervals", dateFrom=today, dateTo=today
    )
    assert intervals["content"][0]["available"] is True
    assert api.post("/api/v3/units", json={"name": "x", "unitType": {"id": 999}}).status_code == 400
    assert api.post("/api/v3/unitTypes", json={"building": {"id": 2}}).status_code == 400


def test_buildings_cities_areas_and_access(api: ResharmonicsSession) -> None:
    address = {"addressLine1": "3 Dock Road", "city": "Bristol", "postCode": "BS1 6AA"}
    body = {"buildingName": "Dock Yard", "buildingManagementType": "AGENCY",
            "buildingAddress": address}  # fmt: skip
    assert api.post("/api/v3/buildings", json=body).status_code == 400  # currentUser is required
    created = api.post("/api/v3/buildings", params={"currentUser": "ops"}, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["buildingAddress"]["postCode"] == "BS1 6AA"
    assert "Dock Yard" in {row["buildingName"] for row in every(api, "/api/v3/buildings")}
    city = api.post("/api/v3/cities", json={"name": "Cardiff"}).json()
    area = api.post("/api/v3/areas", json={"name": "Cathays", "city": {"id": city["id"]}})
    assert area.status_code == 201 and area.json()["city"]["name"] == "Cardiff"
    renamed = api.put(
        f"/api/v3/areas/{area.json()['id']}", json={"name": "Roath", "city": city["id"]}
    )
    assert (
        renamed.json()["name"] == "Roath" == get(api, f"/api/v3/areas/{area.json()['id']}")["name"]
    )
    assert api.put("/api/v3/cities/999", json={"name": "x"}).status_code == 404
    group = api.post("/api/v3/accessGroups", json={"name": "Bike store", "building": {"id": 1},
                                                   "externalIdentifier": "B-1"}).json()  # fmt: skip
    assert group["id"] in {row["id"] for row in every(api, "/api/v3/accessGroups", buildingId=1)}
    unit = next(
        row for row in every(api, "/api/v3/units") if row["buildingName"] == "Harbour House"
    )
    link = {"unit": {"id": unit["id"]}, "accessGroup": group}  # the group in full (doc)
    assert api.put("/api/v3/unitAccessGroups", json=link).status_code == 400  # no currentUser
    bare = {"unit": {"id": unit["id"]}, "accessGroup": {"id": group["id"]}}
    refused = api.put("/api/v3/unitAccessGroups", params={"currentUser": "ops"}, json=bare)
    assert refused.status_code == 400 and "accessGroup.name" in refused.json()["message"]
    put = api.put("/api/v3/unitAccessGroups", params={"currentUser": "ops"}, json=link)
    assert put.status_code == 200 and put.json()["accessGroup"]["externalIdentifier"] == "B-1"
    mine = every(api, "/api/v3/unitAccessGroups", unitId=unit["id"])
    assert group["id"] in {row["accessGroup"]["id"] for row in mine}
    elsewhere = next(
        row for row in every(api, "/api/v3/units") if row["buildingName"] != "Harbour House"
    )
    wrong = {"unit": {"id": elsewhere["id"]}, "accessGroup": group}
    assert api.post("/api/v3/unitAccessGroups", json=wrong).status_code == 400


def test_extras_vat_profiles_and_tax_seasons(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    extras = every(api, "/api/v3/extras", buildingId=1, billingFrequency="ONE_OFF")
    assert extras and all(
        row["building"]["id"] == 1 and row["billing_frequency"] == "ONE_OFF" for row in extras
    )
    online = every(api, "/api/v3/extras", availableThroughIBE="false")
    assert online and not any(row["availableThroughIBE"] for row in online)
    profiles = {row["id"] for row in every(api, "/api/v3/vatProfiles")}
    assert {row["vatProfile"]["id"] for row in every(api, "/api/v3/extras")} <= profiles
    plan = min(fake_resharmonics.portfolio.rate_plans)
    building = fake_resharmonics.portfolio.unit_types[
        fake_resharmonics.portfolio.rate_plans[plan].unit_type_id
    ].building_id
    sold = every(api, f"/api/v3/extras/{plan}", startDate="2026-12-01", endDate="2026-12-05")
    assert sold and {row["building"]["id"] for row in sold} == {building}
    assert api.get(f"/api/v3/extras/{plan}").status_code == 400  # the dates are required
    seasons = get(
        api, "/api/v3/vatProfiles/1/taxSeasons", startDate="2026-06-01", endDate="2027-02-01"
    )
    assert [s["startDate"] for s in seasons["taxSeasons"]] == ["2026-01-01", "2027-01-01"]
    assert (
        api.get(
            "/api/v3/vatProfiles/9/taxSeasons",
            params={"startDate": "2026-01-01", "endDate": "2026-01-02"},
        ).status_code
        == 404
    )


def test_merging_contacts_moves_their_bookings(api: ResharmonicsSession) -> None:
    rows = every(api, "/api/v3/bookings")
    keep, duplicate = (
        rows[0]["bookingContact"]["id"],
        next(
            row["bookingContact"]["id"]
            for row in rows
            if row["bookingContact"]["id"] != rows[0]["bookingContact"]["id"]
        ),
    )
    merged = api.post(
        "/api/v3/contacts/merge",
        json={"primaryContactId": keep, "duplicateContactIds": [duplicate]},
    )
    assert merged.status_code == 200, merged.text
    assert every(api, "/api/v3/bookings", bookingContactId=duplicate) == []
    assert get(api, f"/api/v3/contacts/{duplicate}")["status"] == "REMOVED"
    assert (
        every(api, "/api/v3/guestStays", contactId=duplicate, statuses="CHECKED_OUT,CONFIRMED")
        == []
    )
    same = {"primaryContactId": keep, "duplicateContactIds": [keep]}
    assert api.post("/api/v3/contacts/merge", json=same).status_code == 400


def test_reserve_for_minutes_holds_the_unit(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    portfolio = fake_resharmonics.portfolio
    start = portfolio.today + datetime.timedelta(days=400)  # beyond every seeded stay
    unit = min(u.id for u in portfolio.units.values() if u.bookable)
    rate = portfolio.rate_for(portfolio.units[unit].unit_type_id, 3).id
    stay = {"rateId": rate, "unitId": unit, "startDate": start.isoformat(),
            "endDate": (start + datetime.timedelta(days=3)).isoformat()}  # fmt: skip
    body = {"channelId": 1, "bookingTypeId": 1, "bookingFinanceAccountId": 701,
            "billingFinanceAccountId": 701, "bookingContactId": 5001, "billingFrequencyId": 1,
            "roomStays": [stay]}  # fmt: skip
    assert api.post("/api/v3/bookings", json=body).status_code == 201  # an enquiry holds nothing
    assert portfolio.is_free(unit, start, start + datetime.timedelta(days=3))
    held = api.post("/api/v3/bookings", json={**body, "reserveForMinutes": 30})
    assert held.status_code == 201, held.text
    assert not portfolio.is_free(unit, start, start + datetime.timedelta(days=3))
    clash = api.post("/api/v3/bookings", json={**body, "reserveForMinutes": 30})
    assert clash.status_code == 409
    assert api.post("/api/v3/bookings", json={**body, "reserveForMinutes": 0}).status_code == 400


def test_an_unbookable_unit_is_never_offered_as_free(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    portfolio = fake_resharmonics.portfolio
    start = portfolio.today + datetime.timedelta(days=400)  # beyond every seeded stay
    end = start + datetime.timedelta(days=3)
    only = min(u.id for u in portfolio.units.values() if u.bookable)
    type_id = portfolio.units[only].unit_type_id
    siblings = [u for u in portfolio.units.values() if u.unit_type_id == type_id]
    for unit in siblings:
        unit.bookable = False
    assert not portfolio.is_free(only, start, end)
    intervals = get(api, f"/api/v3/availabilities/unit/{only}/intervals",
                    dateFrom=start.isoformat(), dateTo=end.isoformat())  # fmt: skip
    assert not any(row["available"] for row in intervals["content"])
    offers = every(
        api, "/api/v3/availabilities", dateFrom=start.isoformat(), dateTo=end.isoformat()
    )
    assert type_id not in {row["inventoryTypeId"] for row in offers}
    rate = portfolio.rate_for(type_id, 3).id
    stay = {"rateId": rate, "startDate": start.isoformat(), "endDate": end.isoformat()}
    body = {"channelId": 1, "bookingTypeId": 1, "bookingFinanceAccountId": 701,
            "billingFinanceAccountId": 701, "bookingContactId": 5001, "billingFrequencyId": 1,
            "roomStays": [stay]}  # fmt: skip
    assert api.post("/api/v3/bookings", json=body).status_code == 409  # no free unit to choose
