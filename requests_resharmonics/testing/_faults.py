"""Faults the fake can be told to answer with: on the token endpoint, on the API, 429s."""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING

from ._http import Answer, CutOff, Incoming, Reset
from ._tokens import TOKEN_FAULTS

if TYPE_CHECKING:
    from ._tokens import TokenService

#: Faults the API can be told to answer with, one per queued API request.
API_FAULTS = (
    "pass",  # answer this request normally (to aim a fault at a later one, such as a replay)
    "reset",  # close the connection without answering
    "cut-off",  # start a normal answer and close the connection halfway through
    "503",  # Service Unavailable
    "500",  # Internal Server Error, in Spring's shape
    "429",  # Too Many Requests with Retry-After: 1
    "hang",  # answer normally, but only after `hang_seconds`
)


class Faults:
    """The fault-injection half of `FakeResharmonics` (a mixin)."""

    tokens: TokenService
    api_delay: float
    hang_seconds: float
    _lock: threading.Lock
    _stopping: threading.Event
    _api_faults: collections.deque[str]
    _throttled: int
    _retry_after: float

    def _api(self, incoming: Incoming, token: str | None) -> Answer:
        raise NotImplementedError

    def fail_token_requests(self, *faults: str) -> None:
        """Queue faults: each of the next token requests answers with one (see TOKEN_FAULTS)."""
        _check(faults, TOKEN_FAULTS, "token")
        with self._lock:
            self.tokens.faults.extend(faults)

    def fail_api_requests(self, *faults: str) -> None:
        """Queue faults: each of the next API requests answers with one (see API_FAULTS)."""
        _check(faults, API_FAULTS, "API")
        with self._lock:
            self._api_faults.extend(faults)

    def throttle(self, count: int = 1, retry_after: float = 1.0) -> None:
        """Answer the next ``count`` API requests with 429 and ``Retry-After``."""
        with self._lock:
            self._throttled += count
            self._retry_after = retry_after

    def _api_with_faults(self, incoming: Incoming, token: str | None) -> Answer | Reset | CutOff:
        with self._lock:
            fault = self._api_faults.popleft() if self._api_faults else "pass"
        if self.api_delay:
            self._stopping.wait(self.api_delay)
        if fault == "reset":
            return Reset()
        if fault == "503":
            return Answer(503, {"message": "Service Unavailable"})
        if fault == "429":
            return Answer(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
        if fault == "hang":
            self._stopping.wait(self.hang_seconds)
        answer = self._api(incoming, token)
        if fault == "500" and answer.status < 400:
            return Answer(
                500, {"status": 500, "error": "Internal Server Error", "path": incoming.path}
            )
        return CutOff(answer) if fault == "cut-off" else answer


def _check(faults: tuple[str, ...], known: tuple[str, ...], what: str) -> None:
    unknown = [fault for fault in faults if fault not in known]
    if unknown:
        raise ValueError(f"unknown {what} faults {unknown}; known: {', '.join(known)}")
