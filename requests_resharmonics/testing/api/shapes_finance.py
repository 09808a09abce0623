"""How the API writes sales invoices, their items and payments: those field names, in one place.

The invoice and item fields up to the description's cut-off are documented; ``status``
(DRAFT or POSTED), ``outstanding``, ``booking``, the export fields on the read side,
``created`` and ``lastUpdated``, and an item's ``net``, ``tax`` and ``roomStayId`` are
guesses, named as the rest of the API names such things.
"""

from __future__ import annotations

import uuid
from typing import Any

from .._ledger import ITEMS_PER_INVOICE
from .._portfolio import Portfolio
from .._reference_records import InvoiceItem, Payment, SalesInvoice
from .shapes_reference import moment

Json = dict[str, Any]

_CURRENCY = {"id": 1, "name": "GBP"}
_NAMESPACE = uuid.UUID("5b0a8f5e-6f0c-4d55-9d43-2f1e0e4c7a10")


def invoice(portfolio: Portfolio, record: SalesInvoice) -> Json:
    """``GET /api/v3/salesInvoices/{id}`` and the list's rows."""
    booking = portfolio.bookings[record.booking_id]
    net, tax, gross = record.net, record.tax, record.gross
    return {
        "id": record.id,
        "salesInvoiceNumber": record.number,
        "type": record.kind,
        "invoiceDate": record.invoice_date.isoformat(),
        "net": net,
        "tax": tax,
        "gross": gross,
        "baseNet": net,
        "baseTax": tax,
        "baseGross": gross,
        "reportingNet": net,
        "reportingTax": tax,
        "reportingGross": gross,
        "dueDate": record.due_date.isoformat(),
        "dateSent": record.date_sent.isoformat() if record.date_sent else None,
        "currency": _CURRENCY,
        "baseCurrency": _CURRENCY,
        "exchangeRate": 1.0,
        "status": record.status,
        "outstanding": record.outstanding,
        "booking": {"id": booking.id, "bookingReference": booking.reference},
        "organisationSettingsId": record.organisation_id,
        "externalId": record.external_id,
        "exportStatus": record.export_status,
        "exportedDate": moment(record.exported_date),
        "created": moment(record.created),
        "lastUpdated": moment(record.last_updated),
    }


def item_id(record: SalesInvoice, item: InvoiceItem) -> int:
    """Return the id an invoice item is addressed by."""
    return record.id * ITEMS_PER_INVOICE + item.number


def invoice_item(portfolio: Portfolio, record: SalesInvoice, item: InvoiceItem) -> Json:
    """``GET /api/v3/salesInvoices/salesInvoiceItems/{id}`` and an invoice's items."""
    key = item_id(record, item)
    return {
        "id": key,
        "uuid": str(uuid.uuid5(_NAMESPACE, str(key))),
        "salesInvoice": {
            "id": record.id,
            "salesInvoiceNumber": record.number,
            "type": record.kind,
            "invoiceDate": record.invoice_date.isoformat(),
            "dueDate": record.due_date.isoformat(),
        },
        "description": item.description,
        "comment1": None,
        "comment2": None,
        "currency": _CURRENCY,
        "baseCurrency": _CURRENCY,
        "type": "ACCOMMODATION" if item.room_stay_id is not None else "CHARGE",
        "unitPrice": item.unit_price,
        "baseUnitPrice": item.unit_price,
        "reportingUnitPrice": item.unit_price,
        "quantity": item.quantity,
        "gross": item.gross,
        "net": item.net,
        "tax": item.tax,
        "roomStayId": item.room_stay_id,
    }


def payment_records(portfolio: Portfolio, record: Payment) -> list[Json]:
    """Return a payment's answer: a financial record per invoice it was reconciled against.

    ``id``, ``financialType`` and ``creditCardType`` are documented; the rest is a guess.
    """
    rows = []
    for allocation in record.allocations:
        paid = portfolio.sales_invoices[allocation.invoice_id]
        rows.append(
            {
                "id": allocation.id,
                "financialType": "SALES_RECEIPT",
                "creditCardType": record.card_type,
                "paymentType": record.payment_type,
                "paymentReference": record.reference,
                "amount": allocation.amount,
                "date": moment(record.received),
                "salesInvoice": {"id": paid.id, "salesInvoiceNumber": paid.number},
            }
        )
    return rows
