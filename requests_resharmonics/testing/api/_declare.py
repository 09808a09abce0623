"""Resource groups declared as data: one `Group` becomes its list, detail and write routes.

A group names its path, its table in the `Portfolio`, the shape that renders a record and
the filters of its list; `routes` turns it into `Route` objects, so a new group is one
declaration plus its shape, and the OpenAPI document (built from the routes) follows.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._http import Answer
from .._portfolio import Portfolio
from .._routes import ApiError, ApiRequest, Param, Route
from .._schema import Schema

Json = dict[str, Any]
Shape = Callable[[Portfolio, Any], Json]


@dataclass(frozen=True)
class Filter:
    """A query parameter of a list, and the test a record must pass when it is given.

    ``test(portfolio, record, value)`` receives the value as the parameter's kind reads it
    (a whole number, a date, a boolean or text).
    """

    param: Param
    test: Callable[[Portfolio, Any, Any], bool]


@dataclass(frozen=True)
class Group:
    """One resource group of the API: where it lives, its records, and how they are written.

    ``operations`` picks among ``list`` (``GET path``, paged), ``get`` (``GET path/{id}``),
    ``create`` (``POST path``, 201 with the new record) and ``update`` (``PUT path/{id}``).
    ``detail`` renders single records where the API writes them differently from list rows
    (units); it defaults to ``shape``.
    ``sources`` and ``guesses`` say, per operation, where it is known from and what the
    fake made up (``source`` and ``guess`` apply to those not named). ``schema`` is the
    body of a create and an update, checked before ``create`` or ``update`` runs.
    """

    path: str
    tag: str
    what: str
    table: Callable[[Portfolio], dict[int, Any]]
    shape: Shape
    operations: tuple[str, ...] = ("list", "get")
    filters: tuple[Filter, ...] = ()
    source: str = "doc"
    guess: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    guesses: dict[str, str] = field(default_factory=dict)
    create: Callable[[ApiRequest, Json], Any] | None = None
    update: Callable[[ApiRequest, Any, Json], None] | None = None
    example: Json | None = None
    detail: Shape | None = None
    schema: Schema | None = None

    def render(self, portfolio: Portfolio, record: Any) -> Json:
        """Render one record as the detail, a creation and an update answer it."""
        return (self.detail or self.shape)(portfolio, record)

    def rows(self, request: ApiRequest) -> list[Json]:
        """Return the list: every record that passes the given filters, by id."""
        table = self.table(request.portfolio)
        records = passing(request, self.filters, (table[key] for key in sorted(table)))
        return [self.shape(request.portfolio, record) for record in records]

    def one(self, request: ApiRequest) -> Json:
        """Return the record the path's ``{id}`` names, else a 404."""
        record = request.record(self.table(request.portfolio), self.what)
        return self.render(request.portfolio, record)

    def created(self, request: ApiRequest) -> Answer:
        """Create a record from the body; answer it with 201."""
        if self.create is None:
            raise ApiError(405, "Request method 'POST' is not supported")
        record = self.create(request, body_object(request))
        return Answer(201, self.render(request.portfolio, record))

    def updated(self, request: ApiRequest) -> Json:
        """Change the record the path names from the body; answer it."""
        if self.update is None:
            raise ApiError(405, "Request method 'PUT' is not supported")
        record = request.record(self.table(request.portfolio), self.what)
        self.update(request, record, body_object(request))
        return self.render(request.portfolio, record)

    def sample(self, portfolio: Portfolio) -> Json:
        """Return the first record as a list row, for the OpenAPI document."""
        table = self.table(portfolio)
        return self.shape(portfolio, table[min(table)])

    def sample_detail(self, portfolio: Portfolio) -> Json:
        """Return the first record as the detail, for the OpenAPI document."""
        table = self.table(portfolio)
        return self.render(portfolio, table[min(table)])


def routes(group: Group) -> list[Route]:
    """Return the routes a group declares."""
    built = []
    each = group.path + "/{id}"
    table = {
        "list": ("GET", group.path, group.rows, f"List {group.tag}", True, 200),
        "get": ("GET", each, group.one, f"Get one {group.what} by id", False, 200),
        "create": ("POST", group.path, group.created, f"Create a {group.what}", False, 201),
        "update": ("PUT", each, group.updated, f"Replace a {group.what}", False, 200),
    }
    for operation in group.operations:
        method, path, handler, summary, paged, status = table[operation]
        built.append(
            Route(
                method,
                path,
                handler,
                summary,
                group.tag,
                params=tuple(found.param for found in group.filters) if paged else (),
                paged=paged,
                status=status,
                source=group.sources.get(operation, group.source),
                guess=group.guesses.get(operation, group.guess),
                sample=group.sample if paged else group.sample_detail,
                schema=group.schema if operation in ("create", "update") else None,
                example=group.example if operation in ("create", "update") else None,
            )
        )
    return built


def passing(request: ApiRequest, filters: Sequence[Filter], records: Iterable[Any]) -> list[Any]:
    """Return the records that pass every filter the request gives a value for.

    The filters are the list's declared parameters, so a list applies exactly what its
    OpenAPI document declares, spelled as it declares it.
    """
    tests = []
    for found in filters:
        value = request.query.read(found.param)
        if value is not None and value != []:
            tests.append((found.test, value))
    portfolio = request.portfolio
    return [record for record in records if all(test(portfolio, record, v) for test, v in tests)]


def body_object(request: ApiRequest) -> Json:
    """Return the JSON body, which must be an object."""
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def field_text(body: Json, name: str, required: bool = True) -> str | None:
    """Return a text field of a checked body, stripped; absent is None (or a 400 if required)."""
    value = body.get(name)
    if value is None or not str(value).strip():
        if required:
            raise ApiError(400, f"Validation failed: {name} must not be null")
        return None
    return str(value).strip()


def field_id(body: Json, name: str, table: dict[int, Any], required: bool = True) -> int | None:
    """Return the id a reference field names (a number, or an object with ``id``).

    The body is checked already, so the id is a whole number; one that names no record
    in ``table`` is a 400 (a guess: the service may answer 404).
    """
    value = body.get(name)
    if isinstance(value, dict):
        value = value.get("id")
    if value is None:
        if required:
            raise ApiError(400, f"Validation failed: {name} must not be null")
        return None
    key = int(value)
    if key not in table:
        raise ApiError(400, f"{name} {key} does not exist")
    return key


def field_date(body: Json, name: str, default: datetime.date | None = None) -> datetime.date:
    """Return an ISO date field of a checked body (``default`` when absent, else a 400)."""
    value = body.get(name)
    if value is None:
        if default is None:
            raise ApiError(400, f"Validation failed: {name} must not be null")
        return default
    return datetime.date.fromisoformat(str(value))


def equals(attribute: str) -> Callable[[Portfolio, Any, Any], bool]:
    """Return a filter test: the record's attribute equals the value."""
    return lambda portfolio, record, value: getattr(record, attribute) == value
