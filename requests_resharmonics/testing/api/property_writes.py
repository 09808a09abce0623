"""The writes of the property side: units, unit types, buildings, guest stays, contact merges.

Their bodies are guesses (the pages were not seen, but for the building's), chosen as a
Spring service takes them: the shape it answers with, ids of other records as numbers or
as ``{"id": ...}`` objects. Each answers 201 with the new record, as the fake's other
creations do; what they make appears at once in every list, detail and availability.
"""

from __future__ import annotations

from typing import Any

from .._http import Answer
from .._portfolio import next_id
from .._records import GUEST_STAY_TYPES, UNIT_TYPE_KINDS, Building, GuestStay, UnitType
from .._reference_records import MANAGEMENT_TYPES
from .._routes import ApiError, ApiRequest, Param, Route
from . import shapes
from ._declare import body_object, field_id, field_text

#: The unit-type kinds a new unit type may have (the description lists these and more).
_KINDS = (*UNIT_TYPE_KINDS, "FOUR_BEDROOM", "FIVE_BEDROOM", "SIX_BEDROOM")


def _whole(body: dict[str, Any], name: str, default: int, low: int = 0) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 100_000:
        raise ApiError(400, f"{name} must be a whole number from {low}")
    return value


def create_unit(request: ApiRequest) -> Answer:
    """Add a unit of a unit type."""
    portfolio, body = request.portfolio, body_object(request)
    name = str(field_text(body, "name"))[:200]
    key = "unitType" if "unitType" in body else "unitTypeId"
    type_id = int(field_id(body, key, portfolio.unit_types) or 0)
    flags = {flag: body.get(flag, True) for flag in ("bookable", "publish")}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise ApiError(400, "bookable and publish must be true or false")
    unit = portfolio.add_unit(name, type_id, bookable=flags["bookable"], publish=flags["publish"])
    return Answer(201, shapes.unit_detail(portfolio, unit))


def create_unit_type(request: ApiRequest) -> Answer:
    """Add a unit type to a building (without rates until the operator sets some)."""
    portfolio, body = request.portfolio, body_object(request)
    building_id = int(field_id(body, "building", portfolio.buildings) or 0)
    name = str(field_text(body, "name"))[:200]
    kind = str(body.get("type") or "STUDIO").upper()
    if kind not in _KINDS:
        raise ApiError(400, f"type must be one of {', '.join(_KINDS)}")
    min_stay, max_stay = _whole(body, "minStay", 1, 1), _whole(body, "maxStay", 365, 1)
    if max_stay < min_stay:
        raise ApiError(400, "maxStay must not be less than minStay")
    with portfolio.lock:
        type_id = next_id(portfolio.unit_types, 10)
        record = UnitType(
            id=type_id,
            building_id=building_id,
            name=name,
            code=str(body.get("unitTypeCode") or f"UT-{type_id}")[:50],
            description=str(body.get("shortDescription") or name)[:500],
            kind=kind,
            min_stay=min_stay,
            max_stay=max_stay,
            max_occupancy=_whole(body, "maxOccupancy", 2, 1),
            nightly_rate=0.0,
        )
        portfolio.unit_types[type_id] = record
    return Answer(201, shapes.unit_type(portfolio, record))


def create_building(request: ApiRequest) -> Answer:
    """Add a building; ``buildingManagementType`` and ``buildingAddress`` are required (doc)."""
    portfolio, query, body = request.portfolio, request.query, body_object(request)
    query.text("currentUser", required=True)
    management = str(body.get("buildingManagementType") or "").upper()
    if management not in MANAGEMENT_TYPES:
        raise ApiError(400, f"buildingManagementType must be one of {', '.join(MANAGEMENT_TYPES)}")
    address = body.get("buildingAddress")
    if not isinstance(address, dict):
        raise ApiError(400, "Validation failed: buildingAddress must not be null")
    line1 = str(field_text(address, "addressLine1"))[:200]
    city = str(field_text(address, "city"))[:100]
    postcode = str(field_text(address, "postCode"))[:20]
    name = str(field_text(body, "buildingName", required=False) or line1)[:200]
    with portfolio.lock:
        record = Building(next_id(portfolio.buildings), name, line1, city, postcode, management)
        portfolio.buildings[record.id] = record
    return Answer(201, shapes.building(portfolio, record.id))


def create_guest_stay(request: ApiRequest) -> Answer:
    """Add a guest to a room stay: the guest stay takes the stay's dates and status."""
    portfolio, body = request.portfolio, body_object(request)
    stay_key = "roomStay" if "roomStay" in body else "roomStayId"
    contact_key = "contact" if "contact" in body else "contactId"
    stay_id = int(field_id(body, stay_key, portfolio.room_stays) or 0)
    contact_id = int(field_id(body, contact_key, portfolio.contacts) or 0)
    kind = str(body.get("type") or "OVERNIGHT").upper()
    if kind not in GUEST_STAY_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(GUEST_STAY_TYPES)}")
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
    portfolio, body = request.portfolio, body_object(request)
    keep = int(field_id(body, "primaryContactId", portfolio.contacts) or 0)
    others = body.get("duplicateContactIds")
    if not isinstance(others, list) or not others:
        raise ApiError(400, "Validation failed: duplicateContactIds must not be empty")
    duplicates = {int(field_id({"id": key}, "id", portfolio.contacts) or 0) for key in others}
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
        body={"name": "Harbour House 901", "unitType": {"id": 11}, "bookable": True},
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
        body={"building": {"id": 1}, "name": "Penthouse", "type": "TWO_BEDROOM", "maxOccupancy": 4},
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
        body={
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
        body={"roomStayId": 30001, "contactId": 5001, "type": "OVERNIGHT"},
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
        body={"primaryContactId": 5001, "duplicateContactIds": [5002]},
        sample=lambda p: shapes.contact(p, _first(p.contacts)),
        guess="The body and the answer (the kept contact) are guesses; duplicates stay, "
        "with status REMOVED, their bookings and guest stays moved to the kept contact.",
    ),
]
