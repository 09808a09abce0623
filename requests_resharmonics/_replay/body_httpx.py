"""Reading an httpx 401 the way the requests side reads one: bounded, then judged alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import requests
from requests.structures import CaseInsensitiveDict

from .verdict import is_expired_token_response

#: The most of a 401's body read to tell the expiry message from other 401s (it is 46 bytes).
MAX_401_BODY = 64 * 1024
#: How long reading a 401's body may take, all reads together.
MAX_401_SECONDS = 5.0


def rejects_as_expired(response: httpx.Response, body: bytes | None) -> bool:
    """Judge a 401 by the rules `is_expired_token_response` applies to requests' answers."""
    if response.status_code != 401:
        return False
    judged = requests.Response()
    judged.status_code = response.status_code
    judged.headers = CaseInsensitiveDict(response.headers.items())
    judged._content = body if body is not None else b""
    judged._content_consumed = True  # type: ignore[attr-defined]
    return is_expired_token_response(judged)


def _too_long(response: httpx.Response) -> bool:
    length = response.headers.get("Content-Length")
    return length is not None and (not length.strip().isdigit() or int(length) > MAX_401_BODY)


def bounded(response: httpx.Response, chunks: Iterator[bytes]) -> bytes | None:
    """Read at most 64 KiB of a 401's body within a few seconds; None past either bound.

    A body read whole stays the response's ``content``; past a bound the response is closed.
    """
    if _too_long(response):
        return None
    if _is_read(response):
        return response.content
    give_up_at = time.monotonic() + MAX_401_SECONDS
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_401_BODY or time.monotonic() > give_up_at:
                response.close()
                return None
    except httpx.HTTPError:
        response.close()
        return None
    return _keep(response, b"".join(parts))


async def abounded(response: httpx.Response, chunks: AsyncIterator[bytes]) -> bytes | None:
    """`bounded` for an async response."""
    if _too_long(response):
        return None
    if _is_read(response):
        return response.content
    give_up_at = time.monotonic() + MAX_401_SECONDS
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in chunks:
            parts.append(chunk)
            size += len(chunk)
            if size > MAX_401_BODY or time.monotonic() > give_up_at:
                await response.aclose()
                return None
    except httpx.HTTPError:
        await response.aclose()
        return None
    return _keep(response, b"".join(parts))


def _is_read(response: httpx.Response) -> bool:
    try:
        response.content  # noqa: B018 - raises until the body is read
    except httpx.ResponseNotRead:
        return False
    return True


def _keep(response: httpx.Response, body: bytes) -> bytes:
    # What `Response.read()` would have stored: the caller can still read the 401's body.
    response._content = body
    return body
