"""Reference data every dashboard joins on, declared as groups (see `_declare`).

Booking types, channels, billing frequencies, cities, areas, access groups, the units'
access groups, VAT profiles, extras and activities.
"""

from __future__ import annotations

from typing import Any

from .. import _schema as s
from .._portfolio import Portfolio, next_id
from .._reference_records import EXTRA_FREQUENCIES, AccessGroup, Area, City, UnitAccessGroup
from .._routes import ApiError, ApiRequest, Param, Route
from . import shapes_reference as shapes
from ._declare import Filter, Group, equals, field_id, field_text, routes

_UNSEEN = "The description's page for this operation was not seen: fields and answer are guesses."

CITY = s.obj(
    {
        "name": s.string(not_blank=True, max_length=100),
        "country": s.obj({"id": s.integer(), "name": s.string()}, description="default the UK"),
    },
    ("name",),
    source="guess",
)
AREA = s.obj(
    {"name": s.string(not_blank=True, max_length=100), "city": s.reference("city")},
    ("name", "city"),
    source="guess",
)
ACCESS_GROUP = s.obj(
    {
        "name": s.string(not_blank=True),
        "building": s.reference("building"),
        "externalIdentifier": s.string("the door system's id", not_blank=True),
    },
    ("name", "building", "externalIdentifier"),
    source="guess",
)
#: The membership as PUT /unitAccessGroups takes it (doc): the unit, and the access group
#: in full, with its name and external identifier required. The fake reads only the ids.
UNIT_ACCESS_GROUP = s.obj(
    {
        "id": s.integer("the membership to replace; none makes a new one"),
        "unit": s.obj({"id": s.integer(), "name": s.string()}, ("id",)),
        "accessGroup": s.obj(
            {
                "id": s.integer(),
                "name": s.string(not_blank=True),
                "building": s.obj({"id": s.integer(), "name": s.string()}, ("id",)),
                "externalIdentifier": s.string(not_blank=True),
            },
            ("id", "name", "building", "externalIdentifier"),
        ),
    },
    ("unit", "accessGroup"),
)


def _new_city(request: ApiRequest, body: dict[str, Any]) -> City:
    portfolio = request.portfolio
    name = field_text(body, "name")
    country = body.get("country") or {}
    country_name = country.get("name") or "United Kingdom"
    record = City(next_id(portfolio.cities), str(name), str(country_name))
    portfolio.put(record)
    return record


def _change_city(request: ApiRequest, record: City, body: dict[str, Any]) -> None:
    record.name = str(field_text(body, "name"))


def _new_area(request: ApiRequest, body: dict[str, Any]) -> Area:
    portfolio = request.portfolio
    name = field_text(body, "name")
    city_id = field_id(body, "city", portfolio.cities)
    record = Area(next_id(portfolio.areas, 100), str(name), int(city_id or 0))
    portfolio.put(record)
    return record


def _change_area(request: ApiRequest, record: Area, body: dict[str, Any]) -> None:
    record.name = str(field_text(body, "name"))
    record.city_id = int(field_id(body, "city", request.portfolio.cities) or 0)


def _new_access_group(request: ApiRequest, body: dict[str, Any]) -> AccessGroup:
    portfolio = request.portfolio
    name = str(field_text(body, "name"))
    building_id = int(field_id(body, "building", portfolio.buildings) or 0)
    external = str(field_text(body, "externalIdentifier"))
    record = AccessGroup(next_id(portfolio.access_groups), name, building_id, external)
    portfolio.put(record)
    return record


def _new_unit_access_group(request: ApiRequest, body: dict[str, Any]) -> UnitAccessGroup:
    portfolio = request.portfolio
    unit_id = int(field_id(body, "unit", portfolio.units) or 0)
    group_id = int(field_id(body, "accessGroup", portfolio.access_groups) or 0)
    if portfolio.access_groups[group_id].building_id != _building_of(portfolio, unit_id):
        raise ApiError(400, f"access group {group_id} is not in unit {unit_id}'s building")
    key = next_id(portfolio.unit_access_groups, 3000)
    record = UnitAccessGroup(key, unit_id, group_id)
    portfolio.put(record)
    return record


def _building_of(portfolio: Portfolio, unit_id: int) -> int:
    return portfolio.unit_types[portfolio.units[unit_id].unit_type_id].building_id


def put_unit_access_group(request: ApiRequest) -> Any:
    """Update the membership the body's ``id`` names, or create one without an ``id``."""
    portfolio, body = request.portfolio, request.json()
    if body.get("id") is None:
        return shapes.unit_access_group(portfolio, _new_unit_access_group(request, body))
    key = field_id(body, "id", portfolio.unit_access_groups)
    replacement = _new_unit_access_group(request, body)
    del portfolio.unit_access_groups[replacement.id]
    replacement.id = int(key or 0)
    portfolio.unit_access_groups[replacement.id] = replacement
    return shapes.unit_access_group(portfolio, replacement)


def tax_seasons(request: ApiRequest) -> Any:
    """Return the tax seasons of a VAT profile between two dates (both required, doc)."""
    portfolio = request.portfolio
    key = request.id("vatProfileId")
    if key not in portfolio.vat_profiles:
        raise ApiError(404, f"VatProfile with id {key} not found")
    start = request.query.date("startDate", required=True)
    end = request.query.date("endDate", required=True)
    if start is None or end is None or end < start:
        raise ApiError(400, "endDate must not be before startDate")
    return shapes.tax_seasons(portfolio, portfolio.vat_profiles[key], start, end)


def extras_of_rate(request: ApiRequest) -> list[Any]:
    """Return the extras sold with a rate: those of its unit type's building (doc)."""
    portfolio = request.portfolio
    plan = portfolio.rate_plans.get(request.id("rateId"))
    if plan is None:
        raise ApiError(404, f"Rate with id {request.path_params['rateId']} not found")
    start = request.query.date("startDate", required=True)
    end = request.query.date("endDate", required=True)
    if start is None or end is None or end < start:
        raise ApiError(400, "endDate must not be before startDate")
    building_id = portfolio.unit_types[plan.unit_type_id].building_id
    return [
        shapes.extra_row(portfolio, portfolio.extras[key])
        for key in sorted(portfolio.extras)
        if portfolio.extras[key].building_id == building_id
    ]


def _sample_seasons(portfolio: Portfolio) -> Any:
    today = portfolio.today
    return shapes.tax_seasons(portfolio, portfolio.vat_profiles[1], today, today)


def _first_extra(portfolio: Portfolio) -> Any:
    return shapes.extra_row(portfolio, portfolio.extras[min(portfolio.extras)])


def _activities_of_stay(request: ApiRequest) -> list[Any]:
    """Return the activities of one room stay (doc)."""
    portfolio = request.portfolio
    stay = request.record(portfolio.room_stays, "RoomStay")
    found = [a for a in portfolio.activities.values() if a.room_stay_id == stay.id]
    return [shapes.activity(portfolio, a) for a in sorted(found, key=lambda a: a.id)]


def _extra_building(portfolio: Portfolio, record: Any, value: Any) -> bool:
    return bool(record.building_id == value)


#: Where public code and the description disagree, the fake follows the description.
_ACTIVITY_TYPE = (
    "activityType is an object (id, name, category, systemType, created, lastUpdated, "
    "deleted, links), as the description documents it; public code compares activityType "
    "with a string (a type's name), which this shape never equals: read activityType.name."
)

_MEMBERSHIP = {
    "unit": {"id": 1002},
    "accessGroup": {
        "id": 1,
        "name": "Main entrance",
        "building": {"id": 1, "name": "Harbour House"},
        "externalIdentifier": "ACS-1-MAIN",
    },
}

GROUPS = [
    Group(
        "/api/v3/bookingTypes",
        "Booking Types",
        "BookingType",
        lambda p: p.booking_types,
        shapes.booking_type,
        guesses={"list": "Paged like the other lists (a guess)."},
    ),
    Group(
        "/api/v3/channels",
        "Channels",
        "Channel",
        lambda p: p.channels,
        shapes.channel,
        sources={"list": "guess"},
        guesses={"list": "Not in the recovered description: a list as Spring would page it."},
    ),
    Group(
        "/api/v3/billingFrequencies",
        "Billing Frequencies",
        "BillingFrequency",
        lambda p: p.billing_frequencies,
        shapes.billing_frequency,
        source="guess",
        guess="The group is documented, its operations were not seen: id and name are guesses.",
    ),
    Group(
        "/api/v3/cities",
        "City",
        "City",
        lambda p: p.cities,
        shapes.city,
        operations=("list", "create", "get", "update"),
        guess=_UNSEEN,
        create=_new_city,
        update=_change_city,
        schema=CITY,
        example={"name": "Cardiff"},
    ),
    Group(
        "/api/v3/areas",
        "Area",
        "Area",
        lambda p: p.areas,
        shapes.area,
        operations=("list", "create", "get", "update"),
        guess=_UNSEEN,
        create=_new_area,
        update=_change_area,
        schema=AREA,
        example={"name": "Cathays", "city": {"id": 1}},
    ),
    Group(
        "/api/v3/accessGroups",
        "Access Groups",
        "AccessGroup",
        lambda p: p.access_groups,
        shapes.access_group,
        operations=("list", "create"),
        filters=(Filter(Param("buildingId", "integer", source="guess"), _extra_building),),
        guess="Rows are shaped as unitAccessGroups nests an access group; buildingId is a guess.",
        create=_new_access_group,
        schema=ACCESS_GROUP,
        example={"name": "Bike store", "building": {"id": 1}, "externalIdentifier": "ACS-1-BIKE"},
    ),
    Group(
        "/api/v3/unitAccessGroups",
        "Unit Access Groups",
        "UnitAccessGroup",
        lambda p: p.unit_access_groups,
        shapes.unit_access_group,
        operations=("list", "create"),
        filters=(Filter(Param("unitId", "integer", source="guess"), equals("unit_id")),),
        guess="unitId, the body of POST (that of PUT) and its answer (201 with the "
        "membership) are guesses.",
        create=_new_unit_access_group,
        schema=UNIT_ACCESS_GROUP,
        example=_MEMBERSHIP,
    ),
    Group(
        "/api/v3/vatProfiles",
        "VAT Profiles",
        "VatProfile",
        lambda p: p.vat_profiles,
        shapes.vat_profile,
        operations=("list",),
        guess="Rows are shaped as extras nest a VAT profile.",
    ),
    Group(
        "/api/v3/extras",
        "Extras",
        "Extra",
        lambda p: p.extras,
        shapes.extra_row,
        operations=("list",),
        filters=(
            Filter(
                Param("billingFrequency", enum=EXTRA_FREQUENCIES),
                lambda p, record, value: record.frequency == value.upper(),
            ),
            Filter(Param("buildingId", "integer"), _extra_building),
            Filter(Param("availableThroughIBE", "boolean"), equals("through_ibe")),
        ),
        guess="building and availableThroughIBE in the rows are guesses (they are filters).",
    ),
    Group(
        "/api/v3/activities",
        "Activities",
        "Activity",
        lambda p: p.activities,
        shapes.activity,
        operations=("list", "get"),
        filters=(
            Filter(
                Param("dueDate", "date", "due on or after this day", source="client"),
                lambda p, record, day: record.due.date() >= day,
            ),
            Filter(
                Param("dueDateEnd", "date", "due on or before this day", source="client"),
                lambda p, record, day: record.due.date() <= day,
            ),
        ),
        sources={"list": "client"},
        guess="roomStay {id} in the answer is a guess; so are the dates' format and duration's "
        "unit (minutes). " + _ACTIVITY_TYPE,
        guesses={
            "list": "A public client reads this list (dueDate, dueDateEnd, page, size); the "
            "group's list page was not seen: that dueDate and dueDateEnd bound the due day, "
            "both inclusive, and the rows are the detail's are guesses. " + _ACTIVITY_TYPE
        },
    ),
]

ROUTES: list[Route] = [route for group in GROUPS for route in routes(group)] + [
    Route(
        "PUT",
        "/api/v3/unitAccessGroups",
        put_unit_access_group,
        "Create or update a unit's access group",
        "Unit Access Groups",
        params=(Param("currentUser", required=True),),
        schema=UNIT_ACCESS_GROUP,
        example={"id": 3001, **_MEMBERSHIP},
        sample=lambda p: shapes.unit_access_group(p, p.unit_access_groups[3001]),
        guess="Without an id in the body a new membership is made (a guess); the access "
        "group's name, building and external identifier are required (doc) but not applied.",
    ),
    Route(
        "GET",
        "/api/v3/vatProfiles/{vatProfileId}/taxSeasons",
        tax_seasons,
        "The tax seasons of a VAT profile",
        "VAT Profiles",
        params=(Param("startDate", "date", required=True), Param("endDate", "date", required=True)),
        sample=_sample_seasons,
        guess="One season per calendar year; boundaryDay is null as no profile has a boundary.",
    ),
    Route(
        "GET",
        "/api/v3/extras/{rateId}",
        extras_of_rate,
        "The extras that can be sold with a rate",
        "Extras",
        params=(Param("startDate", "date", required=True), Param("endDate", "date", required=True)),
        paged=True,
        sample=_first_extra,
        guess="Paged like the other lists; the extras of the rate's building, whatever the dates.",
    ),
    Route(
        "GET",
        "/api/v3/roomStays/{id}/activities",
        _activities_of_stay,
        "The activities of a room stay",
        "Room Stays",
        paged=True,
        sample=lambda p: shapes.activity(p, p.activities[min(p.activities)]),
        guess="Paged like the other lists (a guess).",
    ),
]
