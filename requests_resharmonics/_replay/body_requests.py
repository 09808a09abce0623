"""Reading at most a few kilobytes of an answer we cannot trust, within a few seconds.

A 401's body decides whether a token is renewed, so it must be read; but a chunked or
unframed body is otherwise read whole, or for ever, and a server may trickle it a byte at a
time. This reader stops at a size and a time, whatever the framing and urllib3's version,
and tells a body it read whole from one it lost to a local failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import NamedTuple

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import SSLError as Urllib3SSLError

MAX_BYTES = 64 * 1024
#: How long reading a 401's body may take: the expiry message is 46 bytes.
MAX_SECONDS = 5.0
#: What a failed local read of an answer raises, whatever urllib3's version.
READ_ERRORS = (requests.RequestException, Urllib3HTTPError, OSError, ValueError)


class Body(NamedTuple):
    """What was read of a body, and how the reading ended."""

    data: bytes
    complete: bool  # the whole body, within the bound
    error: BaseException | None  # the local failure that ended the read, if one did


def read(response: requests.Response) -> Body:
    """Read at most `MAX_BYTES` of ``response``'s body within `MAX_SECONDS`.

    What was read stays the response's ``content``; past the bound or the time, the rest is
    dropped with the connection.

    Public seams only: ``read1`` where urllib3 has it (2.x) and one-byte ``read`` calls
    where it does not (1.26), the response's ``connection`` to bound each socket read, and
    its ``fileno()`` when the response owns its socket. The connection is asked for again
    before every read: once urllib3 has read the whole body it hands the connection back
    to its pool (which may give it to another thread, or close it when the pool is full),
    and from then on the socket is not ours to touch; the rest is in urllib3's buffer.
    """
    if getattr(response, "_content_consumed", False) or response.raw is None:
        content = response.content or b""
        return Body(content[: MAX_BYTES + 1], True, None)
    raw = response.raw
    read_some = getattr(raw, "read1", None)  # one socket read (urllib3 2); else small reads
    give_up_at = time.monotonic() + MAX_SECONDS
    chunks: list[bytes] = []
    size = 0
    complete = False
    error: BaseException | None = None
    with _shut_down_at(raw, MAX_SECONDS):
        while size <= MAX_BYTES:
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                break
            _bound_next_read(raw, remaining)
            wanted = MAX_BYTES + 1 - size
            try:
                if read_some is not None:
                    chunk = read_some(wanted, decode_content=True)
                else:
                    # urllib3 1.26 has no read1, and its read(n) waits for n bytes: one byte
                    # a call returns as soon as a byte arrives. Undecoded, since a decoder
                    # may yield nothing for a byte of gzip; decoded below, within the bound.
                    chunk = raw.read(1, decode_content=False)
            except READ_ERRORS as failure:
                error = failure
                break
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
            size += len(chunk)
    body = b"".join(chunks)
    if read_some is None and (complete or error is not None):
        body = _decode(body, response.headers.get("Content-Encoding", ""))
    response._content = body  # what requests' .content reads from now on
    response._content_consumed = True  # type: ignore[attr-defined]
    if not complete:
        response.close()
    return Body(body, complete, error)


def as_requests_error(error: BaseException) -> requests.RequestException:
    """Return the error requests itself raises for ``error`` while reading a body."""
    if isinstance(error, requests.RequestException):
        return error
    if isinstance(error, ReadTimeoutError):
        return requests.ConnectionError(error)
    if isinstance(error, Urllib3SSLError):
        return requests.exceptions.SSLError(error)
    if isinstance(error, DecodeError):
        return requests.exceptions.ContentDecodingError(error)
    if isinstance(error, ProtocolError):
        return requests.exceptions.ChunkedEncodingError(error)
    return requests.ConnectionError(error)


def _bound_next_read(raw: object, seconds: float) -> None:
    """Make the next socket read of ``raw`` give up after ``seconds``, if it is still ours."""
    connection = getattr(raw, "connection", None)  # None once handed back to the pool
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    # Closed under us (OSError): the next read returns what urllib3 buffered, or fails at once.
    with contextlib.suppress(OSError):
        sock.settimeout(seconds)  # no single read may outlast the budget either


@contextlib.contextmanager
def _shut_down_at(raw: object, seconds: float) -> Iterator[None]:
    """Shut the response's own socket down at the deadline, when reads cannot be bounded.

    An answer sent with ``Connection: close`` takes its socket from the connection
    (``raw.connection.sock`` is None), so no read timeout can be set on it; a timer shuts it
    down instead, through a duplicate of its descriptor (``fileno()`` is public on
    urllib3's and http.client's responses). Shutting down, unlike closing, wakes a read
    blocked in another thread. Rare (a 401 with ``Connection: close``), so a timer each.
    """
    connection = getattr(raw, "connection", None)
    if getattr(connection, "sock", None) is not None:
        yield  # reads are bounded through the connection's socket
        return
    try:
        duplicate = socket.socket(fileno=os.dup(raw.fileno()))  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError, TypeError):
        yield  # nothing open to read from, or a platform without descriptors
        return
    timer = threading.Timer(seconds, _shut_down, args=(duplicate,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        duplicate.close()  # the duplicate descriptor only


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _decode(body: bytes, header: str) -> bytes:
    """Decode a bounded body as urllib3 would.

    Stacked encodings are undone last first; unknown ones are left as they are (urllib3
    1.26 passes them through undecoded too).
    """
    encodings = [part.strip().lower() for part in header.split(",") if part.strip()]
    for encoding in reversed(encodings):
        if encoding not in ("gzip", "x-gzip", "deflate"):
            return body  # undecodable: the bytes as they came
        decoded = _inflate(body, encoding)
        if decoded is None:
            return body
        body = decoded
    return body


def _inflate(body: bytes, encoding: str) -> bytes | None:
    wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
    try:
        return zlib.decompressobj(wbits).decompress(body, MAX_BYTES + 1)
    except zlib.error:
        try:  # some servers send raw deflate without the zlib header
            return zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, MAX_BYTES + 1)
        except zlib.error:
            return None
