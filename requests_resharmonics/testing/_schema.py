"""Request-body schemas, written once: the OpenAPI document shows them and the fake enforces them.

Each builder returns an OpenAPI 3.0 schema object (a dict). A route's body schema goes into
``/v3/api-docs`` as it is, and `_validate` checks every request body against that same
object, so the document cannot promise what the fake does not check, nor the fake refuse
what the document allows. ``x-source`` marks a field not in the published description:
``live`` or ``client`` (public code sends it), ``guess`` (chosen as a Spring service would).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

#: Money is pounds and pence: a multiple of 0.01, as a ``BigDecimal`` of scale 2 is.
PENNY = 0.01
#: The largest amount a money field takes (a guess at the service's column).
MAX_MONEY = 999_999_999.99
#: A pattern that a string with something besides spaces matches (Spring's ``@NotBlank``).
NOT_BLANK = r"\S"


def _annotate(schema: Schema, description: str, source: str | None) -> Schema:
    if description:
        schema["description"] = description
    if source is not None:
        schema["x-source"] = source
    return schema


def string(
    description: str = "",
    *,
    enum: tuple[str, ...] = (),
    fmt: str | None = None,
    max_length: int | None = 200,
    pattern: str | None = None,
    not_blank: bool = False,
    source: str | None = None,
) -> Schema:
    """Return a string schema; ``not_blank`` refuses "" and spaces, as ``@NotBlank`` does."""
    schema: Schema = {"type": "string"}
    if enum:
        schema["enum"] = list(enum)
    if fmt is not None:
        schema["format"] = fmt
    if max_length is not None and not enum and fmt not in ("date", "date-time"):
        schema["maxLength"] = max_length
    if not_blank:
        schema.update(minLength=1, pattern=NOT_BLANK)
    elif pattern is not None:
        schema["pattern"] = pattern
    return _annotate(schema, description, source)


def date(description: str = "", *, source: str | None = None) -> Schema:
    """Return an ISO date (``2026-12-01``), a ``java.time.LocalDate``."""
    return string(description, fmt="date", source=source)


def date_time(description: str = "", *, source: str | None = None) -> Schema:
    """Return an ISO date-time with its offset (``2026-12-01T10:00:00Z``)."""
    return string(description, fmt="date-time", source=source)


def integer(
    description: str = "",
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    source: str | None = None,
) -> Schema:
    """Return a whole number: a Java ``long`` (``int64``), within a range if given."""
    schema: Schema = {"type": "integer", "format": "int64"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return _annotate(schema, description, source)


def number(
    description: str = "",
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    multiple_of: float | None = None,
    source: str | None = None,
) -> Schema:
    """Return a number; ``above`` is an exclusive minimum (OpenAPI 3.0's boolean form)."""
    schema: Schema = {"type": "number"}
    if above is not None:
        schema.update(minimum=above, exclusiveMinimum=True)
    elif minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    if multiple_of is not None:
        schema["multipleOf"] = multiple_of
    return _annotate(schema, description, source)


def money(description: str = "", *, minimum: float = PENNY, source: str | None = None) -> Schema:
    """Return an amount in pounds and pence: a multiple of a penny, at least ``minimum``."""
    return number(description, minimum=minimum, maximum=MAX_MONEY, multiple_of=PENNY, source=source)


def boolean(description: str = "", *, source: str | None = None) -> Schema:
    """Return true or false."""
    return _annotate({"type": "boolean"}, description, source)


def array(
    items: Schema,
    description: str = "",
    *,
    min_items: int | None = None,
    max_items: int | None = 1000,
    source: str | None = None,
) -> Schema:
    """Return a list of ``items``, with at least ``min_items`` and at most ``max_items``."""
    schema: Schema = {"type": "array", "items": items}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return _annotate(schema, description, source)


def obj(
    properties: dict[str, Schema],
    required: tuple[str, ...] = (),
    description: str = "",
    *,
    source: str | None = None,
) -> Schema:
    """Return an object; unknown properties are ignored, as Jackson's Spring default does."""
    unknown = set(required) - set(properties)
    if unknown:
        raise ValueError(f"required properties {sorted(unknown)} are not declared")
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return _annotate(schema, description, source)


def reference(what: str, *, source: str | None = None) -> Schema:
    """Return a reference to another record: its id, or an object with its ``id``.

    A Spring entity reference takes ``{"id": 7}``; Jackson also builds one from a bare
    ``7`` when the class has an id constructor (a guess that the service's do).
    """
    return _annotate(
        {
            "oneOf": [
                integer(f"the {what}'s id"),
                obj({"id": integer(f"the {what}'s id")}, ("id",)),
            ]
        },
        f"the {what}, by id",
        source,
    )


def fields_of(schema: Schema) -> dict[str, Schema]:
    """Return an object schema's properties, by name."""
    properties: dict[str, Schema] = schema.get("properties", {})
    return properties
