"""Telling an expired-token 401 from every other 401, on answers we cannot trust."""

from __future__ import annotations

import enum
import json
import re
from typing import NamedTuple

import requests

from . import body_requests

#: The API Gateway's body for an expired token, compared without case or trailing full stop.
EXPIRED_MESSAGE = "the incoming token has expired"

_INVALID_TOKEN = re.compile(r"""\berror\s*=\s*"?invalid_token\b""", re.IGNORECASE)
_MAX_BODY_BYTES = body_requests.MAX_BYTES


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


def is_expired_token_response(response: requests.Response) -> bool:
    """Return whether ``response`` rejects the bearer token as expired or invalid.

    True for a 401 whose JSON body is ``{"message": "The incoming token has expired"}``, or
    whose ``WWW-Authenticate`` header carries ``error="invalid_token"``, and for a 401 to a
    HEAD request (which has no body to say why). Any other 401 (``{"message":
    "Unauthorized"}`` included), any 403, and anything unreadable is False.
    """
    return judge(response).verdict is Verdict.EXPIRED


def expiry_verdict(response: requests.Response) -> Verdict:
    """Return what ``response`` says of its bearer token: expired, something else, unknown."""
    return judge(response).verdict


def judge(response: requests.Response) -> Judgement:
    """Judge ``response``: expired, something else, or unknown (with the error that lost it).

    A 401 whose body could not be read because the read failed here (a connection closed
    under the reader, a reset) is `Verdict.UNREADABLE`, not `Verdict.OTHER`: a local failure
    is no evidence that the answer was not the expiry message. What was read before the
    failure still counts: a whole expiry message followed by a failed read is expired.

    A 401 to a HEAD request has no body, and the API Gateway sends no challenge: it is
    taken as expired, since the alternative is never renewing a revoked token for calls
    that check existence; a replacement rejected too pauses renewals, as for any 401.
    """
    if response.status_code != 401:
        return Judgement(Verdict.OTHER)
    try:
        challenge = response.headers.get("WWW-Authenticate") or ""
        if _INVALID_TOKEN.search(challenge):
            return Judgement(Verdict.EXPIRED)
        request = response.request
        if request is not None and (request.method or "").upper() == "HEAD":
            return Judgement(Verdict.EXPIRED)
        length = response.headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > _MAX_BODY_BYTES):
            return Judgement(Verdict.OTHER)
        body = body_requests.read(response)
    except (*body_requests.READ_ERRORS, RuntimeError, TypeError) as error:
        return Judgement(Verdict.UNREADABLE, error)
    if is_expired_message(body.data):
        return Judgement(Verdict.EXPIRED)
    if body.error is not None and len(body.data) <= _MAX_BODY_BYTES:
        return Judgement(Verdict.UNREADABLE, body.error)
    return Judgement(Verdict.OTHER)


def json_document(body: bytes) -> object:
    """Parse a JSON body from the network; ``None`` if it is not JSON.

    UTF-8, -16 and -32 are recognised as JSON prescribes; a body in another single-byte
    encoding (a gateway that says ``charset=iso-8859-1``) is read as Latin-1, which cannot
    fail and keeps the ASCII keys and messages we look for intact.
    """
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        pass
    except (ValueError, RecursionError):
        return None
    try:
        return json.loads(body.decode("latin-1"))
    except (ValueError, RecursionError):
        return None


def is_expired_message(body: bytes | None) -> bool:
    """Return whether a response body is the API Gateway's expired-token message."""
    if not body or len(body) > _MAX_BODY_BYTES:
        return False
    payload = json_document(body)
    if not isinstance(payload, dict):
        return False
    message = payload.get("message")
    if not isinstance(message, str):
        return False
    return message.strip().rstrip(".").lower() == EXPIRED_MESSAGE
