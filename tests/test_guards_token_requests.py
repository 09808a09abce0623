"""Guards of token requests: the per-attempt deadline's watchdog, and the shared sessions.

Each test here was seen to fail with one plausible one-line bug in the code it names (see
the docstrings), and to pass without it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable

import pytest

from requests_resharmonics import ResharmonicsAuth, TokenRequestError
from requests_resharmonics.testing import FakeResharmonics

from .conftest import RawServer

SECRET = "guard-secret-0123456789"


def trickled_token(arrived: threading.Event) -> Callable[[socket.socket, threading.Event], None]:
    """A token endpoint that answers one byte every 0.2 s (a minute for the whole answer):
    no single read waits long enough for a socket timeout, only a deadline can end it."""

    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        arrived.set()
        body = json.dumps({"access_token": "abc", "token_type": "Bearer", "expires_in": 3600})
        reply = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        ).encode()
        for byte in reply:
            if stopping.wait(0.2):
                return
            connection.sendall(bytes([byte]))

    return answer


def token_url(server: RawServer) -> str:
    return f"http://127.0.0.1:{server.port}/oauth2/token"


def test_a_short_deadline_armed_behind_a_long_one_still_ends_its_attempt() -> None:
    """A token request with a 30-s deadline is under way (the watchdog sleeps until it is
    due) when another with a 1-s deadline starts: the watchdog wakes for the earlier one
    and ends that attempt after about a second, not thirty.

    Mutant caught: the deadlines' ``Watchdog.arm`` does not wake the watchdog for a deadline
    earlier than every other (``self.condition.notify_all()`` -> ``pass``).
    """
    long_arrived, short_arrived = threading.Event(), threading.Event()
    slow = RawServer(trickled_token(long_arrived))
    fast = RawServer(trickled_token(short_arrived))
    patient = ResharmonicsAuth("patient", SECRET, token_url(slow), timeout=30, token_retries=0)
    hasty = ResharmonicsAuth("hasty", SECRET, token_url(fast), timeout=1, token_retries=0)
    outcomes: dict[str, Exception | None] = {}
    took: dict[str, float] = {}

    def fetch(name: str, auth: ResharmonicsAuth) -> None:
        started = time.monotonic()
        try:
            auth.valid_token()
            outcomes[name] = None
        except Exception as error:  # reported by the test, not lost
            outcomes[name] = error
        took[name] = time.monotonic() - started

    waiting = threading.Thread(target=fetch, args=("patient", patient))
    hurried = threading.Thread(target=fetch, args=("hasty", hasty))
    try:
        waiting.start()
        assert long_arrived.wait(10)  # its 30-s deadline is armed: the watchdog waits on it
        hurried.start()
        assert short_arrived.wait(10)
        hurried.join(20)  # far short of the 30-s deadline the watchdog was waiting for
        assert not hurried.is_alive(), "the 1-s attempt outlived its deadline by 20 s"
        error = outcomes["hasty"]
        assert isinstance(error, TokenRequestError)
        assert "timed out after 1 s" in str(error)
        assert took["hasty"] < 20
        assert waiting.is_alive()  # the 30-s attempt goes on
    finally:
        slow.close()
        fast.close()
        waiting.join(30)
        hurried.join(30)
        patient.close()
        hasty.close()
    assert not waiting.is_alive()


@pytest.mark.parametrize(("first_retries", "second_retries"), [(0, 1), (1, 0)])
def test_auth_objects_of_one_token_url_keep_their_own_retries(
    fake_resharmonics: FakeResharmonics, first_retries: int, second_retries: int
) -> None:
    """Two auth objects (two clients) of one token URL, with different ``token_retries``:
    each retries a 503 of the endpoint as many times as it was told, whichever started
    first, although their token requests share connections.

    Mutant caught: the shared token sessions' ``TokenSessions.acquire`` finds a session by
    token URL alone (``shared = self._shared.get(key)`` -> ``shared = next((s for k, s in
    self._shared.items() if k.token_url == token_url), None)``): the second would use the
    first one's retries.
    """
    fake = fake_resharmonics
    auths = []
    for name, retries in (("first", first_retries), ("second", second_retries)):
        client_id, secret = fake.add_client(name)
        auths.append(ResharmonicsAuth(client_id, secret, fake.token_url, token_retries=retries))
    try:
        for auth, retries in zip(auths, (first_retries, second_retries), strict=True):
            before = fake.token_requests
            fake.fail_token_requests("503")
            if retries:
                assert auth.valid_token() is auth.token  # the retry got one
                assert fake.token_requests - before == 2
            else:
                with pytest.raises(TokenRequestError) as raised:
                    auth.valid_token()
                assert raised.value.status_code == 503
                assert fake.token_requests - before == 1
    finally:
        for auth in auths:
            auth.close()
