"""The records behind the fake API, stored once and rendered by each endpoint in its own shape.

Field names here are Python's; the API's names (``unitName`` on the unit list, ``name`` on
the unit detail, ``roomStayStatus``...) belong to the endpoint modules that render them.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

#: Room-stay statuses, as the API description lists them.
ROOM_STAY_STATUSES = (
    "ENQUIRY",
    "QUOTED",
    "PENDING",
    "MEDIATION_REQUIRED",
    "CONFIRMED",
    "CHECKED_IN",
    "CHECKED_OUT",
    "COMPLETE",
    "CANCELLED",
    "LOST",
)

#: Statuses whose stay holds its unit: those dates are not available to anyone else.
#: A guess: the description says nothing of which statuses block availability; enquiries,
#: quotes, cancellations and lost bookings are taken not to hold a unit.
HOLDING_STATUSES = frozenset(
    {"PENDING", "MEDIATION_REQUIRED", "CONFIRMED", "CHECKED_IN", "CHECKED_OUT", "COMPLETE"}
)

#: Unit-type kinds from the API description (a selection of its enum).
UNIT_TYPE_KINDS = ("STUDIO", "ONE_BEDROOM", "TWO_BEDROOM", "THREE_BEDROOM", "TWIN_ROOM")

#: Contact statuses from the API description.
CONTACT_STATUSES = ("ACTIVE", "INACTIVE", "BANNED", "ARCHIVED", "VIP", "WAITLIST", "REMOVED")

#: Rate types from the API description.
RATE_TYPES = ("DAILY", "WEEKLY", "MONTHLY")

#: Guest-stay types from the API description.
GUEST_STAY_TYPES = ("BUSINESS", "DIRECT", "DAYTIME", "OVERNIGHT")


@dataclass
class Building:
    """A building of the portfolio."""

    id: int
    name: str
    address_line1: str
    city: str
    postcode: str
    management_type: str = "MANAGED"
    area_id: int | None = None


@dataclass
class UnitType:
    """A kind of unit in one building; rates are set per unit type."""

    id: int
    building_id: int
    name: str
    code: str
    description: str
    kind: str
    min_stay: int
    max_stay: int
    max_occupancy: int
    nightly_rate: float


@dataclass
class Unit:
    """One lettable unit (an apartment or a room)."""

    id: int
    name: str
    unit_type_id: int
    bookable: bool = True
    publish: bool = True


@dataclass
class Company:
    """A company that books or pays (a corporate client or an agent)."""

    id: int
    name: str


@dataclass
class Account:
    """A finance account: who a booking is for (booking account) or who pays (billing).

    A company's (``company_id``) or a person's (``contact_id``, the contact's sales account).
    """

    id: int
    company_id: int | None
    code: str = ""
    contact_id: int | None = None
    external_id: str | None = None
    export_status: str | None = None
    exported_date: datetime.datetime | None = None


@dataclass
class Contact:
    """A person: a guest, a booker or a tenant."""

    id: int
    first_name: str
    last_name: str
    email: str
    middle_names: str | None = None
    status: str = "ACTIVE"
    marketing_opt_out: bool = False
    telephone: str | None = None
    account_id: int | None = None
    job_title: str | None = None
    department: str | None = None
    preferences: str | None = None


@dataclass
class Channel:
    """Where bookings come from (direct, an OTA, an agent), and the booking type they make."""

    id: int
    name: str
    booking_type_id: int = 1
    operator_company_id: int | None = None
    commission_basis: str = "NET"
    commission_rate: float = 0.0


@dataclass
class Organisation:
    """The operator's organisation settings that bookings belong to."""

    id: int
    name: str


@dataclass
class RatePlan:
    """A rate of one unit type (daily, weekly or monthly) with a price for every date."""

    id: int
    unit_type_id: int
    code: str
    rate_type: str
    name: str
    short_name: str
    occupancy: int
    discount: float


@dataclass
class Booking:
    """A booking: who, through which channel, billed to whom; its stays are room stays."""

    id: int
    reference: str
    contact_id: int
    channel_id: int
    booking_account_id: int | None
    billing_account_id: int | None
    organisation_id: int
    created: datetime.datetime
    last_updated: datetime.datetime
    customer_reference: str | None = None
    ota_reference: str | None = None
    billing_frequency_id: int | None = None
    booking_type_id: int | None = None
    vat_profile_id: int = 1


@dataclass
class RoomStay:
    """One unit for one date range within a booking: the API's row of most lists."""

    id: int
    booking_id: int
    unit_id: int
    rate_id: int
    start: datetime.date
    end: datetime.date  # the departure day: the last night is the one before it
    status: str
    net_amount: float
    vat_amount: float
    created: datetime.datetime
    last_updated: datetime.datetime
    arrival_time: datetime.time = datetime.time(15)
    departure_time: datetime.time = datetime.time(11)
    early_check_in: bool = False
    late_check_out: bool = False
    external_notes: str | None = None
    ops_information: str | None = None
    guests: list[int] = field(default_factory=list)  # guest-stay ids
    locked: bool = False
    #: Until when an ENQUIRY created with ``reserveForMinutes`` holds its unit.
    reserved_until: datetime.datetime | None = None

    @property
    def holds_unit(self) -> bool:
        """Whether this stay makes its unit unavailable on its nights."""
        if self.status in HOLDING_STATUSES:
            return True
        reserved = self.reserved_until
        return (
            self.status == "ENQUIRY"
            and reserved is not None
            and datetime.datetime.now(datetime.timezone.utc) < reserved
        )

    def overlaps(self, start: datetime.date, end: datetime.date) -> bool:
        """Whether any night of this stay falls in ``[start, end)``."""
        return self.start < end and start < self.end


@dataclass
class GuestStay:
    """One person staying in a room stay; dates and status are the room stay's."""

    id: int
    room_stay_id: int
    contact_id: int
    kind: str = "OVERNIGHT"
