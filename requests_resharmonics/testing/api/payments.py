"""Payments against a booking, and finance accounts with their export status.

Documented: a payment is reconciled against what the booking owes and refused beyond it;
``paymentType`` is BANK_PAYMENT, CARD_PAYMENT or CASH_PAYMENT, and card payments carry
``lastFour`` and ``cardType``. The description marks ``cardType`` required; the fake asks
for it on card payments only (a guess: a bank transfer has no card). Amounts are pounds
and pence: below a penny, or a fraction of one, is a 400 from the body's schema.
"""

from __future__ import annotations

from typing import Any

from .. import _schema as s
from .._http import Answer
from .._reference_records import CARD_TYPES, EXPORT_STATUSES, PAYMENT_TYPES
from .._routes import ApiError, ApiRequest, Param, Route
from . import shapes_finance as shapes
from . import shapes_reference
from ._declare import Group, routes
from .invoices import moment

PAYMENT = s.obj(
    {
        "paymentReference": s.string("your reference for the payment", not_blank=True),
        "amount": s.money("in pounds and pence: at least 0.01, whole pence"),
        "paymentType": s.string(enum=PAYMENT_TYPES),
        "lastFour": s.string("the card number's last four digits", pattern=r"^[0-9]{4}$"),
        "cardType": s.string("required for CARD_PAYMENT", enum=CARD_TYPES),
    },
    ("paymentReference", "amount", "paymentType"),
)
ACCOUNT_EXPORT = s.obj(
    {
        "externalId": s.string("the accounting system's id", not_blank=True),
        "exportStatus": s.string(enum=EXPORT_STATUSES),
        "exportedDate": s.date_time(),
    },
    ("externalId", "exportStatus"),
    source="guess",
)


def take_payment(request: ApiRequest) -> Answer:
    """Record a payment against a booking and reconcile it against its invoices (doc)."""
    portfolio, query, body = request.portfolio, request.query, request.json()
    booking = request.record(portfolio.bookings, "Booking", "bookingId")
    kind, card = body["paymentType"], body.get("cardType")
    if kind == "CARD_PAYMENT" and card is None:
        raise ApiError(400, "Validation failed: cardType must not be null for a CARD_PAYMENT")
    card_payment = kind == "CARD_PAYMENT"
    try:
        payment = portfolio.record_payment(
            booking.id,
            body["paymentReference"].strip(),
            float(body["amount"]),
            kind,
            card_type=card if card_payment else None,
            last_four=body.get("lastFour") if card_payment else None,
            user=query.text("user"),
            due_before=query.date("payDueBefore"),
        )
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return Answer(201, {"content": shapes.payment_records(portfolio, payment)})


def payments_of_booking(request: ApiRequest) -> list[Any]:
    """Return the financial records of a booking's payments, oldest first."""
    portfolio = request.portfolio
    booking = request.record(portfolio.bookings, "Booking", "bookingId")
    payments = sorted(
        (payment for payment in portfolio.payments.values() if payment.booking_id == booking.id),
        key=lambda payment: payment.id,
    )
    return [row for payment in payments for row in shapes.payment_records(portfolio, payment)]


def account_export_status(request: ApiRequest) -> Any:
    """Set a finance account's export status (the body's field names are guesses)."""
    portfolio, body = request.portfolio, request.json()
    account = request.record(portfolio.accounts, "FinanceAccount")
    account.external_id = body["externalId"].strip()
    account.export_status = body["exportStatus"]
    exported = body.get("exportedDate")
    account.exported_date = moment(exported) if exported is not None else None
    return shapes_reference.finance_account(portfolio, account)


ACCOUNTS = Group(
    "/api/v3/financeAccounts",
    "Finance Accounts",
    "FinanceAccount",
    lambda p: p.accounts,
    shapes_reference.finance_account,
    operations=("list",),
    guess="Rows carry the fields contactSalesAccount shows elsewhere, and the export fields.",
)

ROUTES: list[Route] = [
    Route(
        "POST",
        "/api/v3/bookings/{bookingId}/payments",
        take_payment,
        "Record a payment and reconcile it against the booking's invoices",
        "Bookings",
        params=(
            Param("user", required=True),
            Param("payDueBefore", "date", "reconcile only invoices due before this date"),
        ),
        status=201,
        schema=PAYMENT,
        example={"paymentReference": "BANK-0042", "amount": 120.0, "paymentType": "BANK_PAYMENT"},
        sample=lambda p: {"content": shapes.payment_records(p, p.payments[min(p.payments)])},
        guess="201; invoices are reconciled by due date, oldest first; the records' fields "
        "after creditCardType are guesses; more than is outstanding is 400; cardType is "
        "required for card payments only.",
    ),
    Route(
        "GET",
        "/api/v3/bookings/{bookingId}/payments",
        payments_of_booking,
        "The payments taken against a booking",
        "Bookings",
        paged=True,
        source="client",
        sample=lambda p: shapes.payment_records(p, p.payments[min(p.payments)])[0],
        guess="A public booking client reads this path, not in the recovered description: "
        "the rows are the financial records a payment answers with, one per invoice it paid.",
    ),
    *routes(ACCOUNTS),
    Route(
        "PATCH",
        "/api/v3/financeAccounts/{id}/updateFinanceAccountExportStatus",
        account_export_status,
        "Set a finance account's export status",
        "Finance Accounts",
        schema=ACCOUNT_EXPORT,
        example={
            "externalId": "XERO-C-701",
            "exportStatus": "EXPORTED",
            "exportedDate": "2026-12-01T10:00:00Z",
        },
        sample=lambda p: shapes_reference.finance_account(p, p.accounts[min(p.accounts)]),
        guess="The body's field names are guesses (the page describes them in words).",
    ),
]
