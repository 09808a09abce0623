"""Contacts: the list, one contact, and creating one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _schema as s
from .._http import Answer
from .._records import CONTACT_STATUSES, Contact
from .._routes import ApiRequest, Param, Query, Route
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


_EMAIL = s.obj(
    {
        "email": s.string(fmt="email"),
        "primary": s.boolean(),
        "type": s.string("PERSONAL, WORK... (not read)", source="client"),
    },
    ("email",),
)
_TELEPHONE = s.obj(
    {
        "number": s.string(max_length=40),
        "primary": s.boolean(),
        "type": s.string("MOBILE, HOME... (not read)", source="client"),
    },
    ("number",),
)
CREATE_CONTACT = s.obj(
    {
        "firstName": s.string(not_blank=True, max_length=100),
        "middleNames": s.string(max_length=100),
        "lastName": s.string(not_blank=True, max_length=100),
        "jobTitle": s.string(),
        "department": s.string(),
        "preferences": s.string(max_length=2000),
        "status": s.string("default ACTIVE", enum=CONTACT_STATUSES),
        "marketingOptOut": s.boolean(),
        "primaryContactEmailAddress": {**_EMAIL, "x-source": "client"},
        "contactEmailAddresses": s.array(_EMAIL, "the first primary one is kept", source="client"),
        "primaryContactTelephoneNumber": {**_TELEPHONE, "x-source": "client"},
        "contactTelephoneNumbers": s.array(_TELEPHONE, source="client"),
    },
    ("firstName", "lastName"),
)


def create_contact(request: ApiRequest) -> Answer:
    """Create a contact from its names, e-mail address and telephone number."""
    body = request.json()
    email = _primary(body, "primaryContactEmailAddress", "contactEmailAddresses", "email")
    created = request.portfolio.add_contact(
        body["firstName"].strip(), body["lastName"].strip(), email
    )
    created.middle_names = body.get("middleNames")
    created.marketing_opt_out = bool(body.get("marketingOptOut"))
    created.status = body.get("status") or "ACTIVE"
    created.telephone = _primary(
        body, "primaryContactTelephoneNumber", "contactTelephoneNumbers", "number"
    )
    for name in ("jobTitle", "department", "preferences"):
        setattr(created, _SNAKE[name], body.get(name))
    return Answer(201, shapes.contact(request.portfolio, created))


_SNAKE = {"jobTitle": "job_title", "department": "department", "preferences": "preferences"}


def _primary(body: Any, single: str, many: str, field: str) -> str | None:
    """Return the one given, else the first primary of the list, else the list's first."""
    given = body.get(single)
    if given is not None:
        return str(given[field])
    listed = body.get(many) or []
    chosen = next((entry for entry in listed if entry.get("primary")), None)
    chosen = chosen or (listed[0] if listed else None)
    return str(chosen[field]) if chosen is not None else None


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
        schema=CREATE_CONTACT,
        example={
            "firstName": "Ada",
            "lastName": "Lovelace",
            "primaryContactEmailAddress": {"email": "ada@example.com", "primary": True},
        },
        sample=_first,
        guess="Answers 201 with the new contact (a guess), which has a finance account of its "
        "own (contactSalesAccount), as every contact has, to book on (a guess: public booking "
        "clients book on contactSalesAccount.id). Of the e-mail and telephone fields, the "
        "primary one is kept; the other fields public clients send are ignored.",
    ),
]
