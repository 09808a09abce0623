"""Check a request body against its route's schema, as Prism checks requests against a document.

The schema is the one ``/v3/api-docs`` shows (see `_schema`). The checks follow a Spring
service's two steps: Jackson reads the JSON into the request class, refusing a wrong JSON
type, an unknown enum value, a malformed date or a number out of a ``long``'s range (the
first such error is the answer, "JSON parse error: ..."); then bean validation checks
required fields, ranges, sizes and patterns and reports every violation at once
("Validation failed: ..."). Both answer 400 naming the field (``roomStays[0].rateId``).
Unknown fields are ignored, as Spring's Jackson ignores them.

The handler gets the body bound as a `Bound`: the declared fields that were sent, and an
`UndeclaredField` error for any other it reads, so a handler cannot act on a field the
document does not declare.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
from typing import Any

from ._errors import ApiError, FieldError
from ._query import LONG_MAX, LONG_MIN
from ._schema import NOT_BLANK, Schema

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_KINDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}


class UndeclaredField(LookupError):
    """A handler read a body field its route's schema does not declare: a bug in the fake."""


class Bound(dict[str, Any]):
    """A body object as the handler sees it: the declared fields that were sent.

    Reading a field the schema does not declare raises `UndeclaredField`; a declared
    field that was not sent reads as None through ``get``.
    """

    def __init__(self, declared: frozenset[str], values: dict[str, Any]) -> None:
        super().__init__(values)
        self.declared = declared

    def _check(self, key: object) -> None:
        if key not in self.declared:
            raise UndeclaredField(f"the body schema does not declare the field {key!r}")

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a declared field's value, or ``default`` when it was not sent."""
        self._check(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return super().__contains__(key)


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body as Jackson does: NaN and Infinity are not JSON; too deep is an error."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON number")

    try:
        return json.loads(raw, parse_constant=refuse)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        raise ApiError(400, "JSON parse error: the request body is not valid JSON") from None


def validate_body(schema: Schema, raw: bytes) -> Any:
    """Return the body bound to the schema, or raise a 400 naming what is wrong."""
    value = parse_json(raw) if raw.strip() else None
    if value is None:  # no body, or JSON null: Spring's @RequestBody wants one
        raise ApiError(400, "Required request body is missing")
    checker = _Checker()
    bound = checker.bind(schema, value, "")
    if checker.parse_errors:
        first = checker.parse_errors[0]
        raise ApiError(400, f"JSON parse error: {first}", fields=(first,))
    if checker.violations:
        found = tuple(checker.violations)
        raise ApiError(400, "Validation failed: " + "; ".join(map(str, found)), fields=found)
    return bound


class _Checker:
    """One walk over a body: the bound value, and what was wrong with it."""

    def __init__(self) -> None:
        self.parse_errors: list[FieldError] = []
        self.violations: list[FieldError] = []

    def bind(self, schema: Schema, value: Any, path: str) -> Any:
        if value is None:
            return None  # a required field's absence is reported by its object
        if "oneOf" in schema:
            for option in schema["oneOf"]:
                if _kind_of(value) == option.get("type") or _is_number(option, value):
                    return self.bind(option, value, path)
            expected = " or ".join(_KINDS[option["type"]] for option in schema["oneOf"])
            return self._parse_error(path or "the request body", f"must be {expected}", value)
        kind = schema.get("type", "object")
        if not (_kind_of(value) == kind or _is_number(schema, value)):
            return self._parse_error(path or "the request body", f"must be {_KINDS[kind]}", value)
        if kind == "object":
            return self._object(schema, value, path)
        if kind == "array":
            return self._array(schema, value, path)
        if kind == "string":
            return self._string(schema, value, path)
        if kind in ("integer", "number"):
            return self._number(schema, value, path)
        return value

    def _object(self, schema: Schema, value: dict[str, Any], path: str) -> Bound:
        properties: dict[str, Schema] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if value.get(name) is None:
                self.violations.append(FieldError(_join(path, name), "must not be null"))
        bound = {
            name: self.bind(sub, value[name], _join(path, name))
            for name, sub in properties.items()
            if name in value
        }
        return Bound(frozenset(properties), bound)

    def _array(self, schema: Schema, value: list[Any], path: str) -> list[Any]:
        low, high = schema.get("minItems"), schema.get("maxItems")
        if low is not None and len(value) < low:
            self.violations.append(FieldError(path, f"must have at least {low} item(s)"))
        if high is not None and len(value) > high:
            self.violations.append(FieldError(path, f"must have at most {high} items"))
            return []
        items = schema.get("items", {})
        for index, item in enumerate(value):
            if item is None:  # a List<@NotNull ...>, a guess at the service's lists
                self.violations.append(FieldError(f"{path}[{index}]", "must not be null"))
        return [self.bind(items, item, f"{path}[{index}]") for index, item in enumerate(value)]

    def _string(self, schema: Schema, value: str, path: str) -> Any:
        enum, fmt = schema.get("enum"), schema.get("format")
        if enum is not None and value not in enum:
            return self._parse_error(path, "must be one of " + ", ".join(enum), value)
        if fmt == "date" and not _is_date(value):
            return self._parse_error(path, "must be a date such as 2026-12-01", value)
        if fmt == "date-time" and not _is_moment(value):
            return self._parse_error(
                path, "must be a date-time such as 2026-12-01T10:00:00Z", value
            )
        if fmt == "email" and not _EMAIL.match(value):
            self.violations.append(FieldError(path, "must be a well-formed email address"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            self.violations.append(
                FieldError(path, f"must be at most {schema['maxLength']} characters")
            )
        pattern = schema.get("pattern")
        if pattern == NOT_BLANK and not value.strip():
            self.violations.append(FieldError(path, "must not be blank"))
        elif pattern is not None and pattern != NOT_BLANK and not re.search(pattern, value):
            self.violations.append(FieldError(path, f'must match "{pattern}"'))
        return value

    def _number(self, schema: Schema, value: float, path: str) -> Any:
        if schema["type"] == "integer" and not LONG_MIN <= value <= LONG_MAX:
            return self._parse_error(path, "must fit in a Java long", value)
        if isinstance(value, float) and not math.isfinite(value):
            return self._parse_error(path, "must be a finite number", value)
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and schema.get("exclusiveMinimum") and not value > low:
            self.violations.append(FieldError(path, f"must be greater than {low:g}"))
        elif low is not None and value < low:
            self.violations.append(FieldError(path, f"must be greater than or equal to {low:g}"))
        if high is not None and value > high:
            self.violations.append(FieldError(path, f"must be less than or equal to {high:.2f}"))
        step = schema.get("multipleOf")
        if step is not None and not _multiple(value, step):
            places = max(0, -_decimal(step).as_tuple().exponent)  # type: ignore[operator]
            self.violations.append(
                FieldError(path, f"must have at most {places} decimal places, not {value!r}")
            )
        return value

    def _parse_error(self, path: str, words: str, value: Any) -> None:
        self.parse_errors.append(FieldError(path, f"{words}, not {_describe(value)}"))


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_number(schema: Schema, value: Any) -> bool:
    # A whole number is a number too (an integer schema does not take 1.5).
    return schema.get("type") == "number" and _kind_of(value) == "integer"


def _is_date(value: str) -> bool:
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a whole number of ``step`` (of pence), float noise forgiven.

    328.92999999999995 (a sum of floats) is read as 328.93; 10.005 is refused. That a
    service reads the noise as the amount it stands for is a guess; a real fraction of a
    penny it refuses, as a ``BigDecimal`` of scale 2 must.
    """
    try:
        steps = _decimal(value) / _decimal(step)
    except decimal.InvalidOperation:
        return False
    return abs(steps - steps.to_integral_value()) < decimal.Decimal("1e-6")


def _is_moment(value: str) -> bool:
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value


def _decimal(value: float) -> decimal.Decimal:
    return decimal.Decimal(repr(value))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(value: Any) -> str:
    kind = _kind_of(value)
    if kind in ("string", "integer", "number", "boolean"):
        text = json.dumps(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return _KINDS[kind]
