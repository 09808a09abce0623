"""Reading at most a few kilobytes of an answer we cannot trust, within a few seconds.

A 401's body decides whether a token is renewed, so it must be read; but a chunked or
unframed body is otherwise read whole, or for ever, and a server may trickle it a byte at a
time. This reader stops at a size and a time, whatever the framing,
and tells a body it read whole from one it lost to a local failure.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.response import BaseHTTPResponse

from . import verdict
from .deadline_timer import call_at, duplicate_of
from .verdict import Body

#: What a failed local read of an answer raises, whatever urllib3's version.
READ_ERRORS = (requests.RequestException, Urllib3HTTPError, OSError, ValueError)


def read(response: requests.Response) -> Body:
    """Read at most `verdict.MAX_401_BYTES` of ``response``'s body within the time bound.

    What was read stays the response's ``content``; past the bound or the time, the rest is
    dropped with the connection.

    Works on any file-like ``raw``: urllib3's response (``read1`` decoding as requests
    would), and the stand-ins of vcrpy, responses and requests-mock (``read1`` or ``read``
    of a few bytes). Private reaches: ``Response._content`` and ``_content_consumed``, set as
    requests' own ``content`` property sets them, so that the caller can still read the 401.
    The socket is reached through public seams only: the response's ``connection``, asked
    for again before every read (once urllib3 has read the whole body it hands the
    connection back to its pool, and from then on the socket is not ours to touch), and
    ``fileno()`` when the response owns its socket.
    """
    if getattr(response, "_content_consumed", False) or response.raw is None:
        content = response.content or b""
        return Body(content[: verdict.MAX_401_BYTES + 1], True, None)
    raw = response.raw
    read_some = _reader(raw)
    limit = verdict.MAX_401_BYTES
    seconds = verdict.MAX_401_SECONDS
    give_up_at = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    complete = False
    error: BaseException | None = None
    with _shut_down_at(raw, seconds) as shut_down:
        while size <= limit:
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                break
            _bound_next_read(raw, remaining)
            try:
                chunk = read_some(limit + 1 - size)
            except (*READ_ERRORS, RuntimeError, TypeError) as failure:
                error = failure
                break
            if not chunk:
                complete = True
                break
            chunks.append(bytes(chunk))
            size += len(chunk)
    if shut_down.is_set() or time.monotonic() >= give_up_at:
        # What ended the read was our own bound (a read timed out at it, or the socket shut
        # down at it: then the next read ends early, or fails once the server's next byte
        # is answered with a reset): the body was given up on, not lost to a failure.
        complete, error = False, None
    body = b"".join(chunks)
    response._content = body  # what requests' .content reads from now on
    response._content_consumed = True  # type: ignore[attr-defined]
    if not complete:
        response.close()
    return Body(body, complete, error)


def _reader(raw: Any) -> Callable[[int], bytes]:
    """Return a function that reads up to n bytes of ``raw`` as soon as some arrive."""
    if isinstance(raw, BaseHTTPResponse):
        # One socket read, decoded as requests' iter_content would decode it.
        return lambda wanted: raw.read1(wanted, decode_content=True)
    read_some = getattr(raw, "read1", None)
    if not callable(read_some):
        read_some = raw.read  # a stand-in's buffer: read(n) returns at once
    return lambda wanted: read_some(wanted)


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
    """Make the next socket read of ``raw`` give up after ``seconds``, if it is still ours.

    A shorter read timeout of the caller's own stays: a read that outlasts it is the
    caller's timeout, as requests would raise it, not our bound.
    """
    connection = getattr(raw, "connection", None)  # None once handed back to the pool
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    # Closed under us (OSError): the next read returns what urllib3 buffered, or fails at once.
    with contextlib.suppress(OSError):
        own = sock.gettimeout()
        sock.settimeout(seconds if own is None else min(own, seconds))


@contextlib.contextmanager
def _shut_down_at(raw: object, seconds: float) -> Iterator[threading.Event]:
    """Shut the response's socket down at the deadline, which bounded reads cannot always keep.

    A read timeout bounds each read of the socket, not each read of urllib3's, which may
    be many of them: a chunk's size line is read whole, a gzip header decodes to nothing,
    and a server trickling either a byte at a time would hold the reader for ever. So a
    timer shuts the socket down at the deadline (shutting down, unlike closing, wakes a read
    blocked in another thread): through ``raw.shutdown()`` (public since urllib3 2.3) while
    the response holds its connection, which refuses once the connection went back to its
    pool (the body was read whole); and for an answer sent with ``Connection: close``,
    which takes its socket from the connection, through a duplicate of its descriptor
    (``fileno()`` is public on urllib3's and http.client's responses). Rare (a 401), so a
    timer each. Yields an event set when the socket is shut down.
    """
    shut_down = threading.Event()
    connection = getattr(raw, "connection", None)
    if getattr(connection, "sock", None) is not None:
        shut = getattr(raw, "shutdown", None)
        if not callable(shut):
            yield shut_down  # an older urllib3: each socket read is bounded at least
            return
        with call_at(seconds, _shut_down_response, shut, shut_down):
            yield shut_down
        return
    try:
        duplicate = duplicate_of(raw.fileno())  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError, TypeError):
        yield shut_down  # nothing open to read from, or a platform without descriptors
        return
    with duplicate, call_at(seconds, _shut_down, duplicate, shut_down):
        yield shut_down


def _shut_down(sock: socket.socket, shut_down: threading.Event) -> None:
    shut_down.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _shut_down_response(shut: Callable[[], None], shut_down: threading.Event) -> None:
    shut_down.set()
    try:
        shut()
    except (RuntimeError, ValueError):  # back in its pool, or not urllib3's to shut down
        shut_down.clear()  # the socket is not ours: the read ended by itself
    except OSError:
        pass  # closed meanwhile: the read ended, at the deadline


def is_expired_token_response(response: requests.Response) -> bool:
    """Return whether ``response`` rejects the bearer token as expired or invalid.

    True for a 401 whose JSON body is ``{"message": "The incoming token has expired"}``, or
    whose ``WWW-Authenticate`` header carries ``error="invalid_token"``, and for a 401 to a
    HEAD request (which has no body to say why). Any other 401 (``{"message":
    "Unauthorized"}`` included), any 403, and anything unreadable is False.
    """
    method = response.request.method if response.request is not None else None
    head = verdict.judge_head(response.status_code, response.headers.get, method or "GET")
    if head is not None:
        return head.verdict is verdict.Verdict.EXPIRED
    return verdict.judge_body(read(response)).verdict is verdict.Verdict.EXPIRED
