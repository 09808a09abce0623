"""Buildings, unit types and units: the portfolio's places."""

from __future__ import annotations

from typing import Any

from .._routes import ApiRequest, Route
from . import shapes


def list_buildings(request: ApiRequest) -> list[Any]:
    """Every building."""
    portfolio = request.portfolio
    return [shapes.building(portfolio, building_id) for building_id in sorted(portfolio.buildings)]


def list_unit_types(request: ApiRequest) -> list[Any]:
    """Every unit type."""
    portfolio = request.portfolio
    return [
        shapes.unit_type(portfolio, portfolio.unit_types[key])
        for key in sorted(portfolio.unit_types)
    ]


def unit_type(request: ApiRequest) -> Any:
    """One unit type."""
    found = request.record(request.portfolio.unit_types, "UnitType")
    return shapes.unit_type(request.portfolio, found)


def list_units(request: ApiRequest) -> list[Any]:
    """Every unit, in the list's shape (``unitName``, ``buildingName``, ``bookable``...)."""
    portfolio = request.portfolio
    return [shapes.unit_row(portfolio, portfolio.units[key]) for key in sorted(portfolio.units)]


def unit(request: ApiRequest) -> Any:
    """One unit, in the detail's shape (``name``, ``unitType{id, name}``, ``publish``...)."""
    found = request.record(request.portfolio.units, "Unit")
    return shapes.unit_detail(request.portfolio, found)


ROUTES = [
    Route(
        "GET",
        "/api/v3/buildings",
        list_buildings,
        "List buildings",
        "Building",
        paged=True,
        source="client",
        sample=lambda p: shapes.building(p, min(p.buildings)),
        guess="id and buildingName are known (client); buildingManagementType and "
        "buildingAddress are named as POST's body names them (doc): that the list carries "
        "them is a guess.",
    ),
    Route(
        "GET",
        "/api/v3/unitTypes",
        list_unit_types,
        "List unit types",
        "Unit Types",
        paged=True,
        sample=lambda p: shapes.unit_type(p, p.unit_types[min(p.unit_types)]),
    ),
    Route(
        "GET",
        "/api/v3/unitTypes/{id}",
        unit_type,
        "Get one unit type",
        "Unit Types",
        sample=lambda p: shapes.unit_type(p, p.unit_types[min(p.unit_types)]),
    ),
    Route(
        "GET",
        "/api/v3/units",
        list_units,
        "List units",
        "Units",
        paged=True,
        source="live",
        sample=lambda p: shapes.unit_row(p, p.units[min(p.units)]),
        guess="No filters are known for this list; every parameter but paging is ignored.",
    ),
    Route(
        "GET",
        "/api/v3/units/{id}",
        unit,
        "Get one unit (a different shape from the list row)",
        "Units",
        source="live",
        sample=lambda p: shapes.unit_detail(p, p.units[min(p.units)]),
    ),
]
