"""A rate-limited export stays within its halved limit, 429s reach it, and cancel() is prompt
whatever a page waits for: a token renewal that hangs, a Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from requests_resharmonics import ExportCancelled, PageHTTPError
from requests_resharmonics._export.pacing import THROTTLED_ATTEMPTS
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, good_page, paged_server

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]
SIZE = 10
TOTAL = 40 * SIZE
#: cancel() returns within about a second; this leaves room for a loaded machine.
PROMPTLY = 2.0
#: How long the first pages asked again after the 429s are held at the server: long enough
#: for the others, were they let go at once, to arrive meanwhile (they take milliseconds).
HOLD = 1.0


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("resharmonics-page")]


def test_pages_asked_again_after_429s_go_out_within_the_halved_limit(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    lock = threading.Lock()
    attempts: dict[int, int] = {}
    eight_at_once = threading.Barrier(8)
    held: list[int] = []  # the first retries, held together at the server
    four_held = threading.Event()
    released = threading.Event()
    arrived_while_held: list[int] = []

    def hold() -> None:
        four_held.wait(10)
        released.wait(HOLD)  # long enough for a fifth retry to arrive, were it let go
        released.set()

    def answer(asked: Asked) -> Reply:
        retry, mine = False, False
        with lock:
            attempt = attempts[asked.page] = attempts.get(asked.page, 0) + 1
            retry = 1 <= asked.page <= 8 and attempt == 2
            if retry and len(held) < 4:
                held.append(asked.page)
                mine = True
                if len(held) == 4:
                    four_held.set()
            elif retry and not released.is_set():
                arrived_while_held.append(asked.page)
        if 1 <= asked.page <= 8 and attempt == 1:
            eight_at_once.wait(10)  # all eight in flight, then all answered 429 together
            return Reply({"message": "Too Many Requests"}, 429, extra_headers={"Retry-After": "0"})
        reply = good_page(asked, TOTAL)
        if mine:
            reply.before = hold
        return reply

    server = paged_server(answer)
    session = fake_resharmonics.session(retries=0)
    rows = session.paginate(server.url, page_size=SIZE, concurrency=8)
    assert [row["id"] for row in rows] == list(range(TOTAL))

    first = {asked.page: asked for asked in reversed(server.asked)}
    assert max(first[page].in_flight for page in range(1, 9)) == 8  # eight at once before
    # The eight 429s came to pages sent together: one signal, which halved the limit once,
    # to four. Four pages asked again were in flight together (not one at a time), and no
    # fifth followed while they were held. Before, all eight came back at once.
    assert four_held.is_set()
    assert arrived_while_held == []


def test_the_sessions_own_retries_leave_429s_to_the_export(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def always_throttled(asked: Asked) -> Reply:
        if asked.page == 1:
            return Reply({"message": "Too Many Requests"}, 429, extra_headers={"Retry-After": "0"})
        return good_page(asked, TOTAL)

    server = paged_server(always_throttled)
    session = fake_resharmonics.session()  # retries=3: urllib3 would retry each 429 three times
    with pytest.raises(PageHTTPError) as raised:
        list(session.paginate(server.url, page_size=SIZE))
    assert raised.value.status_code == 429
    assert raised.value.retryable is True
    # Each attempt the export counted was one request: none was slept out inside urllib3.
    assert server.pages_asked().count(1) == THROTTLED_ATTEMPTS


def test_cancel_returns_at_once_while_a_page_waits_for_a_token_renewal_that_hangs(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_resharmonics
    fake.hang_seconds = 4.0  # well below the token request's own timeout (30 s)
    fake.fail_token_requests("hang")
    asked_for_token = threading.Event()
    answer = fake.tokens.answer

    def noted(incoming: Any) -> Any:
        asked_for_token.set()
        return answer(incoming)

    monkeypatch.setattr(fake.tokens, "answer", noted)
    rows = fake.session().paginate("/api/v3/units", page_size=5, concurrency=2)
    outcome: list[Any] = []

    def consume() -> None:
        try:
            outcome.extend(rows)
        except ExportCancelled as error:
            outcome.append(error)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert asked_for_token.wait(10)  # the first page's token request is hanging now
    started = time.monotonic()
    rows.cancel()
    assert time.monotonic() - started < PROMPTLY
    consumer.join(PROMPTLY)
    assert not consumer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ExportCancelled)
    assert "cancelled after 0 rows" in str(outcome[0])
    # The thread that waits for the token ends on its own once it has one, sending nothing.
    for thread in page_threads():
        thread.join(fake.hang_seconds + 10)
    assert page_threads() == []
    assert not [r for r in fake.requests if r.path == "/api/v3/units"]


def test_cancel_ends_the_wait_for_a_retry_after_of_the_exports_own(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def throttled_from_page_1(asked: Asked) -> Reply:
        if asked.page >= 1:
            return Reply({"message": "Too Many Requests"}, 429, extra_headers={"Retry-After": "50"})
        return good_page(asked, TOTAL)

    server = paged_server(throttled_from_page_1)
    rows = fake_resharmonics.session(retries=0).paginate(server.url, page_size=SIZE)
    assert next(rows)["id"] == 0
    server.wait_for(lambda s: 1 in s.finished)  # page 1's 429 came: the export waits 50 s
    started = time.monotonic()
    rows.cancel()
    assert time.monotonic() - started < PROMPTLY
    assert page_threads() == []
    with pytest.raises(ExportCancelled):
        next(rows)
