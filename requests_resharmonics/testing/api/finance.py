"""Accounting: sales invoices and their items, payments against a booking, finance accounts.

The rules are the description's: an invoice is created DRAFT and later POSTED; the export
PATCHes are refused (400) unless it is POSTED; a payment is reconciled against what the
booking owes and refused beyond it. The list filters, the create body and the answers'
status codes are guesses (the pages were not seen), each labelled in the OpenAPI document.
"""

from __future__ import annotations

import datetime
from typing import Any

from .._http import Answer
from .._portfolio import Portfolio
from .._reference_records import (
    CARD_TYPES,
    EXPORT_STATUSES,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    PAYMENT_TYPES,
    InvoiceItem,
    SalesInvoice,
)
from .._routes import ApiError, ApiRequest, Param, Route, require_fields
from . import shapes_finance as shapes
from . import shapes_reference
from ._declare import Filter, Group, body_object, equals, field_date, field_id, field_text, routes

#: The export statuses that mean an accounting system has the invoice (a guess): a FAILED
#: export is not exported, so a sync that asks for ``exported=false`` tries it again.
EXPORTED = frozenset({"EXPORTED", "SENT", "IMPORTED"})


def _touched(value: Any, bound: str) -> Any:
    def test(portfolio: Portfolio, record: SalesInvoice, moment: datetime.datetime) -> bool:
        return record.last_updated >= moment if bound == "from" else record.last_updated <= moment

    return test


def _dated(bound: str) -> Any:
    def test(portfolio: Portfolio, record: SalesInvoice, day: datetime.date) -> bool:
        return record.invoice_date >= day if bound == "from" else record.invoice_date <= day

    return test


_INVOICE_FILTERS = (
    Param("statuses", "array", "DRAFT or POSTED", enum=INVOICE_STATUSES, source="guess"),
    Param("exportStatus", enum=EXPORT_STATUSES, source="guess"),
    Param(
        "exported",
        "boolean",
        "whether an accounting system took it: exportStatus EXPORTED, SENT or IMPORTED "
        "(FAILED, PENDING, CREATED, SKIPPED and none are not exported)",
        source="guess",
    ),
    Param("bookingId", "integer", source="guess"),
    Param("type", enum=INVOICE_TYPES, source="guess"),
    Param("invoiceDateFrom", "date", source="guess"),
    Param("invoiceDateTo", "date", source="guess"),
    Param("lastUpdatedFrom", "date-time", "changed at or after", source="guess"),
    Param("lastUpdatedTo", "date-time", "changed at or before", source="guess"),
    Param("organisationSettingsId", "integer", source="guess"),
)
_INVOICE_TESTS = (
    lambda p, r, value: r.status in value,
    lambda p, r, value: r.export_status == value.upper(),
    lambda p, r, value: (r.export_status in EXPORTED) == value,
    equals("booking_id"),
    lambda p, r, value: r.kind == value.upper(),
    _dated("from"),
    _dated("to"),
    _touched(None, "from"),
    _touched(None, "to"),
    equals("organisation_id"),
)


def _new_invoice(request: ApiRequest, body: dict[str, Any]) -> SalesInvoice:
    """Raise a DRAFT invoice on a booking from the body's items."""
    portfolio = request.portfolio
    booking_id = field_id(
        body, "bookingId" if "bookingId" in body else "booking", portfolio.bookings
    )
    booking = portfolio.bookings[int(booking_id or 0)]
    kind = str(body.get("type") or "SALES_INVOICE").upper()
    if kind not in INVOICE_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(INVOICE_TYPES)}")
    lines = require_fields(body, ("salesInvoiceItems",))["salesInvoiceItems"]
    if not isinstance(lines, list) or not 1 <= len(lines) < 1000:
        raise ApiError(400, "salesInvoiceItems must be a list of 1 to 999 items")
    items = [
        _item(portfolio, booking.vat_profile_id, index, line) for index, line in enumerate(lines)
    ]
    invoice_date = field_date(body, "invoiceDate", portfolio.today)
    due = field_date(body, "dueDate", invoice_date + datetime.timedelta(days=14))
    if due < invoice_date:
        raise ApiError(400, "dueDate must not be before invoiceDate")
    return portfolio.add_invoice(booking.id, items, invoice_date, due, kind=kind)


def _item(portfolio: Portfolio, profile_id: int, index: int, line: Any) -> InvoiceItem:
    where = f"salesInvoiceItems[{index}]"
    if not isinstance(line, dict):
        raise ApiError(400, f"{where} must be an object")
    require_fields(line, ("description", "unitPrice", "quantity"))
    numbers = {}
    for name in ("unitPrice", "quantity"):
        value = line[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ApiError(400, f"{where}.{name} must be a number")
        if not -1e9 < value < 1e9:
            raise ApiError(400, f"{where}.{name} is out of range")
        numbers[name] = float(value)
    if numbers["quantity"] <= 0:
        raise ApiError(400, f"{where}.quantity must be more than 0")
    vat = field_id(line, "vatProfileId", portfolio.vat_profiles, required=False) or profile_id
    net = round(numbers["unitPrice"] * numbers["quantity"], 2)
    return InvoiceItem(
        number=index + 1,
        description=str(line["description"])[:500],
        unit_price=numbers["unitPrice"],
        quantity=numbers["quantity"],
        net=net,
        tax=round(net * portfolio.tax_rate(vat), 2),
    )


def invoice_items(request: ApiRequest) -> list[Any]:
    """Return the items of one invoice."""
    invoice = request.record(request.portfolio.sales_invoices, "SalesInvoice")
    return [shapes.invoice_item(request.portfolio, invoice, item) for item in invoice.items]


def invoice_item(request: ApiRequest) -> Any:
    """One invoice item."""
    found = request.portfolio.invoice_item(request.id())
    if found is None:
        raise ApiError(404, f"SalesInvoiceItem with id {request.path_params['id']} not found")
    return shapes.invoice_item(request.portfolio, *found)


def _moment(body: dict[str, Any], name: str) -> datetime.datetime:
    value = field_text(body, name) if not isinstance(body.get(name), str) else body[name]
    try:
        text = str(value).replace("Z", "+00:00")
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, f"{name} must be an ISO date-time such as 2026-12-01T10:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def mark_exported(request: ApiRequest) -> Any:
    """Record that an accounting system took a POSTED invoice (400 unless POSTED, doc)."""
    portfolio = request.portfolio
    invoice = request.record(portfolio.sales_invoices, "SalesInvoice")
    body = require_fields(body_object(request), ("externalId", "exportedDate"))
    _export(portfolio, invoice, body, "EXPORTED")
    return shapes.invoice(portfolio, invoice)


def update_export_status(request: ApiRequest) -> Any:
    """Set an invoice's export status (400 unless POSTED, doc)."""
    portfolio = request.portfolio
    invoice = request.record(portfolio.sales_invoices, "SalesInvoice")
    names = ("externalId", "exportedDate", "exportStatus", "organisationSettingsId")
    body = require_fields(body_object(request), names)
    status = str(body["exportStatus"]).upper()
    if status not in EXPORT_STATUSES:
        raise ApiError(400, f"exportStatus must be one of {', '.join(EXPORT_STATUSES)}")
    organisation = field_id(body, "organisationSettingsId", portfolio.organisations)
    if organisation != invoice.organisation_id:
        raise ApiError(400, f"sales invoice {invoice.id} is not of organisation {organisation}")
    _export(portfolio, invoice, body, status)
    return shapes.invoice(portfolio, invoice)


def _export(portfolio: Portfolio, invoice: SalesInvoice, body: dict[str, Any], status: str) -> None:
    external = str(field_text(body, "externalId"))[:200]
    try:
        portfolio.mark_exported(invoice, external, _moment(body, "exportedDate"), status)
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def take_payment(request: ApiRequest) -> Answer:
    """Record a payment against a booking and reconcile it against its invoices (doc)."""
    portfolio, query = request.portfolio, request.query
    booking = request.record(portfolio.bookings, "Booking", "bookingId")
    user = query.text("user", required=True)
    due_before = query.date("payDueBefore")
    body = require_fields(body_object(request), ("paymentReference", "amount", "paymentType"))
    kind = str(body["paymentType"]).upper()
    if kind not in PAYMENT_TYPES:
        raise ApiError(400, f"paymentType must be one of {', '.join(PAYMENT_TYPES)}")
    amount = body["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 < amount < 1e9:
        raise ApiError(400, "amount must be a number more than 0")
    card, last_four = body.get("cardType"), body.get("lastFour")
    if kind == "CARD_PAYMENT":
        if str(card).upper() not in CARD_TYPES:
            raise ApiError(400, f"cardType must be one of {', '.join(CARD_TYPES)}")
        if last_four is not None and not (
            isinstance(last_four, str) and len(last_four) == 4 and last_four.isdigit()
        ):
            raise ApiError(400, "lastFour must be the card number's last four digits")
    try:
        payment = portfolio.record_payment(
            booking.id,
            str(body["paymentReference"])[:200],
            float(amount),
            kind,
            card_type=str(card).upper() if kind == "CARD_PAYMENT" else None,
            last_four=last_four if kind == "CARD_PAYMENT" else None,
            user=user,
            due_before=due_before,
        )
    except ValueError as error:
        raise ApiError(400, str(error)) from None
    return Answer(201, {"content": shapes.payment_records(portfolio, payment)})


def account_export_status(request: ApiRequest) -> Any:
    """Set a finance account's export status (the body's field names are guesses)."""
    portfolio = request.portfolio
    account = request.record(portfolio.accounts, "FinanceAccount")
    body = require_fields(body_object(request), ("externalId", "exportStatus"))
    status = str(body["exportStatus"]).upper()
    if status not in EXPORT_STATUSES:
        raise ApiError(400, f"exportStatus must be one of {', '.join(EXPORT_STATUSES)}")
    account.external_id = str(field_text(body, "externalId"))[:200]
    account.export_status = status
    account.exported_date = _moment(body, "exportedDate") if body.get("exportedDate") else None
    return shapes_reference.finance_account(portfolio, account)


def _first_invoice(portfolio: Portfolio) -> SalesInvoice:
    return portfolio.sales_invoices[min(portfolio.sales_invoices)]


INVOICES = Group(
    "/api/v3/salesInvoices",
    "Sales Invoices",
    "SalesInvoice",
    lambda p: p.sales_invoices,
    shapes.invoice,
    operations=("list", "create", "get"),
    filters=tuple(
        Filter(param, test) for param, test in zip(_INVOICE_FILTERS, _INVOICE_TESTS, strict=True)
    ),
    guesses={
        "list": "The list's page was not seen: every filter is a guess, and so are status, "
        "outstanding, booking, the export fields, created and lastUpdated in the rows.",
        "create": "The body is a guess: bookingId, invoiceDate (default today), dueDate "
        "(default 14 days on), type and salesInvoiceItems [{description, unitPrice, quantity, "
        "vatProfileId}]; VAT is the booking's profile unless an item names one. 201, DRAFT.",
        "get": "Fields after exchangeRate are guesses (the description's list is cut off).",
    },
    create=_new_invoice,
    example={
        "bookingId": 20001,
        "salesInvoiceItems": [{"description": "Extra clean", "unitPrice": 45.0, "quantity": 1}],
    },
)
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
    *routes(INVOICES),
    Route(
        "GET",
        "/api/v3/salesInvoices/{id}/salesInvoiceItems",
        invoice_items,
        "The items of a sales invoice",
        "Sales Invoices",
        paged=True,
        sample=lambda p: shapes.invoice_item(p, _first_invoice(p), _first_invoice(p).items[0]),
        guess="Paged like the other lists; net, tax and roomStayId are guesses.",
    ),
    Route(
        "GET",
        "/api/v3/salesInvoices/salesInvoiceItems/{id}",
        invoice_item,
        "Get one sales-invoice item",
        "Sales Invoices",
        sample=lambda p: shapes.invoice_item(p, _first_invoice(p), _first_invoice(p).items[0]),
        guess="net, tax and roomStayId are guesses; item ids are invoice id * 1000 + line.",
    ),
    Route(
        "PATCH",
        "/api/v3/salesInvoices/{id}/exported",
        mark_exported,
        "Mark a POSTED sales invoice exported",
        "Sales Invoices",
        body={"externalId": "XERO-INV-0042", "exportedDate": "2026-12-01T10:00:00Z"},
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="exportStatus becomes EXPORTED (a guess).",
    ),
    Route(
        "PATCH",
        "/api/v3/salesInvoices/{id}/updateSalesInvoiceExportStatus",
        update_export_status,
        "Set a POSTED sales invoice's export status",
        "Sales Invoices",
        body={
            "externalId": "SAGE-0042",
            "exportedDate": "2026-12-01T10:00:00Z",
            "exportStatus": "EXPORTED",
            "organisationSettingsId": 1,
        },
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="The answer (the invoice) is a guess; another organisation's id is 400.",
    ),
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
        body={"paymentReference": "BANK-0042", "amount": 120.0, "paymentType": "BANK_PAYMENT"},
        sample=lambda p: {"content": shapes.payment_records(p, p.payments[min(p.payments)])},
        guess="201; invoices are reconciled by due date, oldest first; the records' fields "
        "after creditCardType are guesses; more than is outstanding is 400.",
    ),
    *routes(ACCOUNTS),
    Route(
        "PATCH",
        "/api/v3/financeAccounts/{id}/updateFinanceAccountExportStatus",
        account_export_status,
        "Set a finance account's export status",
        "Finance Accounts",
        body={
            "externalId": "XERO-C-701",
            "exportStatus": "EXPORTED",
            "exportedDate": "2026-12-01T10:00:00Z",
        },
        sample=lambda p: shapes_reference.finance_account(p, p.accounts[min(p.accounts)]),
        guess="The body's field names are guesses (the page describes them in words).",
    ),
]
