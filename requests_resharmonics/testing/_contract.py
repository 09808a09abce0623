"""Compare the live API's OpenAPI document with the fake's, to tell when the service moved.

``resharmonics contract`` fetches the live ``/v3/api-docs`` with the user's credentials
and compares it with the document `FakeResharmonics` serves: operations, their query
parameters, request and answer fields, and enum values. Each difference is one line of
words, grouped by operation. What the live API has and the fake lacks, or what the two
describe differently, means the fake is behind: tests that pass against it may fail in
production (exit status 1). What only the fake has (its guesses, labelled ``x-guess``)
is listed but does not fail the check.

Example:
    >>> report = compare_documents(live_document, fake_document())
    >>> print(report.text())
    GET /api/v3/roomStays
      parameter createdFrom: in the live API, not in the fake
    >>> report.behind
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ResharmonicsError
from ._schema_fields import Field, describe, fields_of, resolve

if TYPE_CHECKING:
    from ..session import ResharmonicsSession

Document = dict[str, Any]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
#: Spring Data's ``Pageable`` as springdoc may write it: one object parameter for three.
_PAGEABLE = ("page", "size", "sort")


@dataclass(frozen=True)
class Difference:
    """One way the documents differ: where, what, in words, and whether the fake is behind."""

    operation: str  # "GET /api/v3/bookings", or "" for the document as a whole
    where: str  # "parameter dateFrom", "request field roomStays[].rateId", ...
    words: str
    behind: bool


@dataclass(frozen=True)
class ContractReport:
    """The differences between the live document and the fake's."""

    differences: tuple[Difference, ...]

    @property
    def behind(self) -> bool:
        """Whether the fake lacks, or describes otherwise, something the live API has."""
        return any(difference.behind for difference in self.differences)

    def text(self) -> str:
        """Return the differences as lines, grouped by operation, the fake's extras last."""
        if not self.differences:
            return "the fake's document agrees with the live API's"
        lines: list[str] = []
        for behind in (True, False):
            chosen = [d for d in self.differences if d.behind is behind]
            if chosen and not behind:
                lines.append("only in the fake (its guesses; not a failure):")
            current = None
            for difference in chosen:
                if difference.where == "":
                    lines.append(f"{difference.operation}: {difference.words}")
                    continue
                if difference.operation != current:
                    current = difference.operation
                    lines.append(current)
                lines.append(f"  {difference.where}: {difference.words}")
        return "\n".join(lines)

    def as_json(self) -> str:
        """Return the report as JSON, for CI: ``behind`` and every difference."""
        body = {
            "behind": self.behind,
            "differences": [asdict(difference) for difference in self.differences],
        }
        return json.dumps(body, indent=2)


def compare_documents(live: Document, fake: Document) -> ContractReport:
    """Compare two OpenAPI documents; the first is the live API's."""
    live_operations, fake_operations = _operations(live), _operations(fake)
    found: list[Difference] = []
    for key in sorted(live_operations.keys() | fake_operations.keys(), key=_order):
        path, _ = live_operations.get(key) or fake_operations[key]
        name = f"{key[0].upper()} {path}"
        if key not in fake_operations:
            found.append(Difference(name, "", "in the live API, not in the fake", True))
        elif key not in live_operations:
            found.append(Difference(name, "", "only in the fake", False))
        else:
            live_op, fake_op = live_operations[key][1], fake_operations[key][1]
            found += _parameters(name, live_op, fake_op, live, fake)
            found += _fields(name, "request field", _body(live_op), _body(fake_op), live, fake)
            found += _fields(name, "answer field", _answer(live_op), _answer(fake_op), live, fake)
    return ContractReport(tuple(found))


def fake_document() -> Document:
    """Return the OpenAPI document a `FakeResharmonics` with the default seed serves."""
    from ._openapi import api_docs_route, document
    from ._portfolio import Portfolio
    from .api import ROUTES

    routes = [*ROUTES, api_docs_route(lambda request: None)]
    return document(routes, Portfolio(), "http://127.0.0.1", "http://127.0.0.1/oauth2/token")


def _order(key: tuple[str, str]) -> tuple[str, int]:
    return key[1], _METHODS.index(key[0]) if key[0] in _METHODS else len(_METHODS)


def _operations(document: Document) -> dict[tuple[str, str], tuple[str, Document]]:
    """Operations by method and path, path variables' names ignored (``{id}`` = ``{key}``)."""
    found = {}
    for path, methods in (document.get("paths") or {}).items():
        for method, operation in (methods or {}).items():
            if method in _METHODS and isinstance(operation, dict):
                found[(method, re.sub(r"{[^}]*}", "{}", path))] = (path, operation)
    return found


def _query(operation: Document, document: Document) -> dict[str, Document]:
    found: dict[str, Document] = {}
    for parameter in operation.get("parameters") or ():
        parameter = resolve(parameter, document)
        if parameter.get("in") != "query":
            continue
        schema = resolve(parameter.get("schema") or {}, document)
        if parameter.get("name") == "pageable" and schema.get("type", "object") == "object":
            for name in _PAGEABLE:  # springdoc's one object for Spring Data's three
                found[name] = {"name": name, "required": False, "schema": {}}
            continue
        found[str(parameter.get("name"))] = parameter
    return found


def _parameters(
    name: str, live_op: Document, fake_op: Document, live: Document, fake: Document
) -> Iterator[Difference]:
    live_query, fake_query = _query(live_op, live), _query(fake_op, fake)
    for key in sorted(live_query.keys() | fake_query.keys()):
        where = f"parameter {key}"
        if key not in fake_query:
            yield Difference(name, where, "in the live API, not in the fake", True)
            continue
        if key not in live_query:
            yield Difference(name, where, "only in the fake", False)
            continue
        live_param, fake_param = live_query[key], fake_query[key]
        if bool(live_param.get("required")) != bool(fake_param.get("required")):
            side = "live API" if live_param.get("required") else "fake"
            yield Difference(name, where, f"required only in the {side}", True)
        live_info = fields_of(live_param.get("schema"), live)
        fake_info = fields_of(fake_param.get("schema"), fake)
        for path in ("", "[]"):  # the value, and a list's items
            yield from _compare_field(name, where, live_info.get(path), fake_info.get(path), "")


def _body(operation: Document) -> Document | None:
    return _schema_of((operation.get("requestBody") or {}).get("content") or {})


def _schema_of(content: Document) -> Document | None:
    media: Document = content.get("application/json") or next(iter(content.values()), {})
    schema: Document | None = media.get("schema")
    return schema


def _answer(operation: Document) -> Document | None:
    for status, answer in sorted((operation.get("responses") or {}).items()):
        if str(status).startswith("2") and isinstance(answer, dict):
            return _schema_of(answer.get("content") or {})
    return None


def _fields(
    name: str,
    label: str,
    live_schema: Document | None,
    fake_schema: Document | None,
    live: Document,
    fake: Document,
) -> Iterator[Difference]:
    live_fields, fake_fields = fields_of(live_schema, live), fields_of(fake_schema, fake)
    for path in sorted(live_fields.keys() | fake_fields.keys()):
        where = f"{label} {path or '(the body)'}"
        live_info, fake_info = live_fields.get(path), fake_fields.get(path)
        if fake_info is None:
            yield Difference(name, where, "in the live API, not in the fake", True)
        elif live_info is None:
            yield Difference(name, where, "only in the fake", False)
        else:
            yield from _compare_field(name, where, live_info, fake_info, label)


def _compare_field(
    name: str, where: str, live: Field | None, fake: Field | None, label: str
) -> Iterator[Difference]:
    """Compare one field both documents have; ``label`` says which part it is in."""
    if live is None or fake is None:
        return
    other_type = bool(live.types and fake.types and not live.types & fake.types)
    other_format = bool(live.formats and fake.formats and live.formats != fake.formats)
    if other_type or other_format:
        words = f"{describe(live)} in the live API, {describe(fake)} in the fake"
        yield Difference(name, where, words, True)
    if label == "request field" and live.required != fake.required:
        side = "live API" if live.required else "fake"
        yield Difference(name, where, f"required only in the {side}", True)
    missing, extra = sorted(live.enum - fake.enum), sorted(fake.enum - live.enum)
    if live.enum and fake.enum and missing:
        yield Difference(name, where, "enum values the fake lacks: " + ", ".join(missing), True)
    if live.enum and fake.enum and extra:
        words = "enum values only the fake has: " + ", ".join(extra)
        yield Difference(name, where, words, True)
    if live.enum and not fake.enum and fake.types <= {"string"}:
        # A request or parameter the fake takes as free text lets wrong values through;
        # an answer it writes as free text breaks nobody.
        words = "an enum in the live API, free text in the fake"
        yield Difference(name, where, words, label != "answer field")


#: Where the live service publishes its OpenAPI document (seen against production).
API_DOCS_PATH = "/v3/api-docs"


def check_against_live(session: ResharmonicsSession) -> ContractReport:
    """Fetch the live OpenAPI document through ``session`` and compare it with the fake's.

    Example:
        >>> with ResharmonicsSession() as session:  # real credentials, from the environment
        ...     report = check_against_live(session)
        >>> report.behind, report.text().splitlines()[:1]
        (False, ["the fake's document agrees with the live API's"])
    """
    with session:
        live = live_document(session)
    return compare_documents(live, fake_document())


def live_document(session: ResharmonicsSession) -> Document:
    """Fetch the live OpenAPI document, or raise a `ResharmonicsError` saying what came back."""
    where = session.base_url + API_DOCS_PATH
    response = session.get(API_DOCS_PATH)
    if response.status_code != 200:
        raise ResharmonicsError(f"GET {where} answered HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise ResharmonicsError(f"GET {where} did not answer JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ResharmonicsError(f"GET {where} did not answer an OpenAPI document (no paths)")
    return document
