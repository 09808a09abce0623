"""How each kind of building is let: stay lengths, gaps, channels, renewals; and people's names.

The figures are guesses at a mixed operator's year, chosen so that the portfolio reads
like the one a public departures report ran against live: in any 30 days, about a
quarter of the stays that end are renewed back to back and the rest are departures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._store import Store


@dataclass(frozen=True)
class Kind:
    """How a building's units are let.

    ``lengths`` are nights, or calendar months when ``monthly``; ``gaps`` the nights a
    unit stands empty between tenants; ``channels`` the channels bookings come through,
    with weights; ``renewal`` the chance that a stay is followed, back to back, by the same
    guest's next one, agreed ``notice`` days (a range) before it ends; ``lead`` how many
    days ahead a first stay is booked; ``returning`` the chance a new stay is a former
    guest's; ``companion`` the chance a second guest shares it; ``leads`` how many
    enquiries, quotes and cancellations that never became stays a unit sees a year.
    """

    lengths: tuple[int, ...]
    monthly: bool
    gaps: tuple[int, ...]
    channels: tuple[tuple[str, int], ...]
    renewal: float
    notice: tuple[int, int]
    lead: tuple[int, int]
    returning: float
    companion: float
    leads: int
    min_stays: tuple[int, ...]
    web_rate: bool


KINDS = {
    "serviced": Kind(
        lengths=(1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 7, 10, 14),
        monthly=False,
        gaps=(0, 0, 1, 1, 2, 2, 3, 5, 8),
        channels=(
            ("Booking.com", 35),
            ("Airbnb", 25),
            ("Expedia", 10),
            ("Website", 20),
            ("Direct", 10),
        ),
        renewal=0.2,
        notice=(7, 21),
        lead=(1, 60),
        returning=0.1,
        companion=0.3,
        leads=6,
        min_stays=(1, 1, 2),
        web_rate=True,
    ),
    "corporate": Kind(
        lengths=(7, 14, 14, 21, 28, 30, 45, 60, 90),
        monthly=False,
        gaps=(0, 1, 2, 3, 5, 7, 14),
        channels=(("Corporate agent", 45), ("Direct", 20), ("Website", 20), ("Booking.com", 15)),
        renewal=0.35,
        notice=(21, 45),
        lead=(7, 45),
        returning=0.1,
        companion=0.1,
        leads=4,
        min_stays=(3, 7),
        web_rate=True,
    ),
    "coliving": Kind(
        lengths=(1, 2, 3, 3, 4, 6, 6, 6, 12),
        monthly=True,
        gaps=(0, 1, 3, 7, 14, 21),
        channels=(("Website", 60), ("Direct", 40)),
        renewal=0.45,
        notice=(45, 75),
        lead=(14, 60),
        returning=0.03,
        companion=0.0,
        leads=3,
        min_stays=(28,),
        web_rate=False,
    ),
    "rental": Kind(
        lengths=(6, 6, 9, 12, 12, 12),
        monthly=True,
        gaps=(0, 3, 7, 14, 30),
        channels=(("Website", 50), ("Direct", 50)),
        renewal=0.5,
        notice=(60, 120),
        lead=(30, 90),
        returning=0.02,
        companion=0.15,
        leads=2,
        min_stays=(90,),
        web_rate=False,
    ),
}

# (name, address, city, postcode, short code, how it is let)
BUILDINGS = (
    ("Harbour House", "1 Quay Street", "Bristol", "BS1 4DJ", "HH", "serviced"),
    ("The Foundry", "22 Forge Lane", "Manchester", "M4 6BF", "FDY", "corporate"),
    ("Canal Wharf", "5 Towpath Walk", "Leeds", "LS1 4BR", "CW", "coliving"),
    ("Maple Court", "80 Maple Road", "London", "E8 3LH", "MC", "rental"),
)


def building_kind(portfolio: Store, unit_id: int) -> str:
    """Return how a seeded unit's building is let (``serviced``, ``corporate``...)."""
    building_id = portfolio.unit_types[portfolio.units[unit_id].unit_type_id].building_id
    return BUILDINGS[(building_id - 1) % len(BUILDINGS)][5]


FIRST_NAMES = (
    "Amara", "Ben", "Chloe", "Dev", "Elif", "Finn", "Grace", "Hugo", "Isla", "Jonas", "Keira",
    "Luca", "Maya", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tom", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zara", "Aoife", "Bilal", "Carmen", "Dmitri",
)  # fmt: skip
LAST_NAMES = (
    "Adeyemi", "Brennan", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iqbal",
    "Jensen", "Kowalski", "Lindqvist", "Murphy", "Nakamura", "O'Neill", "Patel", "Quinlan",
    "Rossi", "Singh", "Takahashi", "Usman", "Varga", "Walsh", "Yilmaz", "Zhou",
)  # fmt: skip
