"""The ledger rules of the portfolio: invoices for a stay's nights, posting, payments, exports.

Stated by the API description: an invoice is created DRAFT and later POSTED; only a POSTED
invoice can be marked exported; a payment is reconciled against the booking's outstanding
invoices, posting them where needed, and is refused beyond what is outstanding. How a
payment is spread (oldest due date first) is a guess.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from ._reference_records import Allocation, InvoiceItem, Payment, SalesInvoice

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._records import Account, Booking, RatePlan, RoomStay, Unit
    from ._reference_records import TaxCode, VatProfile

#: Invoice items are addressed as ``invoice id * ITEMS_PER_INVOICE + item number``.
ITEMS_PER_INVOICE = 1000


def days(start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
    """Each date of ``[start, end)``: the nights of a stay, by their dates."""
    one = datetime.timedelta(days=1)
    day = start
    while day < end:
        yield day
        day += one


class Ledger:
    """The invoice and payment half of `Portfolio` (a mixin: the tables live on the portfolio)."""

    sales_invoices: dict[int, SalesInvoice]
    payments: dict[int, Payment]
    bookings: dict[int, Booking]
    units: dict[int, Unit]
    rate_plans: dict[int, RatePlan]
    vat_profiles: dict[int, VatProfile]
    tax_codes: dict[int, TaxCode]
    accounts: dict[int, Account]
    lock: Any

    def now(self) -> datetime.datetime:
        """Return the time stamped on changes (the portfolio's clock)."""
        raise NotImplementedError

    def prices(self, plan: RatePlan, start: datetime.date, end: datetime.date) -> list[float]:
        """Return a rate's price for each night of ``[start, end)`` (the portfolio's prices)."""
        raise NotImplementedError

    # -- reading -------------------------------------------------------------------------

    def tax_rate(self, vat_profile_id: int) -> float:
        """Return the VAT rate of a VAT profile."""
        profile = self.vat_profiles[vat_profile_id]
        return float(self.tax_codes[profile.tax_code_id].rate)

    def invoices_of(self, booking_id: int) -> list[SalesInvoice]:
        """Return the booking's invoices, by id."""
        found = [inv for inv in self.sales_invoices.values() if inv.booking_id == booking_id]
        return sorted(found, key=lambda invoice: invoice.id)

    def outstanding(self, booking_id: int, due_before: datetime.date | None = None) -> float:
        """Return what is left to pay on the booking's invoices (due before a date, if given)."""
        return round(sum(inv.outstanding for inv in self._open(booking_id, due_before)), 2)

    def invoice_item(self, item_id: int) -> tuple[SalesInvoice, InvoiceItem] | None:
        """Return the invoice and item an item id names, or None."""
        invoice = self.sales_invoices.get(item_id // ITEMS_PER_INVOICE)
        number = item_id % ITEMS_PER_INVOICE
        if invoice is None or not 1 <= number <= len(invoice.items):
            return None
        return invoice, invoice.items[number - 1]

    # -- changing ------------------------------------------------------------------------

    def night_items(
        self, stay: RoomStay, start: datetime.date, end: datetime.date, vat_profile_id: int
    ) -> list[InvoiceItem]:
        """Return one item per night of the stay in ``[start, end)``, at its rate and VAT."""
        plan = self.rate_plans[stay.rate_id]
        unit = self.units[stay.unit_id]
        rate = self.tax_rate(vat_profile_id)
        first, last = max(start, stay.start), min(end, stay.end)
        nights = zip(days(first, last), self.prices(plan, first, last), strict=True)
        return [
            InvoiceItem(
                number=number,
                description=f"{unit.name}, night of {day.isoformat()} ({plan.name})",
                unit_price=price,
                quantity=1,
                net=price,
                tax=round(price * rate, 2),
                room_stay_id=stay.id,
                night=day,
            )
            for number, (day, price) in enumerate(nights, 1)
        ]

    def invoice_first_month(
        self, stay: RoomStay, when: datetime.datetime | None = None
    ) -> SalesInvoice | None:
        """Raise the DRAFT invoice of a stay's first month, unless its nights are invoiced.

        The service raises it when the stay is taken (moved to PENDING, CONFIRMED or
        CHECKED_IN): a guess, made because a new guest must be able to pay at once, and a
        payment is reconciled against invoices only. Due in 7 days, or 30 on a company's
        account. Return the invoice, or None when there was nothing to raise.
        """
        with self.lock:
            booking = self.bookings[stay.booking_id]
            charged = any(
                item.room_stay_id == stay.id
                for invoice in self.invoices_of(booking.id)
                for item in invoice.items
            )
            if charged:
                return None
            moment = when or self.now()
            items = self.night_items(
                stay, stay.start, next_month(stay.start), booking.vat_profile_id
            )
            account = self.accounts.get(booking.billing_account_id or 0)
            days = 30 if account is not None and account.company_id is not None else 7
            dated = moment.date()
            due = dated + datetime.timedelta(days=days)
            return self.add_invoice(booking.id, items, dated, due, created=moment)

    def add_invoice(
        self,
        booking_id: int,
        items: list[InvoiceItem],
        invoice_date: datetime.date,
        due_date: datetime.date | None = None,
        *,
        kind: str = "SALES_INVOICE",
        created: datetime.datetime | None = None,
    ) -> SalesInvoice:
        """Raise a DRAFT invoice on a booking; return it."""
        if not items or len(items) >= ITEMS_PER_INVOICE:
            raise ValueError(f"an invoice has 1 to {ITEMS_PER_INVOICE - 1} items")
        with self.lock:
            if booking_id not in self.bookings:
                raise ValueError(f"there is no booking {booking_id}")
            when = created or self.now()
            invoice_id = max(self.sales_invoices, default=90000) + 1
            for number, item in enumerate(items, 1):
                item.number = number
            invoice = SalesInvoice(
                id=invoice_id,
                number=f"SI{invoice_id:07d}",
                booking_id=booking_id,
                invoice_date=invoice_date,
                due_date=due_date or invoice_date + datetime.timedelta(days=14),
                created=when,
                last_updated=when,
                kind=kind,
                items=items,
            )
            self.sales_invoices[invoice.id] = invoice
            return invoice

    def post_invoice(self, invoice: SalesInvoice, when: datetime.datetime | None = None) -> None:
        """Make a DRAFT invoice POSTED (final: it can now be exported)."""
        with self.lock:
            if invoice.status != "POSTED":
                invoice.status = "POSTED"
                invoice.last_updated = when or self.now()

    def mark_exported(
        self,
        invoice: SalesInvoice,
        external_id: str,
        exported: datetime.datetime,
        status: str = "EXPORTED",
    ) -> None:
        """Record that an accounting system took a POSTED invoice; refuse a DRAFT one."""
        with self.lock:
            if invoice.status != "POSTED":
                raise ValueError(f"sales invoice {invoice.id} is {invoice.status}, not POSTED")
            invoice.external_id = external_id
            invoice.exported_date = exported
            invoice.export_status = status
            invoice.last_updated = self.now()

    def record_payment(
        self,
        booking_id: int,
        reference: str,
        amount: float,
        payment_type: str,
        *,
        card_type: str | None = None,
        last_four: str | None = None,
        user: str | None = None,
        due_before: datetime.date | None = None,
        received: datetime.datetime | None = None,
    ) -> Payment:
        """Take a payment and reconcile it against the booking's open invoices, oldest first.

        A DRAFT invoice that receives money is posted. More than is outstanding is refused.
        """
        with self.lock:
            if booking_id not in self.bookings:
                raise ValueError(f"there is no booking {booking_id}")
            if not amount > 0:
                raise ValueError("amount must be more than 0")
            open_invoices = self._open(booking_id, due_before)
            owed = round(sum(invoice.outstanding for invoice in open_invoices), 2)
            if round(amount, 2) > owed:
                raise ValueError(f"amount {amount:.2f} exceeds the {owed:.2f} outstanding")
            when = received or self.now()
            payment = Payment(
                id=max(self.payments, default=95000) + 1,
                booking_id=booking_id,
                reference=reference,
                amount=round(amount, 2),
                payment_type=payment_type,
                received=when,
                card_type=card_type,
                last_four=last_four,
                user=user,
            )
            left = payment.amount
            for invoice in open_invoices:
                share = round(min(left, invoice.outstanding), 2)
                if share <= 0:
                    break
                self.post_invoice(invoice, when)
                invoice.paid = round(invoice.paid + share, 2)
                invoice.last_updated = when
                allocation_id = payment.id * 10 + len(payment.allocations) + 1
                payment.allocations.append(Allocation(allocation_id, invoice.id, share))
                left = round(left - share, 2)
            self.payments[payment.id] = payment
            return payment

    def _open(self, booking_id: int, due_before: datetime.date | None) -> list[SalesInvoice]:
        found = [
            invoice
            for invoice in self.invoices_of(booking_id)
            if invoice.kind == "SALES_INVOICE"
            and invoice.outstanding > 0
            and (due_before is None or invoice.due_date < due_before)
        ]
        return sorted(found, key=lambda invoice: (invoice.due_date, invoice.id))


def next_month(day: datetime.date) -> datetime.date:
    """Return the first day of the month after ``day``'s."""
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
