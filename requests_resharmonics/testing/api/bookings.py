"""Bookings and room stays: the lists (one room-stay record each), the detail, and the writes.

Each list's filters are declared once, as `Filter` pairs of a parameter and its test, so
a list applies exactly the parameters its OpenAPI document declares, spelled as the
description spells them: ``createdFrom``/``createdTo`` on bookings, ``createFrom``/
``createdTo`` on room stays (doc), plus ``checkOutDateFrom``/``checkOutDateTo`` on room
stays only (seen in the live OpenAPI document). Any other spelling is an unknown
parameter, ignored as Spring ignores it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from .._portfolio import Portfolio
from .._records import ROOM_STAY_STATUSES, RoomStay
from .._routes import ApiRequest, Param, Route
from . import shapes
from ._declare import Filter, passing

Test = Callable[[Portfolio, RoomStay, Any], bool]


def _of_booking(attribute: str) -> Test:
    """Return a test of an attribute of the stay's booking against the value."""
    return lambda p, stay, value: getattr(p.bookings[stay.booking_id], attribute) == value


def _touched(portfolio: Portfolio, stay: RoomStay) -> datetime.datetime:
    return max(stay.last_updated, portfolio.bookings[stay.booking_id].last_updated)


def _created(bound: str) -> Test:
    if bound == "from":
        return lambda p, stay, moment: stay.created >= moment
    return lambda p, stay, moment: stay.created <= moment


_STAY_FILTERS = (
    Filter(
        Param("dateFrom", "date", "stays that end on or after this date (an overlap filter)"),
        lambda p, stay, day: stay.end >= day,
    ),
    Filter(
        Param("dateTo", "date", "stays that start on or before this date"),
        lambda p, stay, day: stay.start <= day,
    ),
    Filter(
        Param("lastUpdatedFrom", "date-time", "changed at or after (a date or a date-time)"),
        lambda p, stay, moment: _touched(p, stay) >= moment,
    ),
    Filter(
        Param("lastUpdatedTo", "date-time", "changed at or before"),
        lambda p, stay, moment: _touched(p, stay) <= moment,
    ),
    Filter(
        Param(
            "statuses",
            "array",
            "room-stay statuses, repeated or comma-separated",
            enum=ROOM_STAY_STATUSES,
        ),
        lambda p, stay, statuses: stay.status in statuses,
    ),
    Filter(Param("unitId", "integer"), lambda p, stay, key: stay.unit_id == key),
    Filter(Param("bookingContactId", "integer"), _of_booking("contact_id")),
    Filter(Param("bookingAccountId", "integer"), _of_booking("booking_account_id")),
    Filter(Param("billingAccountId", "integer"), _of_booking("billing_account_id")),
    Filter(Param("channelId", "integer"), _of_booking("channel_id")),
    Filter(Param("bookingId", "integer"), lambda p, stay, key: stay.booking_id == key),
    Filter(Param("organisationSettingsId", "integer"), _of_booking("organisation_id")),
    Filter(Param("bookingReference"), _of_booking("reference")),
    Filter(Param("otaReference"), _of_booking("ota_reference")),
    Filter(Param("customerReference"), _of_booking("customer_reference")),
)
_BOOKING_FILTERS = (
    *_STAY_FILTERS,
    Filter(Param("createdFrom", "date-time", "created at or after"), _created("from")),
    Filter(Param("createdTo", "date-time", "created at or before"), _created("to")),
)
_ROOM_STAY_FILTERS = (
    *_STAY_FILTERS,
    Filter(
        Param("createFrom", "date-time", "created at or after (spelled so in the description)"),
        _created("from"),
    ),
    Filter(Param("createdTo", "date-time", "created at or before"), _created("to")),
    Filter(
        Param("checkOutDateFrom", "date", "stays that end on or after this date", source="live"),
        lambda p, stay, day: stay.end >= day,
    ),
    Filter(
        Param("checkOutDateTo", "date", "stays that end on or before this date", source="live"),
        lambda p, stay, day: stay.end <= day,
    ),
)


def _stays(portfolio: Portfolio) -> list[RoomStay]:
    return sorted(portfolio.room_stays.values(), key=_by_id)


# -- handlers ----------------------------------------------------------------------------


def list_bookings(request: ApiRequest) -> list[Any]:
    """One row per room stay; PENDING stays only when ``statuses`` asks for them (client)."""
    portfolio = request.portfolio
    stays = passing(request, _BOOKING_FILTERS, _stays(portfolio))
    if not request.query.values("statuses"):
        stays = [stay for stay in stays if stay.status != "PENDING"]
    return [shapes.room_stay_row(portfolio, stay) for stay in stays]


def list_room_stays(request: ApiRequest) -> list[Any]:
    """Room stays, filtered as the bookings list is, plus check-out dates."""
    portfolio = request.portfolio
    stays = passing(request, _ROOM_STAY_FILTERS, _stays(portfolio))
    return [shapes.room_stay_row(portfolio, stay) for stay in stays]


def room_stays_of_booking(request: ApiRequest) -> list[Any]:
    """Return the room stays of one booking."""
    portfolio = request.portfolio
    booking_id = request.record(portfolio.bookings, "Booking").id
    stays = [stay for stay in _stays(portfolio) if stay.booking_id == booking_id]
    return [shapes.room_stay_row(portfolio, stay) for stay in stays]


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
        params=tuple(found.param for found in _BOOKING_FILTERS),
        paged=True,
        sample=lambda p: shapes.room_stay_row(p, _first(p)),
        guess="Date filters are inclusive at both ends; PENDING rows are left out unless "
        "statuses names them (seen in a public client, not documented). The rows are the "
        "room-stay records the room-stay lists answer (the description calls them "
        "room-stay-style records).",
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
        params=tuple(found.param for found in _ROOM_STAY_FILTERS),
        paged=True,
        sample=lambda p: shapes.room_stay_row(p, _first(p)),
        guess="The created-date filters are createFrom and createdTo here, as the description "
        "spells them; createdFrom and createTo are unknown parameters, ignored.",
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
