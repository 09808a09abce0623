"""The seeded portfolio reads like an operator's: who stays, how often, through what, for how long.

A departures report of the kind public integrations run (who leaves in the next 30 days,
and whether they renew) finds mostly departures, as its recorded live run did; most
contacts have one or two stays; every contact has a finance account; the channels,
statuses and rate codes are a believable mix.
"""

from __future__ import annotations

import collections
import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics, Portfolio

STAYED = "CONFIRMED,CHECKED_IN,CHECKED_OUT,COMPLETE,PENDING,MEDIATION_REQUIRED"


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def every(session: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(session.paginate(path, params, page_size=1000))


def departures_and_renewals(
    session: ResharmonicsSession, first: datetime.date, days: int = 30
) -> tuple[int, int]:
    """Stays ending in the window: how many leave, and how many go on in the same unit."""
    last = first + datetime.timedelta(days=days)
    ending = every(session, "/api/v3/roomStays", statuses=STAYED,
                   checkOutDateFrom=first.isoformat(), checkOutDateTo=last.isoformat())  # fmt: skip
    starting = {
        (row["bookingContact"]["id"], row["unit"]["id"], row["startDate"])
        for row in every(
            session,
            "/api/v3/roomStays",
            statuses=STAYED,
            dateFrom=first.isoformat(),
            dateTo=last.isoformat(),
        )
    }
    renewed = [
        row
        for row in ending
        if (row["bookingContact"]["id"], row["unit"]["id"], row["endDate"]) in starting
    ]
    return len(ending) - len(renewed), len(renewed)


def test_most_stays_ending_are_departures_in_any_30_days(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    counts = [
        departures_and_renewals(api, today + datetime.timedelta(days=offset))
        for offset in (-150, -120, -90, -60, -30, 0)
    ]
    for leaving, renewing in counts:
        assert leaving > renewing, counts
    leaving = sum(leaving for leaving, _ in counts)
    renewing = sum(renewing for _, renewing in counts)
    assert 0.6 <= leaving / (leaving + renewing) <= 0.95, counts  # live: 39 departures of 54
    assert renewing >= 10, counts  # a minority renews, back to back
    leaving, renewing = counts[-1]
    assert leaving >= 20  # the next 30 days of a 40-unit operator


def test_a_naive_report_that_counts_any_later_stay_as_a_renewal(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    horizon = (today + datetime.timedelta(days=30)).isoformat()
    ending = every(api, "/api/v3/roomStays", statuses="CONFIRMED,CHECKED_IN",
                   checkOutDateFrom=today.isoformat(), checkOutDateTo=horizon)  # fmt: skip
    later: dict[int, list[str]] = collections.defaultdict(list)
    for row in every(api, "/api/v3/roomStays", statuses=STAYED, dateFrom=today.isoformat()):
        later[row["bookingContact"]["id"]].append(row["startDate"])
    renewals = [
        row
        for row in ending
        if any(start >= row["endDate"] for start in later[row["bookingContact"]["id"]])
    ]
    assert len(ending) - len(renewals) > len(renewals)


def test_most_contacts_stay_once_or_twice_and_each_has_an_account(
    api: ResharmonicsSession,
) -> None:
    contacts = every(api, "/api/v3/contacts")
    bookings = collections.Counter(row["bookingContact"]["id"] for row in every(
        api, "/api/v3/bookings", statuses=STAYED))  # fmt: skip
    booked = [bookings[contact["id"]] for contact in contacts if bookings[contact["id"]]]
    assert sum(count <= 2 for count in booked) >= 0.85 * len(booked)
    assert sum(count >= 2 for count in booked) >= 20  # renewals and returning guests
    accounts = {row["id"]: row for row in every(api, "/api/v3/financeAccounts")}
    for contact in contacts:
        sales = contact["contactSalesAccount"]
        assert sales is not None and sales["id"] in accounts
        assert accounts[sales["id"]]["contact"]["id"] == contact["id"]


def test_a_contact_created_through_the_api_gets_an_account_to_book_on(
    api: ResharmonicsSession,
) -> None:
    created = api.post("/api/v3/contacts", json={"firstName": "Ada", "lastName": "Lovelace"})
    assert created.status_code == 201, created.text
    account = created.json()["contactSalesAccount"]
    assert account is not None and account["contact"]["id"] == created.json()["id"]
    assert account["id"] in {row["id"] for row in every(api, "/api/v3/financeAccounts")}


def test_channels_statuses_and_rate_codes_are_a_believable_mix(api: ResharmonicsSession) -> None:
    rows = every(api, "/api/v3/bookings", statuses=STAYED + ",ENQUIRY,QUOTED,CANCELLED,LOST")
    channels = collections.Counter(row["channelName"] for row in rows)
    assert len(channels) == 6 and max(channels.values()) < 0.4 * len(rows), channels
    statuses = collections.Counter(row["roomStayStatus"] for row in rows)
    past = statuses["COMPLETE"] + statuses["CHECKED_OUT"]
    assert past > statuses["CONFIRMED"] > 0 and statuses["CANCELLED"] + statuses["LOST"] > 0
    web = [row for row in rows if row["channelName"] == "Website"]
    codes = collections.Counter(
        api.get(f"/api/v3/roomStays/{row['roomStayId']}").json()["rate"]["rateCode"]
        for row in web[:60]
    )
    assert any(code.endswith("-WEB") for code in codes), codes
    today = datetime.date.today().isoformat()
    web_rates = every(api, "/api/v3/rates", dateFrom=today, dateTo=today)
    assert {rate["rateCode"] for rate in web_rates} >= {"FLEX", "WEEK", "MONTH"}
    assert sum(rate["rateCode"].endswith("-WEB") for rate in web_rates) >= 3


def test_stays_are_as_long_as_the_building_lets_them() -> None:
    portfolio = Portfolio(seed=5, today=datetime.date(2026, 6, 1))
    nights: dict[str, list[int]] = collections.defaultdict(list)
    for stay in portfolio.room_stays.values():
        building = portfolio.unit_types[portfolio.units[stay.unit_id].unit_type_id].building_id
        nights[portfolio.buildings[building].name].append((stay.end - stay.start).days)
    medians = {name: sorted(found)[len(found) // 2] for name, found in nights.items()}
    assert medians["Harbour House"] <= 7  # serviced apartments: nights
    assert 14 <= medians["The Foundry"] <= 60  # corporate lets: weeks
    assert medians["Canal Wharf"] >= 28 and medians["Maple Court"] >= 150  # tenancies


def test_the_same_seed_and_day_give_the_same_data_quickly() -> None:
    day = datetime.date(2026, 3, 1)
    started = time.process_time()
    first = Portfolio(3, day)
    spent = time.process_time() - started
    assert spent < 0.5
    again = Portfolio(3, day)
    assert [vars(stay) for stay in first.room_stays.values()] == [
        vars(stay) for stay in again.room_stays.values()
    ]
    assert first.contacts == again.contacts and first.sales_invoices == again.sales_invoices
    later = Portfolio(3, day + datetime.timedelta(days=1))  # the year around another day
    assert {stay.start for stay in later.room_stays.values()} != {
        stay.start for stay in first.room_stays.values()
    }
