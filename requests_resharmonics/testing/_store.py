"""`Store`: one consistent store of buildings, units, contacts, bookings, stays and rates.

The tables and the rules that keep them true (no unit held twice on a night, prices, the
ledger), unseeded: `Portfolio` fills one from a seed, and the seeders fill a `Store`.
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Set
from typing import Any, TypeVar

from . import _reference_records as ref
from ._ledger import Ledger, days

__all__ = ["Store", "days", "next_id"]
from ._records import (
    HOLDING_STATUSES,
    ROOM_STAY_STATUSES,
    Account,
    Booking,
    Building,
    Channel,
    Company,
    Contact,
    GuestStay,
    Organisation,
    RatePlan,
    RoomStay,
    Unit,
    UnitType,
)

#: UK VAT on accommodation, applied to every stay's net amount.
VAT_RATE = 0.2

_Record = TypeVar("_Record")

#: Each nightly price worked out so far, by (nightly rate, discount, date): the same for
#: every portfolio, and a seeded year prices thousands of nights.
_PRICES: dict[tuple[float, float, datetime.date], float] = {}


class Store(Ledger):
    """The fake service's data, unseeded: tables of records by id, and the rules for them.

    `Portfolio` is this store filled from a seed; the seeders fill a `Store`.
    """

    def __init__(self, seed: int = 7, today: datetime.date | None = None) -> None:
        self.seed = seed
        #: The date the portfolio is built around: a year of stays, half before, half after.
        self.today = today or datetime.date.today()
        self.lock = threading.RLock()
        self.buildings: dict[int, Building] = {}
        self.unit_types: dict[int, UnitType] = {}
        self.units: dict[int, Unit] = {}
        self.companies: dict[int, Company] = {}
        self.accounts: dict[int, Account] = {}
        self.contacts: dict[int, Contact] = {}
        self.channels: dict[int, Channel] = {}
        self.organisations: dict[int, Organisation] = {}
        self.rate_plans: dict[int, RatePlan] = {}
        self.bookings: dict[int, Booking] = {}
        self.room_stays: dict[int, RoomStay] = {}
        self.guest_stays: dict[int, GuestStay] = {}
        self.booking_types: dict[int, ref.BookingType] = {}
        self.billing_frequencies: dict[int, ref.BillingFrequency] = {}
        self.cities: dict[int, ref.City] = {}
        self.areas: dict[int, ref.Area] = {}
        self.access_groups: dict[int, ref.AccessGroup] = {}
        self.unit_access_groups: dict[int, ref.UnitAccessGroup] = {}
        self.activity_types: dict[int, ref.ActivityType] = {}
        self.activities: dict[int, ref.Activity] = {}
        self.tax_codes: dict[int, ref.TaxCode] = {}
        self.vat_profiles: dict[int, ref.VatProfile] = {}
        self.extras: dict[int, ref.Extra] = {}
        self.sales_invoices: dict[int, ref.SalesInvoice] = {}
        self.payments: dict[int, ref.Payment] = {}

    @property
    def billing_frequency_ids(self) -> Set[int]:
        """Ids that ``POST /api/v3/bookings`` accepts for ``billingFrequencyId``."""
        return self.billing_frequencies.keys()

    @property
    def booking_type_ids(self) -> Set[int]:
        """Ids that ``POST /api/v3/bookings`` accepts for ``bookingTypeId``."""
        return self.booking_types.keys()

    # -- reading -----------------------------------------------------------------------

    def now(self) -> datetime.datetime:
        """Return the time stamped on changes: the wall clock, in UTC."""
        return datetime.datetime.now(datetime.timezone.utc)

    def is_free(
        self,
        unit_id: int,
        start: datetime.date,
        end: datetime.date,
        ignore: RoomStay | None = None,
    ) -> bool:
        """Whether the unit is bookable and no stay holds it on any night in ``[start, end)``."""
        unit = self.units.get(unit_id)
        if unit is None or not unit.bookable:
            return False
        return not self.clashes(unit_id, start, end, ignore)

    def clashes(
        self,
        unit_id: int,
        start: datetime.date,
        end: datetime.date,
        ignore: RoomStay | None = None,
    ) -> bool:
        """Whether a stay other than ``ignore`` holds the unit on a night in ``[start, end)``."""
        return any(
            stay.holds_unit and stay.overlaps(start, end) and stay is not ignore
            for stay in self.room_stays.values()
            if stay.unit_id == unit_id
        )

    def held_nights(self, unit_id: int) -> set[datetime.date]:
        """Every night (by its date) on which a stay holds the unit."""
        nights: set[datetime.date] = set()
        for stay in self.room_stays.values():
            if stay.unit_id == unit_id and stay.holds_unit:
                nights.update(days(stay.start, stay.end))
        return nights

    def held_nights_by_unit(self, unit_type_id: int) -> list[set[datetime.date]]:
        """Return, for each bookable unit of a unit type, the nights a stay holds it."""
        nights: dict[int, set[datetime.date]] = {
            unit.id: set()
            for unit in self.units.values()
            if unit.unit_type_id == unit_type_id and unit.bookable
        }
        for stay in self.room_stays.values():
            if stay.unit_id in nights and stay.holds_unit:
                nights[stay.unit_id].update(days(stay.start, stay.end))
        return list(nights.values())

    def price(self, plan: RatePlan, day: datetime.date) -> float:
        """Return a rate's nightly price on a date: dearer on Fridays, Saturdays and in summer."""
        return self.prices(plan, day, day + datetime.timedelta(days=1))[0]

    def prices(self, plan: RatePlan, start: datetime.date, end: datetime.date) -> list[float]:
        """Return a rate's price for each night of ``[start, end)``."""
        rate, discount = self.unit_types[plan.unit_type_id].nightly_rate, plan.discount
        found, day, one = [], start, datetime.timedelta(days=1)
        while day < end:
            key = (rate, discount, day)
            price = _PRICES.get(key)
            found.append(_work_out(key) if price is None else price)
            day += one
        return found

    def quote(
        self, plan: RatePlan, start: datetime.date, end: datetime.date
    ) -> tuple[float, float]:
        """Return the net and VAT amounts of a stay at this rate.

        VAT is worked out night by night, as the invoice items charge it, so that a stay's
        ``vatAmount`` is the sum of its invoices' tax.
        """
        prices = self.prices(plan, start, end)
        net = round(sum(prices), 2)
        return net, round(sum(round(price * VAT_RATE, 2) for price in prices), 2)

    def rate_for(self, unit_type_id: int, nights: int) -> RatePlan:
        """Return the rate a stay of this length sells at: monthly from 28 nights, weekly from 7."""
        wanted = "MONTHLY" if nights >= 28 else "WEEKLY" if nights >= 7 else "DAILY"
        plans = [p for p in self.rate_plans.values() if p.unit_type_id == unit_type_id]
        if not plans:
            raise ValueError(f"unit type {unit_type_id} has no rates")
        return next((p for p in plans if p.rate_type == wanted), plans[0])

    # -- changing ----------------------------------------------------------------------

    def put(self, record: Any) -> Any:
        """Add a record, or replace the one with the same id, in the table of its type."""
        table = self._table_for(record)
        with self.lock:
            table[record.id] = record
        return record

    def add_unit(
        self,
        name: str,
        unit_type_id: int | None = None,
        *,
        bookable: bool = True,
        publish: bool = True,
    ) -> Unit:
        """Add a unit (of the first unit type unless one is named); return it."""
        with self.lock:
            type_id = unit_type_id if unit_type_id is not None else min(self.unit_types)
            if type_id not in self.unit_types:
                raise ValueError(f"there is no unit type {type_id}")
            unit = Unit(next_id(self.units, 1000), name, type_id, bookable, publish)
            self.units[unit.id] = unit
            return unit

    def add_contact(self, first_name: str, last_name: str, email: str | None = None) -> Contact:
        """Add a contact with a finance account of its own (its sales account); return it.

        That the service opens a sales account for every new contact is a guess: public
        booking clients read ``contactSalesAccount.id`` off a contact they just created and
        book on it, so it must be there.
        """
        with self.lock:
            contact_id = next_id(self.contacts, 5000)
            address = email or f"{first_name}.{last_name}{contact_id}@example.com".lower()
            contact = Contact(contact_id, first_name, last_name, address)
            self.contacts[contact_id] = contact
            self.open_account(contact)
            return contact

    def open_account(self, contact: Contact) -> Account:
        """Open a sales account for a contact (its ``contactSalesAccount``); return it."""
        with self.lock:
            account_id = next_id(self.accounts, 700)
            account = Account(account_id, None, f"SL{account_id}", contact.id)
            self.accounts[account_id] = account
            contact.account_id = account_id
            return account

    def add_stay(
        self,
        unit_id: int,
        start: datetime.date,
        end: datetime.date | None = None,
        *,
        nights: int | None = None,
        status: str = "CONFIRMED",
        contact_id: int | None = None,
        booking_id: int | None = None,
    ) -> RoomStay:
        """Add a room stay (in a new booking unless one is named) with its guest stay.

        Give ``end`` (the departure day) or ``nights``. A stay in a status that holds its
        unit is refused when another such stay holds the unit on any of its nights.
        """
        if end is None:
            if nights is None:
                raise ValueError("give end or nights")
            end = start + datetime.timedelta(days=nights)
        with self.lock:
            unit = self._get(self.units, unit_id, "unit")
            if end <= start:
                raise ValueError("a stay ends after it starts")
            if status not in ROOM_STAY_STATUSES:
                raise ValueError(f"unknown room-stay status {status!r}")
            if status in HOLDING_STATUSES and self.clashes(unit_id, start, end):
                raise ValueError(f"unit {unit_id} is already held on some night of {start}..{end}")
            stay = self._stay(unit, start, end, status, booking_id, contact_id)
            self._commit_stay(stay, contact_id)
            return stay

    def add_booking(
        self,
        contact_id: int,
        *,
        channel_id: int | None = None,
        booking_account_id: int | None = None,
        billing_account_id: int | None = None,
        created: datetime.datetime | None = None,
    ) -> Booking:
        """Add an empty booking for a contact; return it."""
        with self.lock:
            self._get(self.contacts, contact_id, "contact")
            when = created or self.now()
            booking_id = next_id(self.bookings, 20000)
            booking = Booking(
                id=booking_id,
                reference=f"{when:%Y%m%d}-{booking_id % 100000:05d}",
                contact_id=contact_id,
                channel_id=channel_id or min(self.channels),
                booking_account_id=booking_account_id or self.contacts[contact_id].account_id,
                billing_account_id=billing_account_id or self.contacts[contact_id].account_id,
                organisation_id=min(self.organisations),
                created=when,
                last_updated=when,
            )
            channel = self.channels[booking.channel_id]
            booking.booking_type_id = channel.booking_type_id
            booking.billing_frequency_id = min(self.billing_frequencies, default=None)
            self.bookings[booking.id] = booking
            return booking

    def set_status(self, stay: RoomStay, status: str) -> None:
        """Change a room stay's status (and so its guest stays'); stamp both as updated."""
        with self.lock:
            holds_now = status in HOLDING_STATUSES and not stay.holds_unit
            if holds_now and self.clashes(stay.unit_id, stay.start, stay.end, ignore=stay):
                raise ValueError(f"unit {stay.unit_id} is already held on those nights")
            stay.status = status
            stay.last_updated = self.now()
            self.bookings[stay.booking_id].last_updated = stay.last_updated

    # -- internals ---------------------------------------------------------------------

    def _stay(
        self,
        unit: Unit,
        start: datetime.date,
        end: datetime.date,
        status: str,
        booking_id: int | None,
        contact_id: int | None,
    ) -> RoomStay:
        if booking_id is not None:
            booking = self._get(self.bookings, booking_id, "booking")
        else:
            guest = contact_id if contact_id is not None else min(self.contacts)
            booking = self.add_booking(guest)
        plan = self.rate_for(unit.unit_type_id, (end - start).days)
        net, vat = self.quote(plan, start, end)
        when = self.now()
        return RoomStay(
            id=next_id(self.room_stays, 30000),
            booking_id=booking.id,
            unit_id=unit.id,
            rate_id=plan.id,
            start=start,
            end=end,
            status=status,
            net_amount=net,
            vat_amount=vat,
            created=when,
            last_updated=when,
        )

    def _commit_stay(self, stay: RoomStay, contact_id: int | None) -> None:
        self.room_stays[stay.id] = stay
        guest = contact_id if contact_id is not None else self.bookings[stay.booking_id].contact_id
        guest_stay = GuestStay(next_id(self.guest_stays, 40000), stay.id, guest)
        self.guest_stays[guest_stay.id] = guest_stay
        stay.guests.append(guest_stay.id)

    def _get(self, table: dict[int, _Record], key: int, what: str) -> _Record:
        if key not in table:
            raise ValueError(f"there is no {what} {key}")
        return table[key]

    def _table_for(self, record: Any) -> dict[int, Any]:
        tables: dict[type, dict[int, Any]] = {
            Building: self.buildings,
            UnitType: self.unit_types,
            Unit: self.units,
            Company: self.companies,
            Account: self.accounts,
            Contact: self.contacts,
            Channel: self.channels,
            Organisation: self.organisations,
            RatePlan: self.rate_plans,
            Booking: self.bookings,
            RoomStay: self.room_stays,
            GuestStay: self.guest_stays,
            ref.BookingType: self.booking_types,
            ref.BillingFrequency: self.billing_frequencies,
            ref.City: self.cities,
            ref.Area: self.areas,
            ref.AccessGroup: self.access_groups,
            ref.UnitAccessGroup: self.unit_access_groups,
            ref.ActivityType: self.activity_types,
            ref.Activity: self.activities,
            ref.TaxCode: self.tax_codes,
            ref.VatProfile: self.vat_profiles,
            ref.Extra: self.extras,
            ref.SalesInvoice: self.sales_invoices,
            ref.Payment: self.payments,
        }
        if type(record) not in tables:
            raise TypeError(f"a portfolio holds no {type(record).__name__} records")
        return tables[type(record)]


def _work_out(key: tuple[float, float, datetime.date]) -> float:
    rate, discount, day = key
    if len(_PRICES) > 500_000:  # a long-running server asked about many years
        _PRICES.clear()
    weekend = 1.12 if day.weekday() in (4, 5) else 1.0
    season = 1.0 + 0.15 * math.cos((day.timetuple().tm_yday - 196) / 365 * 2 * math.pi)
    price = _PRICES[key] = round(rate * (1 - discount) * weekend * season, 2)
    return price


def next_id(table: dict[int, Any], base: int = 0) -> int:
    """Return the id after the highest in the table; ids of each kind start above their own base."""
    return max(table, default=base) + 1
