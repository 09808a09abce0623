"""Routes of the fake API, declared once: matching, checking the request, answering.

The API is a Spring service behind an API Gateway, so what the description leaves open is
answered as Spring does it. Before a handler runs, the router checks the request against
the route's own declarations, which are also what ``/v3/api-docs`` shows: every path
variable and declared query parameter (`_query`), and the body against its schema
(`_validate`). A request the document would refuse is a 400 naming the field, whatever
the handler; the handler sees only what the document declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import ApiError, mismatch, not_found, spring_error
from ._http import Answer, Incoming
from ._paging import page_of
from ._query import LONG_MAX, LONG_MIN, PAGING, Param, Query, UndeclaredParameter
from ._schema import Schema
from ._validate import UndeclaredField, parse_json, validate_body

if TYPE_CHECKING:
    from ._portfolio import Portfolio

_Record = TypeVar("_Record")
_UNBOUND = object()

__all__ = [
    "ApiError",
    "ApiRequest",
    "Handler",
    "Param",
    "Query",
    "Route",
    "Router",
    "not_found",
    "spring_error",
]


@dataclass
class ApiRequest:
    """What a route's handler is given: the request, its path and query, and the portfolio."""

    incoming: Incoming
    path_params: dict[str, str]
    query: Query
    portfolio: Portfolio
    #: The body as its route's schema binds it (see `_validate.Bound`), once checked.
    bound: Any = field(default=_UNBOUND, repr=False)

    def id(self, name: str = "id") -> int:
        """Return a whole-number path variable; anything else is a 400, as Spring answers."""
        value = self.path_params[name]
        try:
            number = int(value)
        except ValueError:
            raise mismatch(name, value, "java.lang.Long") from None
        if not LONG_MIN <= number <= LONG_MAX:
            raise mismatch(name, value, "java.lang.Long")
        return number

    def record(self, table: dict[int, _Record], what: str, name: str = "id") -> _Record:
        """Return the record the path variable (``{id}``) names, else a 404 naming it."""
        key = self.id(name)
        if key not in table:
            raise not_found(what, key)
        return table[key]

    def json(self) -> Any:
        """Return the body: as its schema binds it, or parsed as it came for an added route."""
        if self.bound is not _UNBOUND:
            return self.bound
        return parse_json(self.incoming.body or b"null")


#: What a handler returns: an `Answer`, a ``(status, body)`` pair, or a JSON-able body (200).
Handler = Callable[[ApiRequest], Any]


@dataclass(frozen=True)
class Route:
    """One operation of the fake API: its method and path, its handler and its documentation.

    A ``paged`` route's handler returns every matching row; the router sorts and pages them.
    ``source`` says where the operation is known from (``doc``, ``live``, ``client``, or
    ``user`` for routes a test added); ``guess`` says what the fake made up. ``schema`` is
    the request body's schema (the router refuses a body that does not fit it) and
    ``example`` a body that does.
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
    schema: Schema | None = None
    example: dict[str, Any] | None = None

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
            return spring_error(
                error.status, incoming.path, error.message, error.headers, error.fields
            )
        except (UndeclaredField, UndeclaredParameter) as error:
            # A bug in the fake, not in the request: say which, so that a test shows it.
            return spring_error(500, incoming.path, f"{type(error).__name__}: {error}")
        except (
            RecursionError,
            OverflowError,
            ValueError,
            LookupError,
            TypeError,
            AttributeError,
        ) as error:
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
                if route.source != "user":
                    _check(route, request)
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


def _check(route: Route, request: ApiRequest) -> None:
    """Refuse a request that does not fit the route's declarations, as Spring would.

    In Spring's order: path variables are converted, then query parameters, then the body
    is read and validated; only then does the handler run (so its 404s come after).
    """
    for name in request.path_params:
        if name == "id" or name.endswith("Id"):  # the document declares these int64
            request.id(name)
    for param in route.params:
        request.query.check(param)
    if route.schema is not None:
        request.bound = validate_body(route.schema, request.incoming.body)
