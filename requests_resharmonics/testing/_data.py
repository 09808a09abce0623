"""Realistic, reproducible records for the fake API: units, contacts and bookings."""

from __future__ import annotations

import datetime
import random
from typing import Any

Record = dict[str, Any]

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
_BUILDINGS = ["Harbour House", "The Foundry", "Canal Wharf", "Maple Court"]
_UNIT_TYPES = [("Studio", 0), ("One Bed", 1), ("Two Bed", 2), ("Three Bed", 3)]
_STATUSES = ["ENQUIRY", "PROVISIONAL", "CONFIRMED", "CHECKED_IN", "CHECKED_OUT", "CANCELLED"]


def generate(
    seed: int, units: int = 24, contacts: int = 60, bookings: int = 95
) -> dict[str, list[Record]]:
    """Return ``{"units": [...], "contacts": [...], "bookings": [...]}`` for one seed."""
    rng = random.Random(seed)
    unit_records = [_unit(rng, number) for number in range(1, units + 1)]
    contact_records = [_contact(rng, number) for number in range(1, contacts + 1)]
    start = datetime.date(2026, 1, 5)
    booking_records = [
        _booking(rng, number, start, unit_records, contact_records)
        for number in range(1, bookings + 1)
    ]
    return {"units": unit_records, "contacts": contact_records, "bookings": booking_records}


def _unit(rng: random.Random, number: int) -> Record:
    building = _BUILDINGS[(number - 1) % len(_BUILDINGS)]
    kind, bedrooms = rng.choice(_UNIT_TYPES)
    floor = rng.randint(0, 9)
    return {
        "id": 1000 + number,
        "name": f"{building} {floor}{number:02d}",
        "building": building,
        "unitType": kind,
        "bedrooms": bedrooms,
        "floor": floor,
        "nightlyRate": round(rng.uniform(85, 260), 2),
        "status": rng.choice(["AVAILABLE", "AVAILABLE", "AVAILABLE", "MAINTENANCE"]),
    }


def _contact(rng: random.Random, number: int) -> Record:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    slug = f"{first}.{last}".lower().replace("'", "")
    return {
        "id": 5000 + number,
        "firstName": first,
        "lastName": last,
        "email": f"{slug}{number}@example.com",
        "phone": f"+44 7700 9{rng.randint(0, 99999):05d}",
        "companyName": rng.choice([None, None, "Northwind Relocation", "Contoso Travel"]),
    }


def _booking(
    rng: random.Random,
    number: int,
    start: datetime.date,
    units: list[Record],
    contacts: list[Record],
) -> Record:
    unit = rng.choice(units)
    contact = rng.choice(contacts)
    arrival = start + datetime.timedelta(days=rng.randint(0, 300))
    nights = rng.choice([2, 3, 5, 7, 14, 28, 30, 60, 90])
    updated = datetime.datetime.combine(
        arrival - datetime.timedelta(days=rng.randint(1, 60)), datetime.time(rng.randint(0, 23))
    )
    return {
        "id": 20000 + number,
        "bookingReference": f"RH-{2026}-{number:05d}",
        "status": rng.choice(_STATUSES),
        "arrivalDate": arrival.isoformat(),
        "departureDate": (arrival + datetime.timedelta(days=nights)).isoformat(),
        "nights": nights,
        "unitId": unit["id"],
        "bookingContactId": contact["id"],
        "guests": rng.randint(1, max(1, unit["bedrooms"] * 2)),
        "totalPrice": round(unit["nightlyRate"] * nights, 2),
        "currency": "GBP",
        "lastUpdated": updated.isoformat() + "Z",
    }
