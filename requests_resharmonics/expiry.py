"""Telling an expired-token 401 from every other 401, on answers we cannot trust."""

from __future__ import annotations

import json
import re

import requests

#: The API Gateway's body for an expired token, compared without case or trailing full stop.
EXPIRED_MESSAGE = "the incoming token has expired"

_INVALID_TOKEN = re.compile(r"""\berror\s*=\s*"?invalid_token\b""", re.IGNORECASE)
_MAX_BODY_BYTES = 64 * 1024


def is_expired_token_response(response: requests.Response) -> bool:
    """Return whether ``response`` rejects the bearer token as expired or invalid.

    True for a 401 whose JSON body is ``{"message": "The incoming token has expired"}``, or
    whose ``WWW-Authenticate`` header carries ``error="invalid_token"``. Any other 401
    (``{"message": "Unauthorized"}`` included), any 403, and anything unreadable is False.
    """
    if response.status_code != 401:
        return False
    try:
        challenge = response.headers.get("WWW-Authenticate") or ""
        if _INVALID_TOKEN.search(challenge):
            return True
        length = response.headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > _MAX_BODY_BYTES):
            return False
        body = response.content
    except (requests.RequestException, RuntimeError, ValueError, TypeError, OSError):
        return False
    return is_expired_message(body)


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
