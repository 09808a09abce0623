"""The booking writes integrations make: create a booking, move its room stays' statuses.

Required fields, the ENQUIRY start, ``reserveForMinutes`` and the statuses a stay can be
moved to are documented; how unknown ids, disallowed moves and clashes are answered is a
guess (400, 400 and 409 with Spring's error body), and so are the answers' status codes
(201 for a creation). A stay cannot be checked in before its first night. The bodies'
types, required fields and ranges are checked against the schemas below before a handler
runs.
"""

from __future__ import annotations

import datetime
from collections.abc import Container
from typing import Any

from .. import _schema as s
from .._http import Answer
from .._records import HOLDING_STATUSES, ROOM_STAY_STATUSES, RoomStay
from .._routes import ApiError, ApiRequest, Route
from . import shapes
from ._declare import field_id

#: The statuses PUT updateStatuses can set (doc), and those a stay may come from (a guess).
_MOVES = {
    "PENDING": {"ENQUIRY", "QUOTED"},
    "CONFIRMED": {"ENQUIRY", "QUOTED", "PENDING", "MEDIATION_REQUIRED"},
    "CHECKED_IN": {"CONFIRMED"},
}
#: The longest ``reserveForMinutes`` the fake takes: a week (a guess).
MAX_RESERVE = 10080

_ROOM_STAY = s.obj(
    {
        "rateId": s.integer("the rate to book at"),
        "startDate": s.date("the arrival day"),
        "endDate": s.date("the departure day"),
        "externalNotes": s.string(max_length=2000),
        "opsInformation": s.string(max_length=2000),
        "additionalAccessInformation": s.string(max_length=2000),
        "inventoryType": s.string("UNIT_TYPE when booking a unit type"),
        "inventoryTypeId": s.integer(
            "the unit type booked; must be the rate's (a guess)", source="client"
        ),
        "unitId": s.integer(
            "a unit of the rate's unit type; else the first free one", source="guess"
        ),
        "numberOfAdults": s.integer(minimum=0, maximum=100, source="client"),
        "numberOfChildren": s.integer(minimum=0, maximum=100, source="client"),
        "numberOfInfants": s.integer(minimum=0, maximum=100, source="client"),
        "guestIds": s.array(s.integer(), "contacts staying (a guess: not read)", source="client"),
    },
    ("rateId", "startDate", "endDate"),
)
CREATE_BOOKING = s.obj(
    {
        "channelId": s.integer(),
        "customerReference": s.string(),
        "bookingFinanceAccountId": s.integer("who the booking is for (a finance account)"),
        "billingFinanceAccountId": s.integer("who pays (a finance account)"),
        "bookingContactId": s.integer(),
        "billingContactId": s.integer(),
        "guarantorContactId": s.integer(),
        "billingFrequencyId": s.integer(),
        "bookingTypeId": s.integer(),
        "referrerId": s.integer(),
        "notes": s.string(max_length=4000),
        "reserveForMinutes": s.integer(
            "hold the units for this long (documented; at most a week is a guess)",
            minimum=1,
            maximum=MAX_RESERVE,
        ),
        "roomStays": s.array(_ROOM_STAY, min_items=1, max_items=100),
    },
    (
        "channelId",
        "bookingFinanceAccountId",
        "billingFinanceAccountId",
        "bookingContactId",
        "billingFrequencyId",
        "bookingTypeId",
        "roomStays",
    ),
)
UPDATE_STATUSES = s.obj(
    {
        "statusUpdates": s.array(
            s.obj(
                {
                    "roomStayId": s.integer(),
                    "status": s.string(
                        "PENDING, CONFIRMED or CHECKED_IN (others are refused)",
                        enum=ROOM_STAY_STATUSES,
                    ),
                },
                ("roomStayId", "status"),
            ),
            max_items=100,
        )
    },
    ("statusUpdates",),
)


def create_booking(request: ApiRequest) -> Answer:
    """Create a booking whose room stays start in ENQUIRY; answer its id and reference."""
    portfolio, body = request.portfolio, request.json()
    references: dict[str, Container[int]] = {
        "channelId": portfolio.channels,
        "bookingFinanceAccountId": portfolio.accounts,
        "billingFinanceAccountId": portfolio.accounts,
        "bookingContactId": portfolio.contacts,
        "billingFrequencyId": portfolio.billing_frequency_ids,
        "bookingTypeId": portfolio.booking_type_ids,
    }
    for name, known in references.items():
        if body[name] not in known:
            raise ApiError(400, f"{name} {body[name]} does not exist")
    for name in ("billingContactId", "guarantorContactId"):
        field_id(body, name, portfolio.contacts, required=False)
    reserve = body.get("reserveForMinutes")
    planned = [
        _plan_stay(request, index, stay, reserve) for index, stay in enumerate(body["roomStays"])
    ]
    booking = portfolio.add_booking(
        body["bookingContactId"],
        channel_id=body["channelId"],
        booking_account_id=body["bookingFinanceAccountId"],
        billing_account_id=body["billingFinanceAccountId"],
    )
    booking.customer_reference = body.get("customerReference")
    booking.billing_frequency_id = body["billingFrequencyId"]
    booking.booking_type_id = body["bookingTypeId"]
    for (unit_id, start, end), wanted in zip(planned, body["roomStays"], strict=True):
        stay = portfolio.add_stay(unit_id, start, end, status="ENQUIRY", booking_id=booking.id)
        stay.external_notes = wanted.get("externalNotes")
        stay.ops_information = wanted.get("opsInformation")
        if reserve is not None:
            stay.reserved_until = portfolio.now() + datetime.timedelta(minutes=reserve)
    return Answer(201, shapes.created_booking(portfolio, booking.id))


def _plan_stay(
    request: ApiRequest, index: int, stay: Any, reserve: int | None
) -> tuple[int, datetime.date, datetime.date]:
    portfolio = request.portfolio
    where = f"roomStays[{index}]"
    plan = portfolio.rate_plans.get(stay["rateId"])
    if plan is None:
        raise ApiError(400, f"{where}.rateId {stay['rateId']} does not exist")
    kind = stay.get("inventoryTypeId")
    if kind is not None and kind != plan.unit_type_id:
        raise ApiError(400, f"{where}.inventoryTypeId {kind} is not the unit type of its rate")
    start, end = (datetime.date.fromisoformat(stay[name]) for name in ("startDate", "endDate"))
    if end <= start:
        raise ApiError(400, f"{where}.endDate must be after its startDate")
    if stay.get("unitId") is not None:
        unit = portfolio.units.get(stay["unitId"])
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
    """Move room stays of a booking to PENDING, CONFIRMED or CHECKED_IN, all or none.

    Every move is checked first; then they are made one by one, and if one fails (its
    unit is held by another stay, perhaps one moved earlier in the same batch) every
    move made is undone before the 409, so the batch leaves nothing changed.
    """
    portfolio = request.portfolio
    booking_id = request.record(portfolio.bookings, "Booking", "bookingId").id
    moves: list[tuple[RoomStay, str]] = []
    for index, update in enumerate(request.json()["statusUpdates"]):
        where = f"statusUpdates[{index}]"
        stay = portfolio.room_stays.get(update["roomStayId"])
        if stay is None or stay.booking_id != booking_id:
            raise ApiError(400, f"{where}: room stay {update['roomStayId']} is not in this booking")
        status = update["status"]
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
    booking = portfolio.bookings[booking_id]
    before = [(stay, stay.status, stay.last_updated) for stay, _ in moves]
    touched = booking.last_updated
    try:
        for stay, status in moves:
            portfolio.set_status(stay, status)
    except ValueError as error:
        for stay, status, when in reversed(before):
            stay.status, stay.last_updated = status, when
        booking.last_updated = touched
        raise ApiError(409, f"{error}; no room stay of this batch was changed") from None
    for stay, status, _ in before:
        if status not in HOLDING_STATUSES:  # taken now: its first month is invoiced (a guess)
            portfolio.invoice_first_month(stay)
    return [shapes.room_stay_row(portfolio, stay) for stay, _ in moves]


ROUTES = [
    Route(
        "POST",
        "/api/v3/bookings",
        create_booking,
        "Create a booking (its room stays start in ENQUIRY)",
        "Bookings",
        status=201,
        schema=CREATE_BOOKING,
        example={
            "channelId": 1,
            "bookingFinanceAccountId": 701,
            "billingFinanceAccountId": 701,
            "bookingContactId": 5001,
            "billingFrequencyId": 1,
            "bookingTypeId": 1,
            "roomStays": [{"rateId": 60001, "startDate": "2026-12-01", "endDate": "2026-12-05"}],
        },
        sample=lambda p: shapes.created_booking(p, min(p.bookings)),
        guess="201 and the answer (id, bookingReference and the room stays, as public "
        "clients read them) are guesses; so is the unit chosen when roomStays name no unitId. "
        "Unknown ids are 400, no free unit 409. With reserveForMinutes the ENQUIRY stays hold "
        "their units for that long (documented), at most a week (a guess).",
    ),
    Route(
        "PUT",
        "/api/v3/bookings/{bookingId}/updateStatuses",
        update_statuses,
        "Move room stays of a booking to PENDING, CONFIRMED or CHECKED_IN",
        "Bookings",
        schema=UPDATE_STATUSES,
        example={"statusUpdates": [{"roomStayId": 30001, "status": "CONFIRMED"}]},
        source="doc",
        sample=lambda p: [shapes.room_stay_row(p, next(iter(p.room_stays.values())))],
        guess="The answer (the changed room-stay records) and which moves are allowed are "
        "guesses; a disallowed move, or a check-in outside the stay's nights, is 400; a "
        "double booking is 409, and then no stay of the batch changes. A stay taken (moved "
        "from ENQUIRY or QUOTED) gets a DRAFT invoice for its first month, due in 7 days "
        "(30 on a company's account), so that the guest can pay at once (a guess).",
    ),
]
