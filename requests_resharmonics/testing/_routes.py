"""Routes of the fake API, declared once: matching, query parameters, pages and errors.

The API is a Spring service behind an API Gateway, so what the description leaves open is
answered as Spring does it: lenient ``page`` and ``size`` (Spring Data's ``Pageable``),
``sort=property,direction``, repeated or comma-separated list parameters, unknown
parameters ignored, and errors in Spring Boot's default JSON shape. That error shape is a
guess: the real bodies of 400, 404 and 405 answers are not documented.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ._http import Answer, Incoming

if TYPE_CHECKING:
    from ._portfolio import Portfolio

_Record = TypeVar("_Record")

#: Spring Data's default page size, and the largest it accepts (a bigger one is cut to it).
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000

_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    500: "Internal Server Error",
}


class ApiError(Exception):
    """Raised by a route to answer with a Spring-style error."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def require_fields(body: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Return the body as an object that has every named field, else a 400 naming those missing."""
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    missing = [name for name in names if body.get(name) in (None, "", [])]
    if missing:
        reasons = ", ".join(f"{name} must not be null" for name in missing)
        raise ApiError(400, f"Validation failed: {reasons}")
    return body


def not_found(what: str, key: object) -> ApiError:
    """Return the error for an unknown id (the wording is a guess)."""
    return ApiError(404, f"{what} with id {key} not found")


@dataclass(frozen=True)
class Param:
    """A query parameter of a route, for validation and for the OpenAPI document."""

    name: str
    kind: str = "string"  # string, integer, number, boolean, date, date-time, array
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    source: str = "doc"  # doc, live, client or guess: where the parameter is known from


#: The paging parameters of every paged list (Spring Data's ``Pageable``).
PAGING = (
    Param("page", "integer", "0-based page number (default 0)"),
    Param("size", "integer", f"page size (default {DEFAULT_PAGE_SIZE})"),
    Param("sort", "array", "property[,asc|desc], repeatable"),
)


class UndeclaredParameter(LookupError):
    """A handler read a query parameter its route does not declare: a bug in the fake.

    Reads go through the route's declarations so that every parameter the fake applies
    is in ``/v3/api-docs``, and an undocumented spelling is never honoured by accident.
    """


class Query:
    """The query parameters of one request, read as a Spring controller reads them.

    ``declared`` names the parameters the route declares; reading any other is an
    `UndeclaredParameter` error (None: no guard, for routes a test added).
    """

    def __init__(
        self, params: dict[str, list[str]], declared: frozenset[str] | None = None
    ) -> None:
        self.params = params
        self.declared = declared

    def given(self, name: str) -> list[str]:
        """Return every value given for the parameter, as sent."""
        if self.declared is not None and name not in self.declared:
            raise UndeclaredParameter(f"the route does not declare the parameter {name!r}")
        return self.params.get(name, [])

    def text(self, name: str, required: bool = False) -> str | None:
        """Return the parameter's value; a blank value counts as absent, as Spring's binder does."""
        values = [value for value in self.given(name) if value.strip()]
        if not values:
            if required:
                raise ApiError(
                    400, f"Required request parameter '{name}' for method parameter is not present"
                )
            return None
        return values[0].strip()

    def values(self, name: str) -> list[str]:
        """Return a list parameter: repeated (``a=1&a=2``), comma-separated (``a=1,2``), or both."""
        found = [part.strip() for value in self.given(name) for part in value.split(",")]
        return [value for value in found if value]

    def integer(self, name: str, required: bool = False) -> int | None:
        """Return a whole-number parameter; anything else is a 400 naming it."""
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise _mismatch(name, value, "java.lang.Long") from None

    def date(self, name: str, required: bool = False) -> datetime.date | None:
        """Return an ISO date (``2026-11-28``); anything else is a 400 naming it."""
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise _mismatch(name, value, "java.time.LocalDate") from None

    def moment(self, name: str) -> datetime.datetime | None:
        """Return an ISO date-time, or a date meaning its midnight; UTC unless it says otherwise.

        Whether the API takes dates or date-times for ``lastUpdatedFrom`` and the like is
        not documented (a guess): both are accepted.
        """
        value = self.text(name)
        if value is None:
            return None
        try:
            if len(value) == 10:
                day = datetime.date.fromisoformat(value)
                return datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _mismatch(name, value, "java.time.LocalDateTime") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)

    def choices(self, name: str, allowed: Sequence[str]) -> list[str]:
        """Return a list of enum values; an unknown one is a 400 naming it, as in Spring."""
        chosen = [value.upper() for value in self.values(name)]
        unknown = [value for value in chosen if value not in allowed]
        if unknown:
            raise _mismatch(name, unknown[0], "enum")
        return chosen


def _mismatch(name: str, value: str, java_type: str) -> ApiError:
    return ApiError(
        400,
        f"Method parameter '{name}': Failed to convert value of type 'java.lang.String' to "
        f"required type '{java_type}'; invalid value '{value}'",
    )


@dataclass
class ApiRequest:
    """What a route's handler is given: the request, its path and query, and the portfolio."""

    incoming: Incoming
    path_params: dict[str, str]
    query: Query
    portfolio: Portfolio

    def id(self, name: str = "id") -> int:
        """Return a whole-number path variable; anything else is a 400, as Spring answers."""
        value = self.path_params[name]
        try:
            return int(value)
        except ValueError:
            raise _mismatch(name, value, "java.lang.Long") from None

    def record(self, table: dict[int, _Record], what: str, name: str = "id") -> _Record:
        """Return the record the path variable (``{id}``) names, else a 404 naming it."""
        key = self.id(name)
        if key not in table:
            raise not_found(what, key)
        return table[key]

    def json(self) -> Any:
        """Return the JSON body; a missing or malformed one is a 400."""
        try:
            return json.loads(self.incoming.body or b"null")
        except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
            raise ApiError(400, "JSON parse error: the request body is not valid JSON") from None


#: What a handler returns: an `Answer`, a ``(status, body)`` pair, or a JSON-able body (200).
Handler = Callable[[ApiRequest], Any]


@dataclass(frozen=True)
class Route:
    """One operation of the fake API: its method and path, its handler and its documentation.

    A ``paged`` route's handler returns every matching row; the router sorts and pages them.
    ``source`` says where the operation is known from (``doc``, ``live``, ``client``, or
    ``user`` for routes a test added); ``guess`` says what the fake made up.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    params: tuple[Param, ...] = ()
    paged: bool = False
    status: int = 200
    source: str = "doc"
    guess: str = ""
    sample: Callable[[Portfolio], Any] | None = field(default=None, compare=False)
    body: dict[str, Any] | None = None

    @property
    def query_names(self) -> frozenset[str] | None:
        """The query parameters the handler may read (None for a route a test added)."""
        if self.source == "user":
            return None
        return frozenset(param.name for param in (*self.params, *(PAGING if self.paged else ())))

    @property
    def segments(self) -> list[str]:
        """The path's parts; ``{name}`` parts match any one part."""
        return [part for part in self.path.split("/") if part]

    def match(self, parts: list[str]) -> dict[str, str] | None:
        """Return the path variables if the path fits this route, else None."""
        segments = self.segments
        if len(segments) != len(parts):
            return None
        found: dict[str, str] = {}
        for segment, part in zip(segments, parts, strict=True):
            if segment.startswith("{") and segment.endswith("}"):
                found[segment[1:-1]] = part
            elif segment != part:
                return None
        return found


class Router:
    """Finds the route for a request and turns what its handler returns into an answer."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._builtin = list(routes)
        self._added: list[Route] = []

    @property
    def routes(self) -> list[Route]:
        """Every route, those a test added first (they win over the built-in ones)."""
        return [*self._added, *self._builtin]

    def add(self, route: Route) -> None:
        """Add a route, replacing any earlier added route for the same method and path."""
        self._added = [
            old for old in self._added if (old.method, old.path) != (route.method, route.path)
        ]
        self._added.insert(0, route)

    def clear_added(self) -> None:
        """Forget the routes tests added."""
        self._added = []

    def dispatch(self, incoming: Incoming, portfolio: Portfolio, legacy: bool) -> Answer:
        """Answer one authenticated API request."""
        try:
            return self._dispatch(incoming, portfolio, legacy)
        except ApiError as error:
            return spring_error(error.status, incoming.path, error.message, error.headers)
        except (RecursionError, OverflowError, ValueError, LookupError, TypeError) as error:
            # What the service answers for an unexpected failure (doc: 500), rather than a
            # dropped connection and a traceback on the fake's console.
            return spring_error(500, incoming.path, type(error).__name__)

    def _dispatch(self, incoming: Incoming, portfolio: Portfolio, legacy: bool) -> Answer:
        parts = [part for part in incoming.path.split("/") if part]
        matched = [
            (route, found) for route in self.routes if (found := route.match(parts)) is not None
        ]
        if not matched:
            raise ApiError(404, "No static resource " + incoming.path.lstrip("/") + ".")
        method = "GET" if incoming.method == "HEAD" else incoming.method
        allowed = sorted({route.method for route, _ in matched} | {"OPTIONS"})
        if method == "OPTIONS":
            return Answer(200, b"", {"Allow": ", ".join(allowed)})
        for route, found in matched:
            if route.method == method:
                query = Query(incoming.params, route.query_names)
                request = ApiRequest(incoming, found, query, portfolio)
                with portfolio.lock:
                    result = route.handler(request)
                    if route.paged:
                        return Answer(200, page_of(list(result), request.query, legacy))
                return _as_answer(result, route.status)
        raise ApiError(
            405,
            f"Request method '{incoming.method}' is not supported",
            {"Allow": ", ".join(allowed)},
        )


def _as_answer(result: Any, status: int) -> Answer:
    if isinstance(result, Answer):
        return result
    if isinstance(result, tuple):
        return Answer(int(result[0]), result[1] if result[1] is not None else b"")
    return Answer(status, result if result is not None else b"")


def spring_error(
    status: int, path: str, message: str, headers: dict[str, str] | None = None
) -> Answer:
    """Return an error in Spring Boot's default shape (a guess at the real body)."""
    moment = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    body = {
        "timestamp": moment,
        "status": status,
        "error": _REASONS.get(status, "Error"),
        "message": message,
        "path": path,
    }
    return Answer(status, body, headers or {})


def page_of(rows: list[Any], query: Query, legacy: bool = False) -> dict[str, Any]:
    """One page of rows, sorted and cut as Spring Data does, in the API's envelope."""
    number = _lenient(query.text("page"), 0, upper=None)
    size = _lenient(query.text("size"), DEFAULT_PAGE_SIZE, upper=MAX_PAGE_SIZE)
    if size < 1:
        size = DEFAULT_PAGE_SIZE
    rows = sort_rows(rows, query.given("sort"))
    content = rows[number * size : (number + 1) * size]
    total_pages = math.ceil(len(rows) / size)
    page = {"size": size, "number": number, "totalElements": len(rows), "totalPages": total_pages}
    if not legacy:
        return {"content": content, "page": page}
    return {
        "content": content,
        **page,
        "first": number == 0,
        "last": number >= total_pages - 1,
        "numberOfElements": len(content),
        "empty": not content,
    }


def _lenient(value: str | None, default: int, upper: int | None) -> int:
    """Spring Data's reading of page and size: unreadable means the default, negative means 0."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        return default
    number = max(number, 0)
    return min(number, upper) if upper is not None else number


def sort_rows(rows: list[Any], orders: list[str]) -> list[Any]:
    """Sort by ``property[,asc|desc]`` values, the first one the most significant.

    A dotted property sorts by a nested field (``unit.name``), as Spring Data allows. A
    property the rows do not have is a 400 (a guess: Spring Data's PropertyReferenceException
    is answered 400 or 500 depending on the service).
    """
    keys: list[tuple[str, bool]] = []
    for order in orders:
        parts = [part.strip() for part in order.split(",") if part.strip()]
        if not parts:
            continue
        descending = parts[-1].lower() == "desc"
        names = parts[:-1] if parts[-1].lower() in ("asc", "desc") else parts
        keys.extend((name, descending) for name in names)
    if not keys or not rows:
        return rows
    for name, _ in keys:
        if not all(isinstance(row, dict) for row in rows) or _missing(rows[0], name):
            raise ApiError(400, f"No property '{name}' found for this list")
    ordered = list(rows)
    for name, descending in reversed(keys):  # stable sorts, least significant first
        ordered.sort(key=lambda row: _sort_key(_lookup(row, name)), reverse=descending)
    return ordered


def _lookup(row: Any, name: str) -> Any:
    for part in name.split("."):
        row = row.get(part) if isinstance(row, dict) else None
    return row


def _missing(row: dict[str, Any], name: str) -> bool:
    current: Any = row
    for part in name.split("."):
        if not isinstance(current, dict) or part not in current:
            return True
        current = current[part]
    return False


def _sort_key(value: Any) -> tuple[int, Any]:
    # Nulls last, as most databases order them ascending; numbers and strings apart.
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))
