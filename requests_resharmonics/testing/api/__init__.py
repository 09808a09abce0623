"""The fake API's routes, one module per resource group of the API description.

Groups that are plain lists and details are declared as data (`_declare.Group`: a path, a
table, a shape and the list's filters); the rest are routes with their own handlers.
"""

from __future__ import annotations

from .._routes import Route
from . import (
    availability,
    booking_writes,
    bookings,
    contacts,
    guest_stays,
    invoices,
    payments,
    property,
    property_writes,
    reference,
    stay_details,
)

#: Every built-in route, in the order the OpenAPI document lists them.
ROUTES: list[Route] = [
    *bookings.ROUTES,
    *stay_details.ROUTES,
    *booking_writes.ROUTES,
    *guest_stays.ROUTES,
    *property.ROUTES,
    *property_writes.ROUTES,
    *contacts.ROUTES,
    *availability.ROUTES,
    *invoices.ROUTES,
    *payments.ROUTES,
    *reference.ROUTES,
]
