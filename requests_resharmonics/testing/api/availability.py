"""Availability and rates, computed from the stays, so they agree with every list.

A night is unavailable when a stay in a holding status (PENDING, MEDIATION_REQUIRED,
CONFIRMED, CHECKED_IN, CHECKED_OUT, COMPLETE) is on it, or when the unit is not bookable.
"""

from __future__ import annotations

import datetime
from typing import Any

from .._portfolio import Portfolio, days
from .._routes import ApiError, ApiRequest, Param, Query, Route
from . import shapes

#: The ``inventoryType`` the search writes for a unit type (a guess: the values are unknown).
INVENTORY_TYPE = "UNIT_TYPE"

#: The longest date range a calendar is computed for (ten years).
MAX_DAYS = 3660


def _range(query: Query) -> tuple[datetime.date, datetime.date]:
    start, end = query.date("dateFrom", required=True), query.date("dateTo", required=True)
    if start is None or end is None:  # required=True has raised already; for the type checker
        raise ApiError(400, "dateFrom and dateTo are required")
    if end < start:
        raise ApiError(400, "dateTo must not be before dateFrom")
    if (end - start).days > MAX_DAYS or end >= datetime.date.max:
        # A guess at the service's limit; without one a client asking for ten thousand years
        # would keep the fake computing for minutes.
        raise ApiError(400, f"dateFrom and dateTo must be at most {MAX_DAYS} days apart")
    return start, end


def unit_intervals(request: ApiRequest) -> list[Any]:
    """Return runs of available and unavailable dates of one unit, ``endDate`` inclusive."""
    portfolio = request.portfolio
    unit = request.record(portfolio.units, "Unit")
    start, end = _range(request.query)
    held = portfolio.held_nights(unit.id)
    intervals: list[dict[str, Any]] = []
    for day in days(start, end + datetime.timedelta(days=1)):
        available = unit.bookable and day not in held
        if intervals and intervals[-1]["available"] == available:
            intervals[-1]["endDate"] = day.isoformat()
        else:
            intervals.append(
                {"startDate": day.isoformat(), "endDate": day.isoformat(), "available": available}
            )
    return intervals


def search(request: ApiRequest) -> list[Any]:
    """Return unit types bookable for the whole stay, with the price of each rate.

    Booking rules apply, as on the live service: no arrival in the past, the unit type's
    minimum and maximum stay, and its occupancy; so a search is often empty where the
    intervals show free dates.
    """
    portfolio, query = request.portfolio, request.query
    start, end = _range(query)
    nights = (end - start).days
    guests = query.integer("guests") or 1
    kind, code = query.text("inventoryType"), query.text("rateCode")
    if nights < 1 or start < portfolio.today:
        return []
    if kind is not None and kind.upper() != INVENTORY_TYPE:
        return []
    rows = []
    for type_id in sorted(portfolio.unit_types):
        unit_type = portfolio.unit_types[type_id]
        if not unit_type.min_stay <= nights <= unit_type.max_stay:
            continue
        if guests > unit_type.max_occupancy or not _any_free(portfolio, type_id, start, end):
            continue
        plans = [
            plan
            for plan in sorted(portfolio.rate_plans.values(), key=lambda plan: plan.id)
            if plan.unit_type_id == type_id and code in (None, plan.code)
        ]
        offers = []
        for plan in plans:
            net, _ = portfolio.quote(plan, start, end)
            offers.append(
                {
                    "rateId": plan.id,
                    "rateCode": plan.code,
                    "avgRate": round(net / nights, 2),
                    "nights": nights,
                }
            )
        if offers:
            building = portfolio.buildings[unit_type.building_id]
            rows.append(
                {
                    "buildingId": building.id,
                    "buildingName": building.name,
                    "inventoryType": INVENTORY_TYPE,
                    "inventoryTypeId": unit_type.id,
                    "inventoryTypeName": unit_type.name,
                    "rateAvailabilities": offers,
                }
            )
    return rows


def _any_free(portfolio: Portfolio, type_id: int, start: datetime.date, end: datetime.date) -> bool:
    return any(
        portfolio.is_free(unit.id, start, end)
        for unit in portfolio.units.values()
        if unit.unit_type_id == type_id
    )


def rates(request: ApiRequest) -> list[Any]:
    """Rates with their daily calendars for the dates; both dates are required (doc)."""
    portfolio, query = request.portfolio, request.query
    start, end = _range(query)
    unit_type_id, rate_id = query.integer("unitTypeId"), query.integer("rateId")
    query.integer("companyId")  # validated like the others; the fake has no company rates
    code = query.text("rateCode")
    held: dict[int, list[set[datetime.date]]] = {}  # per unit type, shared by its rates
    rows = []
    for plan in sorted(portfolio.rate_plans.values(), key=lambda plan: plan.id):
        if (
            unit_type_id not in (None, plan.unit_type_id)
            or rate_id not in (None, plan.id)
            or code not in (None, plan.code)
        ):
            continue
        if plan.unit_type_id not in held:
            held[plan.unit_type_id] = portfolio.held_nights_by_unit(plan.unit_type_id)
        rows.append(shapes.rate(portfolio, plan, start, end, held[plan.unit_type_id]))
    return rows


def rate(request: ApiRequest) -> Any:
    """Return one rate, without its calendar."""
    plan = request.record(request.portfolio.rate_plans, "Rate")
    return shapes.rate_detail(request.portfolio, plan)


def rate_segments(request: ApiRequest) -> list[Any]:
    """Return a rate's calendar, by default the 28 days from today."""
    portfolio, query = request.portfolio, request.query
    plan = request.record(portfolio.rate_plans, "Rate")
    start = query.date("dateFrom") or portfolio.today
    end = query.date("dateTo") or start + datetime.timedelta(days=27)
    start, end = _range(Query({"dateFrom": [start.isoformat()], "dateTo": [end.isoformat()]}))
    held = portfolio.held_nights_by_unit(plan.unit_type_id)
    return [shapes.rate_segment(portfolio, plan, day, held) for day in days(start, end + _DAY)]


_DAY = datetime.timedelta(days=1)


def _sample_rate(portfolio: Portfolio) -> Any:
    plan = portfolio.rate_plans[min(portfolio.rate_plans)]
    held = portfolio.held_nights_by_unit(plan.unit_type_id)
    return shapes.rate(portfolio, plan, portfolio.today, portfolio.today, held)


_DATES = (
    Param("dateFrom", "date", required=True),
    Param("dateTo", "date", required=True),
)

ROUTES = [
    Route(
        "GET",
        "/api/v3/availabilities/unit/{id}/intervals",
        unit_intervals,
        "Available and unavailable date intervals of one unit",
        "Availabilities",
        params=_DATES,
        paged=True,
        source="live",
        sample=lambda p: {"startDate": "2026-12-01", "endDate": "2026-12-09", "available": True},
        guess="endDate is inclusive (a public client's reading); both dates are required.",
    ),
    Route(
        "GET",
        "/api/v3/availabilities",
        search,
        "Search availability and prices for a stay",
        "Availabilities",
        params=(
            *_DATES,
            Param("guests", "integer", "how many stay (at least 1)", source="client", minimum=1),
            Param("inventoryType", source="client"),
            Param("rateCode", source="client"),
        ),
        paged=True,
        source="client",
        sample=lambda p: {
            "buildingId": 1,
            "buildingName": "Harbour House",
            "inventoryType": INVENTORY_TYPE,
            "inventoryTypeId": 11,
            "inventoryTypeName": "Studio",
            "rateAvailabilities": [
                {"rateId": 60001, "rateCode": "FLEX", "avgRate": 99.5, "nights": 4}
            ],
        },
        guess="Paged like the other lists; inventoryType's value UNIT_TYPE and the booking "
        "rules (no past arrival, minimum and maximum stay, occupancy) are guesses.",
    ),
    Route(
        "GET",
        "/api/v3/rates",
        rates,
        "Rates with a daily price calendar",
        "Rates",
        params=(
            *_DATES,
            Param("unitTypeId", "integer"),
            Param("rateId", "integer"),
            Param("companyId", "integer"),
            Param("rateCode"),
        ),
        paged=True,
        sample=_sample_rate,
        guess="companyId filters nothing (the fake has no company-specific rates). The "
        "website-only rates of the buildings let by the night, coded BUILDING-TYPE-WEB as "
        "public booking clients' web rate codes are, are a guess.",
    ),
    Route(
        "GET",
        "/api/v3/rates/{id}",
        rate,
        "Get one rate",
        "Rates",
        sample=lambda p: shapes.rate_detail(p, p.rate_plans[min(p.rate_plans)]),
        guess="The rate as the list writes it, without its calendar (a guess).",
    ),
    Route(
        "GET",
        "/api/v3/rates/{id}/rateSegments",
        rate_segments,
        "A rate's calendar of prices",
        "Rates",
        params=(
            Param("dateFrom", "date", "default today", source="guess"),
            Param("dateTo", "date", "default 27 days after dateFrom", source="guess"),
        ),
        paged=True,
        sample=lambda p: _sample_rate(p)["rates"][0],
        guess="The segments are the list's rates[] entries; the date parameters are guesses.",
    ),
]
