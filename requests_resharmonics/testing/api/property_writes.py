"""The writes of the property side: units, unit types, buildings, guest stays, contact merges.

Their bodies are guesses (the pages were not seen, but for the building's), chosen as a
Spring service takes them: the shape it answers with, ids of other records as numbers or
as ``{"id": ...}`` objects. Each answers 201 with the new record, as the fake's other
creations do; what they make appears at once in every list, detail and availability.
"""

from __future__ import annotations

from typing import Any

from .. import _schema as s
from .._http import Answer
from .._portfolio import next_id
from .._records import GUEST_STAY_TYPES, UNIT_TYPE_KINDS, Building, GuestStay, UnitType
from .._reference_records import MANAGEMENT_TYPES
from .._routes import ApiError, ApiRequest, Param, Route
from . import shapes
from ._declare import field_id, field_text

#: The unit-type kinds a new unit type may have (the description lists these and more).
_KINDS = (*UNIT_TYPE_KINDS, "FOUR_BEDROOM", "FIVE_BEDROOM", "SIX_BEDROOM")

CREATE_UNIT = s.obj(
    {
        "name": s.string(not_blank=True),
        "unitType": s.reference("unit type"),
        "unitTypeId": s.integer("the unit type, when unitType is not given"),
        "bookable": s.boolean("default true"),
        "publish": s.boolean("default true"),
    },
    ("name",),
    source="guess",
)
CREATE_UNIT_TYPE = s.obj(
    {
        "building": s.reference("building"),
        "name": s.string(not_blank=True),
        "type": s.string("default STUDIO", enum=_KINDS),
        "unitTypeCode": s.string(max_length=50),
        "shortDescription": s.string(max_length=500),
        "minStay": s.integer("nights, default 1", minimum=1, maximum=100_000),
        "maxStay": s.integer("nights, default 365", minimum=1, maximum=100_000),
        "maxOccupancy": s.integer("default 2", minimum=1, maximum=100_000),
    },
    ("building", "name"),
    source="guess",
)
_ADDRESS = s.obj(
    {
        "id": s.integer(),
        "addressLine1": s.string(not_blank=True),
        "addressLine2": s.string(),
        "addressLine3": s.string(),
        "city": s.string(not_blank=True, max_length=100),
        "postCode": s.string(not_blank=True, max_length=20),
        "country": s.obj(
            {"id": s.integer(), "name": s.string(), "sortOrder": s.integer()},
            ("name", "sortOrder"),
            "accepted and ignored: every building is in the United Kingdom (a guess)",
        ),
    },
    ("addressLine1", "city", "postCode"),
    "addressLine1, city and postCode are required (a guess)",
)
CREATE_BUILDING = s.obj(
    {
        "id": s.integer(),
        "buildingName": s.string("default addressLine1", source="guess"),
        "buildingManagementType": s.string(enum=MANAGEMENT_TYPES),
        "buildingAddress": _ADDRESS,
        "networkOperator": s.obj({"id": s.integer(), "companyName": s.string()}),
        "development": s.obj({"id": s.integer(), "name": s.string()}),
    },
    ("buildingManagementType", "buildingAddress"),
)
CREATE_GUEST_STAY = s.obj(
    {
        "roomStayId": s.integer(),
        "roomStay": s.reference("room stay"),
        "contactId": s.integer(),
        "contact": s.reference("contact"),
        "type": s.string("default OVERNIGHT", enum=GUEST_STAY_TYPES),
    },
    description="roomStayId (or roomStay) and contactId (or contact) are required",
    source="guess",
)
MERGE_CONTACTS = s.obj(
    {
        "primaryContactId": s.integer("the contact kept"),
        "duplicateContactIds": s.array(s.integer(), "the contacts folded into it", min_items=1),
    },
    ("primaryContactId", "duplicateContactIds"),
    source="guess",
)


def _either(body: Any, one: str, other: str) -> str:
    """Return whichever of two spellings of a reference the body uses (``one`` if neither)."""
    return other if body.get(one) is None and body.get(other) is not None else one


def create_unit(request: ApiRequest) -> Answer:
    """Add a unit of a unit type."""
    portfolio, body = request.portfolio, request.json()
    type_id = int(
        field_id(body, _either(body, "unitType", "unitTypeId"), portfolio.unit_types) or 0
    )
    unit = portfolio.add_unit(
        body["name"].strip()[:200],
        type_id,
        bookable=body.get("bookable") is not False,
        publish=body.get("publish") is not False,
    )
    return Answer(201, shapes.unit_detail(portfolio, unit))


def create_unit_type(request: ApiRequest) -> Answer:
    """Add a unit type to a building (without rates until the operator sets some)."""
    portfolio, body = request.portfolio, request.json()
    building_id = int(field_id(body, "building", portfolio.buildings) or 0)
    min_stay, max_stay = body.get("minStay") or 1, body.get("maxStay") or 365
    if max_stay < min_stay:
        raise ApiError(400, "maxStay must not be less than minStay")
    name = body["name"].strip()
    with portfolio.lock:
        type_id = next_id(portfolio.unit_types, 10)
        record = UnitType(
            id=type_id,
            building_id=building_id,
            name=name,
            code=body.get("unitTypeCode") or f"UT-{type_id}",
            description=body.get("shortDescription") or name,
            kind=body.get("type") or "STUDIO",
            min_stay=min_stay,
            max_stay=max_stay,
            max_occupancy=body.get("maxOccupancy") or 2,
            nightly_rate=0.0,
        )
        portfolio.unit_types[type_id] = record
    return Answer(201, shapes.unit_type(portfolio, record))


def create_building(request: ApiRequest) -> Answer:
    """Add a building; ``buildingManagementType`` and ``buildingAddress`` are required (doc)."""
    portfolio, body = request.portfolio, request.json()
    address = body["buildingAddress"]
    line1 = str(field_text(address, "addressLine1"))
    city = str(field_text(address, "city"))
    postcode = str(field_text(address, "postCode"))
    name = field_text(body, "buildingName", required=False) or line1
    management = body["buildingManagementType"]
    with portfolio.lock:
        record = Building(next_id(portfolio.buildings), name, line1, city, postcode, management)
        portfolio.buildings[record.id] = record
    return Answer(201, shapes.building(portfolio, record.id))


def create_guest_stay(request: ApiRequest) -> Answer:
    """Add a guest to a room stay: the guest stay takes the stay's dates and status."""
    portfolio, body = request.portfolio, request.json()
    stay_key = _either(body, "roomStayId", "roomStay")
    contact_key = _either(body, "contactId", "contact")
    stay_id = int(field_id(body, stay_key, portfolio.room_stays) or 0)
    contact_id = int(field_id(body, contact_key, portfolio.contacts) or 0)
    kind = body.get("type") or "OVERNIGHT"
    with portfolio.lock:
        stay = portfolio.room_stays[stay_id]
        if any(portfolio.guest_stays[key].contact_id == contact_id for key in stay.guests):
            raise ApiError(400, f"contact {contact_id} is already a guest of room stay {stay_id}")
        guest = GuestStay(next_id(portfolio.guest_stays, 40000), stay_id, contact_id, kind)
        portfolio.guest_stays[guest.id] = guest
        stay.guests.append(guest.id)
    return Answer(201, shapes.guest_stay_detail(portfolio, guest))


def merge_contacts(request: ApiRequest) -> Any:
    """Fold duplicate contacts into one: their bookings, stays and accounts move to it."""
    portfolio, body = request.portfolio, request.json()
    keep = int(field_id(body, "primaryContactId", portfolio.contacts) or 0)
    duplicates = set(body["duplicateContactIds"])
    unknown = sorted(duplicates - portfolio.contacts.keys())
    if unknown:
        raise ApiError(400, f"duplicateContactIds: contact {unknown[0]} does not exist")
    if keep in duplicates:
        raise ApiError(400, "primaryContactId must not be among duplicateContactIds")
    with portfolio.lock:
        for booking in portfolio.bookings.values():
            if booking.contact_id in duplicates:
                booking.contact_id = keep
                booking.last_updated = portfolio.now()
        for guest in portfolio.guest_stays.values():
            if guest.contact_id in duplicates:
                guest.contact_id = keep
        for account in portfolio.accounts.values():
            if account.contact_id in duplicates:
                account.contact_id = keep
        for key in duplicates:
            portfolio.contacts[key].status = "REMOVED"
    return shapes.contact(portfolio, portfolio.contacts[keep])


def _first(table: dict[int, Any]) -> Any:
    return table[min(table)]


ROUTES = [
    Route(
        "POST",
        "/api/v3/units",
        create_unit,
        "Create a unit",
        "Units",
        status=201,
        schema=CREATE_UNIT,
        example={"name": "Harbour House 901", "unitType": {"id": 11}, "bookable": True},
        sample=lambda p: shapes.unit_detail(p, _first(p.units)),
        guess="The body (the detail's shape: name, unitType {id}, bookable, publish) and 201 "
        "are guesses.",
    ),
    Route(
        "POST",
        "/api/v3/unitTypes",
        create_unit_type,
        "Create a unit type",
        "Unit Types",
        status=201,
        schema=CREATE_UNIT_TYPE,
        example={
            "building": {"id": 1},
            "name": "Penthouse",
            "type": "TWO_BEDROOM",
            "maxOccupancy": 4,
        },
        sample=lambda p: shapes.unit_type(p, _first(p.unit_types)),
        guess="The body (the unit type's shape) and 201 are guesses; a new unit type has no "
        "rates, so its units are not offered by the availability search.",
    ),
    Route(
        "POST",
        "/api/v3/buildings",
        create_building,
        "Create a building",
        "Building",
        params=(Param("currentUser", required=True),),
        status=201,
        schema=CREATE_BUILDING,
        example={
            "buildingName": "Dock Yard",
            "buildingManagementType": "MANAGED",
            "buildingAddress": {
                "addressLine1": "3 Dock Road",
                "city": "Bristol",
                "postCode": "BS1 6AA",
            },
        },
        sample=lambda p: shapes.building(p, min(p.buildings)),
        guess="buildingName (the list's name for it) and 201 are guesses; the address's "
        "country, the network operator and the development are accepted and ignored.",
    ),
    Route(
        "POST",
        "/api/v3/guestStays",
        create_guest_stay,
        "Add a guest to a room stay",
        "Guest Stays",
        status=201,
        schema=CREATE_GUEST_STAY,
        example={"roomStayId": 30001, "contactId": 5001, "type": "OVERNIGHT"},
        sample=lambda p: shapes.guest_stay_detail(p, _first(p.guest_stays)),
        guess="The body (roomStayId, contactId, type) and 201 are guesses; the same contact "
        "twice in one stay is 400.",
    ),
    Route(
        "POST",
        "/api/v3/contacts/merge",
        merge_contacts,
        "Merge duplicate contacts into one",
        "Contacts",
        schema=MERGE_CONTACTS,
        example={"primaryContactId": 5001, "duplicateContactIds": [5002]},
        sample=lambda p: shapes.contact(p, _first(p.contacts)),
        guess="The body and the answer (the kept contact) are guesses; duplicates stay, "
        "with status REMOVED, their bookings and guest stays moved to the kept contact.",
    ),
]
