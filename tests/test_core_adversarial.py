"""Hostile servers, overloaded machines and careless users against the replay core.

Each test plays one way the promise "no expiry 401 reaches a caller, one token request per
renewal, the token goes nowhere else" can be attacked, against real servers on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import logging
import pickle
import socket
import struct
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from requests_resharmonics._replay import verdict
from requests_resharmonics._tokens import manager as renewal
from requests_resharmonics._tokens import pauses
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import StartHost, add_echo

EXPIRED = {"message": "The incoming token has expired"}
UNAUTHORIZED = {"message": "Unauthorized"}


class SteppedMonotonic:
    """``time`` for the renewal module, with a ``monotonic`` that stands still until the
    test moves it: the pause after rejected replacements is measured on it."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.offset = 0.0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        shim = types.SimpleNamespace(
            **{n: getattr(time, n) for n in dir(time) if not n.startswith("__")}
        )
        shim.monotonic = lambda: self.start + self.offset
        monkeypatch.setattr(renewal, "time", shim)
        monkeypatch.setattr(pauses, "time", shim)


def test_a_burst_rejecting_one_replacement_pauses_renewals_once_not_once_per_call(
    fake_resharmonics: FakeResharmonics, other_host: StartHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """16 calls meet the expiry 401 together; the one replacement they share is rejected
    too (a gateway that has not seen it yet). That is one rejected replacement: renewals
    pause for the first pause (1 s), not for 2**15 s capped at five minutes."""
    clock = SteppedMonotonic()
    clock.install(monkeypatch)
    threads = 16
    arrived = threading.Barrier(threads, timeout=30)

    def api(incoming: Incoming) -> Answer:
        token = incoming.headers.get("authorization", "").removeprefix("Bearer ")
        tokens = fake_resharmonics.issued_tokens
        if token == tokens[0]:
            arrived.wait()  # every call is under way with the first token: a true burst
            return Answer(401, EXPIRED)
        if len(tokens) > 1 and token == tokens[1]:
            return Answer(401, EXPIRED)  # the first replacement: not accepted (yet)
        return Answer(200, {"ok": True})

    server = other_host(api)
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    auth = fake_resharmonics.auth()
    auth.valid_token()
    statuses: list[int] = []

    def call() -> None:
        statuses.append(requests.get(url, auth=auth, timeout=30).status_code)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert statuses == [401] * threads  # the replacement was rejected: a pause, no more tokens
    assert fake_resharmonics.token_requests == 2
    clock.offset += 2.5  # past a pause of 1 s (or 2 s), far short of five minutes
    assert requests.get(url, auth=auth, timeout=30).status_code == 200
    assert fake_resharmonics.token_requests == 3


def test_an_auth_object_per_call_buys_no_token_per_refused_call(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    """A careless user builds the auth object in each request handler, and the API refuses
    every token of this client with ``401 Unauthorized`` ("missing or invalid token": a
    token URL of the other environment, a client the API does not know). The process-wide
    memory cache hands each new object the token the first one fetched; each object then
    drops it as "revoked since" and buys another, so every call costs a billed token
    request, without end. The token was fetched in this very process a moment ago, and
    the last replacement was refused just the same: nothing suggests a revocation."""

    def api(incoming: Incoming) -> Answer:
        return Answer(401, UNAUTHORIZED)  # whatever the token

    server = other_host(api)
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    fake_resharmonics.auth().valid_token()
    for _ in range(5):
        assert requests.get(url, auth=fake_resharmonics.auth(), timeout=30).status_code == 401
    # One replacement, the first auth object's token being one from the cache that may have
    # been revoked; it is refused too, and renewals of this client pause for the process.
    assert fake_resharmonics.token_requests <= 2


def test_a_server_rejecting_every_token_costs_a_bounded_number_of_token_requests(
    fake_resharmonics: FakeResharmonics, other_host: StartHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every call, every replay: the expiry 401 (a gateway whose clock is off). 32 threads
    making 4 calls each must neither loop nor buy a token per call (the clock of the
    pause stands still: no pause ends during the test)."""
    SteppedMonotonic().install(monkeypatch)

    def api(incoming: Incoming) -> Answer:
        return Answer(401, EXPIRED)

    server = other_host(api)
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    auth = fake_resharmonics.auth()
    # Warm: from a cold start, calls that start with the first replacement before any
    # replay has come back each renew once more (2 to 4 token requests seen).
    auth.valid_token()
    session = requests.Session()
    statuses: list[int] = []

    def calls() -> None:
        for _ in range(4):
            statuses.append(session.get(url, auth=auth, timeout=30).status_code)

    workers = [threading.Thread(target=calls) for _ in range(32)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    session.close()
    assert statuses == [401] * 128
    # The first token, and one renewal whose replacement is rejected: then a pause. On a
    # loaded machine a call may start with the replacement before any replay with it has
    # come back, and renew it once more before the pause begins: a few, never one a call.
    assert fake_resharmonics.token_requests <= 4
    assert len(server.seen) <= 128 * 2


def test_alternating_unauthorized_and_expiry_answers_do_not_loop(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    """A gateway alternating ``401 Unauthorized`` and the expiry 401, whatever the token."""
    answers = iter([UNAUTHORIZED, EXPIRED] * 500)
    lock = threading.Lock()

    def api(incoming: Incoming) -> Answer:
        with lock:
            return Answer(401, next(answers))

    server = other_host(api)
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    auth = fake_resharmonics.auth()
    for _ in range(10):
        assert requests.get(url, auth=auth, timeout=30).status_code == 401
    assert fake_resharmonics.token_requests <= 2
    assert len(server.seen) <= 20


def contains(data: bytes, secret: bytes) -> bool:
    """Whether ``secret`` is in ``data`` (a function, so that a failure does not print it)."""
    return secret in data


RawAnswer = Callable[[socket.socket, threading.Event], None]
MESSAGE = json.dumps(EXPIRED).encode()
CHUNKED_MESSAGE = b"%x\r\n%s\r\n" % (len(MESSAGE), MESSAGE)  # one chunk, no last chunk


def first_then_ok(first: RawAnswer) -> tuple[RawAnswer, list[int]]:
    """Answer the first connection with ``first``, every later one with a small 200."""
    served: list[int] = []
    lock = threading.Lock()

    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        with lock:
            served.append(len(served))
            number = served[-1]
        if number == 0:
            first(connection, stopping)
            return
        connection.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}"
        )

    return answer, served


def call_in_thread(call: Callable[[], requests.Response]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:  # reported by the test
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_the_time_bound_holds_for_a_401_sent_with_connection_close(
    fake_resharmonics: FakeResharmonics, raw_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The expiry message in a chunk, then a server that never ends the chunked body, on a
    connection it said it would close. urllib3 hands such a connection's socket to the
    response (``response.raw.connection.sock`` is None), so no socket read is bounded:
    without a read timeout the call waits for as long as the server likes."""
    monkeypatch.setattr(verdict, "MAX_401_SECONDS", 0.5)

    def stall(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED_MESSAGE
        )
        stopping.wait(60)  # until the test ends

    answer, served = first_then_ok(stall)
    server = raw_server(answer)
    auth = fake_resharmonics.auth()
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    thread, outcome = call_in_thread(lambda: requests.get(url, auth=auth))  # no timeout
    thread.join(15)  # thirty times the bound
    assert not thread.is_alive(), "the 401's body is read past its time bound"
    response = outcome[0]
    assert isinstance(response, requests.Response) and response.status_code == 200
    assert len(served) == 2


def test_a_401_cut_by_a_reset_is_not_handed_over_as_a_complete_answer(
    fake_resharmonics: FakeResharmonics, raw_server: Any
) -> None:
    """Half the expiry message, then a reset. Without the auth object requests raises
    (the body is incomplete); with it the caller gets a 401 whose ``content`` is twenty
    bytes of broken JSON, as if that were the server's whole answer."""

    def cut(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(MESSAGE) + MESSAGE[:20]
        )
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    answer, served = first_then_ok(cut)
    server = raw_server(answer)
    auth = fake_resharmonics.auth()
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    with pytest.raises(requests.RequestException):
        requests.get(url, timeout=30)  # what requests alone does with this answer
    served.clear()
    try:
        response = requests.get(url, auth=auth, timeout=30)
    except requests.RequestException:
        return  # an error, as without the auth object: fine
    # Or a replay: fine too. A truncated body passed off as complete is not.
    assert response.status_code == 200, (response.status_code, response.content)


def test_an_ordinary_401_in_an_unknown_encoding_keeps_its_body(
    fake_resharmonics: FakeResharmonics, raw_server: Any
) -> None:
    """A 401 the reader cannot decode (a stacked or unknown ``Content-Encoding``) is still
    the server's answer: the caller gets its bytes as requests would give them, not
    nothing (urllib3 1.26 reads the bounded body undecoded, then drops what it cannot
    decode)."""
    body = b"denied: ask your administrator"

    def odd(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n"
            b"Content-Encoding: x-custom\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )

    server = raw_server(odd)
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    plain = requests.get(url, timeout=30)
    response = requests.get(url, auth=fake_resharmonics.auth(), timeout=30)
    assert response.status_code == 401
    assert response.content == plain.content == body


@pytest.mark.parametrize("redirected_after_replay", [True, False])
def test_a_redirected_call_leaves_no_token_in_a_requests_cache_file(
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    tmp_path: Path,
    redirected_after_replay: bool,
) -> None:
    """requests-cache stores ``history`` with its requests, and requests puts the request
    a redirect answered into ``history``: with the live token in its headers, unless the
    auth object takes it out as it does from a rejected call."""
    requests_cache = pytest.importorskip("requests_cache")
    rejected: list[str] = []

    def api(incoming: Incoming) -> Answer:
        token = incoming.headers.get("authorization", "")
        if redirected_after_replay and not rejected:
            rejected.append(token)
        if rejected and token == rejected[0]:
            return Answer(401, EXPIRED)
        if incoming.path == "/start":
            return Answer(302, b"", {"Location": "/final"})
        return Answer(200, {"ok": True})

    server = other_host(api)
    database = tmp_path / "http_cache.sqlite"
    session = requests_cache.CachedSession(str(database), backend="sqlite")
    auth = fake_resharmonics.auth()
    response = session.get(f"http://127.0.0.1:{server.port}/start", auth=auth)
    assert response.status_code == 200
    session.close()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("http_cache.sqlite*"))
    assert fake_resharmonics.issued_tokens
    for number, token in enumerate(fake_resharmonics.issued_tokens):
        assert not contains(stored, token.encode()), f"token #{number} is in the sqlite file"


def run_threads(count: int, call: Callable[[], int]) -> list[int]:
    """``count`` threads make one call each, released together; their statuses."""
    barrier = threading.Barrier(count, timeout=30)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        status = call()
        with lock:
            statuses.append(status)

    with ThreadPoolExecutor(max_workers=count) as pool:
        for future in [pool.submit(worker) for _ in range(count)]:
            future.result(timeout=60)
    return statuses


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_a_revoked_shared_token_under_32_threads_costs_one_token_and_no_401(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, kind: str
) -> None:
    """Another auth object (another process, for the file cache) fetched the token and it
    was revoked since: the API answers ``401 Unauthorized``. 32 threads on one plain
    session meet it at once: each call succeeds, one token request replaces it."""
    if kind == "file":
        pytest.importorskip("filelock", reason="install the 'file' extra")
        from requests_resharmonics.cache.file import FileTokenCache

        def cache() -> Any:
            return FileTokenCache(tmp_path / "tokens.json")

    else:
        from requests_resharmonics.cache.base import MemoryTokenCache

        def cache() -> Any:
            return MemoryTokenCache()

    token = fake_resharmonics.auth(cache=cache()).valid_token()
    fake_resharmonics.revoke(token.access_token)
    reader = fake_resharmonics.auth(cache=cache())
    session = requests.Session()
    url = fake_resharmonics.base_url + "/api/v3/units"
    try:
        statuses = run_threads(32, lambda: session.get(url, auth=reader, timeout=30).status_code)
    finally:
        session.close()
    assert statuses == [200] * 32
    assert fake_resharmonics.token_requests == 2


def test_64_threads_over_4_connections_through_repeated_revocations(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """The token in use is revoked (expiry 401) as soon as calls have been answered with
    it, five times, while 64 threads share a session of 4 connections."""
    fake_resharmonics.token_delay = 0.05
    session = fake_resharmonics.session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, HTTPAdapter(pool_maxsize=4))
    revocations = 5
    answered: list[int] = []
    changed = threading.Condition()
    revoked: list[str | None] = []

    def call() -> int:
        status: int = session.get("/api/v3/units", timeout=30).status_code
        with changed:
            answered.append(status)
            changed.notify_all()
        return status

    def answered_at_least(count: int) -> Callable[[], bool]:
        return lambda: len(answered) >= count

    def issued_more_than(count: int) -> Callable[[], bool]:
        return lambda: len(fake_resharmonics.issued_tokens) > count

    def revoke() -> None:
        for number in range(revocations):
            with changed:
                assert changed.wait_for(issued_more_than(number), 30)
                # At most 64 calls were under way when it was issued: the 65th answered
                # since was sent with it, so it is in use (and has been accepted).
                assert changed.wait_for(answered_at_least(len(answered) + 65), 30)
            revoked.append(fake_resharmonics.expire_newest_token())

    revoker = threading.Thread(target=revoke)
    revoker.start()
    try:
        statuses = [s for _ in range(6) for s in run_threads(64, call)]
    finally:
        revoker.join(30)
        session.close()
    assert statuses == [200] * 384
    assert len(revoked) == revocations and None not in revoked
    assert fake_resharmonics.token_requests == revocations + 1


def test_a_redirect_to_another_host_after_a_replay_never_carries_a_token(
    fake_resharmonics: FakeResharmonics, other_host: StartHost
) -> None:
    """Replayed after the expiry 401, the call is redirected to another host: neither the
    rejected token nor its replacement may go there, even when that host answers with the
    expiry 401 itself."""
    elsewhere = other_host(lambda incoming: Answer(401, EXPIRED))
    rejected: list[str] = []

    def api(incoming: Incoming) -> Answer:
        token = incoming.headers.get("authorization", "")
        if not rejected:
            rejected.append(token)
        if token == rejected[0]:
            return Answer(401, EXPIRED)
        return Answer(307, b"", {"Location": f"http://localhost:{elsewhere.port}/steal"})

    server = other_host(api)
    auth = fake_resharmonics.auth()
    response = requests.post(
        f"http://127.0.0.1:{server.port}/api/v3/units", data=b"payload", auth=auth, timeout=30
    )
    assert response.status_code == 401
    assert [incoming.path for incoming in elsewhere.seen] == ["/steal"]
    assert "authorization" not in elsewhere.seen[0].headers
    assert fake_resharmonics.token_requests == 2  # no renewal for the other host's 401


@pytest.mark.parametrize("refusal", ["expired", "revoked-shared"])
def test_a_file_body_arrives_whole_on_every_replay_path(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, refusal: str
) -> None:
    url = add_echo(fake_resharmonics)
    payload = b"x" * 100_000 + b"end"
    path = tmp_path / "body.bin"
    path.write_bytes(payload)
    if refusal == "expired":
        auth = fake_resharmonics.auth()
        auth.valid_token()
        fake_resharmonics.expire_all_tokens()
    else:
        from requests_resharmonics.cache.base import MemoryTokenCache

        token = fake_resharmonics.auth(cache=MemoryTokenCache()).valid_token()
        fake_resharmonics.revoke(token.access_token)
        auth = fake_resharmonics.auth(cache=MemoryTokenCache())
    with path.open("rb") as body:
        response = requests.post(url, data=body, auth=auth, timeout=30)
    assert response.status_code == 200
    assert len(response.history) == 1
    assert response.json()["body"] == payload.decode()


def test_no_token_in_any_log_record_or_repr_through_replays(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    session = fake_resharmonics.session()
    assert session.get("/api/v3/units").status_code == 200
    for _ in range(3):
        fake_resharmonics.expire_all_tokens()
        response = session.get("/api/v3/units")
        assert response.status_code == 200 and len(response.history) == 1
        shown = repr(response.history) + repr(response.history[0].request.__dict__)
        shown += repr(session) + repr(session.auth) + repr(response.request.hooks)
        for token in fake_resharmonics.issued_tokens:
            assert token not in shown
    assert len(fake_resharmonics.issued_tokens) == 4
    records = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    assert records
    for token in fake_resharmonics.issued_tokens:
        assert token not in records
        assert token[-16:] not in records
    assert fake_resharmonics.client_secret not in records


def test_a_session_pickles_after_replays_and_keeps_working(
    fake_resharmonics: FakeResharmonics,
) -> None:
    SAVED.clear()
    session = fake_resharmonics.session(token_updater=save_token)
    assert session.get("/api/v3/units").status_code == 200
    fake_resharmonics.expire_all_tokens()
    assert session.get("/api/v3/units").status_code == 200
    dumped = pickle.dumps(session)
    for token in fake_resharmonics.issued_tokens[:-1]:  # a rejected token is not kept
        assert token.encode() not in dumped
    copy = pickle.loads(dumped)
    fake_resharmonics.expire_all_tokens()
    assert copy.get("/api/v3/units").status_code == 200
    assert session.get("/api/v3/units").status_code == 200
    # The copy renews; the original finds its token rejected and renews too (they share
    # the process's memory cache, which the copy's renewal has updated: no third request).
    assert len(fake_resharmonics.issued_tokens) == 3
    assert len(SAVED) >= 2
    session.close()
    copy.close()


SAVED: list[dict[str, object]] = []


def save_token(token: dict[str, object]) -> None:
    """A module-level token_updater, as README shows: it pickles by name."""
    SAVED.append(token)


def test_a_pause_does_not_cross_a_pickle_as_a_moment_of_another_clock(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """Renewals after a rejection pause until a ``time.monotonic()`` moment of this process.
    A session pickled to another machine (a worker of a cluster) would carry that moment,
    where the monotonic clock counts from another boot: there the pause might last days.
    The pause stays in the process that measured it; another process starts unpaused."""
    auth = fake_resharmonics.auth()
    token = auth.valid_token()
    assert auth.manager.replacement_rejected(token) is None  # never accepted: a pause
    assert auth.manager.backing_off
    script = (
        "import pickle, sys\n"
        "auth = pickle.loads(sys.stdin.buffer.read())\n"
        "print(auth.manager.backing_off)\n"
    )
    worker = subprocess.run(
        [sys.executable, "-c", script],
        input=pickle.dumps(auth),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr.decode()
    assert worker.stdout.decode().split() == ["False"]


def test_a_pickled_response_carries_neither_the_secret_nor_a_live_token_in_its_hooks(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """Responses pickle with their request, and a request with its hooks: the auth object's
    response hook is a bound method, so a pickled response (a ProcessPoolExecutor's or a
    Celery task's result, a joblib or diskcache entry) holds the auth object whole, client
    secret and current token included. The rejected call in ``history``, stripped of its
    header, still holds the live replacement that way."""
    auth = fake_resharmonics.auth()
    auth.valid_token()
    fake_resharmonics.expire_all_tokens()
    response = requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth, timeout=30)
    assert response.status_code == 200 and len(response.history) == 1
    live = fake_resharmonics.issued_tokens[-1].encode()
    secret = fake_resharmonics.client_secret.encode()
    rejected_call = pickle.dumps(response.history[0])
    assert not contains(rejected_call, live), "the live token travels with the rejected call"
    assert not contains(rejected_call, secret), "the secret travels with the rejected call"
    assert not contains(pickle.dumps(response), secret), "the secret travels with the response"


def test_a_head_request_meeting_a_revoked_token_is_replayed(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """A 401 to a HEAD has no body, so the expiry message cannot be read from it (the API
    Gateway's REST APIs send no ``WWW-Authenticate``). The token is not renewed: every
    HEAD call (an existence check) gets the 401 until a GET happens to meet the expiry
    or the token would have expired."""
    auth = fake_resharmonics.auth()
    url = fake_resharmonics.base_url + "/api/v3/units"
    assert requests.head(url, auth=auth, timeout=30).status_code == 200
    fake_resharmonics.expire_all_tokens()
    statuses = [requests.head(url, auth=auth, timeout=30).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert fake_resharmonics.token_requests == 2


def trickled(framing: str) -> RawAnswer:
    """The expiry message a few bytes at a time, in the given framing."""
    encoded = gzip.compress(MESSAGE) if "gzip" in framing else MESSAGE
    head = b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n"
    if "gzip" in framing:
        head += b"Content-Encoding: gzip\r\n"
    chunked = "chunked" in framing

    def answer(connection: socket.socket, stopping: threading.Event) -> None:
        framed = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(encoded)
        connection.sendall(head + framed + b"\r\n\r\n")
        for start in range(0, len(encoded), 3):
            piece = encoded[start : start + 3]
            connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            stopping.wait(0.005)  # pacing of the hostile server, not synchronisation
        if chunked:
            connection.sendall(b"0\r\n\r\n")

    return answer


@pytest.mark.parametrize("framing", ["length", "chunked", "gzip-length", "gzip-chunked"])
def test_a_trickled_expiry_message_is_read_and_replayed(
    fake_resharmonics: FakeResharmonics, raw_server: Any, framing: str
) -> None:
    answer, served = first_then_ok(trickled(framing))
    server = raw_server(answer)
    assert served == []
    auth = fake_resharmonics.auth()
    auth.valid_token()
    response = requests.get(f"http://127.0.0.1:{server.port}/x", auth=auth, timeout=30)
    assert (response.status_code, len(response.history)) == (200, 1)
    assert fake_resharmonics.token_requests == 2
    assert served == [0, 1]  # the trickled 401, the replay


def test_an_endless_401_is_cut_at_its_bound_and_buys_no_token(
    fake_resharmonics: FakeResharmonics, raw_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verdict, "MAX_401_SECONDS", 0.5)

    def endless(connection: socket.socket, stopping: threading.Event) -> None:
        connection.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        while not stopping.is_set():
            connection.sendall(b"400\r\n" + b" " * 1024 + b"\r\n")

    server = raw_server(endless)
    auth = fake_resharmonics.auth()
    auth.valid_token()
    response = requests.get(f"http://127.0.0.1:{server.port}/x", auth=auth, timeout=30)
    assert response.status_code == 401 and len(response.content) <= 64 * 1024 + 1
    assert fake_resharmonics.token_requests == 1
