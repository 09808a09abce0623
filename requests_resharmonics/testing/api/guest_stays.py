"""Guest stays: who stays in which room stay; dates and status are the room stay's."""

from __future__ import annotations

from typing import Any

from .._records import ROOM_STAY_STATUSES, GuestStay
from .._routes import ApiRequest, Param, Route
from . import shapes
from .contacts import person_filter

#: The statuses listed when the request names none (doc).
DEFAULT_STATUSES = ("CONFIRMED", "CHECKED_IN", "CHECKED_OUT")


def list_guest_stays(request: ApiRequest) -> list[Any]:
    """Guest stays overlapping the dates, of the given statuses (by default the three above)."""
    portfolio, query = request.portfolio, request.query
    statuses = query.choices("statuses", ROOM_STAY_STATUSES) or list(DEFAULT_STATUSES)
    date_from, date_to = query.date("dateFrom"), query.date("dateTo")
    unit_id, contact_id = query.integer("unitId"), query.integer("contactId")
    person = person_filter(query)
    reference = query.text("bookingReference")
    rows = []
    for guest in sorted(portfolio.guest_stays.values(), key=_by_id):
        stay = portfolio.room_stays[guest.room_stay_id]
        contact = portfolio.contacts[guest.contact_id]
        wanted = (
            stay.status in statuses
            and (date_from is None or stay.end >= date_from)
            and (date_to is None or stay.start <= date_to)
            and unit_id in (None, stay.unit_id)
            and contact_id in (None, guest.contact_id)
            and person(contact)
            and reference in (None, portfolio.bookings[stay.booking_id].reference)
        )
        if wanted:
            rows.append(shapes.guest_stay_row(portfolio, guest))
    return rows


def guest_stay(request: ApiRequest) -> Any:
    """One guest stay, with its contact and room stay."""
    guest = request.record(request.portfolio.guest_stays, "GuestStay")
    return shapes.guest_stay_detail(request.portfolio, guest)


def _by_id(guest: GuestStay) -> int:
    return guest.id


def _first(portfolio: Any) -> GuestStay:
    return next(iter(portfolio.guest_stays.values()))  # type: ignore[no-any-return]


ROUTES = [
    Route(
        "GET",
        "/api/v3/guestStays",
        list_guest_stays,
        "List guest stays",
        "Guest Stays",
        params=(
            Param("dateFrom", "date", "stays that end on or after this date"),
            Param("dateTo", "date", "stays that start on or before this date"),
            Param("unitId", "integer"),
            Param("contactId", "integer"),
            Param("emailAddress"),
            Param("firstName"),
            Param("lastName"),
            Param("bookingReference"),
            Param(
                "statuses",
                "array",
                "default CONFIRMED, CHECKED_IN, CHECKED_OUT",
                enum=ROOM_STAY_STATUSES,
            ),
        ),
        paged=True,
        sample=lambda p: shapes.guest_stay_row(p, _first(p)),
        guess="Names and e-mail addresses match whole and ignoring case.",
    ),
    Route(
        "GET",
        "/api/v3/guestStays/{id}",
        guest_stay,
        "Get one guest stay",
        "Guest Stays",
        sample=lambda p: shapes.guest_stay_detail(p, _first(p)),
        guess="The fields inside contact and roomStay are guesses.",
    ),
]
