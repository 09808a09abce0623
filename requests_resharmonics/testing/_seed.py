"""Fill a `Portfolio` with a year of believable, reproducible business around its ``today``.

Four buildings, twelve unit types, forty units, sixty contacts, and about six hundred room
stays: every unit has a timeline of stays from half a year back to half a year ahead, with
gaps between them, so that any week has arrivals and departures. Past stays are checked
out or complete, current ones checked in, future ones in every other status. Names and
amounts are invented; their field names are the API's (see the endpoint modules).
"""

from __future__ import annotations

import datetime
import random
from typing import TYPE_CHECKING

from ._records import (
    Account,
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
from ._seed_ledger import seed_activities, seed_ledger, seed_reference

if TYPE_CHECKING:
    from ._portfolio import Portfolio

_FIRST = [
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Finn",
    "Grace",
    "Hugo",
    "Isla",
    "Jonas",
    "Keira",
    "Luca",
    "Maya",
    "Noah",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tom",
]
_LAST = [
    "Adeyemi",
    "Brennan",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Iqbal",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Murphy",
    "Nakamura",
    "O'Neill",
    "Patel",
]
_BUILDINGS = (
    ("Harbour House", "1 Quay Street", "Bristol", "BS1 4DJ"),
    ("The Foundry", "22 Forge Lane", "Manchester", "M4 6BF"),
    ("Canal Wharf", "5 Towpath Walk", "Leeds", "LS1 4BR"),
    ("Maple Court", "80 Maple Road", "London", "E8 3LH"),
)
# (name, code, kind, max occupancy, nightly rate)
_UNIT_TYPES = (
    ("Studio", "STU", "STUDIO", 2, 95.0),
    ("One Bedroom Apartment", "1BD", "ONE_BEDROOM", 2, 130.0),
    ("Two Bedroom Apartment", "2BD", "TWO_BEDROOM", 4, 185.0),
    ("Three Bedroom Apartment", "3BD", "THREE_BEDROOM", 6, 240.0),
    ("Twin Room", "TWN", "TWIN_ROOM", 2, 85.0),
)
# (code, type, name, short name, discount)
_RATES = (
    ("FLEX", "DAILY", "Flexible nightly", "Flex", 0.0),
    ("WEEK", "WEEKLY", "Weekly stay", "Week", 0.1),
    ("MONTH", "MONTHLY", "Monthly stay", "Month", 0.25),
)
_CHANNELS = ("Direct", "Booking.com", "Airbnb", "Expedia", "Corporate agent")
_COMPANIES = ("Northwind Relocation", "Contoso Travel", "Fabrikam Consulting")
_LENGTHS = (2, 3, 3, 4, 5, 7, 7, 10, 14, 14, 21, 28, 30, 45, 60, 91)
_GAPS = (0, 0, 1, 1, 2, 3, 5, 8, 13)
_FUTURE_STATUSES = (
    ("CONFIRMED", 52),
    ("PENDING", 10),
    ("MEDIATION_REQUIRED", 3),
    ("ENQUIRY", 12),
    ("QUOTED", 8),
    ("CANCELLED", 10),
    ("LOST", 5),
)
_PAST_STATUSES = (("CHECKED_OUT", 55), ("COMPLETE", 33), ("CANCELLED", 8), ("LOST", 4))
_HALF_YEAR = 182


def seed_portfolio(portfolio: Portfolio, units: int = 40, contacts: int = 60) -> None:
    """Fill an empty portfolio from its seed, around its ``today``."""
    rng = random.Random(portfolio.seed)
    _places(portfolio, rng, units)
    _people(portfolio, rng, contacts)
    # A second generator, so that the reference data and the ledger leave the stays as
    # they were before those existed.
    more = random.Random(portfolio.seed * 7919 + 1)
    seed_reference(portfolio, more)
    _stays(portfolio, rng)
    seed_activities(portfolio, more)
    seed_ledger(portfolio, more)


def _places(portfolio: Portfolio, rng: random.Random, units: int) -> None:
    for number, (name, line1, city, postcode) in enumerate(_BUILDINGS, 1):
        portfolio.buildings[number] = Building(number, name, line1, city, postcode)
    for building_id in portfolio.buildings:
        for name, code, kind, occupancy, rate in rng.sample(_UNIT_TYPES, 3):
            type_id = 10 + len(portfolio.unit_types) + 1
            portfolio.unit_types[type_id] = UnitType(
                id=type_id,
                building_id=building_id,
                name=name,
                code=f"{code}-{building_id}",
                description=f"{name} in {portfolio.buildings[building_id].name}",
                kind=kind,
                min_stay=rng.choice((1, 1, 2, 3, 7)),
                max_stay=365,
                max_occupancy=occupancy,
                nightly_rate=round(rate * rng.uniform(0.9, 1.2), 2),
            )
            for rate_code, rate_type, rate_name, short, discount in _RATES:
                plan_id = 60000 + len(portfolio.rate_plans) + 1
                portfolio.rate_plans[plan_id] = RatePlan(
                    plan_id, type_id, rate_code, rate_type, rate_name, short, occupancy, discount
                )
    type_ids = sorted(portfolio.unit_types)
    for number in range(1, units + 1):
        unit_type = portfolio.unit_types[type_ids[(number - 1) % len(type_ids)]]
        building = portfolio.buildings[unit_type.building_id]
        floor = rng.randint(0, 9)
        portfolio.units[1000 + number] = Unit(
            id=1000 + number,
            name=f"{building.name} {floor}{number:02d}",
            unit_type_id=unit_type.id,
            bookable=number % 17 != 0,  # a couple of units are off sale
            publish=number % 13 != 0,
        )


def _people(portfolio: Portfolio, rng: random.Random, contacts: int) -> None:
    for number, name in enumerate(_COMPANIES, 1):
        portfolio.companies[800 + number] = Company(800 + number, name)
        portfolio.accounts[700 + number] = Account(700 + number, 800 + number)
    for number, name in enumerate(_CHANNELS, 1):
        portfolio.channels[number] = Channel(number, name)
    portfolio.organisations[1] = Organisation(1, "Harmonic Living Ltd")
    for number in range(1, contacts + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        slug = f"{first}.{last}".lower().replace("'", "")
        portfolio.contacts[5000 + number] = Contact(
            id=5000 + number,
            first_name=first,
            last_name=last,
            email=f"{slug}{number}@example.com",
            middle_names=rng.choice((None, None, None, "Jo", "Lee")),
            status=rng.choice(("ACTIVE",) * 12 + ("INACTIVE", "VIP", "ARCHIVED")),
            marketing_opt_out=rng.random() < 0.3,
            telephone=f"+44 7700 9{rng.randint(0, 99999):05d}",
            account_id=rng.choice((None, None, None, *sorted(portfolio.accounts))),
        )


def _stays(portfolio: Portfolio, rng: random.Random) -> None:
    today = portfolio.today
    midnight = datetime.datetime.combine(today, datetime.time(), datetime.timezone.utc)
    contact_ids = sorted(portfolio.contacts)
    planned: list[tuple[datetime.datetime, int, datetime.date, datetime.date, str, int]] = []
    for unit_id in sorted(portfolio.units):
        day = today - datetime.timedelta(days=_HALF_YEAR + rng.randint(0, 60))
        while day < today + datetime.timedelta(days=_HALF_YEAR):
            start = day + datetime.timedelta(days=rng.choice(_GAPS))
            end = start + datetime.timedelta(days=rng.choice(_LENGTHS))
            lead = datetime.timedelta(days=rng.randint(1, 90), hours=rng.randint(8, 20))
            created = min(
                datetime.datetime.combine(start, datetime.time(), datetime.timezone.utc) - lead,
                midnight - datetime.timedelta(hours=1),
            )
            status = _status(rng, start, end, today)
            planned.append((created, unit_id, start, end, status, rng.choice(contact_ids)))
            day = end
    # Ids grow with creation time, as a database's do.
    for created, unit_id, start, end, status, contact_id in sorted(planned):
        contact = portfolio.contacts[contact_id]
        _add(portfolio, rng, unit_id, start, end, status, contact, created, midnight)


def _status(
    rng: random.Random, start: datetime.date, end: datetime.date, today: datetime.date
) -> str:
    if start <= today < end:
        return "CHECKED_IN"
    weighted = _PAST_STATUSES if end <= today else _FUTURE_STATUSES
    names = [name for name, _ in weighted]
    return rng.choices(names, weights=[weight for _, weight in weighted])[0]


def _add(
    portfolio: Portfolio,
    rng: random.Random,
    unit_id: int,
    start: datetime.date,
    end: datetime.date,
    status: str,
    contact: Contact,
    created: datetime.datetime,
    midnight: datetime.datetime,
) -> None:
    channel_id = rng.choice(sorted(portfolio.channels))
    booking = portfolio.add_booking(
        contact.id,
        channel_id=channel_id,
        booking_account_id=contact.account_id,
        billing_account_id=contact.account_id,
        created=created,
    )
    booking.customer_reference = f"PO-{rng.randint(1000, 9999)}" if contact.account_id else None
    if portfolio.channels[channel_id].name not in ("Direct", "Corporate agent"):
        booking.ota_reference = str(rng.randint(10**9, 10**10 - 1))
    plan = portfolio.rate_for(portfolio.units[unit_id].unit_type_id, (end - start).days)
    net, vat = portfolio.quote(plan, start, end)
    touched = created + datetime.timedelta(hours=rng.randint(0, 24 * 30))
    stay = RoomStay(
        id=30000 + len(portfolio.room_stays) + 1,
        booking_id=booking.id,
        unit_id=unit_id,
        rate_id=plan.id,
        start=start,
        end=end,
        status=status,
        net_amount=net,
        vat_amount=vat,
        created=created,
        last_updated=min(touched, midnight - datetime.timedelta(minutes=5)),
        arrival_time=datetime.time(rng.choice((12, 14, 15, 16, 18))),
        early_check_in=rng.random() < 0.1,
        late_check_out=rng.random() < 0.1,
    )
    booking.last_updated = stay.last_updated
    portfolio.room_stays[stay.id] = stay
    guests = [contact.id]
    if rng.random() < 0.25:
        guests.append(rng.choice(sorted(portfolio.contacts)))
    for guest in guests:
        kind = "BUSINESS" if contact.account_id else "OVERNIGHT"
        guest_stay = GuestStay(40000 + len(portfolio.guest_stays) + 1, stay.id, guest, kind)
        portfolio.guest_stays[guest_stay.id] = guest_stay
        stay.guests.append(guest_stay.id)
