"""Renewal off the request path: stale-while-revalidate, failures, threads, exit and fork."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time

import pytest

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics._tokens import process
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock
from .test_concurrency import THREADS, together


def wait_for(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def renewing(key: str) -> bool:
    """Return whether a background renewal of ``key`` is queued, running or due to retry."""
    return process.current().renewals.is_running(key)


def due_auth(fake: FakeResharmonics, clock: FakeClock, **kwargs: object) -> ResharmonicsAuth:
    """An auth object holding a token that is now due for renewal but still valid."""
    auth = fake.auth(**kwargs)
    auth._manager.clock = clock
    auth.valid_token()
    clock.advance(3600 - 30)  # inside the last minute, 30 s before expiry
    return auth


@pytest.mark.fake_resharmonics(token_delay=1.0)
def test_old_token_is_used_during_a_slow_renewal(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = due_auth(fake_resharmonics, clock)
    old = auth.token
    started = time.monotonic()
    for _ in range(20):
        assert auth.valid_token() is old
    assert time.monotonic() - started < 0.5, "no call waits for the token endpoint"
    wait_for(lambda: auth.token is not old)
    assert fake_resharmonics.token_requests == 2
    assert auth.valid_token() is auth.token


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_many_threads_cause_one_background_renewal(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = due_auth(fake_resharmonics, clock)
    old = auth.token
    tokens = together(THREADS, lambda: id(auth.valid_token()))
    assert set(tokens) == {id(old)}
    wait_for(lambda: auth.token is not old)
    assert fake_resharmonics.token_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.3)
def test_one_renewal_per_key_across_auth_objects(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    first = due_auth(fake_resharmonics, clock)
    second = fake_resharmonics.auth()
    second._manager.clock = clock
    assert second.valid_token() == first.token  # from the shared memory cache: also due
    first.valid_token()
    second.valid_token()
    assert renewing(first._manager.key)
    wait_for(lambda: not renewing(first._manager.key))
    assert fake_resharmonics.token_requests == 2


def test_a_failed_renewal_fails_no_call_and_is_retried(
    fake_resharmonics: FakeResharmonics, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    auth = due_auth(fake_resharmonics, clock, token_retries=0)
    auth._manager.background_retry_delay = 0.05
    old = auth.token
    fake_resharmonics.fail_token_requests("503", "invalid_client")
    for _ in range(50):
        assert auth.valid_token() is old
    wait_for(lambda: auth.token is not old)
    failures = [
        r for r in caplog.records if getattr(r, "resharmonics_event", "") == "renewal-failed"
    ]
    assert len(failures) == 2
    assert fake_resharmonics.client_secret not in caplog.text
    assert fake_resharmonics.token_requests == 4


def test_an_expired_token_is_renewed_inline(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake_resharmonics.auth()
    auth._manager.clock = clock
    old = auth.valid_token()
    clock.advance(3601)
    assert auth.valid_token() is not old
    assert fake_resharmonics.token_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_background_renewal_can_be_turned_off(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = due_auth(fake_resharmonics, clock, background_renewal=False)
    old = auth.token
    started = time.monotonic()
    assert auth.valid_token() is not old
    assert time.monotonic() - started >= 0.5
    assert not renewing(auth.manager.key)


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_a_slow_endpoint_widens_the_renewal_window(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.token_lifetime = 3
    auth = fake_resharmonics.auth()
    token = auth.valid_token()
    assert token.expires_at is not None
    # 5% of 3 s would leave 0.15 s, less than the 0.5 s the endpoint takes to answer.
    margin = token.expires_at - auth._manager._current.renew_at  # type: ignore[union-attr]
    assert margin >= 1.25 * 0.5


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_a_pickled_auth_object_renews_in_the_background(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    import pickle

    auth = due_auth(fake_resharmonics, clock)
    auth._manager.clock = time.time  # the test's clock holds a lock; a user's clock is time.time
    clone = pickle.loads(pickle.dumps(auth))
    clone._manager.clock = clock
    old = clone.token
    started = time.monotonic()
    assert clone.valid_token() == old
    assert time.monotonic() - started < 0.3
    wait_for(lambda: clone.token != old)
    assert fake_resharmonics.token_requests == 2


SCRIPT = """
from requests_resharmonics._tokens import process
from requests_resharmonics.testing import FakeResharmonics
fake = FakeResharmonics().start()
auth = fake.auth()
token = auth.valid_token()
fake.token_delay = 30  # the background renewal will hang on the endpoint
# Due (the last minute before expiry) but still valid to send, whatever the machine's speed.
auth.manager.clock = lambda: token.expires_at - 30
assert auth.valid_token() is token  # served at once; starts a renewal that cannot finish
assert process.current().renewals.is_running(auth.manager.key)
print("exiting", flush=True)
"""


def test_a_running_renewal_does_not_keep_the_interpreter_alive() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exiting" in result.stdout
    assert time.monotonic() - started < 20


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.fake_resharmonics(token_delay=1.0)
def test_a_forked_child_does_not_inherit_a_half_finished_renewal(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = due_auth(fake_resharmonics, clock)
    old = auth.token
    auth.valid_token()
    wait_for(lambda: auth._manager._lock.locked())  # the renewal is at the endpoint
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its lock is free, and it renews by itself
        status = 1
        try:
            assert not auth._manager._lock.locked()
            assert not renewing(auth._manager.key)
            fake_resharmonics.token_delay = 0
            renewed = auth._manager.fetch_token()
            os.write(writer, b"ok" if renewed is not old else b"same")
            status = 0
        finally:
            os._exit(status)
    os.close(writer)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(reader, "rb") as pipe:
        answer = pipe.read()
    assert os.WEXITSTATUS(status) == 0
    assert answer == b"ok"
    wait_for(lambda: auth.token is not old)  # the parent's renewal finished as usual
