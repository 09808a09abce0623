"""Sales invoices and their items: the list, raising one, reading items, marking exports.

The rules are the description's: an invoice is created DRAFT and later POSTED; the export
PATCHes are refused (400) unless it is POSTED. The list filters, the create body and the
answers' status codes are guesses (the pages were not seen), each labelled in the OpenAPI
document. Bodies are checked against the schemas below before a handler runs.
"""

from __future__ import annotations

import datetime
from typing import Any

from .. import _schema as s
from .._portfolio import Portfolio
from .._reference_records import (
    EXPORT_STATUSES,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    InvoiceItem,
    SalesInvoice,
)
from .._routes import ApiError, ApiRequest, Param, Route
from . import shapes_finance as shapes
from ._declare import Filter, Group, equals, field_date, field_id, routes

#: The export statuses that mean an accounting system has the invoice (a guess): a FAILED
#: export is not exported, so a sync that asks for ``exported=false`` tries it again.
EXPORTED = frozenset({"EXPORTED", "SENT", "IMPORTED"})


def _touched(bound: str) -> Any:
    def test(portfolio: Portfolio, record: SalesInvoice, moment: datetime.datetime) -> bool:
        return record.last_updated >= moment if bound == "from" else record.last_updated <= moment

    return test


def _dated(bound: str) -> Any:
    def test(portfolio: Portfolio, record: SalesInvoice, day: datetime.date) -> bool:
        return record.invoice_date >= day if bound == "from" else record.invoice_date <= day

    return test


_FILTERS = (
    Filter(
        Param("statuses", "array", "DRAFT or POSTED", enum=INVOICE_STATUSES, source="guess"),
        lambda p, r, value: r.status in value,
    ),
    Filter(
        Param("exportStatus", enum=EXPORT_STATUSES, source="guess"),
        lambda p, r, value: r.export_status == value,
    ),
    Filter(
        Param(
            "exported",
            "boolean",
            "whether an accounting system took it: exportStatus EXPORTED, SENT or IMPORTED "
            "(FAILED, PENDING, CREATED, SKIPPED and none are not exported)",
            source="guess",
        ),
        lambda p, r, value: (r.export_status in EXPORTED) == value,
    ),
    Filter(Param("bookingId", "integer", source="guess"), equals("booking_id")),
    Filter(Param("type", enum=INVOICE_TYPES, source="guess"), lambda p, r, value: r.kind == value),
    Filter(Param("invoiceDateFrom", "date", source="guess"), _dated("from")),
    Filter(Param("invoiceDateTo", "date", source="guess"), _dated("to")),
    Filter(
        Param("lastUpdatedFrom", "date-time", "changed at or after", source="guess"),
        _touched("from"),
    ),
    Filter(
        Param("lastUpdatedTo", "date-time", "changed at or before", source="guess"), _touched("to")
    ),
    Filter(Param("organisationSettingsId", "integer", source="guess"), equals("organisation_id")),
)

_ITEM = s.obj(
    {
        "description": s.string(not_blank=True, max_length=500),
        "unitPrice": s.money("the price of one, in pounds and pence", minimum=-s.MAX_MONEY),
        "quantity": s.number(above=0, maximum=1_000_000),
        "vatProfileId": s.integer("the item's VAT profile (default: the booking's)"),
    },
    ("description", "unitPrice", "quantity"),
)
CREATE_INVOICE = s.obj(
    {
        "bookingId": s.integer("the booking invoiced"),
        "invoiceDate": s.date("default today"),
        "dueDate": s.date("default 14 days after invoiceDate"),
        "type": s.string(enum=INVOICE_TYPES),
        "salesInvoiceItems": s.array(_ITEM, min_items=1, max_items=999),
    },
    ("bookingId", "salesInvoiceItems"),
    source="guess",
)
MARK_EXPORTED = s.obj(
    {
        "externalId": s.string("the accounting system's id", not_blank=True),
        "exportedDate": s.date_time(),
    },
    ("externalId", "exportedDate"),
)
EXPORT_STATUS = s.obj(
    {
        "externalId": s.string("the accounting system's id", not_blank=True),
        "exportedDate": s.date_time(),
        "exportStatus": s.string(enum=EXPORT_STATUSES),
        "organisationSettingsId": s.integer(),
    },
    ("externalId", "exportedDate", "exportStatus", "organisationSettingsId"),
)


def _new_invoice(request: ApiRequest, body: dict[str, Any]) -> SalesInvoice:
    """Raise a DRAFT invoice on a booking from the body's items."""
    portfolio = request.portfolio
    booking = portfolio.bookings[int(field_id(body, "bookingId", portfolio.bookings) or 0)]
    items = [
        _item(portfolio, booking.vat_profile_id, index, line)
        for index, line in enumerate(body["salesInvoiceItems"])
    ]
    invoice_date = field_date(body, "invoiceDate", portfolio.today)
    due = field_date(body, "dueDate", invoice_date + datetime.timedelta(days=14))
    if due < invoice_date:
        raise ApiError(400, "dueDate must not be before invoiceDate")
    kind = body.get("type") or "SALES_INVOICE"
    return portfolio.add_invoice(booking.id, items, invoice_date, due, kind=kind)


def _item(portfolio: Portfolio, profile_id: int, index: int, line: Any) -> InvoiceItem:
    vat = field_id(line, "vatProfileId", portfolio.vat_profiles, required=False) or profile_id
    unit_price, quantity = float(line["unitPrice"]), float(line["quantity"])
    net = round(unit_price * quantity, 2)
    return InvoiceItem(
        number=index + 1,
        description=line["description"].strip(),
        unit_price=unit_price,
        quantity=quantity,
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


def moment(text: str) -> datetime.datetime:
    """Read a checked ISO date-time; UTC unless it names its offset."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def mark_exported(request: ApiRequest) -> Any:
    """Record that an accounting system took a POSTED invoice (400 unless POSTED, doc)."""
    portfolio = request.portfolio
    invoice = request.record(portfolio.sales_invoices, "SalesInvoice")
    _export(portfolio, invoice, request.json(), "EXPORTED")
    return shapes.invoice(portfolio, invoice)


def update_export_status(request: ApiRequest) -> Any:
    """Set an invoice's export status (400 unless POSTED, doc)."""
    portfolio, body = request.portfolio, request.json()
    invoice = request.record(portfolio.sales_invoices, "SalesInvoice")
    organisation = field_id(body, "organisationSettingsId", portfolio.organisations)
    if organisation != invoice.organisation_id:
        raise ApiError(400, f"sales invoice {invoice.id} is not of organisation {organisation}")
    _export(portfolio, invoice, body, body["exportStatus"])
    return shapes.invoice(portfolio, invoice)


def _export(portfolio: Portfolio, invoice: SalesInvoice, body: dict[str, Any], status: str) -> None:
    try:
        portfolio.mark_exported(
            invoice, body["externalId"].strip(), moment(body["exportedDate"]), status
        )
    except ValueError as error:
        raise ApiError(400, str(error)) from None


def invoices_of_booking(request: ApiRequest) -> list[Any]:
    """Return a booking's invoices, oldest first (a public booking client reads them)."""
    portfolio = request.portfolio
    booking = request.record(portfolio.bookings, "Booking", "bookingId")
    return [shapes.invoice(portfolio, invoice) for invoice in portfolio.invoices_of(booking.id)]


def post_invoice(request: ApiRequest) -> Any:
    """Post a DRAFT invoice (it is final from now on); a POSTED one is answered as it is."""
    portfolio = request.portfolio
    invoice = request.record(portfolio.sales_invoices, "SalesInvoice")
    portfolio.post_invoice(invoice)
    return shapes.invoice(portfolio, invoice)


def _first_invoice(portfolio: Portfolio) -> SalesInvoice:
    return portfolio.sales_invoices[min(portfolio.sales_invoices)]


INVOICES = Group(
    "/api/v3/salesInvoices",
    "Sales Invoices",
    "SalesInvoice",
    lambda p: p.sales_invoices,
    shapes.invoice,
    operations=("list", "create", "get"),
    filters=_FILTERS,
    guesses={
        "list": "The list's page was not seen: every filter is a guess, and so are status, "
        "outstanding, booking, the export fields, created and lastUpdated in the rows.",
        "create": "The body is a guess: bookingId, invoiceDate (default today), dueDate "
        "(default 14 days on), type and salesInvoiceItems [{description, unitPrice, quantity, "
        "vatProfileId}]; VAT is the booking's profile unless an item names one. 201, DRAFT.",
        "get": "Fields after exchangeRate are guesses (the description's list is cut off).",
    },
    create=_new_invoice,
    schema=CREATE_INVOICE,
    example={
        "bookingId": 20001,
        "salesInvoiceItems": [{"description": "Extra clean", "unitPrice": 45.0, "quantity": 1}],
    },
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
        "GET",
        "/api/v3/bookings/{bookingId}/salesInvoices",
        invoices_of_booking,
        "The sales invoices of a booking",
        "Sales Invoices",
        paged=True,
        source="client",
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="A public booking client reads this path, not in the recovered description: "
        "paged like the other lists, rows as the invoices list's (a guess).",
    ),
    Route(
        "PUT",
        "/api/v3/salesInvoices/{id}/post",
        post_invoice,
        "Post a DRAFT sales invoice",
        "Sales Invoices",
        source="client",
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="A public booking client calls this path, not in the recovered description: "
        "no body, the invoice answered; posting a POSTED invoice changes nothing (a guess). "
        "The documented way to post is a payment, which posts what it pays.",
    ),
    Route(
        "PATCH",
        "/api/v3/salesInvoices/{id}/exported",
        mark_exported,
        "Mark a POSTED sales invoice exported",
        "Sales Invoices",
        schema=MARK_EXPORTED,
        example={"externalId": "XERO-INV-0042", "exportedDate": "2026-12-01T10:00:00Z"},
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="exportStatus becomes EXPORTED (a guess).",
    ),
    Route(
        "PATCH",
        "/api/v3/salesInvoices/{id}/updateSalesInvoiceExportStatus",
        update_export_status,
        "Set a POSTED sales invoice's export status",
        "Sales Invoices",
        schema=EXPORT_STATUS,
        example={
            "externalId": "SAGE-0042",
            "exportedDate": "2026-12-01T10:00:00Z",
            "exportStatus": "EXPORTED",
            "organisationSettingsId": 1,
        },
        sample=lambda p: shapes.invoice(p, _first_invoice(p)),
        guess="The answer (the invoice) is a guess; another organisation's id is 400.",
    ),
]
