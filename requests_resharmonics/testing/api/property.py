"""Buildings, unit types and units: the portfolio's places, declared as groups."""

from __future__ import annotations

from .._routes import Route
from . import shapes
from ._declare import Group, routes

GROUPS = [
    Group(
        "/api/v3/buildings",
        "Building",
        "Building",
        lambda p: p.buildings,
        lambda p, record: shapes.building(p, record.id),
        operations=("list",),
        source="client",
        guess="id and buildingName are known (client); buildingManagementType and "
        "buildingAddress are named as POST's body names them (doc): that the list carries "
        "them is a guess.",
    ),
    Group(
        "/api/v3/unitTypes",
        "Unit Types",
        "UnitType",
        lambda p: p.unit_types,
        shapes.unit_type,
    ),
    Group(
        "/api/v3/units",
        "Units",
        "Unit",
        lambda p: p.units,
        shapes.unit_row,
        detail=shapes.unit_detail,  # a different shape from the list row (live)
        source="live",
        guesses={
            "list": "No filters are known for this list; every parameter but paging is ignored."
        },
    ),
]

ROUTES: list[Route] = [route for group in GROUPS for route in routes(group)]
