"""``resharmonics contract``: a second fake plays a live API that has moved on.

The "live" server is a fake serving an altered copy of the fake's own document at
``/v3/api-docs`` (with springdoc's habits: ``$ref`` schemas, one ``pageable`` parameter,
other path-variable names); the comparison must list every alteration, in words, grouped
by operation, and exit 1; against an unaltered document it agrees and exits 0.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsError
from requests_resharmonics.testing import (
    FakeResharmonics,
    check_against_live,
    compare_documents,
    fake_document,
)


def altered(document: dict[str, Any]) -> dict[str, Any]:
    """The fake's document as a live API that moved on might publish it."""
    live = copy.deepcopy(document)
    paths = live["paths"]
    paths["/api/v3/teams"] = {"get": {"operationId": "getTeams", "parameters": [],
                                      "responses": {"200": {"description": "OK"}}}}  # fmt: skip
    del paths["/api/v3/channels"]["get"]  # a guess of the fake's the live API lacks
    stays = paths["/api/v3/roomStays"]["get"]["parameters"]
    stays.append({"name": "createdFrom", "in": "query", "required": False,
                  "schema": {"type": "string", "format": "date-time"}})  # fmt: skip
    payment = paths["/api/v3/bookings/{bookingId}/payments"]["post"]
    next(p for p in payment["parameters"] if p["name"] == "payDueBefore")["required"] = True
    units = paths.pop("/api/v3/units")
    rows = units["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    rows["properties"]["content"]["items"]["properties"]["floor"] = {"type": "integer"}
    units["get"]["parameters"] = [
        p for p in units["get"]["parameters"] if p["name"] not in ("page", "size", "sort")
    ] + [{"name": "pageable", "in": "query", "required": True,
          "schema": {"$ref": "#/components/schemas/Pageable"}}]  # fmt: skip
    paths["/api/v3/units"] = units
    detail = paths.pop("/api/v3/units/{id}")  # springdoc names it after the variable
    answer = detail["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    answer["properties"]["bookable"] = {"type": "string"}
    paths["/api/v3/units/{unitId}"] = detail
    statuses = paths["/api/v3/bookings/{bookingId}/updateStatuses"]["put"]
    body = statuses["requestBody"]["content"]["application/json"]["schema"]
    body["properties"]["statusUpdates"]["items"]["properties"]["status"]["enum"].append("NO_SHOW")
    booking = paths["/api/v3/bookings"]["post"]["requestBody"]["content"]["application/json"]
    booking["schema"]["required"].append("customerReference")
    invoice = paths["/api/v3/salesInvoices"]["post"]["requestBody"]["content"]["application/json"]
    invoice["schema"]["properties"]["type"]["enum"].remove("SALES_CREDIT")
    contact = paths["/api/v3/contacts"]["post"]["requestBody"]["content"]["application/json"]
    schemas = live["components"].setdefault("schemas", {})
    schemas["ContactRequest"] = contact["schema"]
    schemas["ContactRequest"]["properties"]["title"] = {"type": "string"}
    schemas["Pageable"] = {"type": "object", "properties": {"page": {"type": "integer"}}}
    contact["schema"] = {"$ref": "#/components/schemas/ContactRequest"}
    return live


EXPECTED = {
    "GET /api/v3/teams: in the live API, not in the fake",
    "GET /api/v3/roomStays\n  parameter createdFrom: in the live API, not in the fake",
    "POST /api/v3/bookings/{bookingId}/payments\n  parameter payDueBefore: required only in "
    "the live API",
    "GET /api/v3/units\n  answer field content[].floor: in the live API, not in the fake",
    "GET /api/v3/units/{unitId}\n  answer field bookable: a string in the live API, true or "
    "false in the fake",
    "PUT /api/v3/bookings/{bookingId}/updateStatuses\n  request field statusUpdates[].status: "
    "enum values the fake lacks: NO_SHOW",
    "POST /api/v3/bookings\n  request field customerReference: required only in the live API",
    "POST /api/v3/salesInvoices\n  request field type: enum values only the fake has: SALES_CREDIT",
    "POST /api/v3/contacts\n  request field title: in the live API, not in the fake",
}


def test_every_alteration_is_listed_and_the_check_fails(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.add_route("GET", "/v3/api-docs", altered(fake_document()))
    report = check_against_live(fake_resharmonics.session())
    assert report.behind  # resharmonics contract exits 1
    text = report.text()
    for expected in EXPECTED:
        operation, _, line = expected.partition("\n")
        assert operation in text, expected
        assert (line or operation) in text, expected
        if line:  # the line sits under its operation
            assert text.index(line) > text.index(operation), expected
    assert "only in the fake (its guesses; not a failure):\nGET /api/v3/channels" in text
    found = json.loads(report.as_json())
    assert found["behind"] is True
    # Nothing else: the $ref schema, the one pageable parameter and {unitId} all agree.
    assert sum(row["behind"] for row in found["differences"]) == len(EXPECTED), text
    assert [row["operation"] for row in found["differences"] if not row["behind"]] == [
        "GET /api/v3/channels"
    ]


def test_the_fakes_own_document_agrees(fake_resharmonics: FakeResharmonics) -> None:
    report = check_against_live(fake_resharmonics.session())
    assert not report.behind and not report.differences  # resharmonics contract exits 0
    assert report.text() == "the fake's document agrees with the live API's"


def test_only_the_fakes_guesses_do_not_fail_the_check() -> None:
    fake = fake_document()
    live = copy.deepcopy(fake)
    del live["paths"]["/api/v3/billingFrequencies"]
    report = compare_documents(live, fake)
    assert not report.behind
    assert report.text().splitlines()[0] == "only in the fake (its guesses; not a failure):"


def test_a_live_answer_that_is_not_a_document_is_one_clear_error(
    fake_resharmonics: FakeResharmonics,
) -> None:
    for answer, words in ((None, "HTTP 503"), ({"hello": 1}, "no paths")):
        if answer is None:
            fake_resharmonics.add_route("GET", "/v3/api-docs", None, status=503)
        else:
            fake_resharmonics.add_route("GET", "/v3/api-docs", answer)
        with pytest.raises(ResharmonicsError, match=words) as raised:
            check_against_live(fake_resharmonics.session())
        assert fake_resharmonics.base_url + "/v3/api-docs" in str(raised.value)


def test_the_command_lists_the_alterations_and_exits_1(
    fake_resharmonics: FakeResharmonics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from requests_resharmonics.cli import main

    for name, value in fake_resharmonics.environ().items():
        monkeypatch.setenv(name, value)
    fake_resharmonics.add_route("GET", "/v3/api-docs", altered(fake_document()))
    assert main(["contract", "--no-cache"]) == 1
    text = capsys.readouterr().out
    for expected in EXPECTED:
        for line in expected.split("\n"):
            assert line in text, expected
    assert main(["contract", "--no-cache", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["behind"] is True


def test_the_command_exits_0_when_the_documents_agree(
    fake_resharmonics: FakeResharmonics,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from requests_resharmonics.cli import main

    for name, value in fake_resharmonics.environ().items():
        monkeypatch.setenv(name, value)
    assert main(["contract", "--no-cache"]) == 0
    assert "agrees" in capsys.readouterr().out
