"""Guards of the token stats: what counts as request time, and what counts as a renewal.

Each test here was seen to fail with one plausible one-line bug in the code it names (see
the docstrings), and to pass without it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from requests_resharmonics import TokenEvent, TokenRequestError
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock


def wait_for(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Recorder:
    """An ``on_event`` hook that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[TokenEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: TokenEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: str, outcome: str | None = None) -> list[TokenEvent]:
        with self._lock:
            return [e for e in self.events if e.kind == kind and outcome in (None, e.outcome)]


@pytest.mark.fake_resharmonics(token_delay=0.05)
def test_request_time_adds_up_token_requests_only(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    """A first token, a renewal in the background and one inline: ``request_seconds`` is the
    sum of the three token requests' durations and ``last_request_seconds`` the last one's;
    the renewals' own durations (from the moment a token was due, queueing included) are
    no request time.

    Mutant caught: ``StatsRecorder.record`` adds every event's duration
    (``if event.kind == "token-request" and event.duration is not None:`` -> ``if
    event.duration is not None:``): renewals would count their token requests twice.
    """
    recorder = Recorder()
    auth = fake_resharmonics.auth(on_event=recorder)
    auth.manager.clock = clock
    first = auth.valid_token()
    clock.advance(3600 - 30)  # due, still valid: renewed in the background
    assert auth.valid_token() is first
    wait_for(lambda: auth.token is not first and recorder.of("renewal"))
    clock.advance(3601)  # expired: renewed in the call
    second = auth.token
    assert auth.valid_token() is not second
    requests_made = recorder.of("token-request")
    assert [e.trigger for e in requests_made] == ["first", "background", "inline"]
    renewals = recorder.of("renewal", "ok")
    assert [e.trigger for e in renewals] == ["background", "inline"]
    assert all(e.duration is not None and e.duration > 0 for e in renewals)
    stats = auth.stats
    durations = [e.duration for e in requests_made]
    assert None not in durations
    assert stats.request_seconds == pytest.approx(sum(durations), rel=1e-9)  # type: ignore[arg-type]
    assert stats.last_request_seconds == durations[-1]
    assert stats.requests_ok == 3
    assert (stats.background_renewals, stats.inline_renewals) == (1, 1)


def test_a_failed_renewal_is_not_counted_as_a_renewal(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    """A background renewal fails once, then its retry succeeds; later an inline renewal
    fails, and the next call's succeeds: one renewal of each kind, and every failed token
    request counted as refused.

    Mutant caught: the stats' ``_counter`` counts a renewal whatever its outcome (``if
    event.kind == "renewal" and event.outcome == "ok":`` -> ``if event.kind ==
    "renewal":``).
    """
    recorder = Recorder()
    auth = fake_resharmonics.auth(token_retries=0, on_event=recorder)
    auth.manager.clock = clock
    auth.manager.background_retry_delay = 0.05
    first = auth.valid_token()
    clock.advance(3600 - 30)
    fake_resharmonics.fail_token_requests("invalid_client")
    assert auth.valid_token() is first
    # Events are told once the renewal's lock is released, a moment after its token is stored.
    wait_for(lambda: auth.token is not first and len(recorder.of("renewal")) == 2)
    assert [e.outcome for e in recorder.of("renewal")] == ["failed", "ok"]
    assert auth.stats.background_renewals == 1
    clock.advance(3601)
    fake_resharmonics.fail_token_requests("invalid_client")
    with pytest.raises(TokenRequestError):
        auth.valid_token()
    stats = auth.stats
    assert (stats.background_renewals, stats.inline_renewals) == (1, 0)
    auth.valid_token()
    stats = auth.stats
    assert (stats.background_renewals, stats.inline_renewals) == (1, 1)
    assert (stats.requests_ok, stats.requests_refused, stats.requests_failed) == (3, 2, 0)
    assert [e.outcome for e in recorder.of("renewal")] == ["failed", "ok", "failed", "ok"]
