"""The fake API's routes, one module per resource group of the API description."""

from __future__ import annotations

from .._routes import Route
from . import availability, booking_writes, bookings, contacts, guest_stays, property

#: Every built-in route, in the order the OpenAPI document lists them.
ROUTES: list[Route] = [
    *bookings.ROUTES,
    *booking_writes.ROUTES,
    *guest_stays.ROUTES,
    *property.ROUTES,
    *contacts.ROUTES,
    *availability.ROUTES,
]
