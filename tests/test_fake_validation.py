"""The fake checks every request against its own OpenAPI document, as Prism does.

One table-driven test walks every operation with a request body in ``/v3/api-docs`` and
breaks each field its schema declares: a wrong JSON type, a missing required field, an
unknown enum value, a number out of range, a fraction of a penny, a text too long, a
malformed date. Each must be a 400 naming the field, whatever the handler.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

Case = tuple[str, Any, str]  # what is broken, the body, the field the 400 must name


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def _wrong_type(schema: dict[str, Any]) -> Any:
    kinds = {option.get("type") for option in schema.get("oneOf", [schema])}
    if "string" in kinds:
        return {"a": 1}
    if kinds & {"integer", "number"}:
        return "12" if "object" not in kinds else [1, 2]
    if "boolean" in kinds:
        return "yes"
    if "array" in kinds:
        return {"a": 1}
    return [1, 2]


def _broken(schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Values of the field's schema that the document refuses, with what each breaks."""
    yield "wrong JSON type", _wrong_type(schema)
    if "enum" in schema:
        yield "unknown enum value", "NOT_" + schema["enum"][0]
    if schema.get("format") == "date":
        yield "malformed date", "2026-13-45"
    if schema.get("format") == "date-time":
        yield "malformed date-time", "yesterday"
    if "maxLength" in schema:
        yield "text too long", "x" * (schema["maxLength"] + 1)
    if schema.get("pattern") == r"\S":
        yield "blank text", "   "
    if "minimum" in schema:
        low = schema["minimum"]
        yield "below the minimum", low if schema.get("exclusiveMinimum") else low - 1
    if "maximum" in schema:
        yield "above the maximum", schema["maximum"] + 1
    if schema.get("multipleOf") == 0.01:
        yield "a fraction of a penny", 10.005
    if schema.get("type") == "array" and schema.get("minItems"):
        yield "too few items", []


def cases(schema: dict[str, Any], example: Any, path: str = "") -> Iterator[Case]:
    """Every way to break the example through one field, found from the schema alone."""
    properties = schema.get("properties", {})
    for name, field in properties.items():
        where = f"{path}.{name}" if path else name
        for what, value in _broken(field):
            yield what, _set(example, name, value), where
        if name in schema.get("required", ()):
            yield "missing required field", _without(example, name), where
        given = example.get(name)
        if field.get("type") == "object" and isinstance(given, dict):
            for what, body, inner in cases(field, given, where):
                yield what, _set(example, name, body), inner
        items = field.get("items", {})
        if items.get("type") == "object" and isinstance(given, list) and given:
            for what, body, inner in cases(items, given[0], f"{where}[0]"):
                yield what, _set(example, name, [body, *given[1:]]), inner


def _set(example: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(example)
    changed[name] = value
    return changed


def _without(example: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in example.items() if key != name}


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if "requestBody" in operation:
                yield method.upper(), path, operation


def test_every_body_field_the_document_refuses_is_a_400_naming_it(
    api: ResharmonicsSession,
) -> None:
    spec = api.get("/v3/api-docs").json()
    checked: dict[str, int] = {}
    for method, path, operation in operations(spec):
        content = operation["requestBody"]["content"]["application/json"]
        schema, example = content["schema"], content["example"]
        query = {p["name"]: "ops" for p in operation["parameters"] if p["required"]}
        query = {key: value for key, value in query.items() if f"{{{key}}}" not in path}
        url = re.sub(r"{\w+}", "1", path)  # unknown ids: a 404 only after the body passes
        accepted = api.request(method, url, params=query, json=example)
        assert accepted.status_code < 500, (method, path, accepted.text)
        if accepted.status_code == 400:  # refused by the operation's rules, not the document
            assert not accepted.json()["message"].startswith(
                ("JSON parse error", "Validation failed", "Required")
            ), (method, path, accepted.text)
        for what, body, field in cases(schema, example):
            response = api.request(method, url, params=query, json=body)
            assert response.status_code == 400, (method, path, what, field, response.text)
            answer = response.json()
            assert answer["message"].startswith(("JSON parse error", "Validation failed")), answer
            assert field in answer["message"], (what, field, answer["message"])
            assert field in {error["field"] for error in answer["errors"]}
            checked[what] = checked.get(what, 0) + 1
    assert set(checked) >= {
        "wrong JSON type",
        "missing required field",
        "unknown enum value",
        "below the minimum",
        "a fraction of a penny",
        "malformed date",
        "text too long",
    }
    assert sum(checked.values()) >= 250


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"paymentReference": {"a": 1}}, "paymentReference"),
        ({"amount": 0.001}, "amount"),
        ({"amount": 10.005}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": "10"}, "amount"),
        ({"paymentType": "CHEQUE"}, "paymentType"),
        ({"paymentType": "CARD_PAYMENT", "cardType": "VISA_DEBIT", "lastFour": 4242}, "lastFour"),
    ],
)
def test_a_payment_the_service_would_refuse(
    api: ResharmonicsSession, change: dict[str, Any], field: str
) -> None:
    booking = next(
        row["booking"]["id"]
        for row in api.paginate("/api/v3/salesInvoices", page_size=500)
        if row["outstanding"] > 20
    )
    body = {"paymentReference": "P-1", "amount": 10, "paymentType": "BANK_PAYMENT", **change}
    path = f"/api/v3/bookings/{booking}/payments"
    response = api.post(path, params={"user": "ops"}, json=body)
    assert response.status_code == 400
    assert field in response.json()["message"]
    penny = {"paymentReference": "P-2", "amount": 0.01, "paymentType": "BANK_PAYMENT"}
    assert api.post(path, params={"user": "ops"}, json=penny).status_code == 201


def test_an_invoice_item_described_by_a_list_is_refused(api: ResharmonicsSession) -> None:
    booking = api.get("/api/v3/bookings", params={"size": 1}).json()["content"][0]["bookingId"]
    body = {
        "bookingId": booking,
        "salesInvoiceItems": [{"description": [1, 2], "unitPrice": 1, "quantity": 1}],
    }
    response = api.post("/api/v3/salesInvoices", json=body)
    assert response.status_code == 400
    assert "salesInvoiceItems[0].description" in response.json()["message"]


def test_not_json_numbers_and_huge_ids_are_refused(api: ResharmonicsSession) -> None:
    headers = {"Content-Type": "application/json"}
    for number in (b"NaN", b"Infinity", b"-Infinity"):
        raw = b'{"paymentReference": "P", "amount": %s, "paymentType": "BANK_PAYMENT"}' % number
        response = api.post("/api/v3/bookings/20001/payments?user=ops", data=raw, headers=headers)
        assert response.status_code == 400, response.text
    body = {"primaryContactId": 2**70, "duplicateContactIds": [1]}
    response = api.post("/api/v3/contacts/merge", json=body)
    assert response.status_code == 400 and "primaryContactId" in response.json()["message"]
    assert api.get(f"/api/v3/units/{2**70}").status_code == 400
    assert api.post("/api/v3/contacts", data=b"", headers=headers).status_code == 400


def test_query_parameters_are_checked_from_the_document(api: ResharmonicsSession) -> None:
    today = datetime.date.today()
    dates = {"dateFrom": today.isoformat(), "dateTo": (today + datetime.timedelta(7)).isoformat()}
    response = api.get("/api/v3/availabilities", params={**dates, "guests": 0})
    assert response.status_code == 400 and "guests" in response.json()["message"]
    response = api.get("/api/v3/salesInvoices", params={"exportStatus": "LOST"})
    assert response.status_code == 400 and "exportStatus" in response.json()["message"]
    response = api.get("/api/v3/bookings", params={"unitId": str(2**64)})
    assert response.status_code == 400 and "unitId" in response.json()["message"]


def test_status_updates_are_all_or_none(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    portfolio = fake_resharmonics.portfolio
    held = next(
        stay
        for stay in sorted(portfolio.room_stays.values(), key=lambda stay: stay.id)
        if stay.status == "CONFIRMED" and stay.start > portfolio.today
    )
    rate = held.rate_id
    free_start = portfolio.today + datetime.timedelta(days=500)  # beyond every seeded stay
    stays = [
        {"rateId": rate, "startDate": free_start.isoformat(),
         "endDate": (free_start + datetime.timedelta(days=3)).isoformat()},
        {"rateId": rate, "unitId": held.unit_id, "startDate": held.start.isoformat(),
         "endDate": held.end.isoformat()},
    ]  # fmt: skip
    account = next(iter(portfolio.accounts))
    body = {"channelId": 1, "bookingTypeId": 1, "bookingFinanceAccountId": account,
            "billingFinanceAccountId": account, "bookingContactId": min(portfolio.contacts),
            "billingFrequencyId": 1, "roomStays": stays}  # fmt: skip
    created = api.post("/api/v3/bookings", json=body)
    assert created.status_code == 201, created.text
    booking = created.json()
    first, second = (stay["id"] for stay in booking["roomStays"])
    update = {"statusUpdates": [{"roomStayId": first, "status": "CONFIRMED"},
                                {"roomStayId": second, "status": "CONFIRMED"}]}  # fmt: skip
    response = api.put(f"/api/v3/bookings/{booking['id']}/updateStatuses", json=update)
    assert response.status_code == 409
    assert "no room stay of this batch was changed" in response.json()["message"]
    for key in (first, second):
        assert api.get(f"/api/v3/roomStays/{key}").json()["roomStayStatus"] == "ENQUIRY"
    assert portfolio.is_free(
        portfolio.room_stays[first].unit_id, free_start, free_start + datetime.timedelta(days=3)
    )
