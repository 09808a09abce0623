"""Bookings and room stays: the lists (one row per room stay), the detail, and the writes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .._portfolio import Portfolio
from .._records import ROOM_STAY_STATUSES, RoomStay
from .._routes import ApiRequest, Param, Query, Route
from . import shapes

_DATE_RANGE = (
    Param("dateFrom", "date", "stays that end on or after this date (an overlap filter)"),
    Param("dateTo", "date", "stays that start on or before this date"),
)
_STAY_FILTERS = (
    *_DATE_RANGE,
    Param("lastUpdatedFrom", "date-time", "changed at or after (a date or a date-time)"),
    Param("lastUpdatedTo", "date-time", "changed at or before"),
    Param(
        "statuses",
        "array",
        "room-stay statuses, repeated or comma-separated",
        enum=ROOM_STAY_STATUSES,
    ),
    Param("unitId", "integer"),
    Param("bookingContactId", "integer"),
    Param("bookingAccountId", "integer"),
    Param("billingAccountId", "integer"),
    Param("channelId", "integer"),
    Param("bookingId", "integer"),
    Param("organisationSettingsId", "integer"),
    Param("bookingReference"),
    Param("otaReference"),
    Param("customerReference"),
)
_BOOKING_FILTERS = (
    *_STAY_FILTERS,
    Param("createdFrom", "date-time", "created at or after"),
    Param("createdTo", "date-time", "created at or before"),
)
_ROOM_STAY_FILTERS = (
    *_STAY_FILTERS,
    Param("createFrom", "date-time", "created at or after (spelled so in the description)"),
    Param("createTo", "date-time", "created at or before"),
    Param("checkOutDateFrom", "date", "stays that end on or after this date", source="live"),
    Param("checkOutDateTo", "date", "stays that end on or before this date", source="live"),
)

Check = Callable[[RoomStay], bool]


def matching_stays(portfolio: Portfolio, query: Query, created: str) -> list[RoomStay]:
    """Return the room stays that pass every filter; ``created`` names the created-date pair."""
    checks = _filters(portfolio, query, created)
    stays = sorted(portfolio.room_stays.values(), key=_by_id)
    return [stay for stay in stays if all(check(stay) for check in checks)]


def _filters(portfolio: Portfolio, query: Query, created: str) -> list[Check]:
    checks: list[Check] = []
    date_from, date_to = query.date("dateFrom"), query.date("dateTo")
    if date_from is not None:
        checks.append(lambda stay: stay.end >= date_from)
    if date_to is not None:
        checks.append(lambda stay: stay.start <= date_to)
    checks.extend(_moment_range(query, "lastUpdated", lambda stay: _touched(portfolio, stay)))
    checks.extend(_moment_range(query, created, lambda stay: stay.created))
    out_from, out_to = query.date("checkOutDateFrom"), query.date("checkOutDateTo")
    if out_from is not None:
        checks.append(lambda stay: stay.end >= out_from)
    if out_to is not None:
        checks.append(lambda stay: stay.end <= out_to)
    statuses = query.choices("statuses", ROOM_STAY_STATUSES)
    if statuses:
        checks.append(lambda stay: stay.status in statuses)
    booking_fields: dict[str, Callable[[RoomStay], object]] = {
        "unitId": lambda stay: stay.unit_id,
        "bookingId": lambda stay: stay.booking_id,
        "bookingContactId": lambda stay: portfolio.bookings[stay.booking_id].contact_id,
        "bookingAccountId": lambda stay: portfolio.bookings[stay.booking_id].booking_account_id,
        "billingAccountId": lambda stay: portfolio.bookings[stay.booking_id].billing_account_id,
        "channelId": lambda stay: portfolio.bookings[stay.booking_id].channel_id,
        "organisationSettingsId": lambda s: portfolio.bookings[s.booking_id].organisation_id,
    }
    for name, read in booking_fields.items():
        wanted = query.integer(name)
        if wanted is not None:
            checks.append(_equals(read, wanted))
    references: dict[str, Callable[[RoomStay], object]] = {
        "bookingReference": lambda stay: portfolio.bookings[stay.booking_id].reference,
        "otaReference": lambda stay: portfolio.bookings[stay.booking_id].ota_reference,
        "customerReference": lambda stay: portfolio.bookings[stay.booking_id].customer_reference,
    }
    for name, read in references.items():
        text = query.text(name)
        if text is not None:
            checks.append(_equals(read, text))
    return checks


def _equals(read: Callable[[RoomStay], object], wanted: object) -> Check:
    return lambda stay: read(stay) == wanted


def _moment_range(
    query: Query, prefix: str, read: Callable[[RoomStay], datetime.datetime]
) -> list[Check]:
    checks: list[Check] = []
    start, end = query.moment(prefix + "From"), query.moment(prefix + "To")
    if start is not None:
        checks.append(lambda stay: read(stay) >= start)
    if end is not None:
        checks.append(lambda stay: read(stay) <= end)
    return checks


def _touched(portfolio: Portfolio, stay: RoomStay) -> datetime.datetime:
    return max(stay.last_updated, portfolio.bookings[stay.booking_id].last_updated)


# -- handlers ----------------------------------------------------------------------------


def list_bookings(request: ApiRequest) -> list[Any]:
    """One row per room stay; PENDING stays only when ``statuses`` asks for them (client)."""
    portfolio = request.portfolio
    stays = matching_stays(portfolio, request.query, "created")
    if not request.query.values("statuses"):
        stays = [stay for stay in stays if stay.status != "PENDING"]
    return [shapes.booking_row(portfolio, stay) for stay in stays]


def list_room_stays(request: ApiRequest) -> list[Any]:
    """Room stays, filtered as the bookings list is, plus check-out dates."""
    portfolio = request.portfolio
    stays = matching_stays(portfolio, request.query, "create")
    return [shapes.room_stay_row(portfolio, stay) for stay in stays]


def room_stays_of_booking(request: ApiRequest) -> list[Any]:
    """Return the room stays of one booking."""
    portfolio = request.portfolio
    booking_id = request.record(portfolio.bookings, "Booking").id
    stays = [stay for stay in portfolio.room_stays.values() if stay.booking_id == booking_id]
    return [shapes.room_stay_row(portfolio, stay) for stay in sorted(stays, key=_by_id)]


def room_stay(request: ApiRequest) -> Any:
    """One room stay in detail."""
    stay = request.record(request.portfolio.room_stays, "RoomStay")
    return shapes.room_stay_detail(request.portfolio, stay)


def _by_id(stay: RoomStay) -> int:
    return stay.id


def _first(portfolio: Portfolio) -> RoomStay:
    return portfolio.room_stays[min(portfolio.room_stays)]


ROUTES = [
    Route(
        "GET",
        "/api/v3/bookings",
        list_bookings,
        "List bookings, one row per room stay",
        "Bookings",
        params=_BOOKING_FILTERS,
        paged=True,
        sample=lambda p: shapes.booking_row(p, _first(p)),
        guess="Date filters are inclusive at both ends; PENDING rows are left out unless "
        "statuses names them (seen in a public client, not documented).",
    ),
    Route(
        "GET",
        "/api/v3/bookings/{id}/roomStays",
        room_stays_of_booking,
        "List the room stays of one booking",
        "Bookings",
        paged=True,
        sample=lambda p: shapes.room_stay_row(p, _first(p)),
    ),
    Route(
        "GET",
        "/api/v3/roomStays",
        list_room_stays,
        "List room stays",
        "Room Stays",
        params=_ROOM_STAY_FILTERS,
        paged=True,
        sample=lambda p: shapes.room_stay_row(p, _first(p)),
        guess="The created-date filter is createFrom/createTo here, as the description "
        "spells it; createdFrom is ignored like any unknown parameter.",
    ),
    Route(
        "GET",
        "/api/v3/roomStays/{id}",
        room_stay,
        "Get one room stay",
        "Room Stays",
        sample=lambda p: shapes.room_stay_detail(p, _first(p)),
    ),
]
