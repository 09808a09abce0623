"""Telling an expired-token 401 from every other 401, on answers we cannot trust."""

from __future__ import annotations

import contextlib
import enum
import json
import re
import time
import zlib
from typing import NamedTuple

import requests
from urllib3.exceptions import HTTPError as Urllib3HTTPError

#: The API Gateway's body for an expired token, compared without case or trailing full stop.
EXPIRED_MESSAGE = "the incoming token has expired"

_INVALID_TOKEN = re.compile(r"""\berror\s*=\s*"?invalid_token\b""", re.IGNORECASE)
_MAX_BODY_BYTES = 64 * 1024
#: How long reading a 401's body may take: the expiry message is 46 bytes.
_MAX_BODY_SECONDS = 5.0
#: What a failed local read of an answer raises, whatever urllib3's version.
_READ_ERRORS = (requests.RequestException, Urllib3HTTPError, OSError, ValueError)


class Verdict(enum.Enum):
    """What a 401 says about the bearer token it answered."""

    #: The token was rejected as expired or invalid: renewing it may help.
    EXPIRED = "expired"
    #: Anything else: another 401 (``Unauthorized``), a body cut by our bound, not a 401.
    OTHER = "other"
    #: The body could not be read here (the connection failed locally while reading it):
    #: nothing is known either way.
    UNREADABLE = "unreadable"


class _Body(NamedTuple):
    data: bytes
    complete: bool  # the whole body, within the bound
    failed: bool  # a local error ended the read


def is_expired_token_response(response: requests.Response) -> bool:
    """Return whether ``response`` rejects the bearer token as expired or invalid.

    True for a 401 whose JSON body is ``{"message": "The incoming token has expired"}``, or
    whose ``WWW-Authenticate`` header carries ``error="invalid_token"``. Any other 401
    (``{"message": "Unauthorized"}`` included), any 403, and anything unreadable is False.
    """
    return expiry_verdict(response) is Verdict.EXPIRED


def expiry_verdict(response: requests.Response) -> Verdict:
    """Return what ``response`` says of its bearer token: expired, something else, unknown.

    A 401 whose body could not be read because the read failed here (a connection closed
    under the reader, a reset) is `Verdict.UNREADABLE`, not `Verdict.OTHER`: a local failure
    is no evidence that the answer was not the expiry message. What was read before the
    failure still counts: a whole expiry message followed by a failed read is expired.
    """
    if response.status_code != 401:
        return Verdict.OTHER
    try:
        challenge = response.headers.get("WWW-Authenticate") or ""
        if _INVALID_TOKEN.search(challenge):
            return Verdict.EXPIRED
        length = response.headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > _MAX_BODY_BYTES):
            return Verdict.OTHER
        body = _bounded_body(response)
    except (*_READ_ERRORS, RuntimeError, TypeError):
        return Verdict.UNREADABLE
    if is_expired_message(body.data):
        return Verdict.EXPIRED
    if body.failed and len(body.data) <= _MAX_BODY_BYTES:
        return Verdict.UNREADABLE
    return Verdict.OTHER


def _bounded_body(response: requests.Response) -> _Body:
    """Read at most 64 KiB of a 401's body within a few seconds, whatever its framing.

    A chunked or unframed body is otherwise read whole, or for ever. What was read stays
    the response's ``content``; past the bound or the time, the rest is dropped with the
    connection, and the body (cut) is not the expiry message.

    The reader relies on public seams only: ``read1`` where urllib3 has it (2.x) and
    one-byte ``read`` calls where it does not (1.26), and the response's ``connection``
    to bound each socket read. That connection is asked for again before every read: once
    urllib3 has read the whole body it hands the connection back to its pool (which may
    give it to another thread, or close it when the pool is full), and from then on the
    socket is not ours to touch; the rest of the body is in urllib3's buffer.
    """
    if getattr(response, "_content_consumed", False) or response.raw is None:
        content = response.content or b""
        return _Body(content[: _MAX_BODY_BYTES + 1], True, False)
    raw = response.raw
    read_some = getattr(raw, "read1", None)  # one socket read (urllib3 2); else small reads
    give_up_at = time.monotonic() + _MAX_BODY_SECONDS
    chunks: list[bytes] = []
    size = 0
    complete = failed = False
    while size <= _MAX_BODY_BYTES:
        remaining = give_up_at - time.monotonic()
        if remaining <= 0:
            break
        _bound_next_read(raw, remaining)
        wanted = _MAX_BODY_BYTES + 1 - size
        try:
            if read_some is not None:
                chunk = read_some(wanted, decode_content=True)
            else:
                # urllib3 1.26 has no read1, and its read(n) waits for n bytes: one byte a
                # call returns as soon as a byte arrives. Undecoded, since a decoder may
                # yield nothing for a byte of gzip; the bounded bytes are decoded below.
                chunk = raw.read(1, decode_content=False)
        except _READ_ERRORS:
            failed = True
            break
        if not chunk:
            complete = True
            break
        chunks.append(chunk)
        size += len(chunk)
    body = b"".join(chunks)
    if read_some is None and (complete or failed):
        decoded = _decode(body, response.headers.get("Content-Encoding", ""))
        if decoded is None:
            complete = False
        body = decoded or b""
    response._content = body  # what requests' .content reads from now on
    response._content_consumed = True  # type: ignore[attr-defined]
    if not complete:
        response.close()
    return _Body(body, complete, failed)


def _bound_next_read(raw: object, seconds: float) -> None:
    """Make the next socket read of ``raw`` give up after ``seconds``, if it is still ours."""
    connection = getattr(raw, "connection", None)  # None once handed back to the pool
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    # Closed under us (OSError): the next read returns what urllib3 buffered, or fails at once.
    with contextlib.suppress(OSError):
        sock.settimeout(seconds)  # no single read may outlast the budget either


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
