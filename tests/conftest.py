from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from requests_resharmonics.testing._http import Answer, FakeHTTPServer, Incoming

pytest_plugins = ["pytester"]


class FakeClock:
    """A clock the test moves by hand, for expiry tests that must not sleep."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class OtherHost:
    """A second local server that records what it receives, for host-scoping tests."""

    def __init__(self, answer: Callable[[Incoming], Answer]) -> None:
        self.seen: list[Incoming] = []
        self._answer = answer
        self._server = FakeHTTPServer(("127.0.0.1", 0), self._record)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _record(self, incoming: Incoming) -> Answer:
        self.seen.append(incoming)
        return self._answer(incoming)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.close()
        self._thread.join(5)


StartHost = Callable[[Callable[[Incoming], Answer]], OtherHost]


@pytest.fixture
def other_host() -> Iterator[StartHost]:
    started: list[OtherHost] = []

    def start(answer: Callable[[Incoming], Answer]) -> OtherHost:
        host = OtherHost(answer)
        started.append(host)
        return host

    yield start
    for host in started:
        host.close()
