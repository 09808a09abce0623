"""The fake's portfolio: every view agrees with every other, and tests can shape the data."""

from __future__ import annotations

import collections
import datetime
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import (
    HOLDING_STATUSES,
    ROOM_STAY_STATUSES,
    FakeResharmonics,
    Portfolio,
)

TODAY = datetime.date.today()


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def every(session: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(session.paginate(path, params, page_size=1000))


def day(offset: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=offset)


def nights(start: str, end: str) -> set[datetime.date]:
    first, last = datetime.date.fromisoformat(start), datetime.date.fromisoformat(end)
    return {first + datetime.timedelta(days=n) for n in range((last - first).days)}


def test_a_year_of_stays_around_today_in_every_status(api: ResharmonicsSession) -> None:
    rows = every(api, "/api/v3/roomStays")
    assert 400 <= len(rows) <= 1000
    assert {row["roomStayStatus"] for row in rows} == set(ROOM_STAY_STATUSES)
    assert min(row["startDate"] for row in rows) <= day(-180).isoformat()
    assert max(row["endDate"] for row in rows) >= day(180).isoformat()
    soon = [day(n).isoformat() for n in (0, 30)]
    arriving = [row for row in rows if soon[0] <= row["startDate"] <= soon[1]]
    leaving = [row for row in rows if soon[0] <= row["endDate"] <= soon[1]]
    assert len(arriving) >= 10
    assert len(leaving) >= 10
    for row in rows:  # time and status agree
        if row["startDate"] <= TODAY.isoformat() < row["endDate"]:
            assert row["roomStayStatus"] in ("CHECKED_IN", "CANCELLED", "LOST")
        elif row["endDate"] <= TODAY.isoformat():
            assert row["roomStayStatus"] in ("CHECKED_OUT", "COMPLETE", "CANCELLED", "LOST")


def test_no_unit_is_held_twice_on_one_night(api: ResharmonicsSession) -> None:
    held: dict[int, list[set[datetime.date]]] = collections.defaultdict(list)
    for row in every(api, "/api/v3/roomStays", statuses=",".join(HOLDING_STATUSES)):
        held[row["unit"]["id"]].append(nights(row["startDate"], row["endDate"]))
    for stays in held.values():
        taken: set[datetime.date] = set()
        for stay in stays:
            assert not taken & stay
            taken |= stay


def test_intervals_agree_with_the_stays_of_every_unit(api: ResharmonicsSession) -> None:
    window = (day(-30), day(200))
    held: dict[int, set[datetime.date]] = collections.defaultdict(set)
    for row in every(api, "/api/v3/roomStays", statuses=",".join(HOLDING_STATUSES)):
        held[row["unit"]["id"]] |= nights(row["startDate"], row["endDate"])
    for unit in every(api, "/api/v3/units"):
        intervals = every(
            api,
            f"/api/v3/availabilities/unit/{unit['id']}/intervals",
            dateFrom=window[0].isoformat(),
            dateTo=window[1].isoformat(),
        )
        covered = day(-30)
        for interval in intervals:  # contiguous, alternating runs over the whole window
            assert interval["startDate"] == covered.isoformat()
            covered = datetime.date.fromisoformat(interval["endDate"]) + datetime.timedelta(days=1)
            dates = nights(interval["startDate"], covered.isoformat())
            if not unit["bookable"]:
                assert interval["available"] is False
            elif interval["available"]:
                assert not dates & held[unit["id"]]
            else:
                assert dates <= held[unit["id"]]
        assert covered == window[1] + datetime.timedelta(days=1)
        assert all(a["available"] != b["available"] for a, b in itertools.pairwise(intervals))


def test_confirmed_and_checked_in_stays_make_their_unit_unavailable(
    api: ResharmonicsSession,
) -> None:
    for row in every(api, "/api/v3/roomStays", statuses="CONFIRMED,CHECKED_IN", size=1000)[:25]:
        answer = every(
            api,
            f"/api/v3/availabilities/unit/{row['unit']['id']}/intervals",
            dateFrom=row["startDate"],
            dateTo=(
                datetime.date.fromisoformat(row["endDate"]) - datetime.timedelta(days=1)
            ).isoformat(),
        )
        assert [interval["available"] for interval in answer] == [False]


def test_bookings_room_stays_and_guest_stays_show_the_same_stays(api: ResharmonicsSession) -> None:
    statuses = ",".join(ROOM_STAY_STATUSES)
    bookings = {row["roomStayId"]: row for row in every(api, "/api/v3/bookings", statuses=statuses)}
    stays = {row["roomStayId"]: row for row in every(api, "/api/v3/roomStays")}
    assert bookings.keys() == stays.keys()
    for key, row in stays.items():
        booking = bookings[key]
        for field in ("roomStayStatus", "startDate", "endDate", "netAmount", "bookingId"):
            assert booking[field] == row[field]
        assert booking["bookingContact"] == row["bookingContact"]
        assert booking["unit"]["name"] == row["unit"]["name"]
    guests = every(api, "/api/v3/guestStays", statuses=statuses)
    assert {row["roomStayId"] for row in guests} == stays.keys()  # every stay has a guest
    for guest in guests:
        stay = stays[guest["roomStayId"]]
        assert (guest["dateFrom"], guest["dateTo"], guest["status"], guest["unitId"]) == (
            stay["startDate"],
            stay["endDate"],
            stay["roomStayStatus"],
            stay["unit"]["id"],
        )


def test_rates_are_bookable_exactly_when_a_unit_of_the_type_is_free(
    api: ResharmonicsSession,
) -> None:
    window = {"dateFrom": day(0).isoformat(), "dateTo": day(90).isoformat()}
    units = [api.get(f"/api/v3/units/{row['id']}").json() for row in every(api, "/api/v3/units")]
    free: dict[int, set[str]] = collections.defaultdict(set)
    for unit in units:
        path = f"/api/v3/availabilities/unit/{unit['id']}/intervals"
        for interval in every(api, path, **window):
            if interval["available"]:
                start = datetime.date.fromisoformat(interval["startDate"])
                end = datetime.date.fromisoformat(interval["endDate"])
                free[unit["unitType"]["id"]] |= {
                    (start + datetime.timedelta(days=n)).isoformat()
                    for n in range((end - start).days + 1)
                }
    for unit_type in every(api, "/api/v3/unitTypes"):
        (rate,) = every(api, "/api/v3/rates", rateCode="FLEX", unitTypeId=unit_type["id"], **window)
        bookable = {entry["date"] for entry in rate["rates"] if entry["bookable"]}
        assert bookable == free[unit_type["id"]]


def test_the_search_offers_only_what_the_intervals_show_free(api: ResharmonicsSession) -> None:
    start, end = day(40), day(47)
    last_night = (end - datetime.timedelta(days=1)).isoformat()
    whole_stay_free = [{"startDate": start.isoformat(), "endDate": last_night, "available": True}]
    offers = every(
        api, "/api/v3/availabilities", dateFrom=start.isoformat(), dateTo=end.isoformat()
    )
    offered = {offer["inventoryTypeId"] for offer in offers}
    assert offered
    units_of: dict[int, list[int]] = collections.defaultdict(list)
    for row in every(api, "/api/v3/units"):
        units_of[api.get(f"/api/v3/units/{row['id']}").json()["unitType"]["id"]].append(row["id"])
    for unit_type in every(api, "/api/v3/unitTypes"):
        some_free = any(
            every(
                api,
                f"/api/v3/availabilities/unit/{unit}/intervals",
                dateFrom=start.isoformat(),
                dateTo=last_night,
            )
            == whole_stay_free
            for unit in units_of[unit_type["id"]]
        )
        rules = unit_type["minStay"] <= 7 <= unit_type["maxStay"]
        assert (unit_type["id"] in offered) == (some_free and rules)


# -- shaping the data from a test -----------------------------------------------------------


def test_a_test_adds_its_own_unit_and_a_stay_ending_tomorrow(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    portfolio = fake_resharmonics.portfolio
    unit = portfolio.add_unit("Test Flat 1", min(portfolio.unit_types))
    contact = portfolio.add_contact("Grace", "Hopper", "grace@example.com")
    stay = portfolio.add_stay(unit.id, day(-3), day(1), status="CHECKED_IN", contact_id=contact.id)
    leaving = every(api, "/api/v3/roomStays", checkOutDateFrom=day(1).isoformat(),
                    checkOutDateTo=day(1).isoformat(), unitId=unit.id)  # fmt: skip
    assert [row["roomStayId"] for row in leaving] == [stay.id]
    assert leaving[0]["unit"]["name"] == "Test Flat 1"
    guests = every(api, "/api/v3/guestStays", unitId=unit.id)
    assert [row["contactId"] for row in guests] == [contact.id]
    assert api.get(f"/api/v3/units/{unit.id}").json()["name"] == "Test Flat 1"
    with pytest.raises(ValueError, match="already held"):
        portfolio.add_stay(unit.id, day(0), nights=2)
    portfolio.add_stay(unit.id, day(0), nights=2, status="ENQUIRY")  # an enquiry holds nothing


def test_records_can_be_edited_or_replaced(
    fake_resharmonics: FakeResharmonics, api: ResharmonicsSession
) -> None:
    portfolio = fake_resharmonics.portfolio
    portfolio.units[1001].bookable = False
    intervals = every(api, "/api/v3/availabilities/unit/1001/intervals",
                      dateFrom=day(0).isoformat(), dateTo=day(9).isoformat())  # fmt: skip
    assert [interval["available"] for interval in intervals] == [False]
    contact = portfolio.contacts[5001]
    contact.status = "VIP"
    assert api.get("/api/v3/contacts/5001").json()["status"] == "VIP"
    portfolio.put(type(contact)(5001, "Replaced", "Person", "replaced@example.com"))
    assert api.get("/api/v3/contacts/5001").json()["firstName"] == "Replaced"
    with pytest.raises(TypeError, match="no str records"):
        portfolio.put("not a record")


def test_reset_brings_the_seeded_data_back(fake_resharmonics: FakeResharmonics) -> None:
    fake = fake_resharmonics
    before = len(fake.portfolio.room_stays)
    fake.portfolio.add_stay(1001, day(400), nights=2)
    fake.reset()
    assert len(fake.portfolio.room_stays) == before


def test_a_portfolio_on_its_own(tmp_path: Any) -> None:
    portfolio = Portfolio(seed=11, today=datetime.date(2030, 6, 1))
    assert min(stay.start for stay in portfolio.room_stays.values()) < datetime.date(2030, 1, 1)
    checked_in = [s for s in portfolio.room_stays.values() if s.status == "CHECKED_IN"]
    assert all(s.start <= datetime.date(2030, 6, 1) < s.end for s in checked_in)
