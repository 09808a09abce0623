"""Flatten an OpenAPI schema into its fields, for comparing two documents field by field.

Each field is named by its path (``roomStays[].rateId``, ``content[].unit.name``) and
described by what a client depends on: its JSON types, its format where it matters (a date
or a date-time), its enum values and whether it is required. ``$ref``, ``allOf``,
``oneOf`` and ``anyOf`` are followed, as springdoc writes them; a schema that refers to
itself is followed once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]

#: Formats whose difference a client sees; int32/int64 and float/double it does not.
_MEANINGFUL_FORMATS = frozenset({"date", "date-time", "email", "uuid", "binary", "byte"})
#: How deep a schema is followed: documents nest a few levels, cycles are cut sooner.
_MAX_DEPTH = 12


@dataclass
class Field:
    """What one field of a schema is: its types, format, enum values, whether required."""

    types: set[str] = field(default_factory=set)
    formats: set[str] = field(default_factory=set)
    enum: set[str] = field(default_factory=set)
    required: bool = False


def fields_of(schema: Schema | None, document: dict[str, Any]) -> dict[str, Field]:
    """Return every field of a schema, by path; ``""`` is the schema itself."""
    found: dict[str, Field] = {}
    if schema is not None:
        _walk(schema, document, "", found, (), required=True)
    return found


def resolve(schema: Schema, document: dict[str, Any]) -> Schema:
    """Follow a ``$ref`` within the document (``#/components/schemas/Name``)."""
    seen = 0
    while "$ref" in schema and seen < _MAX_DEPTH:
        target: Any = document
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target if isinstance(target, dict) else {}
        seen += 1
    return schema


def describe(info: Field) -> str:
    """Say in words what a field is: ``a string (date)``, ``an object``..."""
    words = {
        "string": "a string",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "object": "an object",
        "array": "a list",
    }
    kinds = " or ".join(words.get(kind, kind) for kind in sorted(info.types)) or "untyped"
    return kinds + (f" ({', '.join(sorted(info.formats))})" if info.formats else "")


def _walk(
    schema: Schema,
    document: dict[str, Any],
    path: str,
    found: dict[str, Field],
    visiting: tuple[str, ...],
    required: bool,
) -> None:
    reference = schema.get("$ref")
    if reference is not None:
        if reference in visiting or len(visiting) >= _MAX_DEPTH:
            return
        visiting = (*visiting, str(reference))
        schema = resolve(schema, document)
    info = found.setdefault(path, Field())
    info.required = info.required or required
    for key in ("allOf", "oneOf", "anyOf"):
        for part in schema.get(key, ()):
            if isinstance(part, dict):
                _walk(part, document, path, found, visiting, required=False)
    kind = schema.get("type")
    if isinstance(kind, str):
        info.types.add(kind)
    if schema.get("format") in _MEANINGFUL_FORMATS:
        info.formats.add(str(schema["format"]))
    info.enum.update(str(value) for value in schema.get("enum", ()) if value is not None)
    needed = set(schema.get("required", ()))
    for name, inner in (schema.get("properties") or {}).items():
        if isinstance(inner, dict):
            inner_path = f"{path}.{name}" if path else name
            _walk(inner, document, inner_path, found, visiting, required=name in needed)
    items = schema.get("items")
    if isinstance(items, dict):
        _walk(items, document, path + "[]", found, visiting, required=False)
