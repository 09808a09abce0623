"""Guards of the fake's ledger, through its API: each test fails if one plausible bug is put in.

- ``invoiceDateFrom`` and ``invoiceDateTo`` take the invoices dated on the boundary day
  (both ends inclusive, as Spring's ``...From``/``...To`` filters and the fake's
  ``lastUpdatedTo``, "changed at or before", read);
- ``payDueBefore`` reconciles only invoices due *before* the day ("reconcile only invoices
  due before this date", the fake's description of the parameter): one due on it is left;
- a part payment goes to the invoice due first, whatever the order the invoices were
  raised or dated in (the fake's stated guess: oldest due date first).

Each test works on a booking of its own that has no invoice yet, so the seeded ledger's
invoices never decide the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from requests_resharmonics import ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics


@pytest.fixture
def api(fake_resharmonics: FakeResharmonics) -> Iterator[ResharmonicsSession]:
    with fake_resharmonics.session() as session:
        yield session


@pytest.fixture
def booking(api: ResharmonicsSession) -> int:
    """A booking without any invoice."""
    invoiced = {row["booking"]["id"] for row in every(api, "/api/v3/salesInvoices")}
    bookings = {row["bookingId"] for row in every(api, "/api/v3/bookings")}
    free: list[int] = sorted(bookings - invoiced)
    assert free, "the seeded portfolio has bookings without invoices"
    return free[0]


def every(api: ResharmonicsSession, path: str, **params: Any) -> list[dict[str, Any]]:
    return list(api.paginate(path, params, page_size=1000))


def raise_invoice(api: ResharmonicsSession, booking: int, dated: str, due: str) -> dict[str, Any]:
    body = {
        "bookingId": booking,
        "invoiceDate": dated,
        "dueDate": due,
        "salesInvoiceItems": [{"description": "Extra clean", "unitPrice": 100.0, "quantity": 1}],
    }
    created = api.post("/api/v3/salesInvoices", json=body)
    assert created.status_code == 201, created.text
    invoice: dict[str, Any] = created.json()
    assert invoice["outstanding"] > 0
    return invoice


def invoice_ids(api: ResharmonicsSession, booking: int, **params: str) -> list[int]:
    return [row["id"] for row in every(api, "/api/v3/salesInvoices", bookingId=booking, **params)]


def pay(api: ResharmonicsSession, booking: int, amount: float, **params: str) -> tuple[int, Any]:
    body = {"paymentReference": "BANK-7", "amount": amount, "paymentType": "BANK_PAYMENT"}
    answer = api.post(
        f"/api/v3/bookings/{booking}/payments", params={"user": "ops", **params}, json=body
    )
    return answer.status_code, answer.json()


def outstanding(api: ResharmonicsSession, invoice: dict[str, Any]) -> float:
    answer = api.get(f"/api/v3/salesInvoices/{invoice['id']}")
    assert answer.status_code == 200, answer.text
    value: float = answer.json()["outstanding"]
    return value


def test_invoice_date_filters_take_the_boundary_day(api: ResharmonicsSession, booking: int) -> None:
    invoice = raise_invoice(api, booking, dated="2026-12-10", due="2026-12-24")
    assert invoice_ids(api, booking, invoiceDateTo="2026-12-10") == [invoice["id"]]
    assert invoice_ids(api, booking, invoiceDateTo="2026-12-09") == []
    assert invoice_ids(api, booking, invoiceDateFrom="2026-12-10") == [invoice["id"]]
    assert invoice_ids(api, booking, invoiceDateFrom="2026-12-11") == []
    both = {"invoiceDateFrom": "2026-12-10", "invoiceDateTo": "2026-12-10"}
    assert invoice_ids(api, booking, **both) == [invoice["id"]]


def test_pay_due_before_leaves_an_invoice_due_on_that_day(
    api: ResharmonicsSession, booking: int
) -> None:
    first = raise_invoice(api, booking, dated="2026-12-01", due="2026-12-10")
    second = raise_invoice(api, booking, dated="2026-12-01", due="2026-12-11")
    # Nothing is due before the 10th: the invoice due on the 10th is not reconciled.
    status, answer = pay(api, booking, 1, payDueBefore="2026-12-10")
    assert status == 400 and "exceeds the 0.00 outstanding" in answer["message"], answer
    # Before the 11th: the first invoice only, not the one due on the 11th.
    too_much = first["outstanding"] + 0.01
    status, answer = pay(api, booking, too_much, payDueBefore="2026-12-11")
    assert status == 400 and "exceeds" in answer["message"], answer
    status, answer = pay(api, booking, first["outstanding"], payDueBefore="2026-12-11")
    assert status == 201, answer
    assert [row["salesInvoice"]["id"] for row in answer["content"]] == [first["id"]]
    assert outstanding(api, first) == 0
    assert outstanding(api, second) == second["outstanding"]


def test_a_part_payment_goes_to_the_invoice_due_first(
    api: ResharmonicsSession, booking: int
) -> None:
    # Raised first and dated first, but due last.
    late = raise_invoice(api, booking, dated="2026-12-01", due="2026-12-20")
    # Raised second and dated second, but due first.
    soon = raise_invoice(api, booking, dated="2026-12-02", due="2026-12-05")
    status, answer = pay(api, booking, 10)
    assert status == 201, answer
    assert [(row["salesInvoice"]["id"], row["amount"]) for row in answer["content"]] == [
        (soon["id"], 10)
    ]
    assert outstanding(api, soon) == round(soon["outstanding"] - 10, 2)
    assert outstanding(api, late) == late["outstanding"]
    # What is left of the first-due invoice is paid before the later one is touched.
    status, answer = pay(api, booking, soon["outstanding"])
    assert status == 201, answer
    assert [row["salesInvoice"]["id"] for row in answer["content"]] == [soon["id"], late["id"]]
    assert outstanding(api, soon) == 0
    assert outstanding(api, late) == round(late["outstanding"] - 10, 2)
