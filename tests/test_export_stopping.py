"""Leaving an export early is immediate, whatever its pages in flight are doing: an exception
or a break in the loop, close() from another thread, a crash, Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from requests_resharmonics import ExportCancelled, ResharmonicsSession
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, good_page, paged_server
from .test_cli import CLEAN_ENV

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]

#: A stopped export ends well within this; without cutting its connections it would wait out
#: the read timeout of the hanging page (TIMEOUT here, 60 s by default, times the retries).
PROMPTLY = 3.0
TIMEOUT = 10.0


def hangs_from(page: int) -> Callable[[Asked], Reply]:
    def answer(asked: Asked) -> Reply:
        if asked.page >= page:
            return Reply(hang=True)
        return good_page(asked, 1000)

    return answer


def session_for(fake: FakeResharmonics) -> ResharmonicsSession:
    return fake.session(api_timeout=TIMEOUT)


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("resharmonics-page")]


def settled(server: PagedServer) -> None:
    """No thread of the export is left, and the server has no request of it still open."""
    assert page_threads() == []
    server.wait_for(lambda s: s.in_flight == 0, timeout=PROMPTLY)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_exception_in_the_loop_ends_the_export_at_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, concurrency: int
) -> None:
    server = paged_server(hangs_from(1))
    session = session_for(fake_resharmonics)

    def walk() -> None:
        for row in session.paginate(server.url, page_size=100, concurrency=concurrency):
            if row["id"] == 5:
                server.wait_for(lambda s: 1 in s.pages_asked())  # page 1 is hanging
                raise KeyError("the caller failed")

    started = time.monotonic()
    with contextlib.suppress(KeyError):  # the traceback, and with it the export, let go
        walk()
    assert time.monotonic() - started < PROMPTLY
    settled(server)


def test_a_break_ends_the_export_at_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(hangs_from(2))
    session = session_for(fake_resharmonics)
    started = time.monotonic()
    for row in session.paginate(server.url, page_size=100, concurrency=4):
        if row["id"] == 150:
            server.wait_for(lambda s: {2, 3, 4} <= set(s.pages_asked()))
            break
    assert time.monotonic() - started < PROMPTLY
    settled(server)


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("prefetch", [True, False])
def test_close_from_another_thread_stops_an_export_waiting_for_a_page(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    concurrency: int,
    prefetch: bool,
) -> None:
    server = paged_server(hangs_from(1))
    rows = session_for(fake_resharmonics).paginate(
        server.url, page_size=100, concurrency=concurrency, prefetch=prefetch
    )
    outcome: list[Any] = []
    first_page_read = threading.Event()

    def consume() -> None:
        try:
            for row in rows:
                outcome.append(row["id"])
                if row["id"] == 99:
                    first_page_read.set()
        except ExportCancelled as error:
            outcome.append(error)

    consumer = threading.Thread(target=consume)
    consumer.start()
    assert first_page_read.wait(TIMEOUT)
    server.wait_for(lambda s: 1 in s.pages_asked())  # and the consumer waits for it
    started = time.monotonic()
    rows.close()
    consumer.join(PROMPTLY)
    assert time.monotonic() - started < PROMPTLY
    assert not consumer.is_alive()
    error = outcome[-1]
    assert isinstance(error, ExportCancelled)  # never a quiet, partial end
    assert outcome[:-1] == list(range(100))
    assert "cancelled after 100 of 1000 rows" in str(error)
    settled(server)


def test_cancel_ends_a_retry_waiting_out_a_long_retry_after(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def unavailable(asked: Asked) -> Reply:
        if asked.page >= 1:
            retry = {"Retry-After": "50"}
            return Reply({"message": "Service Unavailable"}, 503, extra_headers=retry)
        return good_page(asked, 1000)

    server = paged_server(unavailable)
    rows = fake_resharmonics.session().paginate(server.url, page_size=100, concurrency=2)
    assert next(rows)["id"] == 0
    server.wait_for(lambda s: s.pages_asked().count(1) == 1 and s.in_flight == 0)
    started = time.monotonic()
    rows.cancel()  # the session's own retries are sleeping out Retry-After: 50
    assert time.monotonic() - started < PROMPTLY
    assert page_threads() == []
    with pytest.raises(ExportCancelled):
        next(rows)


SCRIPT = """
import sys
from requests_resharmonics import ResharmonicsSession
session = ResharmonicsSession(api_timeout={timeout})
for row in session.paginate({url!r}, page_size=100, concurrency=4):
    if row["id"] == 50:
        print("waiting", flush=True)
        sys.stdin.readline()
        {then}
"""


def run_script(server: PagedServer, fake: FakeResharmonics, then: str) -> subprocess.Popen[str]:
    script = SCRIPT.format(timeout=TIMEOUT, url=server.url, then=then)
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        env={**CLEAN_ENV, **fake.environ()},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_script_whose_loop_raises_exits_at_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(hangs_from(1))
    process = run_script(server, fake_resharmonics, 'raise RuntimeError("the caller failed")')
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline() == "waiting\n"
    server.wait_for(lambda s: 1 in s.pages_asked())
    started = time.monotonic()
    process.stdin.write("\n")
    process.stdin.flush()
    process.wait(TIMEOUT * 5)
    assert time.monotonic() - started < PROMPTLY
    assert process.returncode == 1
    assert "RuntimeError: the caller failed" in process.communicate()[1]


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_ctrl_c_while_a_page_hangs_ends_the_export_at_once(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(hangs_from(1))
    process = run_script(server, fake_resharmonics, "pass")
    assert process.stdout is not None and process.stdin is not None
    assert process.stdout.readline() == "waiting\n"
    process.stdin.write("\n")
    process.stdin.flush()
    server.wait_for(lambda s: 1 in s.pages_asked())
    # The loop is past row 50 and waits for page 1, which hangs.
    server.wait_for(lambda s: s.finished == [0])
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(TIMEOUT * 5)
    assert time.monotonic() - started < PROMPTLY
    assert "KeyboardInterrupt" in process.communicate()[1]
    server.wait_for(lambda s: s.in_flight == 0, timeout=PROMPTLY)
