"""``GET /v3/api-docs``: an OpenAPI 3 document of exactly what the fake serves.

It is built from the route table (built-in routes and those a test added), and each
response schema is read off a record the fake would really answer with, so the document
cannot drift from the fake. Request bodies carry the schemas the fake checks them against
(`_schema`). Each operation says where it is known from (``x-source``) and what the fake
guessed (``x-guess``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._query import PAGING, Param
from ._routes import Route

if TYPE_CHECKING:
    from ._portfolio import Portfolio

_KINDS = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int64"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def api_docs_route(handler: Callable[[Any], Any]) -> Route:
    """Return the route of ``GET /v3/api-docs`` (where the live service serves its document)."""
    return Route(
        "GET", "/v3/api-docs", handler, "This OpenAPI document", "Discovery", source="live"
    )


def document(
    routes: list[Route], portfolio: Portfolio, base_url: str, token_url: str
) -> dict[str, Any]:
    """Return the OpenAPI document of these routes."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {}).setdefault(
            route.method.lower(), _operation(route, portfolio)
        )
    return {
        "openapi": "3.0.1",
        "info": {
            "title": "res:harmonics API (FakeResharmonics)",
            "version": "3",
            "description": "The routes FakeResharmonics serves. x-source says where each is "
            "known from (doc: the API description; live: seen against production; client: "
            "a public client; guess: not in the recovered description, answered as a Spring "
            "service would; user: added by a test); x-guess says what the fake made up.",
        },
        "servers": [{"url": base_url}],
        "security": [{"OAuth2": []}],
        "components": {
            "securitySchemes": {
                "OAuth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": token_url,
                            "scopes": {"api/read": "read", "api/write": "write"},
                        }
                    },
                }
            }
        },
        "paths": paths,
    }


def _operation(route: Route, portfolio: Portfolio) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _KINDS["integer" if name == "id" or name.endswith("Id") else "string"],
        }
        for name in re.findall(r"{(\w+)}", route.path)
    ]
    parameters += [_parameter(param) for param in (*route.params, *(PAGING if route.paged else ()))]
    schema = _schema(_sample(route, portfolio))
    if route.paged:
        schema = {
            "type": "object",
            "properties": {
                "content": {"type": "array", "items": schema},
                "page": _schema({"size": 20, "number": 0, "totalElements": 1, "totalPages": 1}),
            },
        }
    operation: dict[str, Any] = {
        "operationId": _operation_id(route),
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": parameters,
        "responses": {
            str(route.status): {
                "description": "OK" if route.status == 200 else "Created",
                "content": {"application/json": {"schema": schema}},
            },
            "400": {
                "description": "Bad Request: a parameter or a body field the document "
                "refuses (malformed, missing, of the wrong type, out of range), named"
            },
            "401": {"description": "Unauthorized, or the incoming token has expired"},
            "404": {"description": "Not Found"},
        },
        "x-source": route.source,
    }
    if route.guess:
        operation["x-guess"] = route.guess
    if route.schema is not None:
        content: dict[str, Any] = {"schema": route.schema}
        if route.example is not None:
            content["example"] = route.example
        operation["requestBody"] = {"required": True, "content": {"application/json": content}}
    return operation


def _parameter(param: Param) -> dict[str, Any]:
    if param.kind == "array":
        items: dict[str, Any] = {"type": "string"}
        if param.enum:
            items["enum"] = list(param.enum)
        schema: dict[str, Any] = {"type": "array", "items": items}
    else:
        schema = dict(_KINDS[param.kind])
        if param.enum:
            schema["enum"] = list(param.enum)
        if param.minimum is not None:
            schema["minimum"] = param.minimum
        if param.maximum is not None:
            schema["maximum"] = param.maximum
    found: dict[str, Any] = {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "schema": schema,
    }
    if param.kind == "array":
        found.update(style="form", explode=True)
    if param.description:
        found["description"] = param.description
    if param.source != "doc":
        found["x-source"] = param.source
    return found


def _sample(route: Route, portfolio: Portfolio) -> Any:
    if route.sample is None:
        return {}
    try:
        return route.sample(portfolio)
    except (LookupError, StopIteration, ValueError):  # a portfolio a test emptied
        return {}


def _schema(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", "format": "int64"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string", "format": "date"} if _DATE.match(value) else {"type": "string"}
    if isinstance(value, list):
        return {"type": "array", "items": _schema(value[0]) if value else {}}
    if isinstance(value, dict):
        return {"type": "object", "properties": {key: _schema(item) for key, item in value.items()}}
    return {"nullable": True}


def _operation_id(route: Route) -> str:
    words = []
    for segment in route.segments:
        if segment in ("api", "v3"):
            continue
        if segment.startswith("{"):
            words.append("By" + segment[1:-1][:1].upper() + segment[2:-1])
        else:
            words.append(segment[:1].upper() + segment[1:])
    return route.method.lower() + "".join(words)
