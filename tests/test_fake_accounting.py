"""The fake's accounting: invoices for the stays' nights, items that add up, payments, exports.

An accounting integration's run (list POSTED invoices changed since a date, read their items,
mark each exported) is played against the fake, and every rule it relies on is checked.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

EXPORTED_AT = "2026-12-01T10:00:00Z"


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


def get(session: ResharmonicsSession, path: str, **params: Any) -> Any:
    response = session.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def every(session: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(session.paginate(path, params, page_size=500))


def cents(value: float) -> int:
    return round(value * 100)


def nights_of(stay: dict[str, Any]) -> int:
    start, end = (datetime.date.fromisoformat(stay[name]) for name in ("startDate", "endDate"))
    return (end - start).days


def test_an_accounting_export_run(
    api: ResharmonicsSession, fake_resharmonics: FakeResharmonics
) -> None:
    today = fake_resharmonics.portfolio.today
    since = (today - datetime.timedelta(days=60)).isoformat()
    invoices = every(api, "/api/v3/salesInvoices", statuses="POSTED", lastUpdatedFrom=since)
    assert invoices, "a portfolio of a year of stays has recently posted invoices"
    waiting = [invoice for invoice in invoices if invoice["exportStatus"] is None]
    assert waiting, "some posted invoices are not exported yet"
    for invoice in invoices:
        assert invoice["status"] == "POSTED" and invoice["lastUpdated"] >= since
        items = every(api, f"/api/v3/salesInvoices/{invoice['id']}/salesInvoiceItems")
        assert items
        assert sum(cents(item["net"]) for item in items) == cents(invoice["net"])
        assert sum(cents(item["tax"]) for item in items) == cents(invoice["tax"])
        assert sum(cents(item["gross"]) for item in items) == cents(invoice["gross"])
        assert {item["salesInvoice"]["id"] for item in items} == {invoice["id"]}
        one = get(api, f"/api/v3/salesInvoices/salesInvoiceItems/{items[0]['id']}")
        assert one == items[0]
        body = {"externalId": f"XERO-{invoice['salesInvoiceNumber']}", "exportedDate": EXPORTED_AT}
        marked = api.patch(f"/api/v3/salesInvoices/{invoice['id']}/exported", json=body)
        assert marked.status_code == 200, marked.text
        assert marked.json()["exportStatus"] == "EXPORTED"
    left = every(api, "/api/v3/salesInvoices", statuses="POSTED", exported="false")
    assert not {row["id"] for row in left} & {row["id"] for row in waiting}
    again = get(api, f"/api/v3/salesInvoices/{waiting[0]['id']}")
    assert again["externalId"] == f"XERO-{waiting[0]['salesInvoiceNumber']}"
    assert again["exportedDate"] == EXPORTED_AT


def test_only_a_posted_invoice_can_be_exported(api: ResharmonicsSession) -> None:
    draft = every(api, "/api/v3/salesInvoices", statuses="DRAFT")[0]
    posted = every(api, "/api/v3/salesInvoices", statuses="POSTED")[0]
    body = {"externalId": "X-1", "exportedDate": EXPORTED_AT}
    refused = api.patch(f"/api/v3/salesInvoices/{draft['id']}/exported", json=body)
    assert refused.status_code == 400 and "not POSTED" in refused.json()["message"]
    status = {**body, "exportStatus": "SENT", "organisationSettingsId": 1}
    path = "/api/v3/salesInvoices/{}/updateSalesInvoiceExportStatus"
    assert api.patch(path.format(draft["id"]), json=status).status_code == 400
    assert api.patch(path.format(1), json=status).status_code == 404
    assert api.patch("/api/v3/salesInvoices/1/exported", json=body).status_code == 404
    assert (
        api.patch(path.format(posted["id"]), json={**status, "exportStatus": "LOST"}).status_code
        == 400
    )
    assert (
        api.patch(
            path.format(posted["id"]), json={**status, "organisationSettingsId": 9}
        ).status_code
        == 400
    )
    missing = api.patch(path.format(posted["id"]), json=body)
    assert (
        missing.status_code == 400 and "exportStatus must not be null" in missing.json()["message"]
    )
    done = api.patch(path.format(posted["id"]), json=status)
    assert done.status_code == 200 and done.json()["exportStatus"] == "SENT"
    assert (
        get(api, "/api/v3/salesInvoices", exportStatus="SENT")["content"][0]["id"] == posted["id"]
    )


def test_a_bookings_invoices_charge_its_nights_at_its_rate_and_vat(
    api: ResharmonicsSession,
) -> None:
    stays = every(api, "/api/v3/roomStays", statuses="CHECKED_OUT")
    stay = next(row for row in stays if nights_of(row) >= 3)
    invoices = every(api, "/api/v3/salesInvoices", bookingId=stay["bookingId"])
    assert invoices and {row["booking"]["id"] for row in invoices} == {stay["bookingId"]}
    items = [item for invoice in invoices
             for item in every(api, f"/api/v3/salesInvoices/{invoice['id']}/salesInvoiceItems")
             if item["roomStayId"] == stay["roomStayId"]]  # fmt: skip
    assert len(items) == nights_of(stay)  # one item per night, each night once
    assert sum(cents(item["net"]) for item in items) == cents(stay["netAmount"])
    assert sum(cents(item["tax"]) for item in items) == cents(stay["vatAmount"])
    rate_id = get(api, f"/api/v3/roomStays/{stay['roomStayId']}")["rate"]["id"]
    last = datetime.date.fromisoformat(stay["endDate"]) - datetime.timedelta(days=1)
    calendar = get(api, "/api/v3/rates", rateId=rate_id, dateFrom=stay["startDate"],
                   dateTo=last.isoformat())["content"][0]["rates"]  # fmt: skip
    assert sorted(item["unitPrice"] for item in items) == sorted(day["amount"] for day in calendar)
    season = get(api, "/api/v3/vatProfiles/1/taxSeasons", startDate=stay["startDate"],
                 endDate=stay["endDate"])["taxSeasons"][0]  # fmt: skip
    assert "20%" in season["taxCodeLow"]["name"]
    assert all(cents(item["tax"]) == cents(item["net"] * 0.2) for item in items)


def test_a_created_invoice_is_draft_then_posted_by_the_payment_that_settles_it(
    api: ResharmonicsSession,
) -> None:
    booking = every(api, "/api/v3/bookings", statuses="CONFIRMED")[-1]["bookingId"]
    body = {"bookingId": booking, "salesInvoiceItems": [
        {"description": "Extra clean", "unitPrice": 45.0, "quantity": 1},
        {"description": "Parking", "unitPrice": 12.5, "quantity": 3},
    ]}  # fmt: skip
    created = api.post("/api/v3/salesInvoices", json=body)
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert invoice["status"] == "DRAFT"
    assert (invoice["net"], invoice["tax"], invoice["gross"]) == (82.5, 16.5, 99.0)
    assert invoice["id"] in {
        row["id"] for row in every(api, "/api/v3/salesInvoices", bookingId=booking)
    }
    items = every(api, f"/api/v3/salesInvoices/{invoice['id']}/salesInvoiceItems")
    assert [item["quantity"] for item in items] == [1, 3]
    export = {"externalId": "X-2", "exportedDate": EXPORTED_AT}
    assert (
        api.patch(f"/api/v3/salesInvoices/{invoice['id']}/exported", json=export).status_code == 400
    )
    owed = sum(row["outstanding"] for row in every(api, "/api/v3/salesInvoices", bookingId=booking))
    path = f"/api/v3/bookings/{booking}/payments"
    payment = {"paymentReference": "BANK-1", "amount": owed, "paymentType": "BANK_PAYMENT"}
    too_much = api.post(path, params={"user": "ops"}, json={**payment, "amount": owed + 0.01})
    assert too_much.status_code == 400 and "exceeds" in too_much.json()["message"]
    paid = api.post(path, params={"user": "ops"}, json=payment)
    assert paid.status_code == 201, paid.text
    records = paid.json()["content"]
    assert {row["financialType"] for row in records} == {"SALES_RECEIPT"}
    assert cents(sum(row["amount"] for row in records)) == cents(owed)
    now = get(api, f"/api/v3/salesInvoices/{invoice['id']}")
    assert now["status"] == "POSTED" and now["outstanding"] == 0
    assert (
        api.patch(f"/api/v3/salesInvoices/{invoice['id']}/exported", json=export).status_code == 200
    )


def test_a_part_payment_reduces_what_is_outstanding(api: ResharmonicsSession) -> None:
    open_invoice = next(
        row for row in every(api, "/api/v3/salesInvoices") if row["outstanding"] > 10
    )
    booking = open_invoice["booking"]["id"]
    before = sum(
        cents(row["outstanding"]) for row in every(api, "/api/v3/salesInvoices", bookingId=booking)
    )
    card = {"paymentReference": "CARD-1", "amount": 10, "paymentType": "CARD_PAYMENT",
            "cardType": "VISA_DEBIT", "lastFour": "4242"}  # fmt: skip
    path = f"/api/v3/bookings/{booking}/payments"
    assert api.post(path, params={"user": "ops"}, json=card).status_code == 201
    after = sum(
        cents(row["outstanding"]) for row in every(api, "/api/v3/salesInvoices", bookingId=booking)
    )
    assert after == before - 1000


@pytest.mark.parametrize(
    ("params", "changes", "words"),
    [
        ({}, {}, "'user'"),
        ({"user": "ops"}, {"paymentType": "CHEQUE"}, "paymentType"),
        ({"user": "ops"}, {"paymentType": "CARD_PAYMENT"}, "cardType"),
        ({"user": "ops"}, {"paymentType": "CARD_PAYMENT", "cardType": "VISA_DEBIT",
                           "lastFour": "42"}, "lastFour"),
        ({"user": "ops"}, {"amount": -5}, "amount"),
        ({"user": "ops"}, {"amount": None}, "amount must not be null"),
        ({"user": "ops", "payDueBefore": "2000-01-01"}, {}, "exceeds"),
    ],
)  # fmt: skip
def test_payment_validation(
    api: ResharmonicsSession, params: dict[str, str], changes: dict[str, Any], words: str
) -> None:
    booking = next(row for row in every(api, "/api/v3/salesInvoices") if row["outstanding"] > 1)
    body = {"paymentReference": "P-1", "amount": 1, "paymentType": "BANK_PAYMENT", **changes}
    response = api.post(
        f"/api/v3/bookings/{booking['booking']['id']}/payments", params=params, json=body
    )
    assert response.status_code == 400
    assert words in response.json()["message"]
    # An unknown booking is a 404, once the request itself is right (Spring checks it first).
    valid = {"paymentReference": "P-1", "amount": 1, "paymentType": "BANK_PAYMENT"}
    assert (
        api.post("/api/v3/bookings/1/payments", params={"user": "x"}, json=valid).status_code == 404
    )


def test_invoice_filters(api: ResharmonicsSession, fake_resharmonics: FakeResharmonics) -> None:
    today = fake_resharmonics.portfolio.today
    start = (today - datetime.timedelta(days=30)).isoformat()
    rows = every(
        api, "/api/v3/salesInvoices", invoiceDateFrom=start, invoiceDateTo=today.isoformat()
    )
    assert rows and all(start <= row["invoiceDate"] <= today.isoformat() for row in rows)
    drafts = every(api, "/api/v3/salesInvoices", statuses="DRAFT")
    assert drafts and all(
        row["status"] == "DRAFT" and row["exportStatus"] is None for row in drafts
    )
    exported = every(api, "/api/v3/salesInvoices", exported="true")
    assert exported and all(row["exportedDate"] for row in exported)
    assert api.get("/api/v3/salesInvoices", params={"statuses": "PAID"}).status_code == 400
    assert api.get("/api/v3/salesInvoices", params={"exported": "maybe"}).status_code == 400
    assert get(api, "/api/v3/salesInvoices", type="SALES_CREDIT")["content"] == []


def test_finance_accounts_and_their_export_status(api: ResharmonicsSession) -> None:
    accounts = every(api, "/api/v3/financeAccounts")
    companies = [row for row in accounts if row["company"] is not None]
    assert companies and all(row["company"]["companyName"] for row in companies)
    people = [row for row in accounts if row["contact"] is not None]
    assert len(people) == len(every(api, "/api/v3/contacts"))  # a sales account each
    path = f"/api/v3/financeAccounts/{accounts[0]['id']}/updateFinanceAccountExportStatus"
    body = {"externalId": "XERO-C-1", "exportStatus": "EXPORTED", "exportedDate": EXPORTED_AT}
    assert api.patch(path, json=body).json()["exportStatus"] == "EXPORTED"
    assert every(api, "/api/v3/financeAccounts")[0]["externalId"] == "XERO-C-1"
    assert api.patch(path, json={**body, "exportStatus": "NOPE"}).status_code == 400
    assert (
        api.patch(
            "/api/v3/financeAccounts/1/updateFinanceAccountExportStatus", json=body
        ).status_code
        == 404
    )


def test_invoice_creation_validation(api: ResharmonicsSession) -> None:
    booking = get(api, "/api/v3/bookings", size=1)["content"][0]["bookingId"]
    good = {
        "bookingId": booking,
        "salesInvoiceItems": [{"description": "x", "unitPrice": 1, "quantity": 1}],
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"bookingId": 1}, "bookingId 1 does not exist"),
        ({"salesInvoiceItems": []}, "salesInvoiceItems"),
        ({"salesInvoiceItems": [{"description": "x", "unitPrice": "1", "quantity": 1}]},
         "unitPrice"),
        ({"salesInvoiceItems": [{"description": "x", "unitPrice": 1, "quantity": 0}]}, "quantity"),
        ({"type": "RECEIPT"}, "type"),
        ({"invoiceDate": "2026-12-10", "dueDate": "2026-12-01"}, "dueDate"),
    ]  # fmt: skip
    for changes, words in cases:
        response = api.post("/api/v3/salesInvoices", json={**good, **changes})
        assert response.status_code == 400, changes
        assert words in response.json()["message"]
