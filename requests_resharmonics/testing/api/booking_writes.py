"""The booking writes integrations make: create a booking, move its room stays' statuses.

Required fields, the ENQUIRY start, ``reserveForMinutes`` and the statuses a stay can be
moved to are documented; how unknown ids, disallowed moves and clashes are answered is a
guess (400, 400 and 409 with Spring's error body), and so are the answers' status codes
(201 for a creation). A stay cannot be checked in before its first night.
"""

from __future__ import annotations

import datetime
from collections.abc import Container
from typing import Any

from .._http import Answer
from .._records import RoomStay
from .._routes import ApiError, ApiRequest, Route, require_fields
from . import shapes

_REQUIRED = (
    "channelId",
    "bookingFinanceAccountId",
    "billingFinanceAccountId",
    "bookingContactId",
    "billingFrequencyId",
    "bookingTypeId",
    "roomStays",
)
#: The statuses PUT updateStatuses can set (doc), and those a stay may come from (a guess).
_MOVES = {
    "PENDING": {"ENQUIRY", "QUOTED"},
    "CONFIRMED": {"ENQUIRY", "QUOTED", "PENDING", "MEDIATION_REQUIRED"},
    "CHECKED_IN": {"CONFIRMED"},
}


def create_booking(request: ApiRequest) -> Answer:
    """Create a booking whose room stays start in ENQUIRY; answer its id and reference."""
    portfolio = request.portfolio
    body = require_fields(request.json(), _REQUIRED)
    references: dict[str, Container[int]] = {
        "channelId": portfolio.channels,
        "bookingFinanceAccountId": portfolio.accounts,
        "billingFinanceAccountId": portfolio.accounts,
        "bookingContactId": portfolio.contacts,
        "billingFrequencyId": portfolio.billing_frequency_ids,
        "bookingTypeId": portfolio.booking_type_ids,
    }
    ids = {name: _whole(body[name], name) for name in references}
    for name, known in references.items():
        if ids[name] not in known:
            raise ApiError(400, f"{name} {ids[name]} does not exist")
    for name in ("billingContactId", "guarantorContactId"):
        if body.get(name) is not None and _whole(body[name], name) not in portfolio.contacts:
            raise ApiError(400, f"{name} {body[name]} does not exist")
    reserve = body.get("reserveForMinutes")
    if reserve is not None and (
        isinstance(reserve, bool) or not isinstance(reserve, int) or not 1 <= reserve <= 10080
    ):
        raise ApiError(400, "reserveForMinutes must be a whole number of minutes, 1 to 10080")
    stays = body["roomStays"]
    if not isinstance(stays, list):
        raise ApiError(400, "roomStays must be a list")
    planned = [_plan_stay(request, index, stay, reserve) for index, stay in enumerate(stays)]
    booking = portfolio.add_booking(
        ids["bookingContactId"],
        channel_id=ids["channelId"],
        booking_account_id=ids["bookingFinanceAccountId"],
        billing_account_id=ids["billingFinanceAccountId"],
    )
    booking.customer_reference = body.get("customerReference")
    booking.billing_frequency_id = ids["billingFrequencyId"]
    booking.booking_type_id = ids["bookingTypeId"]
    for unit_id, start, end in planned:
        stay = portfolio.add_stay(unit_id, start, end, status="ENQUIRY", booking_id=booking.id)
        if reserve is not None:
            stay.reserved_until = portfolio.now() + datetime.timedelta(minutes=reserve)
    return Answer(201, {"id": booking.id, "bookingReference": booking.reference})


def _plan_stay(
    request: ApiRequest, index: int, stay: Any, reserve: int | None
) -> tuple[int, datetime.date, datetime.date]:
    portfolio = request.portfolio
    where = f"roomStays[{index}]"
    if not isinstance(stay, dict):
        raise ApiError(400, f"{where} must be an object")
    require_fields(stay, ("rateId", "startDate", "endDate"))
    plan = portfolio.rate_plans.get(_whole(stay["rateId"], f"{where}.rateId"))
    if plan is None:
        raise ApiError(400, f"{where}.rateId {stay['rateId']} does not exist")
    start, end = (_date(stay[name], f"{where}.{name}") for name in ("startDate", "endDate"))
    if end <= start:
        raise ApiError(400, f"{where}.endDate must be after its startDate")
    if stay.get("unitId") is not None:
        unit = portfolio.units.get(_whole(stay["unitId"], f"{where}.unitId"))
        if unit is None or unit.unit_type_id != plan.unit_type_id:
            raise ApiError(400, f"{where}.unitId {stay['unitId']} is not a unit of this rate")
        if reserve is not None and not portfolio.is_free(unit.id, start, end):
            raise ApiError(409, f"{where}: unit {unit.id} cannot be reserved on those dates")
        return unit.id, start, end
    free = [
        unit.id
        for unit in sorted(portfolio.units.values(), key=lambda unit: unit.id)
        if unit.unit_type_id == plan.unit_type_id and portfolio.is_free(unit.id, start, end)
    ]
    if not free:
        raise ApiError(409, f"{where}: no unit of this rate's unit type is free on those dates")
    return free[0], start, end


def update_statuses(request: ApiRequest) -> Any:
    """Move room stays of a booking to PENDING, CONFIRMED or CHECKED_IN, all or none."""
    portfolio = request.portfolio
    booking_id = request.record(portfolio.bookings, "Booking", "bookingId").id
    body = require_fields(request.json(), ("statusUpdates",))
    updates = body["statusUpdates"]
    if not isinstance(updates, list):
        raise ApiError(400, "statusUpdates must be a list")
    moves: list[tuple[RoomStay, str]] = []
    for index, update in enumerate(updates):
        where = f"statusUpdates[{index}]"
        if not isinstance(update, dict):
            raise ApiError(400, f"{where} must be an object")
        require_fields(update, ("roomStayId", "status"))
        stay = portfolio.room_stays.get(_whole(update["roomStayId"], f"{where}.roomStayId"))
        if stay is None or stay.booking_id != booking_id:
            raise ApiError(400, f"{where}: room stay {update['roomStayId']} is not in this booking")
        status = str(update["status"]).upper()
        if status not in _MOVES:
            raise ApiError(400, f"{where}.status must be one of {', '.join(_MOVES)}")
        if stay.status != status and stay.status not in _MOVES[status]:
            raise ApiError(400, f"{where}: a {stay.status} room stay cannot become {status}")
        if status == "CHECKED_IN" and not stay.start <= portfolio.today < stay.end:
            raise ApiError(
                400,
                f"{where}: room stay {stay.id} runs {stay.start} to {stay.end}; it can only be "
                f"checked in on one of its nights",
            )
        moves.append((stay, status))
    for stay, status in moves:
        try:
            portfolio.set_status(stay, status)
        except ValueError as error:
            raise ApiError(409, str(error)) from None
    return [shapes.room_stay_row(portfolio, stay) for stay, _ in moves]


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ApiError(400, f"{name} must be a whole number")
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None


def _date(value: Any, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO date such as 2026-12-01") from None


ROUTES = [
    Route(
        "POST",
        "/api/v3/bookings",
        create_booking,
        "Create a booking (its room stays start in ENQUIRY)",
        "Bookings",
        status=201,
        body={
            "channelId": 1,
            "bookingFinanceAccountId": 701,
            "billingFinanceAccountId": 701,
            "bookingContactId": 5001,
            "billingFrequencyId": 1,
            "bookingTypeId": 1,
            "roomStays": [{"rateId": 60001, "startDate": "2026-12-01", "endDate": "2026-12-05"}],
        },
        sample=lambda p: {"id": 20001, "bookingReference": "20261128-20001"},
        guess="201 and the unit chosen when roomStays name no unitId are guesses; unknown "
        "ids are 400, no free unit 409. With reserveForMinutes the ENQUIRY stays hold their "
        "units for that long (documented), at most a week (a guess).",
    ),
    Route(
        "PUT",
        "/api/v3/bookings/{bookingId}/updateStatuses",
        update_statuses,
        "Move room stays of a booking to PENDING, CONFIRMED or CHECKED_IN",
        "Bookings",
        body={"statusUpdates": [{"roomStayId": 30001, "status": "CONFIRMED"}]},
        source="doc",
        sample=lambda p: [shapes.room_stay_row(p, next(iter(p.room_stays.values())))],
        guess="The answer (the changed room-stay rows) and which moves are allowed are "
        "guesses; a disallowed move, or a check-in outside the stay's nights, is 400; a "
        "double booking is 409.",
    ),
]
