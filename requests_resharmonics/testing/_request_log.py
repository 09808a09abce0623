"""The requests the fake received, for assertions in tests: bounded in count and in bytes."""

from __future__ import annotations

import collections
import datetime
import threading
from dataclasses import dataclass, field
from urllib.parse import quote

from ._http import Answer, CutOff, Incoming, Reset

#: How many requests the log keeps (the counters count them all), and how many bytes of
#: bodies and headers at most: the oldest are forgotten first.
RECORDED_REQUESTS = 100_000
RECORDED_BYTES = 64 * 1024 * 1024


@dataclass
class RecordedRequest:
    """One request the fake server received, for assertions in tests."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    body: bytes = field(repr=False)
    token: str | None = field(repr=False, default=None)
    client_auth: str | None = None
    headers: dict[str, str] = field(repr=False, default_factory=dict)


class RequestLog:
    """The latest requests, oldest first, and exact counts of every request by kind."""

    def __init__(
        self, max_requests: int = RECORDED_REQUESTS, max_bytes: int = RECORDED_BYTES
    ) -> None:
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._requests: collections.deque[RecordedRequest] = collections.deque()
        self._bytes = 0
        self._counts: collections.Counter[str] = collections.Counter()

    def record(self, kind: str, recorded: RecordedRequest) -> None:
        """Count a request of a kind (``"token"``, ``"api"``) and keep it, within the bounds."""
        with self._lock:
            self._counts[kind] += 1
            self._requests.append(recorded)
            self._bytes += _size(recorded)
            while len(self._requests) > self.max_requests or self._bytes > self.max_bytes:
                self._bytes -= _size(self._requests.popleft())

    def requests(self) -> list[RecordedRequest]:
        """Return the requests kept, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def kept_bytes(self) -> int:
        """How many bytes the kept requests take, as the bound counts them."""
        with self._lock:
            return self._bytes

    def count(self, kind: str) -> int:
        """Return how many requests of a kind were recorded since the last `clear`."""
        with self._lock:
            return self._counts[kind]

    def clear(self) -> None:
        """Forget every request and count."""
        with self._lock:
            self._requests.clear()
            self._bytes = 0
            self._counts.clear()


def _size(recorded: RecordedRequest) -> int:
    headers = sum(len(key) + len(value) for key, value in recorded.headers.items())
    return len(recorded.body) + headers + len(recorded.path) + 100


#: Query parameters whose values an access log never shows, whatever the path.
_HIDDEN = ("token", "secret", "password", "key", "auth")


def access_line(incoming: Incoming, answer: Answer | Reset | CutOff, seconds: float) -> str:
    """Return one access-log line: when, method, target, outcome, time taken.

    The target is the path and query as received, with the values of parameters that may
    hold a credential replaced by ``***``; headers and bodies are never shown.
    """
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    pairs = [
        f"{quote(name)}={'***' if any(word in name.lower() for word in _HIDDEN) else quote(value)}"
        for name, values in incoming.params.items()
        for value in values
    ]
    target = incoming.path + ("?" + "&".join(pairs) if pairs else "")
    if isinstance(answer, Answer):
        outcome = str(answer.status)
    else:
        outcome = "cut-off" if isinstance(answer, CutOff) else "reset"
    when = when.replace("+00:00", "Z")
    return f"{when} {incoming.method} {target} {outcome} {seconds * 1000:.1f} ms"
