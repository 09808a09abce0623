"""Query parameters as a Spring controller reads them: declared, converted, checked.

A route declares its parameters (`Param`); the router checks every declared one before the
handler runs (`Query.check`), and a handler can read only those (`UndeclaredParameter`
otherwise), so the OpenAPI document lists exactly what the fake applies. Unknown
parameters are ignored, blank ones count as absent, list parameters may be repeated or
comma-separated, and enum values are read regardless of case, as Spring's binder does.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import ApiError, mismatch

#: Spring Data's default page size, and the largest it accepts (a bigger one is cut to it).
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000
#: The range of a Java ``long``, which every id and whole-number parameter is.
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

_JAVA_TYPES = {
    "integer": "java.lang.Long",
    "number": "java.math.BigDecimal",
    "boolean": "java.lang.Boolean",
    "date": "java.time.LocalDate",
    "date-time": "java.time.OffsetDateTime",
}
_TRUE, _FALSE = ("true", "on", "yes", "1"), ("false", "off", "no", "0")


@dataclass(frozen=True)
class Param:
    """A query parameter of a route, for validation and for the OpenAPI document."""

    name: str
    kind: str = "string"  # string, integer, number, boolean, date, date-time, array
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    source: str = "doc"  # doc, live, client or guess: where the parameter is known from
    minimum: float | None = None
    maximum: float | None = None


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
        """Return a whole-number parameter (a Java long); anything else is a 400 naming it."""
        value = self.text(name, required)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            raise mismatch(name, value, "java.lang.Long") from None
        if not LONG_MIN <= number <= LONG_MAX:
            raise mismatch(name, value, "java.lang.Long")
        return number

    def date(self, name: str, required: bool = False) -> datetime.date | None:
        """Return an ISO date (``2026-11-28``); anything else is a 400 naming it."""
        value = self.text(name, required)
        if value is None:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise mismatch(name, value, "java.time.LocalDate") from None

    def moment(self, name: str, required: bool = False) -> datetime.datetime | None:
        """Return an ISO date-time, or a date meaning its midnight; UTC unless it says otherwise.

        Whether the API takes dates or date-times for ``lastUpdatedFrom`` and the like is
        not documented (a guess): both are accepted.
        """
        value = self.text(name, required)
        if value is None:
            return None
        try:
            if len(value) == 10:
                day = datetime.date.fromisoformat(value)
                return datetime.datetime.combine(day, datetime.time(), datetime.timezone.utc)
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise mismatch(name, value, "java.time.OffsetDateTime") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)

    def choices(self, name: str, allowed: Sequence[str]) -> list[str]:
        """Return a list of enum values; an unknown one is a 400 naming it, as in Spring."""
        chosen = [value.upper() for value in self.values(name)]
        unknown = [value for value in chosen if value not in allowed]
        if unknown:
            raise mismatch(name, unknown[0], "enum")
        return chosen

    def read(self, param: Param) -> Any:
        """Read a declared parameter as its kind says (None when it is not given)."""
        name, required = param.name, param.required
        if param.kind == "integer":
            return self.integer(name, required)
        if param.kind == "number":
            return self._number(name, required)
        if param.kind == "date":
            return self.date(name, required)
        if param.kind == "date-time":
            return self.moment(name, required)
        if param.kind == "boolean":
            return self._boolean(name, required)
        if param.kind == "array":
            found = self.choices(name, param.enum) if param.enum else self.values(name)
            if required and not found:
                self.text(name, required=True)  # raises: required and not given
            return found
        text = self.text(name, required)
        if text is not None and param.enum:
            if text.upper() not in param.enum:
                raise mismatch(name, text, "enum")
            return text.upper()
        return text

    def check(self, param: Param) -> None:
        """Check a declared parameter: present if required, of its kind, within its range."""
        value = self.read(param)
        if value is None or isinstance(value, list):
            return
        if param.minimum is not None and value < param.minimum:
            raise ApiError(400, f"{param.name}: must be greater than or equal to {param.minimum:g}")
        if param.maximum is not None and value > param.maximum:
            raise ApiError(400, f"{param.name}: must be less than or equal to {param.maximum:g}")

    def _number(self, name: str, required: bool) -> float | None:
        value = self.text(name, required)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise mismatch(name, value, _JAVA_TYPES["number"]) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise mismatch(name, value, _JAVA_TYPES["number"])
        return number

    def _boolean(self, name: str, required: bool) -> bool | None:
        value = self.text(name, required)
        if value is None:
            return None
        if value.lower() not in (*_TRUE, *_FALSE):
            raise mismatch(name, value, _JAVA_TYPES["boolean"])
        return value.lower() in _TRUE
