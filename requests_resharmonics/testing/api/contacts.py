"""Contacts: the list, one contact, and creating one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._http import Answer
from .._records import CONTACT_STATUSES, Contact
from .._routes import ApiError, ApiRequest, Param, Query, Route, require_fields
from . import shapes


def person_filter(query: Query) -> Callable[[Contact], bool]:
    """Return a test of ``emailAddress``, ``firstName`` and ``lastName``.

    Each is matched whole and ignoring case. The guest-stays list documents these names; on
    the contacts list they are a guess.
    """
    wanted = {
        "email": query.text("emailAddress"),
        "first_name": query.text("firstName"),
        "last_name": query.text("lastName"),
    }
    given = {field: value.lower() for field, value in wanted.items() if value is not None}
    return lambda contact: all(
        str(getattr(contact, field)).lower() == value for field, value in given.items()
    )


def list_contacts(request: ApiRequest) -> list[Any]:
    """Return contacts, filtered on e-mail address and names."""
    portfolio, matches = request.portfolio, person_filter(request.query)
    contacts = (portfolio.contacts[key] for key in sorted(portfolio.contacts))
    return [shapes.contact(portfolio, contact) for contact in contacts if matches(contact)]


def contact(request: ApiRequest) -> Any:
    """One contact."""
    found = request.record(request.portfolio.contacts, "Contact")
    return shapes.contact(request.portfolio, found)


def create_contact(request: ApiRequest) -> Answer:
    """Create a contact from ``firstName``, ``lastName`` and ``primaryContactEmailAddress``."""
    body = require_fields(request.json(), ("firstName", "lastName"))
    email = body.get("primaryContactEmailAddress")
    address = email.get("email") if isinstance(email, dict) else None
    if address is not None and (not isinstance(address, str) or "@" not in address):
        raise ApiError(400, "primaryContactEmailAddress.email must be an e-mail address")
    status = str(body.get("status") or "ACTIVE").upper()
    if status not in CONTACT_STATUSES:
        raise ApiError(400, f"status must be one of {', '.join(CONTACT_STATUSES)}")
    created = request.portfolio.add_contact(str(body["firstName"]), str(body["lastName"]), address)
    created.middle_names = body.get("middleNames")
    created.marketing_opt_out = bool(body.get("marketingOptOut", False))
    created.status = status
    return Answer(201, shapes.contact(request.portfolio, created))


def _first(portfolio: Any) -> Any:
    return shapes.contact(portfolio, portfolio.contacts[min(portfolio.contacts)])


ROUTES = [
    Route(
        "GET",
        "/api/v3/contacts",
        list_contacts,
        "List contacts",
        "Contacts",
        params=(
            Param("emailAddress", source="guess"),
            Param("firstName", source="guess"),
            Param("lastName", source="guess"),
        ),
        paged=True,
        sample=_first,
        guess="The description mentions filters on e-mail, names, telephone and account "
        "without naming them: emailAddress, firstName and lastName are guesses, matched whole "
        "and ignoring case.",
    ),
    Route(
        "GET",
        "/api/v3/contacts/{id}",
        contact,
        "Get one contact",
        "Contacts",
        sample=_first,
        guess="primaryContactEmailAddress and contactSalesAccount's inner fields are guesses.",
    ),
    Route(
        "POST",
        "/api/v3/contacts",
        create_contact,
        "Create a contact",
        "Contacts",
        status=201,
        source="client",
        body={
            "firstName": "Ada",
            "lastName": "Lovelace",
            "primaryContactEmailAddress": {"email": "ada@example.com", "primary": True},
        },
        sample=_first,
        guess="Answers 201 with the new contact (a guess).",
    ),
]
