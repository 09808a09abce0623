"""Fault injection: the service misbehaving ends in success or one clear exception, in time,
leaving no thread or socket behind."""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth, TokenRequestError
from requests_resharmonics.testing import FakeResharmonics

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")


def client_sockets(server_port: int) -> int:
    """Count this process's TCP sockets connected to the fake server (its clients' ends).

    Only those: a background renewal left over from another test, retrying against its own
    stopped server, may open and close sockets at any moment.
    """
    inodes = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if fields[9] in inodes and remote_port == server_port:
                        count += 1
        except OSError:
            continue
    return count


@pytest.fixture(autouse=True)
def _quiet_urllib3(caplog: pytest.LogCaptureFixture) -> None:
    # urllib3 logs each retry with the exception as an argument; pytest keeps the record,
    # and with it the failed connection, which would be counted as a leaked socket.
    caplog.set_level(logging.ERROR, logger="urllib3")


def library_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.name.startswith("fake-resharmonics")}


@contextmanager
def no_leaks(fake: FakeResharmonics, within: float) -> Iterator[None]:
    """Check the block takes at most ``within`` seconds and leaves no thread or socket."""
    threads, sockets = library_threads(), client_sockets(fake.port)
    started = time.monotonic()
    yield
    assert time.monotonic() - started <= within
    # A thread of the library may still be on its way out: the deadline's watchdog ends by
    # itself after cutting the last attempt, a moment after its caller is told. Wait for the
    # threads to end (a leaked one never does) rather than catch one in its last instant.
    ended_by = time.monotonic() + 10
    while library_threads() - threads and time.monotonic() < ended_by:
        time.sleep(0.01)
    assert library_threads() - threads == set()
    # After a reset and a retry, urllib3's retry history keeps the reset connection in a
    # reference cycle (exception, traceback, frame) until the collector runs.
    gc.collect()
    assert client_sockets(fake.port) <= sockets


def call(fake: FakeResharmonics, auth: ResharmonicsAuth) -> requests.Response:
    with requests.Session() as session:
        return session.get(fake.base_url + "/api/v3/units", auth=auth, timeout=5)


def outcome(action: Callable[[], requests.Response]) -> object:
    try:
        return action().status_code
    except requests.RequestException as error:
        return type(error)


def test_token_endpoint_refusing_connections(fake_resharmonics: FakeResharmonics) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = ResharmonicsAuth("id", "secret", f"http://127.0.0.1:{port}/t", timeout=1)
    with no_leaks(fake_resharmonics, within=5):
        assert outcome(lambda: call(fake_resharmonics, auth)) is TokenRequestError
        auth.close()


def test_token_endpoint_answering_after_the_timeout(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.hang_seconds = 30
    fake_resharmonics.fail_token_requests("hang", "hang", "hang")
    auth = fake_resharmonics.auth(timeout=0.5, token_retries=2)
    # Three attempts of 0.5 s and their back-off (1.5 s at most) take about 2.5 s. The bound is
    # three times the most they should take, room for a loaded machine (it was 4 s, 1.6 times
    # what they take), and still far short of a single 30-s hang.
    with no_leaks(fake_resharmonics, within=3 * (0.5 * 3 + 1.5)):
        with pytest.raises(TokenRequestError, match=r"timed out: 3 attempts of up to 0\.5 s each"):
            call(fake_resharmonics, auth)
        auth.close()


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (["reset"], 200),
        (["reset", "reset", "reset"], TokenRequestError),
        (["cut-off"], TokenRequestError),
        (["503", "503"], 200),
        (["503"] * 5, TokenRequestError),
        (["429"], 200),
    ],
)
def test_token_endpoint_faults(
    fake_resharmonics: FakeResharmonics, faults: list[str], expected: object
) -> None:
    fake_resharmonics.fail_token_requests(*faults)
    auth = fake_resharmonics.auth(timeout=2, token_retries=2)
    with no_leaks(fake_resharmonics, within=8):
        assert outcome(lambda: call(fake_resharmonics, auth)) == expected
        auth.close()
    fake_resharmonics.fail_token_requests()  # nothing left queued for the next test
    assert auth.valid_token().access_token in fake_resharmonics.issued_tokens


# urllib3 holds a body to its Content-Length: a cut-off answer raises, and requests turns
# that into ChunkedEncodingError.
CUT_OFF = requests.exceptions.ChunkedEncodingError


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("reset", requests.ConnectionError),
        ("cut-off", CUT_OFF),
        ("503", 503),
    ],
)
def test_api_failing_during_a_replay_with_a_plain_session(
    fake_resharmonics: FakeResharmonics, fault: str, expected: object
) -> None:
    auth = fake_resharmonics.auth()
    call(fake_resharmonics, auth)
    fake_resharmonics.expire_all_tokens()
    fake_resharmonics.fail_api_requests("pass", fault)  # the 401 passes, the replay fails
    with no_leaks(fake_resharmonics, within=5):
        assert outcome(lambda: call(fake_resharmonics, auth)) == expected
        auth.close()
    assert fake_resharmonics.token_requests == 2


@pytest.mark.parametrize("fault", ["reset", "503"])
def test_api_failing_during_a_replay_is_retried_by_the_session(
    fake_resharmonics: FakeResharmonics, fault: str
) -> None:
    session = fake_resharmonics.session()
    session.get("/api/v3/units")
    fake_resharmonics.expire_all_tokens()
    fake_resharmonics.fail_api_requests("pass", fault)
    with no_leaks(fake_resharmonics, within=5):
        response = session.get("/api/v3/units")
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [401]
        session.close()
