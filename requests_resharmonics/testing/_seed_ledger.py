"""Seed the reference data and the ledger: invoices per stay and month, posted, exported, paid.

Reference data: booking types, channels' terms, cities and areas, access groups, extras,
VAT profiles and activity types.

Invoices follow the stays: each month of a confirmed or later stay that has begun is
invoiced on its first night at the stay's rate and the booking's VAT profile; invoices
older than three days are POSTED, older than ten days exported, and those due are mostly
paid. A guess at an operator's rhythm: the description says nothing of it.
"""

from __future__ import annotations

import datetime
import random
import uuid
from typing import TYPE_CHECKING

from ._ledger import next_month
from ._records import HOLDING_STATUSES, Company
from ._reference_records import (
    AccessGroup,
    Activity,
    ActivityType,
    Area,
    BillingFrequency,
    BookingType,
    City,
    Extra,
    TaxCode,
    UnitAccessGroup,
    VatProfile,
)

if TYPE_CHECKING:
    from ._store import Store


# (name, short code, billing type, e-mails to)
_BOOKING_TYPES = (
    ("Direct", "DIR", "CREDIT_CARD", "BOOKING_CONTACT_AND_GUESTS"),
    ("Online travel agent", "OTA", "VIRTUAL_CARD", "BOOKING_GUESTS"),
    ("Corporate", "CORP", "ON_ACCOUNT", "BOOKING_CONTACT"),
)
# channel name -> (booking type, operator company or None, commission basis, rate)
_CHANNEL_TERMS = {
    "Direct": (1, None, "NET", 0.0),
    "Booking.com": (2, "Booking.com B.V.", "GROSS", 15.0),
    "Airbnb": (2, "Airbnb Ireland UC", "GROSS", 14.0),
    "Expedia": (2, "Expedia Inc.", "GROSS", 18.0),
    "Corporate agent": (3, "Northwind Relocation", "NET", 8.0),
    "Website": (1, None, "NET", 0.0),
}
_AREAS = {
    "Bristol": "Harbourside",
    "Manchester": "Ancoats",
    "Leeds": "Holbeck",
    "London": "Hackney",
}
# (product code, name, frequency, net price, VAT profile, sold online)
_EXTRAS = (
    ("PARK", "Parking space", "DAILY", 12.5, 1, True),
    ("CLEAN", "Extra clean", "ONE_OFF", 45.0, 1, True),
    ("LATE", "Late check-out", "ONE_OFF", 25.0, 1, True),
    ("LINEN", "Weekly linen change", "WEEKLY", 18.0, 1, False),
    ("DEPOSIT", "Pet deposit", "ONE_OFF", 100.0, 2, False),
)


def seed_reference(portfolio: Store, rng: random.Random) -> None:
    """Fill the reference tables; give channels their booking type and terms."""
    for number, (name, code, billing, email_to) in enumerate(_BOOKING_TYPES, 1):
        portfolio.booking_types[number] = BookingType(
            number,
            name,
            f"{name} bookings",
            code,
            billing,
            email_to,
            name.upper().replace(" ", "_"),
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        )
    for number, (name, days) in enumerate((("Monthly", 30), ("Weekly", 7), ("Up front", 0)), 1):
        portfolio.billing_frequencies[number] = BillingFrequency(number, name, days)
    for account in portfolio.accounts.values():
        account.code = f"SL{account.id}"
    by_name = {company.name: company.id for company in portfolio.companies.values()}
    for channel in portfolio.channels.values():
        type_id, operator, basis, rate = _CHANNEL_TERMS.get(channel.name, (1, None, "NET", 0.0))
        if operator is not None and operator not in by_name:
            company = Company(max(portfolio.companies) + 1, operator)
            portfolio.companies[company.id] = company
            by_name[operator] = company.id
        channel.booking_type_id = type_id
        channel.operator_company_id = by_name.get(operator) if operator else None
        channel.commission_basis, channel.commission_rate = basis, rate
    for building in sorted(portfolio.buildings.values(), key=lambda record: record.id):
        city = next((c for c in portfolio.cities.values() if c.name == building.city), None)
        if city is None:
            city = City(len(portfolio.cities) + 1, building.city)
            portfolio.cities[city.id] = city
            area = Area(100 + city.id, _AREAS.get(city.name, "City centre"), city.id)
            portfolio.areas[area.id] = area
        building.area_id = 100 + city.id
        for name in ("Main entrance", "Car park"):
            group_id = len(portfolio.access_groups) + 1
            external = f"ACS-{building.id}-{name.split()[0].upper()}"
            portfolio.access_groups[group_id] = AccessGroup(group_id, name, building.id, external)
    for unit in sorted(portfolio.units.values(), key=lambda record: record.id):
        building_id = portfolio.unit_types[unit.unit_type_id].building_id
        for group in portfolio.access_groups.values():
            wanted = group.name == "Main entrance" or unit.id % 2 == 0
            if group.building_id == building_id and wanted:
                link_id = 3000 + len(portfolio.unit_access_groups) + 1
                portfolio.unit_access_groups[link_id] = UnitAccessGroup(link_id, unit.id, group.id)
    portfolio.tax_codes[1] = TaxCode(1, "Standard 20%", 0.2)
    portfolio.tax_codes[2] = TaxCode(2, "Zero rated", 0.0)
    portfolio.vat_profiles[1] = VatProfile(1, "Standard", "UK VAT at the standard rate", 1)
    portfolio.vat_profiles[2] = VatProfile(2, "Zero rated", "Deposits and other zero rates", 2)
    for building_id in sorted(portfolio.buildings):
        for code, name, frequency, price, profile, online in _EXTRAS:
            extra_id = 500 + len(portfolio.extras) + 1
            portfolio.extras[extra_id] = Extra(
                extra_id, building_id, code, name, frequency, price, profile, online
            )
    kinds = (
        ("Departure clean", "CLEANING", "DEPARTURE_CLEAN"),
        ("Mid-stay clean", "CLEANING", None),
        ("Repair", "MAINTENANCE", None),
        ("Safety check", "PPM", None),
    )
    for number, (name, category, system) in enumerate(kinds, 1):
        portfolio.activity_types[number] = ActivityType(number, name, category, system)


def seed_activities(portfolio: Store, rng: random.Random) -> None:
    """Add a departure clean for every stay that holds its unit, and a repair now and then."""
    today = portfolio.today
    for stay in sorted(portfolio.room_stays.values(), key=lambda record: record.id):
        if not stay.holds_unit:
            continue
        due = datetime.datetime.combine(stay.end, datetime.time(11), datetime.timezone.utc)
        done = stay.end < today
        _activity(portfolio, stay.id, 1, "Departure clean", due, done, "THREE", 120)
        if rng.random() < 0.12 and (stay.end - stay.start).days > 2:
            reported = stay.start + datetime.timedelta(days=1)
            when = datetime.datetime.combine(reported, datetime.time(10), datetime.timezone.utc)
            fault = rng.choice(("Dripping tap", "Shower drains slowly", "Oven light out"))
            activity = _activity(portfolio, stay.id, 3, fault, when, reported < today, "TWO", 60)
            activity.issue_subject = fault


def _activity(
    portfolio: Store,
    stay_id: int,
    type_id: int,
    subject: str,
    due: datetime.datetime,
    done: bool,
    priority: str,
    minutes: int,
) -> Activity:
    activity = Activity(
        id=70000 + len(portfolio.activities) + 1,
        room_stay_id=stay_id,
        activity_type_id=type_id,
        subject=subject,
        content=f"{subject} for room stay {stay_id}",
        due=due,
        status="CLOSED" if done else "OPEN",
        priority=priority,
        duration_minutes=minutes,
        resolved=due + datetime.timedelta(minutes=minutes) if done else None,
        closed=due + datetime.timedelta(hours=4) if done else None,
    )
    portfolio.activities[activity.id] = activity
    return activity


def seed_ledger(portfolio: Store, rng: random.Random) -> None:
    """Invoice every booked stay's months; post, export and pay the older invoices.

    A stay's first month is invoiced when it is booked (the service's rhythm is a guess:
    raising it then is what lets a new guest pay at once); each later month on its first
    night, once that night has come.
    """
    today = portfolio.today
    cutoff = datetime.datetime.combine(today, datetime.time(), datetime.timezone.utc)
    stays = sorted(portfolio.room_stays.values(), key=lambda stay: (stay.start, stay.id))
    for stay in stays:
        if stay.status not in HOLDING_STATUSES:
            continue
        booking = portfolio.bookings[stay.booking_id]
        on_account = portfolio.accounts[booking.billing_account_id or 0].company_id is not None
        start = stay.start
        while start < stay.end and (start == stay.start or start <= today):
            end = min(stay.end, next_month(start))
            items = portfolio.night_items(stay, start, end, booking.vat_profile_id)
            if start == stay.start:
                created = stay.created + datetime.timedelta(minutes=5)
            else:
                created = datetime.datetime.combine(start, datetime.time(6), datetime.timezone.utc)
            created = min(created, cutoff - datetime.timedelta(minutes=30))
            dated = created.date()
            due = dated + datetime.timedelta(days=30 if on_account else 7)
            invoice = portfolio.add_invoice(booking.id, items, dated, due, created=created)
            age = (today - dated).days
            if age > 3:
                portfolio.post_invoice(invoice, created + datetime.timedelta(days=1))
                invoice.date_sent = dated + datetime.timedelta(days=1)
            if age > 10:
                exported = created + datetime.timedelta(days=3)
                portfolio.mark_exported(invoice, f"XERO-{invoice.id}", exported)
                invoice.last_updated = exported
            if invoice.due_date < today and rng.random() < 0.85:
                _pay(portfolio, rng, invoice.booking_id, invoice.outstanding, invoice.due_date)
            start = end


def _pay(
    portfolio: Store, rng: random.Random, booking_id: int, amount: float, due: datetime.date
) -> None:
    booking = portfolio.bookings[booking_id]
    billing = portfolio.booking_types[booking.booking_type_id or 1].billing_type
    kind = "BANK_PAYMENT" if billing == "ON_ACCOUNT" else "CARD_PAYMENT"
    paid_on = due - datetime.timedelta(days=rng.randint(0, 6))
    card = rng.choice(("VISA_DEBIT", "MASTERCARD", "AMERICAN_EXPRESS"))
    portfolio.record_payment(
        booking_id,
        f"PAY-{booking.reference}-{len(portfolio.payments) + 1}",
        amount,
        kind,
        card_type=card if kind == "CARD_PAYMENT" else None,
        last_four=f"{rng.randint(0, 9999):04d}" if kind == "CARD_PAYMENT" else None,
        user="seed",
        received=datetime.datetime.combine(paid_on, datetime.time(9), datetime.timezone.utc),
    )
