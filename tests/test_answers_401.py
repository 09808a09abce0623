"""One table of 401s, played through every front door: each case ends the same everywhere.

The front doors (requests; httpx and httpx2, sync and async) drive one conversation after an
answer (`requests_resharmonics._replay.flow`). This table is what proves them identical: the
same case gives the same statuses (or the same kind of error) and costs the same number of
token requests, whichever library carried the call.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics._replay import verdict
from requests_resharmonics.cache import MemoryTokenCache
from requests_resharmonics.testing import EXPIRED_BODY, FakeResharmonics
from requests_resharmonics.testing._http import Answer

from .conftest import OtherHost, StartHost

httpx = pytest.importorskip("httpx")

from requests_resharmonics.httpx import ResharmonicsHTTPXAuth  # noqa: E402

try:  # httpx2 needs Python 3.11 or newer
    import httpx2

    from requests_resharmonics.httpx2 import ResharmonicsHTTPX2Auth
except ImportError:  # pragma: no cover - Python 3.10
    httpx2 = None  # type: ignore[assignment, unused-ignore]  # a Module where it is installed

#: What a call ended in: its status, or ``"error"`` for the library's own transport error.
Ending = int | str


@dataclass
class Call:
    """One call of a case: its method, path or URL, and a body that can be sent only once."""

    method: str = "GET"
    url: str = "/api/v3/units"
    once_only_body: bool = False


class Driver:
    """A front door: makes an auth object and carries calls through its library."""

    name = ""

    def auth(self, fake: FakeResharmonics, cache: MemoryTokenCache | None = None) -> Any:
        raise NotImplementedError

    def run(self, auth: Any, calls: list[Call]) -> list[Ending]:
        raise NotImplementedError


class RequestsDriver(Driver):
    name = "requests"

    def auth(self, fake: FakeResharmonics, cache: MemoryTokenCache | None = None) -> Any:
        return ResharmonicsAuth(fake.client_id, fake.client_secret, fake.token_url, cache=cache)

    def run(self, auth: Any, calls: list[Call]) -> list[Ending]:
        endings: list[Ending] = []
        with requests.Session() as session:
            for call in calls:
                body: Any = iter([b'{"a": 1}']) if call.once_only_body else None
                try:
                    response = session.request(
                        call.method, call.url, data=body, auth=auth, timeout=30
                    )
                except requests.RequestException:
                    endings.append("error")
                    continue
                endings.append(response.status_code)
        return endings


class SyncDriver(Driver):
    def __init__(self, library: Any, auth_class: Any, name: str) -> None:
        self.library, self.auth_class, self.name = library, auth_class, name

    def auth(self, fake: FakeResharmonics, cache: MemoryTokenCache | None = None) -> Any:
        return self.auth_class(fake.client_id, fake.client_secret, fake.token_url, cache=cache)

    def run(self, auth: Any, calls: list[Call]) -> list[Ending]:
        endings: list[Ending] = []
        with self.library.Client(auth=auth, follow_redirects=True, timeout=30) as client:
            for call in calls:
                content: Any = iter([b'{"a": 1}']) if call.once_only_body else None
                try:
                    response = client.request(call.method, call.url, content=content)
                except self.library.HTTPError:
                    endings.append("error")
                    continue
                endings.append(response.status_code)
        return endings


class AsyncDriver(SyncDriver):
    def run(self, auth: Any, calls: list[Call]) -> list[Ending]:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"a": 1}'

        async def go() -> list[Ending]:
            endings: list[Ending] = []
            async with self.library.AsyncClient(
                auth=auth, follow_redirects=True, timeout=30
            ) as client:
                for call in calls:
                    content = body() if call.once_only_body else None
                    try:
                        response = await client.request(call.method, call.url, content=content)
                    except self.library.HTTPError:
                        endings.append("error")
                        continue
                    endings.append(response.status_code)
            return endings

        return asyncio.run(go())


DRIVERS = [
    RequestsDriver(),
    SyncDriver(httpx, ResharmonicsHTTPXAuth, "httpx"),
    AsyncDriver(httpx, ResharmonicsHTTPXAuth, "httpx-async"),
]
if httpx2 is not None:
    DRIVERS += [
        SyncDriver(httpx2, ResharmonicsHTTPX2Auth, "httpx2"),
        AsyncDriver(httpx2, ResharmonicsHTTPX2Auth, "httpx2-async"),
    ]


# -- a hostile API for the answers the fake does not give ---------------------------------


class HostileAPI:
    """Answers the first token it sees with a hostile 401, and every other token with 200."""

    def __init__(self, hostile: Callable[[socket.socket, threading.Event], None]) -> None:
        self.hostile = hostile
        self.first: bytes | None = None
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(10)
            try:
                token = _bearer(_read_head(connection))
                if self.first is None:
                    self.first = token
                if token == self.first:
                    self.hostile(connection, self.stopping)
                else:
                    connection.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
                    )
            except OSError:
                pass  # the client hung up: what a hostile answer waits for

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.accepting.join(5)
        for thread in self.threads:
            thread.join(10)


def _read_head(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.partition(b"\r\n\r\n")[0]


def _bearer(head: bytes) -> bytes | None:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            return value.strip()
    return None


def reset_mid_body(connection: socket.socket, stopping: threading.Event) -> None:
    connection.sendall(b'HTTP/1.1 401 Unauthorized\r\nContent-Length: 46\r\n\r\n{"mess')
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def trickled_expiry(connection: socket.socket, stopping: threading.Event) -> None:
    connection.sendall(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
    )
    for byte in b'{"message":"The incoming token has expired"}':
        if stopping.wait(0.01):
            return
        connection.sendall(bytes([byte]))


def endless_401(connection: socket.socket, stopping: threading.Event) -> None:
    connection.sendall(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    for _ in range(5000):  # only while the client reads
        if stopping.is_set():
            return
        connection.sendall(chunk)


#: How long the body-reading bound is in the cases that outlast it (the library's own is 5 s).
SHORT_BOUND = 0.5
#: How long a hostile answer that outlasts the bound goes on before it resets the connection:
#: a front door that waits past its bound ends in an error instead of the 401.
HOSTILE_SECONDS = 15.0


def _then_reset(connection: socket.socket) -> None:
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


RawAnswer = Callable[[socket.socket, threading.Event], None]


def trickled_forever(framing: bytes, byte: bytes) -> RawAnswer:
    """A 401 whose body comes a byte every 50 ms, for longer than any bound."""

    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(b"HTTP/1.1 401 Unauthorized\r\n" + framing + b"\r\n")
        for _ in range(int(HOSTILE_SECONDS / 0.05)):
            if stopping.wait(0.05):
                return
            connection.sendall(byte)
        _then_reset(connection)

    return answer


def silent_after_head(connection: socket.socket, stopping: threading.Event) -> None:
    """A 401 whose head promises a chunked body that never comes."""
    connection.sendall(b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n")
    if not stopping.wait(HOSTILE_SECONDS):
        _then_reset(connection)


# -- the table -----------------------------------------------------------------------------


@dataclass
class Case:
    """A 401 case: how to set it up, the calls, and what every front door must end with."""

    name: str
    endings: list[Ending]
    token_requests: int
    play: Callable[[Driver, FakeResharmonics, StartHost], tuple[list[Ending], int]]
    bound: float | None = None  # the body-reading bound, when the case outlasts it


def _expired(driver: Driver, fake: FakeResharmonics, _: StartHost) -> tuple[list[Ending], int]:
    auth = driver.auth(fake, MemoryTokenCache())
    auth.valid_token()
    fake.expire_all_tokens()
    return driver.run(auth, [Call(url=fake.base_url + "/api/v3/units")]), fake.token_requests


def _head(driver: Driver, fake: FakeResharmonics, _: StartHost) -> tuple[list[Ending], int]:
    auth = driver.auth(fake, MemoryTokenCache())
    auth.valid_token()
    fake.expire_all_tokens()
    calls = [Call("HEAD", fake.base_url + "/api/v3/units")]
    return driver.run(auth, calls), fake.token_requests


def _repeated(driver: Driver, fake: FakeResharmonics, _: StartHost) -> tuple[list[Ending], int]:
    auth = driver.auth(fake, MemoryTokenCache())
    url = fake.base_url + "/api/v3/units"
    endings: list[Ending] = []
    for _round in range(3):
        auth.valid_token()
        fake.expire_all_tokens()
        endings += driver.run(auth, [Call(url=url)])
    return endings, fake.token_requests


def _every_token_refused(
    driver: Driver, fake: FakeResharmonics, _: StartHost
) -> tuple[list[Ending], int]:
    fake.add_route("GET", "/api/v3/refusing", lambda request: Answer(401, EXPIRED_BODY))
    auth = driver.auth(fake, MemoryTokenCache())
    url = fake.base_url + "/api/v3/refusing"
    return driver.run(auth, [Call(url=url), Call(url=url)]), fake.token_requests


def _not_about_expiry(
    driver: Driver, fake: FakeResharmonics, _: StartHost
) -> tuple[list[Ending], int]:
    auth = driver.auth(fake, MemoryTokenCache())
    fake.revoke(auth.valid_token().access_token)
    return driver.run(auth, [Call(url=fake.base_url + "/api/v3/units")]), fake.token_requests


def _refused_shared(
    driver: Driver, fake: FakeResharmonics, _: StartHost
) -> tuple[list[Ending], int]:
    cache = MemoryTokenCache()
    other = driver.auth(fake, cache)  # another object of the client fetched it
    fake.revoke(other.valid_token().access_token)
    auth = driver.auth(fake, cache)
    return driver.run(auth, [Call(url=fake.base_url + "/api/v3/units")]), fake.token_requests


def _once_only_body(
    driver: Driver, fake: FakeResharmonics, _: StartHost
) -> tuple[list[Ending], int]:
    fake.add_route("POST", "/api/v3/echo", lambda request: Answer(200, {}))
    auth = driver.auth(fake, MemoryTokenCache())
    auth.valid_token()
    fake.expire_all_tokens()
    url = fake.base_url + "/api/v3/echo"
    calls = [Call("POST", url, once_only_body=True), Call("POST", url, once_only_body=True)]
    return driver.run(auth, calls), fake.token_requests


def _redirect_elsewhere(
    driver: Driver, fake: FakeResharmonics, other_host: StartHost
) -> tuple[list[Ending], int]:
    elsewhere: OtherHost = other_host(lambda incoming: Answer(401, EXPIRED_BODY))
    target = f"http://127.0.0.1:{elsewhere.port}/elsewhere"
    fake.add_route("GET", "/api/v3/hop", lambda request: Answer(302, b"", {"Location": target}))
    auth = driver.auth(fake, MemoryTokenCache())
    endings = driver.run(auth, [Call(url=fake.base_url + "/api/v3/hop")])
    assert all("Authorization" not in incoming.headers for incoming in elsewhere.seen)
    # No pause was begun: the API's next genuine expiry is renewed and replayed as ever.
    fake.expire_all_tokens()
    endings += driver.run(auth, [Call(url=fake.base_url + "/api/v3/units")])
    return endings, fake.token_requests


def _hostile(
    hostile: Callable[[socket.socket, threading.Event], None],
) -> Callable[[Driver, FakeResharmonics, StartHost], tuple[list[Ending], int]]:
    def play(driver: Driver, fake: FakeResharmonics, _: StartHost) -> tuple[list[Ending], int]:
        api = HostileAPI(hostile)
        try:
            auth = driver.auth(fake, MemoryTokenCache())
            url = f"http://127.0.0.1:{api.port}/api/v3/units"
            return driver.run(auth, [Call(url=url)]), fake.token_requests
        finally:
            api.close()

    return play


CASES = [
    Case("expired", [200], 2, _expired),
    Case("head", [200], 2, _head),
    Case("repeated-expiries", [200, 200, 200], 4, _repeated),
    # Renewing once buys a replacement that is refused too: renewals pause, the 401 stays.
    Case("every-token-refused", [401, 401], 2, _every_token_refused),
    Case("not-about-our-token", [401], 1, _not_about_expiry),
    Case("refused-shared-token", [200], 2, _refused_shared),
    # Not replayed; the token is dropped, so the next call starts with a new one.
    Case("once-only-body", [401, 200], 2, _once_only_body),
    Case("redirect-to-another-host", [401, 200], 2, _redirect_elsewhere),
    # Lost to a local failure, with no renewal under way: the library's own error.
    Case("unreadable", ["error"], 1, _hostile(reset_mid_body)),
    Case("trickled", [200], 2, _hostile(trickled_expiry)),
    Case("endless", [401], 1, _hostile(endless_401)),
    # Given up on at the time bound, whatever the framing: the 401 is returned as it is.
    Case("trickled-past-the-bound", [401], 1,
         _hostile(trickled_forever(b"Connection: close\r\n", b" ")), SHORT_BOUND),
    Case("trickled-chunks-past-the-bound", [401], 1,
         _hostile(trickled_forever(b"Transfer-Encoding: chunked\r\n", b"1\r\n \r\n")),
         SHORT_BOUND),
    Case("silent-after-head", [401], 1, _hostile(silent_after_head), SHORT_BOUND),
]  # fmt: skip


@pytest.mark.parametrize("driver", DRIVERS, ids=[driver.name for driver in DRIVERS])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_front_door_answers_a_401_alike(
    case: Case,
    driver: Driver,
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if case.bound is not None:
        monkeypatch.setattr(verdict, "MAX_401_SECONDS", case.bound)
    endings, token_requests = case.play(driver, fake_resharmonics, other_host)
    assert (endings, token_requests) == (case.endings, case.token_requests)
