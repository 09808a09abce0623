"""Reference records every dashboard joins on, and the ledger: invoices, their items, payments.

Like `_records`, field names are Python's; the API's names belong to the shape modules.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass, field

#: Booking-type billing types, from the API description.
BILLING_TYPES = ("ON_ACCOUNT", "CREDIT_CARD", "CASH_PAYMENT", "BANK_PAYMENT", "VIRTUAL_CARD")
#: Whom a booking type's e-mails go to, from the API description.
EMAIL_TO = ("BOOKING_CONTACT", "BOOKING_GUESTS", "BOOKING_CONTACT_AND_GUESTS")
#: Extras' billing frequencies, from the API description.
EXTRA_FREQUENCIES = ("ONE_OFF", "DAILY", "WEEKLY", "MONTHLY")
#: Activity statuses, priorities and activity-type categories, from the API description.
ACTIVITY_STATUSES = ("OPEN", "STARTED", "RESOLVED", "CLOSED")
PRIORITIES = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
ACTIVITY_CATEGORIES = ("CLEANING", "PPM", "MAINTENANCE", "SYSTEM")
#: Sales-invoice types and statuses (the statuses are stated in the description's prose).
INVOICE_TYPES = ("SALES_INVOICE", "SALES_CREDIT")
INVOICE_STATUSES = ("DRAFT", "POSTED")
#: Export statuses of updateSalesInvoiceExportStatus (doc, 3.0.9).
EXPORT_STATUSES = ("CREATED", "EXPORTED", "FAILED", "IMPORTED", "PENDING", "SENT", "SKIPPED")
#: Payment types and card types of the bookings' payments (doc).
PAYMENT_TYPES = ("BANK_PAYMENT", "CARD_PAYMENT", "CASH_PAYMENT")
CARD_TYPES = (
    "VISA_CREDIT",
    "VISA_DEBIT",
    "MASTERCARD",
    "MASTERCARD_DEBIT",
    "DELTA",
    "MAESTRO",
    "VISA_ELECTRON",
    "AMERICAN_EXPRESS",
    "DINERS_CLUB",
    "JCB",
    "PAYPAL",
)
#: Building management types, from the API description.
MANAGEMENT_TYPES = ("MANAGED", "AGENCY")


@dataclass
class BookingType:
    """What kind of booking a channel makes, and how it is billed."""

    id: int
    name: str
    description: str
    short_code: str
    billing_type: str
    email_to: str
    system_name: str
    uuid: str
    system_booking_type: bool = True


@dataclass
class BillingFrequency:
    """How often a booking is invoiced."""

    id: int
    name: str
    days: int  # 0: once, up front


@dataclass
class City:
    """A city buildings are in."""

    id: int
    name: str
    country: str = "United Kingdom"


@dataclass
class Area:
    """A neighbourhood of a city."""

    id: int
    name: str
    city_id: int


@dataclass
class AccessGroup:
    """A set of doors (a building's entrance, a car park) a key or code opens."""

    id: int
    name: str
    building_id: int
    external_identifier: str


@dataclass
class UnitAccessGroup:
    """That a unit's guests may open an access group's doors."""

    id: int
    unit_id: int
    access_group_id: int


@dataclass
class ActivityType:
    """A kind of task: a departure clean, a boiler service."""

    id: int
    name: str
    category: str
    system_type: str | None = None


@dataclass
class Activity:
    """A task on a room stay (a clean at departure, a repair reported during the stay)."""

    id: int
    room_stay_id: int
    activity_type_id: int
    subject: str
    content: str
    due: datetime.datetime
    status: str
    priority: str
    duration_minutes: int
    resolved: datetime.datetime | None = None
    closed: datetime.datetime | None = None
    issue_subject: str | None = None


@dataclass
class TaxCode:
    """A VAT rate."""

    id: int
    name: str
    rate: float


@dataclass
class VatProfile:
    """Which VAT applies to a charge: one tax code for the whole of the profile's seasons."""

    id: int
    name: str
    description: str
    tax_code_id: int


@dataclass
class Extra:
    """Something sold with a stay (parking, a cleaning), per building."""

    id: int
    building_id: int
    product_code: str
    name: str
    frequency: str
    net_price: float
    vat_profile_id: int
    through_ibe: bool = True


@dataclass
class InvoiceItem:
    """One line of a sales invoice: a night of a stay, or a charge."""

    number: int  # its place on the invoice, from 1
    description: str
    unit_price: float
    quantity: float
    net: float
    tax: float
    room_stay_id: int | None = None
    night: datetime.date | None = None

    @property
    def gross(self) -> float:
        """Net plus tax."""
        return round(self.net + self.tax, 2)


@dataclass
class SalesInvoice:
    """An invoice to a booking's billing side: DRAFT when raised, POSTED once final."""

    id: int
    number: str
    booking_id: int
    invoice_date: datetime.date
    due_date: datetime.date
    created: datetime.datetime
    last_updated: datetime.datetime
    kind: str = "SALES_INVOICE"
    status: str = "DRAFT"
    items: list[InvoiceItem] = field(default_factory=list)
    paid: float = 0.0
    external_id: str | None = None
    export_status: str | None = None
    exported_date: datetime.datetime | None = None
    date_sent: datetime.date | None = None
    organisation_id: int = 1

    # An invoice's items are fixed once it is raised (a credit note corrects one), so its
    # totals are worked out once: the lists render hundreds of invoices a page.
    @functools.cached_property
    def net(self) -> float:
        """The sum of the items' net amounts."""
        return round(sum(item.net for item in self.items), 2)

    @functools.cached_property
    def tax(self) -> float:
        """The sum of the items' tax."""
        return round(sum(item.tax for item in self.items), 2)

    @property
    def gross(self) -> float:
        """Net plus tax."""
        return round(self.net + self.tax, 2)

    @property
    def outstanding(self) -> float:
        """What is left to pay."""
        return round(self.gross - self.paid, 2)


@dataclass
class Allocation:
    """The part of a payment reconciled against one invoice."""

    id: int
    invoice_id: int
    amount: float


@dataclass
class Payment:
    """Money received against a booking, reconciled against its invoices."""

    id: int
    booking_id: int
    reference: str
    amount: float
    payment_type: str
    received: datetime.datetime
    card_type: str | None = None
    last_four: str | None = None
    user: str | None = None
    allocations: list[Allocation] = field(default_factory=list)
