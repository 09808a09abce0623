"""More of bookings and room stays: one booking, a stay's guests, the room-stay lock."""

from __future__ import annotations

from typing import Any

from .._routes import ApiRequest, Route
from . import shapes


def booking(request: ApiRequest) -> Any:
    """Return one booking with its room stays."""
    found = request.record(request.portfolio.bookings, "Booking")
    return shapes.booking_detail(request.portfolio, found.id)


def guests(request: ApiRequest) -> list[Any]:
    """Return the contacts staying in a room stay: its guest stays' contacts, in order."""
    portfolio = request.portfolio
    stay = request.record(portfolio.room_stays, "RoomStay")
    contacts = [portfolio.contacts[portfolio.guest_stays[key].contact_id] for key in stay.guests]
    return [shapes.contact(portfolio, contact) for contact in contacts]


def lock(request: ApiRequest) -> Any:
    """Lock a room stay to its unit; answer the room stay."""
    portfolio = request.portfolio
    with portfolio.lock:
        stay = request.record(portfolio.room_stays, "RoomStay")
        stay.locked = True
        stay.last_updated = portfolio.now()
    return shapes.room_stay_detail(portfolio, stay)


def _first_stay(portfolio: Any) -> Any:
    return portfolio.room_stays[min(portfolio.room_stays)]


ROUTES = [
    Route(
        "GET",
        "/api/v3/bookings/{id}",
        booking,
        "Get one booking",
        "Bookings",
        source="guess",
        sample=lambda p: shapes.booking_detail(p, min(p.bookings)),
        guess="Used by a public client, not in the recovered description: every field is a "
        "guess, named as the booking rows and the create body name them.",
    ),
    Route(
        "GET",
        "/api/v3/roomStays/{id}/guests",
        guests,
        "The guests of a room stay (its guest stays' contacts)",
        "Room Stays",
        paged=True,
        sample=lambda p: shapes.contact(p, p.contacts[min(p.contacts)]),
        guess="Paged like the other lists; primaryContactEmailAddress in the rows is a guess.",
    ),
    Route(
        "PATCH",
        "/api/v3/roomStays/roomStays/{id}/lock",
        lock,
        "Lock a room stay to its unit",
        "Room Stays",
        sample=lambda p: shapes.room_stay_detail(p, _first_stay(p)),
        guess="The path is spelled as the description spells it; what a lock stops is not "
        "documented: the fake records it as locked: true in the room-stay detail (a guess).",
    ),
]
