"""A change feed's mark: the server's own clock, less an overlap, written one way everywhere.

The mark of a pass is read from the ``Date`` header of an answer the server gave before the
pass read any row, so that a client whose clock is off (by seconds or by hours) neither skips
rows nor reads the same ones for ever. The overlap covers what the server's clock cannot:
writes committed after the moment they are stamped with, clocks of the service's own
machines that disagree, and the header's whole seconds.

How the API reads ``lastUpdatedFrom`` is not documented (a guess): the mark is sent as an
ISO 8601 date-time in UTC with milliseconds and ``Z`` (``2026-11-28T10:15:00.000Z``), which
Spring's ISO date-time parsing reads as an instant, or as the same wall-clock time when the
parameter is a local date-time. A service that keeps UK local time then reads a window that
starts up to an hour earlier: rows read twice, which the feed does not deliver twice.
"""

from __future__ import annotations

import datetime
import email.utils
from collections.abc import Mapping

from ..errors import ConfigurationError

#: How far before the server's clock a pass's mark is taken, by default: five minutes.
DEFAULT_OVERLAP = 300.0


def format_mark(moment: datetime.datetime) -> str:
    """Write a mark as ``lastUpdatedFrom`` takes it: ``2026-11-28T10:15:00.000Z``."""
    utc = moment.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_mark(text: str) -> datetime.datetime:
    """Read a mark written by `format_mark` (or any ISO date-time; UTC if it names no zone)."""
    moment = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def server_time(headers: Mapping[str, str]) -> datetime.datetime | None:
    """Return the time an answer's ``Date`` header says, or None when it has none we can read."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def check_overlap(overlap: float) -> float:
    """Return ``overlap`` as seconds, or refuse what is not a number of seconds >= 0."""
    if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not overlap >= 0:
        raise ConfigurationError(f"overlap must be a number of seconds >= 0, not {overlap!r}")
    return float(overlap)
