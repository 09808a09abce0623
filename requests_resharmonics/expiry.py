"""Telling an expired-token 401 from every other 401, on answers we cannot trust."""

from __future__ import annotations

import json
import re
import time
import zlib

import requests
from urllib3.exceptions import HTTPError as Urllib3HTTPError

#: The API Gateway's body for an expired token, compared without case or trailing full stop.
EXPIRED_MESSAGE = "the incoming token has expired"

_INVALID_TOKEN = re.compile(r"""\berror\s*=\s*"?invalid_token\b""", re.IGNORECASE)
_MAX_BODY_BYTES = 64 * 1024
#: How long reading a 401's body may take: the expiry message is 46 bytes.
_MAX_BODY_SECONDS = 5.0


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
        body = _bounded_body(response)
    except (requests.RequestException, Urllib3HTTPError, RuntimeError, ValueError, TypeError,
            OSError):  # fmt: skip
        return False
    return is_expired_message(body)


def _bounded_body(response: requests.Response) -> bytes | None:
    """Read at most 64 KiB of a 401's body within a few seconds, whatever its framing.

    A chunked or unframed body is otherwise read whole, or for ever. What was read stays
    the response's ``content``; past the bound or the time, the rest is dropped with the
    connection, and the body (cut) is not the expiry message.
    """
    if getattr(response, "_content_consumed", False) or response.raw is None:
        content = response.content
        return content[: _MAX_BODY_BYTES + 1] if content else content
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    read_some = getattr(raw, "read1", None)  # one socket read (urllib3 2); else small reads
    give_up_at = time.monotonic() + _MAX_BODY_SECONDS
    chunks: list[bytes] = []
    size = 0
    complete = False
    while size <= _MAX_BODY_BYTES:
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            break
        if sock is not None:
            sock.settimeout(remaining)  # no single read may outlast the budget either
        wanted = _MAX_BODY_BYTES + 1 - size
        if read_some is not None:
            chunk = read_some(wanted, decode_content=True)
        else:
            # urllib3 1.26 has no read1, and its read(n) waits for n bytes: one byte a call
            # returns as soon as a byte arrives. Undecoded, since a decoder may yield nothing
            # for a byte of gzip; the bounded bytes are decoded below.
            chunk = raw.read(1, decode_content=False)
        if not chunk:
            complete = True
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    if read_some is None and complete:
        decoded = _decode(body, response.headers.get("Content-Encoding", ""))
        complete, body = decoded is not None, decoded or b""
    response._content = body  # what requests' .content reads from now on
    response._content_consumed = True  # type: ignore[attr-defined]
    if not complete:
        response.close()
        return None
    return body


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


def _decode(body: bytes, encoding: str) -> bytes | None:
    """Decode a bounded body as urllib3 would; None for an encoding we cannot read."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return None
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    try:
        return zlib.decompressobj(wbits).decompress(body, _MAX_BODY_BYTES + 1)
    except zlib.error:
        try:  # some servers send raw deflate without the zlib header
            return zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, _MAX_BODY_BYTES + 1)
        except zlib.error:
            return None
