"""Hostile servers, loaded machines and careless users against the 401 body readers and the
errors' pickling (session 32's review).

Each test here failed before the fix committed with it.
"""

from __future__ import annotations

import copy
import errno
import gc
import pickle
import socket
import sys
import threading
import time
from collections.abc import Callable
from importlib.util import find_spec
from typing import Any

import anyio
import pytest
import requests

from requests_resharmonics import errors
from requests_resharmonics._replay import verdict
from requests_resharmonics.testing import FakeResharmonics

from .conftest import RawServer

httpx = pytest.importorskip("httpx")

from requests_resharmonics.httpx import ResharmonicsHTTPXAuth  # noqa: E402

StartRaw = Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]

# -- errors that travel ---------------------------------------------------------------------


class OwnPageError(errors.PageConnectionError):
    """A user's own error, an OSError as requests' are, made as OSError makes one: errno and
    strerror first (``str()`` then reads ``[Errno 104] ...``)."""

    def __init__(self, code: int, reason: str, url: str) -> None:
        OSError.__init__(self, code, reason)
        self.url, self.response, self.request = url, None, None
        self.where, self.page, self.delivered, self.retryable = "", None, 0, True


def pickled(error: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(error))  # type: ignore[no-any-return]


@pytest.mark.parametrize("travel", [pickled, copy.copy, copy.deepcopy])
def test_an_oserror_subclass_keeps_its_errno_strerror_and_message(
    travel: Callable[[OwnPageError], OwnPageError],
) -> None:
    error = OwnPageError(errno.ECONNRESET, "reset by peer", "https://api.example.test/units")
    error.filename = "units.json"  # OSError's other fields, set as OSError would
    rebuilt = travel(error)
    assert type(rebuilt) is OwnPageError
    assert (rebuilt.errno, rebuilt.strerror, rebuilt.filename, rebuilt.filename2) == (
        errno.ECONNRESET,
        "reset by peer",
        "units.json",
        None,
    )
    assert str(rebuilt) == str(error)
    assert rebuilt.args == error.args
    assert rebuilt.url == error.url


# -- httpx's async reader -------------------------------------------------------------------


def endless_chunked_401(connection: socket.socket, stopping: threading.Event) -> None:
    """A 401 whose chunked body goes on past the size bound (2 MiB at most)."""
    connection.sendall(b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"1000\r\n" + b" " * 0x1000 + b"\r\n"
    for _ in range(512):
        if stopping.is_set():
            return
        connection.sendall(chunk)


BACKENDS = [
    "asyncio",
    pytest.param("trio", marks=pytest.mark.skipif(find_spec("trio") is None, reason="no trio")),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_async_reader_leaves_no_generator_for_the_garbage_collector(
    fake_resharmonics: FakeResharmonics, raw_server: StartRaw, backend: str
) -> None:
    """A 401 read up to its size bound: httpx's body generators, nested down to httpcore's,
    are ended, not left suspended for the garbage collector (under trio each one is a
    ResourceWarning, and its connection is closed only when the collector gets to it)."""
    api = raw_server(endless_chunked_401)
    auth = ResharmonicsHTTPXAuth(
        fake_resharmonics.client_id, fake_resharmonics.client_secret, fake_resharmonics.token_url
    )
    auth.valid_token()
    left: list[str] = []

    async def call() -> tuple[int, int]:
        first_iteration, finalizer = sys.get_asyncgen_hooks()

        def finalize(generator: Any) -> None:  # called for a generator collected unfinished
            left.append(generator.__qualname__)
            if finalizer is not None:
                finalizer(generator)

        sys.set_asyncgen_hooks(first_iteration, finalize)
        async with httpx.AsyncClient(auth=auth, timeout=30) as client:
            response = await client.get(f"http://127.0.0.1:{api.port}/api")
            gc.collect()
            return response.status_code, len(response.content)

    status, size = anyio.run(call, backend=backend)
    assert status == 401 and size > verdict.MAX_401_BYTES
    assert left == []


# -- requests' reader -----------------------------------------------------------------------

#: The body-reading bound in the cases that outlast it (the library's own is 5 s).
SHORT_BOUND = 0.5
#: How long a hostile answer goes on before it resets the connection: a reader that waits
#: past its bound takes this long, not the bound.
HOSTILE_SECONDS = 15.0


def trickled_framing(head: bytes, start: bytes) -> Callable[[socket.socket, threading.Event], None]:
    """A keep-alive 401 whose framing, not its body, trickles a byte every 50 ms: each socket
    read ends well within its timeout, but urllib3's read (a chunk's size line read whole,
    a gzip header that decodes to nothing) is made of many of them."""

    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 401 Unauthorized\r\n" + head + b"\r\n" + start)
        for _ in range(int(HOSTILE_SECONDS / 0.05)):
            if stopping.wait(0.05):
                return
            connection.sendall(b"a")
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    return answer


TRICKLED_FRAMINGS = {
    "chunk-size-line": trickled_framing(b"Transfer-Encoding: chunked\r\n", b"1;"),
    "gzip-file-name": trickled_framing(
        b"Content-Encoding: gzip\r\nContent-Length: 60000\r\n", b"\x1f\x8b\x08\x08\0\0\0\0\0\x03"
    ),
}


@pytest.mark.parametrize("framing", list(TRICKLED_FRAMINGS))
def test_requests_gives_up_on_a_keep_alive_401_whose_framing_trickles(
    fake_resharmonics: FakeResharmonics,
    raw_server: StartRaw,
    monkeypatch: pytest.MonkeyPatch,
    framing: str,
) -> None:
    monkeypatch.setattr(verdict, "MAX_401_SECONDS", SHORT_BOUND)
    api = raw_server(TRICKLED_FRAMINGS[framing])
    auth = fake_resharmonics.auth()
    auth.valid_token()
    started = time.monotonic()
    response = requests.get(f"http://127.0.0.1:{api.port}/api", auth=auth, timeout=30)
    assert response.status_code == 401
    assert time.monotonic() - started < HOSTILE_SECONDS / 2  # the bound, not the trickle


def httpx_libraries() -> list[Any]:
    libraries: list[Any] = [pytest.param(httpx, id="httpx")]
    if find_spec("httpx2") is not None and sys.version_info >= (3, 11):
        libraries.append(pytest.param(__import__("httpx2"), id="httpx2"))
    return libraries


@pytest.mark.parametrize("library", httpx_libraries())
@pytest.mark.parametrize("framing", list(TRICKLED_FRAMINGS))
def test_sync_httpx_gives_up_on_a_401_whose_framing_trickles(
    fake_resharmonics: FakeResharmonics,
    raw_server: StartRaw,
    monkeypatch: pytest.MonkeyPatch,
    framing: str,
    library: Any,
) -> None:
    """The same for httpx's and httpx2's sync readers (their async ones wait under a
    cancellation at the bound, whatever the reads)."""
    monkeypatch.setattr(verdict, "MAX_401_SECONDS", SHORT_BOUND)
    api = raw_server(TRICKLED_FRAMINGS[framing])
    auth_class: Any = ResharmonicsHTTPXAuth
    if library is not httpx:
        from requests_resharmonics.httpx2 import ResharmonicsHTTPX2Auth

        auth_class = ResharmonicsHTTPX2Auth
    auth = auth_class(
        fake_resharmonics.client_id, fake_resharmonics.client_secret, fake_resharmonics.token_url
    )
    auth.valid_token()
    started = time.monotonic()
    with library.Client(auth=auth, timeout=30) as client:
        response = client.get(f"http://127.0.0.1:{api.port}/api")
    assert response.status_code == 401
    assert time.monotonic() - started < HOSTILE_SECONDS / 2  # the bound, not the trickle
