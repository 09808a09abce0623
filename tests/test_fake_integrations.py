"""Integration code of the kind people run against the live API works unchanged on the fake.

Each function below is written the way public integrations are: plain ``requests`` with an
auth object, the paths, parameters and field names they use against production, no
knowledge of the fake. Each must get well-formed, non-empty answers.
"""

from __future__ import annotations

import collections
import datetime
from typing import Any

import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics.testing import FakeResharmonics

TODAY = datetime.date.today()


def fetch(base: str, auth: ResharmonicsAuth, path: str, **params: Any) -> Any:
    response = requests.get(base + path, params=params, auth=auth, timeout=30)
    response.raise_for_status()
    return response.json()


def vacancy_report(base: str, auth: ResharmonicsAuth) -> list[dict[str, Any]]:
    """For each bookable unit: its type, when it is next free, and the monthly rate then."""
    horizon = (TODAY + datetime.timedelta(days=365)).isoformat()
    units = fetch(base, auth, "/api/v3/units", size=500)["content"]
    report = []
    for unit in units:
        if not unit["bookable"]:
            continue
        detail = fetch(base, auth, f"/api/v3/units/{unit['id']}")
        intervals = fetch(
            base,
            auth,
            f"/api/v3/availabilities/unit/{unit['id']}/intervals",
            dateFrom=TODAY.isoformat(),
            dateTo=horizon,
        )["content"]
        free_from = next((i["startDate"] for i in intervals if i["available"]), None)
        rates = fetch(
            base,
            auth,
            "/api/v3/rates",
            unitTypeId=detail["unitType"]["id"],
            dateFrom=TODAY.isoformat(),
            dateTo=horizon,
        )["content"]
        monthly = [r for r in rates if r["rateType"] == "MONTHLY"]
        price = None
        if monthly and free_from:
            price = next(d["amount"] for d in monthly[0]["rates"] if d["date"] == free_from)
        report.append(
            {
                "unit": unit["unitName"],
                "building": unit["buildingName"],
                "type": detail["unitType"]["name"],
                "free_from": free_from,
                "monthly_rate": price,
            }
        )
    return report


def departures(base: str, auth: ResharmonicsAuth, days: int = 30) -> list[dict[str, Any]]:
    """Who leaves in the next ``days`` days, with their e-mail address and unit."""
    leaving = []
    page = 0
    while True:
        body = fetch(
            base,
            auth,
            "/api/v3/roomStays",
            checkOutDateFrom=TODAY.isoformat(),
            checkOutDateTo=(TODAY + datetime.timedelta(days=days)).isoformat(),
            statuses=["CONFIRMED", "CHECKED_IN"],
            page=page,
            size=100,
        )
        for stay in body["content"]:
            contact = stay["bookingContact"]
            leaving.append(
                {
                    "name": f"{contact['firstName']} {contact['lastName']}",
                    "email": contact["emailAddress"],
                    "unit": stay["unit"]["name"],
                    "building": stay["unit"]["buildingName"],
                    "leaves": stay["endDate"],
                }
            )
        if page >= body["page"]["totalPages"] - 1:
            return leaving
        page += 1


def dashboard(base: str, auth: ResharmonicsAuth) -> dict[str, Any]:
    """This month's bookings by status with their revenue, and who is in house today."""
    first = TODAY.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    rows = fetch(
        base, auth, "/api/v3/bookings", dateFrom=first.isoformat(), dateTo=last.isoformat(),
        size=500,
    )["content"]  # fmt: skip
    by_status = collections.Counter(row["roomStayStatus"] for row in rows)
    revenue = sum(row["netAmount"] + row["vatAmount"] for row in rows
                  if row["roomStayStatus"] != "CANCELLED")  # fmt: skip
    in_house = fetch(
        base, auth, "/api/v3/guestStays", dateFrom=TODAY.isoformat(), dateTo=TODAY.isoformat(),
        statuses="CHECKED_IN", size=500,
    )["content"]  # fmt: skip
    return {"by_status": by_status, "revenue": round(revenue, 2), "in_house": len(in_house)}


def discover_tenancy_endpoint(base: str, auth: ResharmonicsAuth) -> str:
    """Pick the list endpoint of stays that takes a date range, from the OpenAPI document."""
    spec = fetch(base, auth, "/v3/api-docs")
    best = ""
    best_score = 0
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        words = f"{path} {operation.get('summary', '')} {operation['operationId']}".lower()
        score = 8 * ("booking" in words) + 5 * ("stay" in words)
        names = [param["name"].lower() for param in operation.get("parameters", [])]
        score += 10 * any("date" in name for name in names) + 2 * ("size" in names)
        if score > best_score:
            best, best_score = path, score
    return best


def test_a_vacancy_report_for_a_year_ahead(fake_resharmonics: FakeResharmonics) -> None:
    report = vacancy_report(fake_resharmonics.base_url, fake_resharmonics.auth())
    assert len(report) >= 30
    assert all(row["type"] and row["building"] for row in report)
    free = [row for row in report if row["free_from"]]
    assert len(free) >= 30
    assert all(row["monthly_rate"] and row["monthly_rate"] > 0 for row in free)
    assert any(row["free_from"] > TODAY.isoformat() for row in free)  # some are let now


def test_departures_in_the_next_30_days(fake_resharmonics: FakeResharmonics) -> None:
    leaving = departures(fake_resharmonics.base_url, fake_resharmonics.auth())
    assert len(leaving) >= 5
    for row in leaving:
        assert "@" in row["email"]
        assert TODAY.isoformat() <= row["leaves"] <= (TODAY + datetime.timedelta(30)).isoformat()


def test_a_dashboard_of_bookings_and_guest_stays(fake_resharmonics: FakeResharmonics) -> None:
    board = dashboard(fake_resharmonics.base_url, fake_resharmonics.auth())
    assert board["by_status"]["CONFIRMED"] + board["by_status"]["CHECKED_IN"] > 0
    assert board["revenue"] > 0
    assert board["in_house"] > 0


def test_endpoint_discovery_from_the_openapi_document(
    fake_resharmonics: FakeResharmonics,
) -> None:
    path = discover_tenancy_endpoint(fake_resharmonics.base_url, fake_resharmonics.auth())
    assert path in ("/api/v3/bookings", "/api/v3/roomStays", "/api/v3/guestStays")
