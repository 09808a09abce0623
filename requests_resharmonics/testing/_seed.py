"""Fill a `Portfolio` with a year of an operator's business around its ``today``.

Four buildings let in four ways, as a mixed operator's are: serviced apartments (nights
and weeks, mostly through OTAs and the website), corporate lets (weeks and months, through
a relocation agent), co-living rooms and build-to-rent flats (tenancies of months, booked
on the website or directly). Each unit has a timeline of stays from about half a year
back to half a year ahead; most guests and tenants stay once, and a minority renew back
to back (the same contact, the same unit, from the day the last stay ends), so most stays
ending in any month are departures. What is booked ahead is what was booked by now: a
stay whose booking would be made after ``today`` is not there yet.

Every contact has a finance account of its own (its sales account); corporate lets are
booked on their company's account. Names and amounts are invented; the field names are
the API's (see the endpoint modules). The same seed and day give the same data.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ._records import Account, Building, Channel, Company, Organisation, RatePlan, Unit, UnitType
from ._seed_kinds import BUILDINGS, KINDS
from ._seed_ledger import seed_activities, seed_ledger, seed_reference
from ._seed_stays import seed_stays

if TYPE_CHECKING:
    from ._store import Store

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
#: The rate sold only on the operator's own website, per unit type of the buildings let by
#: the night: coded ``BUILDING-TYPE-WEB``, as public booking clients' web rate codes are
#: (``BRO-S-WEB``); that it is a nightly rate 5% under the flexible one is a guess.
_WEB_RATE = ("WEB", "DAILY", "Web rate", "Web", 0.05)
#: The channels, in the order of their ids; "Website" is the operator's booking engine.
_CHANNELS = ("Direct", "Booking.com", "Airbnb", "Expedia", "Corporate agent", "Website")
_COMPANIES = ("Northwind Relocation", "Contoso Travel", "Fabrikam Consulting")


def seed_portfolio(portfolio: Store, units: int = 40) -> None:
    """Fill an empty portfolio from its seed, around its ``today``."""
    rng = random.Random(portfolio.seed)
    _places(portfolio, rng, units)
    _trade(portfolio)
    # A second generator, so that the reference data and the ledger leave the stays as
    # they were before those existed.
    more = random.Random(portfolio.seed * 7919 + 1)
    seed_reference(portfolio, more)
    seed_stays(portfolio, rng)
    seed_activities(portfolio, more)
    seed_ledger(portfolio, more)


def _places(portfolio: Store, rng: random.Random, units: int) -> None:
    for number, (name, line1, city, postcode, _, _) in enumerate(BUILDINGS, 1):
        portfolio.buildings[number] = Building(number, name, line1, city, postcode)
    for building_id, (*_, short, kind) in enumerate(BUILDINGS, 1):
        for name, code, shape, occupancy, rate in rng.sample(_UNIT_TYPES, 3):
            type_id = 10 + len(portfolio.unit_types) + 1
            portfolio.unit_types[type_id] = UnitType(
                id=type_id,
                building_id=building_id,
                name=name,
                code=f"{code}-{building_id}",
                description=f"{name} in {portfolio.buildings[building_id].name}",
                kind=shape,
                min_stay=rng.choice(KINDS[kind].min_stays),
                max_stay=365,
                max_occupancy=occupancy,
                nightly_rate=round(rate * rng.uniform(0.9, 1.2), 2),
            )
            rates = [*_RATES, _WEB_RATE] if KINDS[kind].web_rate else list(_RATES)
            for rate_code, rate_type, rate_name, short_name, discount in rates:
                plan_id = 60000 + len(portfolio.rate_plans) + 1
                if rate_code == "WEB":
                    rate_code = f"{short}-{code}-WEB"
                portfolio.rate_plans[plan_id] = RatePlan(
                    plan_id, type_id, rate_code, rate_type, rate_name, short_name, occupancy,
                    discount,
                )  # fmt: skip
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


def _trade(portfolio: Store) -> None:
    """Add the organisation, its channels, and the companies that book on account."""
    portfolio.organisations[1] = Organisation(1, "Harmonic Living Ltd")
    for number, name in enumerate(_CHANNELS, 1):
        portfolio.channels[number] = Channel(number, name)
    for number, name in enumerate(_COMPANIES, 1):
        portfolio.companies[800 + number] = Company(800 + number, name)
        portfolio.accounts[700 + number] = Account(700 + number, 800 + number)
