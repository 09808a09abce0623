"""Telling an expired-token 401 from every other 401, on answers we cannot trust.

Library-neutral: a 401 is judged from its status, headers, method and a bounded body, never
from a requests or httpx response object, so that every front door judges alike.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import NamedTuple

from .._json import json_document

#: The API Gateway's body for an expired token, compared without case or trailing full stop.
EXPIRED_MESSAGE = "the incoming token has expired"
#: The most of a 401's body read to tell the expiry message from other 401s (it is 46 bytes).
MAX_401_BYTES = 64 * 1024
#: How long reading a 401's body may take, all reads together (read at call time).
MAX_401_SECONDS = 5.0

_INVALID_TOKEN = re.compile(r"""\berror\s*=\s*"?invalid_token\b""", re.IGNORECASE)

#: Looks a header up by name, without regard to case; ``None`` when it is absent.
HeaderLookup = Callable[[str], "str | None"]


class Verdict(enum.Enum):
    """What a 401 says about the bearer token it answered."""

    #: The token was rejected as expired or invalid: renewing it may help.
    EXPIRED = "expired"
    #: Anything else: another 401 (``Unauthorized``), a body cut by our bound, not a 401.
    OTHER = "other"
    #: The body could not be read here (the connection failed locally while reading it):
    #: nothing is known either way.
    UNREADABLE = "unreadable"


class Judgement(NamedTuple):
    """A `Verdict`, and for `Verdict.UNREADABLE` the error that lost the body."""

    verdict: Verdict
    error: BaseException | None = None


class Body(NamedTuple):
    """What a bounded reader read of a body, and how the reading ended."""

    data: bytes
    complete: bool  # the whole body, within the bound
    error: BaseException | None  # the local failure that ended the read, if one did


def judge_head(status: int, header: HeaderLookup, method: str) -> Judgement | None:
    """Judge a 401 by what comes before its body; ``None`` when only the body can tell.

    ``WWW-Authenticate: Bearer error="invalid_token"`` is a rejection of the token. A 401 to
    a HEAD request has no body, and the API Gateway sends no challenge: it is taken as
    expired, since the alternative is never renewing a revoked token for calls that check
    existence; a replacement rejected too pauses renewals, as for any 401. A body announced
    past the bound is not the 46-byte expiry message.
    """
    if status != 401:
        return Judgement(Verdict.OTHER)
    if _INVALID_TOKEN.search(header("WWW-Authenticate") or ""):
        return Judgement(Verdict.EXPIRED)
    if method.upper() == "HEAD":
        return Judgement(Verdict.EXPIRED)
    length = header("Content-Length")
    if length is not None and (not length.strip().isdigit() or int(length) > MAX_401_BYTES):
        return Judgement(Verdict.OTHER)
    return None


def judge_body(body: Body) -> Judgement:
    """Judge a 401 by its bounded body.

    A body lost to a local failure (a connection closed under the reader, a reset) is
    `Verdict.UNREADABLE`, not `Verdict.OTHER`: a local failure is no evidence that the
    answer was not the expiry message. What was read before the failure still counts: a
    whole expiry message followed by a failed read is expired.
    """
    if is_expired_message(body.data):
        return Judgement(Verdict.EXPIRED)
    if body.error is not None and len(body.data) <= MAX_401_BYTES:
        return Judgement(Verdict.UNREADABLE, body.error)
    return Judgement(Verdict.OTHER)


def is_expired_message(body: bytes | None) -> bool:
    """Return whether a response body is the API Gateway's expired-token message."""
    if not body or len(body) > MAX_401_BYTES:
        return False
    payload = json_document(body)
    if not isinstance(payload, dict):
        return False
    message = payload.get("message")
    if not isinstance(message, str):
        return False
    return message.strip().rstrip(".").lower() == EXPIRED_MESSAGE
