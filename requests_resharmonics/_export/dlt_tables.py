"""The tables of the dlt source: what each resource reads, its key, and its columns' types.

Dates arrive as ISO strings and money as JSON numbers; without hints a warehouse would hold
text and floating point. The hints name the API's own fields (dlt turns ``startDate`` into
``start_date``); a field that may be null in every row of a load (a nightly run that reads
one changed stay) is typed too, so that dlt neither warns that it cannot type it nor leaves
it out. Money is handed to dlt as `decimal.Decimal`, read from the number's shortest
decimal form, so ``533.79`` is stored as exactly that.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DATE: dict[str, Any] = {"data_type": "date"}
TIMESTAMP: dict[str, Any] = {"data_type": "timestamp"}
MONEY: dict[str, Any] = {"data_type": "decimal", "precision": 18, "scale": 2}
RATE: dict[str, Any] = {"data_type": "decimal", "precision": 18, "scale": 6}
TEXT: dict[str, Any] = {"data_type": "text"}
JSON: dict[str, Any] = {"data_type": "json"}
WHOLE: dict[str, Any] = {"data_type": "bigint"}


@dataclass(frozen=True)
class Table:
    """One resource of the source: a list endpoint, read whole or by a change mark."""

    name: str
    path: str
    key: str
    columns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Read by ``lastUpdatedFrom`` (documented for bookings and room stays) rather than whole.
    incremental: bool = False
    #: Asked for every room-stay status (the list's default leaves some out).
    every_status: bool = False

    @property
    def money(self) -> frozenset[str]:
        """The top-level fields stored as decimals."""
        return frozenset(name for name, hint in self.columns.items() if hint is MONEY)

    @property
    def write_disposition(self) -> Literal["merge", "replace"]:
        """``merge`` for a change feed (only the rows read change); ``replace`` for whole reads.

        A table read whole is replaced, so that a row deleted at the source is gone from
        the warehouse after the next run.
        """
        return "merge" if self.incremental else "replace"

    def hints(self) -> Any:
        """Return dlt's ``columns`` argument (a dict of column hints, by field name)."""
        return {name: dict(hint) for name, hint in self.columns.items()}


_STAY: dict[str, Mapping[str, Any]] = {
    "startDate": DATE,
    "endDate": DATE,
    "netAmount": MONEY,
    "vatAmount": MONEY,
    "customerReference": TEXT,
    "otaReference": TEXT,
    "bookingAccount": JSON,
}

BOOKINGS = Table("bookings", "/api/v3/bookings", "roomStayId", _STAY, incremental=True,
                 every_status=True)  # fmt: skip
ROOM_STAYS = Table("room_stays", "/api/v3/roomStays", "roomStayId", _STAY, incremental=True)
GUEST_STAYS = Table("guest_stays", "/api/v3/guestStays", "id", {"dateFrom": DATE, "dateTo": DATE},
                    every_status=True)  # fmt: skip
UNITS = Table("units", "/api/v3/units", "id")
UNIT_TYPES = Table("unit_types", "/api/v3/unitTypes", "id")
CONTACTS = Table(
    "contacts",
    "/api/v3/contacts",
    "id",
    {
        "middleNames": TEXT,
        "jobTitle": TEXT,
        "department": TEXT,
        "preferences": TEXT,
        "contactSalesAccount": JSON,
    },
)
_EXPORT_FIELDS: dict[str, Mapping[str, Any]] = {
    "externalId": TEXT,
    "exportStatus": TEXT,
    "exportedDate": TIMESTAMP,
}
INVOICES = Table(
    "invoices",
    "/api/v3/salesInvoices",
    "id",
    {
        "invoiceDate": DATE,
        "dueDate": DATE,
        "dateSent": DATE,
        **{
            name: MONEY
            for name in (
                "net",
                "tax",
                "gross",
                "baseNet",
                "baseTax",
                "baseGross",
                "reportingNet",
                "reportingTax",
                "reportingGross",
                "outstanding",
            )
        },
        "exchangeRate": RATE,
        "created": TIMESTAMP,
        "lastUpdated": TIMESTAMP,
        **_EXPORT_FIELDS,
    },
)
#: Read per invoice (``/salesInvoices/{id}/salesInvoiceItems``): the API has no list of all.
INVOICE_ITEMS = Table(
    "invoice_items",
    "/api/v3/salesInvoices/{id}/salesInvoiceItems",
    "id",
    {
        **{
            name: MONEY
            for name in ("unitPrice", "baseUnitPrice", "reportingUnitPrice", "gross", "net", "tax")
        },
        "comment1": TEXT,
        "comment2": TEXT,
        "roomStayId": WHOLE,
        "salesInvoice__invoiceDate": DATE,
        "salesInvoice__dueDate": DATE,
    },
)
#: Read per booking that has invoices (a payment is reconciled against them), from
#: ``GET /api/v3/bookings/{id}/payments``: a path a public client reads, not in the API's
#: recovered description (a guess). Each row is a payment's record against one invoice.
PAYMENTS = Table(
    "payments",
    "/api/v3/bookings/{id}/payments",
    "id",
    {"amount": MONEY, "date": TIMESTAMP, "creditCardType": TEXT, "salesInvoice": JSON},
)
FINANCE_ACCOUNTS = Table(
    "finance_accounts",
    "/api/v3/financeAccounts",
    "id",
    {"contact": JSON, "company": JSON, **_EXPORT_FIELDS},
)

#: The tables read from a list of their own; `INVOICE_ITEMS` and `PAYMENTS` are read from
#: each invoice (and its booking) as the invoices come.
TABLES = (BOOKINGS, ROOM_STAYS, GUEST_STAYS, UNITS, UNIT_TYPES, CONTACTS, INVOICES,
          FINANCE_ACCOUNTS)  # fmt: skip


def decimals(rows: Iterable[dict[str, Any]], money: frozenset[str]) -> list[dict[str, Any]]:
    """Return ``rows`` with their money fields as `decimal.Decimal` (the number as written)."""
    shaped = []
    for row in rows:
        for name in money & row.keys():
            value = row[name]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                row[name] = decimal.Decimal(repr(value))
        shaped.append(row)
    return shaped
