"""The seeded stays: a timeline per unit, tenants who mostly stay once, a few renewals, leads.

Each unit's timeline is planned first (who stays when, through which channel, and when it
was booked); only what was booked by ``today`` is then written, in booking order, so ids
grow with creation time as a database's do. A renewal is a new booking by the same
contact for the same unit, from the day the last stay ends, agreed a little before it
ends. Enquiries, quotes, cancellations and lost bookings are leads of their own, on dates
other stays may hold (they hold nothing).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._records import (
    HOLDING_STATUSES,
    Account,
    Booking,
    Contact,
    GuestStay,
    RatePlan,
    RoomStay,
)
from ._seed_kinds import FIRST_NAMES, KINDS, LAST_NAMES, Kind, building_kind

if TYPE_CHECKING:
    from ._store import Store

_HALF_YEAR = 182
_UTC = datetime.timezone.utc
_OTAS = frozenset({"Booking.com", "Airbnb", "Expedia"})
_PAST_LEADS = (("CANCELLED", 55), ("LOST", 45))
#: What leads still to come are, in turn: mostly enquiries and quotes.
_FUTURE_LEADS = ("ENQUIRY", "QUOTED", "ENQUIRY", "CANCELLED", "QUOTED", "LOST", "ENQUIRY")
_LEAD_STATUSES = frozenset(_FUTURE_LEADS)


@dataclass
class _Plan:
    """One stay as planned: the unit and dates, who (a person's number), how and when booked."""

    unit_id: int
    start: datetime.date
    end: datetime.date
    person: int
    channel: str
    created: datetime.datetime
    status: str = ""
    companion: int | None = None
    company_account: int | None = None


class _People:
    """Numbers people as plans need them; makes each a contact, with its account, when booked."""

    def __init__(self, portfolio: Store, rng: random.Random) -> None:
        self.portfolio, self.rng = portfolio, rng
        self.count = 0
        self.contacts: dict[int, Contact] = {}
        #: Per kind of building, each former guest and when they may come back.
        self.former: dict[Kind, dict[int, datetime.date]] = {}

    def new(self) -> int:
        """Return the number of a new person."""
        self.count += 1
        return self.count

    def returning(self, kind: Kind, start: datetime.date) -> int | None:
        """Return a former guest of this kind of building gone a month by ``start``, or None."""
        pool = [person for person, back in self.former.get(kind, {}).items() if back <= start]
        return self.rng.choice(pool) if pool else None

    def leaves(self, kind: Kind, person: int, end: datetime.date) -> None:
        """Note that a person leaves on ``end``: they may come back a month later."""
        self.former.setdefault(kind, {})[person] = end + datetime.timedelta(days=30)

    def contact(self, person: int) -> Contact:
        """Return the person's contact, made (with a sales account) on first booking."""
        found = self.contacts.get(person)
        if found is None:
            found = self.contacts[person] = self._make()
        return found

    def _make(self) -> Contact:
        portfolio, rng = self.portfolio, self.rng
        number = len(portfolio.contacts) + 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        slug = f"{first}.{last}".lower().replace("'", "")
        contact = Contact(
            id=5000 + number,
            first_name=first,
            last_name=last,
            email=f"{slug}{number}@example.com",
            middle_names=rng.choice((None, None, None, None, "Jo", "Lee", "Ann")),
            status=rng.choices(("ACTIVE", "INACTIVE", "VIP", "ARCHIVED"), (90, 5, 3, 2))[0],
            marketing_opt_out=rng.random() < 0.3,
            telephone=f"+44 7700 9{rng.randint(0, 99999):05d}",
        )
        portfolio.contacts[contact.id] = contact
        account_id = 700 + len(portfolio.accounts) + 1
        portfolio.accounts[account_id] = Account(account_id, None, f"SL{account_id}", contact.id)
        contact.account_id = account_id
        return contact


def seed_stays(portfolio: Store, rng: random.Random) -> None:
    """Plan every unit's year, then book what was booked by ``today``, oldest booking first."""
    today = portfolio.today
    latest = datetime.datetime.combine(today, datetime.time(), _UTC) - datetime.timedelta(hours=1)
    people = _People(portfolio, rng)
    planned: list[_Plan] = []
    for unit_id in sorted(portfolio.units):
        kind = KINDS[building_kind(portfolio, unit_id)]
        planned += _timeline(rng, unit_id, kind, today, people)
        planned += _leads(rng, unit_id, kind, today, people)
    booked = sorted(
        (plan for plan in planned if plan.created <= latest),
        key=lambda plan: (plan.created, plan.unit_id, plan.start),
    )
    _settle_future(booked, today, latest)
    _place_leads(portfolio, booked, today)
    for plan in booked:
        _book(portfolio, rng, plan, people, latest)


def _timeline(
    rng: random.Random, unit_id: int, kind: Kind, today: datetime.date, people: _People
) -> list[_Plan]:
    plans: list[_Plan] = []
    day = today - datetime.timedelta(days=_HALF_YEAR + rng.randint(0, 60))
    horizon = today + datetime.timedelta(days=_HALF_YEAR)
    renewing: _Plan | None = None
    while day < horizon:
        if renewing is not None:
            start, person, channel = day, renewing.person, _renewal_channel(renewing.channel)
            agreed = _midnight(day) - datetime.timedelta(days=rng.randint(*kind.notice), hours=-10)
            created = max(agreed, renewing.created + datetime.timedelta(hours=1))
        else:
            start = day + datetime.timedelta(days=rng.choice(kind.gaps))
            back = people.returning(kind, start) if rng.random() < kind.returning else None
            person = back if back is not None else people.new()
            channel = _weighted(rng, kind.channels)
            lead = datetime.timedelta(days=rng.randint(*kind.lead), hours=-rng.randint(8, 20))
            created = _midnight(start) - lead
        end = _end(start, rng.choice(kind.lengths), kind.monthly)
        plan = _Plan(unit_id, start, end, person, channel, created)
        plan.status = _status(rng, start, end, today)
        if renewing is not None:
            plan.companion, plan.company_account = renewing.companion, renewing.company_account
        elif rng.random() < kind.companion:
            plan.companion = people.new()
        if channel == "Corporate agent" and plan.company_account is None:
            plan.company_account = 701 + rng.randrange(3)
        plans.append(plan)
        people.leaves(kind, person, end)
        renewing = plan if rng.random() < kind.renewal else None
        day = end
    return plans


def _leads(
    rng: random.Random, unit_id: int, kind: Kind, today: datetime.date, people: _People
) -> list[_Plan]:
    """Enquiries, quotes and bookings that fell through: one contact each, holding nothing."""
    plans = []
    first = today - datetime.timedelta(days=_HALF_YEAR + 60)
    for _ in range(rng.randint(kind.leads, kind.leads * 2)):
        start = first + datetime.timedelta(days=rng.randint(0, 2 * _HALF_YEAR + 60))
        end = _end(start, rng.choice(kind.lengths), kind.monthly)
        lead = datetime.timedelta(days=rng.randint(*kind.lead), hours=-rng.randint(8, 20))
        plan = _Plan(unit_id, start, end, people.new(), _weighted(rng, kind.channels),
                     _midnight(start) - lead)  # fmt: skip
        plan.status = _weighted(rng, _PAST_LEADS) if start <= today else "ENQUIRY"
        plans.append(plan)
    # And an enquiry of the last fortnight for the weeks ahead: every unit has its askers.
    start = today + datetime.timedelta(days=rng.randint(3, 45))
    asked = _midnight(today) - datetime.timedelta(days=rng.randint(1, 14), hours=rng.randint(2, 9))
    end = _end(start, rng.choice(kind.lengths), kind.monthly)
    plans.append(_Plan(unit_id, start, end, people.new(), _weighted(rng, kind.channels), asked,
                       "ENQUIRY"))  # fmt: skip
    return plans


def _place_leads(portfolio: Store, booked: list[_Plan], today: datetime.date) -> None:
    """Put each lead still to come on a unit of its type free on its dates, else LOST.

    An enquiry is made for dates the search showed free, so it can still be confirmed;
    one that no unit of its type could take has been lost. Those placed are, in booking
    order, enquiries, quotes, some cancelled and some lost, so every day has each.
    """
    held: dict[int, list[tuple[datetime.date, datetime.date]]] = {}
    for plan in booked:
        if plan.status in HOLDING_STATUSES:
            held.setdefault(plan.unit_id, []).append((plan.start, plan.end))
    units = portfolio.units
    placed = 0
    for plan in booked:
        if plan.start <= today or plan.status not in _LEAD_STATUSES:
            continue
        type_id = units[plan.unit_id].unit_type_id
        siblings = sorted(key for key, unit in units.items() if unit.unit_type_id == type_id)
        for unit_id in sorted(siblings, key=lambda key: key != plan.unit_id):
            nights = held.get(unit_id, [])
            if units[unit_id].bookable and not any(
                start < plan.end and plan.start < end for start, end in nights
            ):
                plan.unit_id = unit_id
                plan.status = _FUTURE_LEADS[placed % len(_FUTURE_LEADS)]
                placed += 1
                break
        else:
            plan.status = "LOST"


def _book(
    portfolio: Store,
    rng: random.Random,
    plan: _Plan,
    people: _People,
    latest: datetime.datetime,
) -> None:
    contact = people.contact(plan.person)
    booking_id = 20000 + len(portfolio.bookings) + 1
    channel_id = next(c.id for c in portfolio.channels.values() if c.name == plan.channel)
    account = plan.company_account or contact.account_id
    booking = Booking(
        id=booking_id,
        reference=f"{plan.created:%Y%m%d}-{booking_id % 100000:05d}",
        contact_id=contact.id,
        channel_id=channel_id,
        booking_account_id=account,
        billing_account_id=account,
        organisation_id=1,
        created=plan.created,
        last_updated=plan.created,
        customer_reference=f"PO-{rng.randint(1000, 9999)}" if plan.company_account else None,
        ota_reference=str(rng.randint(10**9, 10**10 - 1)) if plan.channel in _OTAS else None,
        billing_frequency_id=1,
        booking_type_id=portfolio.channels[channel_id].booking_type_id,
    )
    portfolio.bookings[booking.id] = booking
    rate = _rate(portfolio, plan)
    net, vat = portfolio.quote(rate, plan.start, plan.end)
    touched = plan.created + datetime.timedelta(hours=rng.randint(0, 24 * 30))
    stay = RoomStay(
        id=30000 + len(portfolio.room_stays) + 1,
        booking_id=booking.id,
        unit_id=plan.unit_id,
        rate_id=rate.id,
        start=plan.start,
        end=plan.end,
        status=plan.status,
        net_amount=net,
        vat_amount=vat,
        created=plan.created,
        last_updated=min(touched, latest + datetime.timedelta(minutes=55)),
        arrival_time=datetime.time(rng.choice((12, 14, 15, 16, 18))),
        early_check_in=rng.random() < 0.1,
        late_check_out=rng.random() < 0.1,
    )
    booking.last_updated = stay.last_updated
    portfolio.room_stays[stay.id] = stay
    guests = [contact] if plan.companion is None else [contact, people.contact(plan.companion)]
    for guest in guests:
        kind = "BUSINESS" if plan.company_account else "OVERNIGHT"
        guest_stay = GuestStay(40000 + len(portfolio.guest_stays) + 1, stay.id, guest.id, kind)
        portfolio.guest_stays[guest_stay.id] = guest_stay
        stay.guests.append(guest_stay.id)


def _rate(portfolio: Store, plan: _Plan) -> RatePlan:
    """Return the rate a stay sells at: the web rate on the website, else by its length."""
    unit_type_id = portfolio.units[plan.unit_id].unit_type_id
    nights = (plan.end - plan.start).days
    if plan.channel == "Website" and nights < 28:
        web = [p for p in portfolio.rate_plans.values()
               if p.unit_type_id == unit_type_id and p.code.endswith("-WEB")]  # fmt: skip
        if web:
            return web[0]
    return portfolio.rate_for(unit_type_id, nights)


def _status(
    rng: random.Random, start: datetime.date, end: datetime.date, today: datetime.date
) -> str:
    if start <= today < end:
        return "CHECKED_IN"
    if end <= today:
        settled = (today - end).days > 21 and rng.random() < 0.9
        return "COMPLETE" if settled else "CHECKED_OUT"
    return "CONFIRMED"


def _settle_future(booked: list[_Plan], today: datetime.date, latest: datetime.datetime) -> None:
    """Give stays still to come the statuses of a booking's life, each at least once.

    A stay booked in the last three days awaits confirmation (PENDING; the latest booked
    at least), about one in fifteen of the rest needs mediation. Taken in booking order,
    so every day's data has each status.
    """
    recent = latest - datetime.timedelta(days=3)
    stays = [plan for plan in booked if plan.start > today and plan.status == "CONFIRMED"]
    for number, plan in enumerate(stays):
        if plan.created > recent or plan is stays[-1]:
            plan.status = "PENDING"
        elif number % 15 == 7:
            plan.status = "MEDIATION_REQUIRED"


def _renewal_channel(channel: str) -> str:
    # An extension is agreed with the operator, not through an OTA; an agent renews its own.
    return channel if channel in ("Corporate agent", "Website") else "Direct"


def _end(start: datetime.date, length: int, monthly: bool) -> datetime.date:
    if not monthly:
        return start + datetime.timedelta(days=length)
    month = start.month - 1 + length
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, 28)
    return datetime.date(year, month, day)


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), _UTC)


def _weighted(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in weighted], [weight for _, weight in weighted])[0]
