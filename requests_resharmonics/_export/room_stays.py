"""The room-stay statuses the API documents, in its order: the one definition the package uses."""

from __future__ import annotations

__all__ = ["ROOM_STAY_STATUSES"]

#: Every room-stay status the API documents. Lists leave some out unless asked for them (the
#: bookings list drops PENDING, the guest-stays list keeps CONFIRMED, CHECKED_IN and
#: CHECKED_OUT): pass ``{"statuses": ROOM_STAY_STATUSES}`` to read every row.
ROOM_STAY_STATUSES: tuple[str, ...] = (
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
