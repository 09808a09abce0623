"""Whole-collection exports: overlap, concurrency in order, back-off, abandonment, expiry."""

from __future__ import annotations

import gc
import json
import threading
import time
from typing import Any

import pytest

from requests_resharmonics import ConfigurationError, PageProgress
from requests_resharmonics.testing import ApiRequest, FakeResharmonics

from .test_cli import run

PAGES = 30


def add_numbers(fake: FakeResharmonics, total: int = PAGES * 10) -> str:
    """A list of ``total`` numbered items of the test's own, paged the Spring way."""

    def numbers(request: ApiRequest) -> Any:
        page = request.query.integer("page") or 0
        size = request.query.integer("size") or 20
        content = [{"n": n} for n in range(page * size, min((page + 1) * size, total))]
        pages = -(-total // size)
        envelope = {"size": size, "number": page, "totalElements": total, "totalPages": pages}
        return {"content": content, "page": envelope}

    fake.add_route("GET", "/api/v3/numbers", numbers)
    return "/api/v3/numbers"


def pages_requested(fake: FakeResharmonics, path: str) -> int:
    return sum(1 for seen in fake.requests if seen.path == path)


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("resharmonics-page")]


@pytest.mark.parametrize("concurrency", [1, 3, 8])
@pytest.mark.parametrize("prefetch", [True, False])
def test_items_come_out_once_and_in_order(
    fake_resharmonics: FakeResharmonics, concurrency: int, prefetch: bool
) -> None:
    path = add_numbers(fake_resharmonics)
    session = fake_resharmonics.session()
    items = session.paginate(path, page_size=10, prefetch=prefetch, concurrency=concurrency)
    assert [item["n"] for item in items] == list(range(PAGES * 10))
    assert pages_requested(fake_resharmonics, path) == PAGES  # none twice, none past the end
    assert page_threads() == []


def test_the_next_page_is_on_its_way_while_the_caller_works(
    fake_resharmonics: FakeResharmonics,
) -> None:
    path = add_numbers(fake_resharmonics)
    items = fake_resharmonics.session().paginate(path, page_size=10)
    next(items)  # the first page is here; the caller is busy with its first item
    deadline = time.monotonic() + 5
    while pages_requested(fake_resharmonics, path) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pages_requested(fake_resharmonics, path) == 2
    items.close()


@pytest.mark.fake_resharmonics(api_delay=0.2)
def test_concurrency_keeps_that_many_pages_in_flight(
    fake_resharmonics: FakeResharmonics,
) -> None:
    path = add_numbers(fake_resharmonics, total=64 * 10)
    session = fake_resharmonics.session()
    session.fetch_token()
    started = time.monotonic()
    assert len(list(session.paginate(path, page_size=10, concurrency=8))) == 640
    elapsed = time.monotonic() - started
    # Sequentially 12.8 s; 8 at a time, page 0 then eight rounds of 8, about 1.8 s. Half the
    # sequential time leaves 3.5 times that for a loaded machine: with 16 pages of 0.1 s the
    # bound was 2.7 times it, and a loaded 2-core machine took 0.62 s of its 0.8.
    assert elapsed < 0.2 * 64 * 0.5


@pytest.mark.parametrize("how", ["break", "exception", "garbage"])
def test_an_abandoned_export_leaves_no_request_or_thread(
    fake_resharmonics: FakeResharmonics, how: str
) -> None:
    fake_resharmonics.api_delay = 0.05
    path = add_numbers(fake_resharmonics)
    session = fake_resharmonics.session()

    def walk() -> None:
        items = session.paginate(path, page_size=10, concurrency=4)
        for item in items:
            if item["n"] == 15:
                if how == "exception":
                    raise KeyError("the caller failed")
                if how == "break":
                    break
                return  # the generator is left for the garbage collector

    if how == "exception":
        with pytest.raises(KeyError):
            walk()
    else:
        walk()
    gc.collect()
    # No thread of the export is left to send anything (those in flight were cut; the
    # fake records a request once its delay is over, so the count is read after it).
    assert page_threads() == []
    fake_resharmonics.api_delay = 0
    deadline = time.monotonic() + 5
    while pages_requested(fake_resharmonics, path) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 2 <= pages_requested(fake_resharmonics, path) <= 2 + 4  # read, and in flight


def test_a_429_slows_the_export_down_instead_of_failing_it(
    fake_resharmonics: FakeResharmonics,
) -> None:
    path = add_numbers(fake_resharmonics)
    session = fake_resharmonics.session(retries=0)  # the export itself must cope
    session.fetch_token()
    items = session.paginate(path, page_size=10, concurrency=4)
    seen = [next(items)["n"]]
    fake_resharmonics.throttle(count=6, retry_after=0.1)
    seen += [item["n"] for item in items]
    assert seen == list(range(PAGES * 10))
    throttled = [r for r in fake_resharmonics.requests if r.status == 429]
    assert len(throttled) == 6


def test_tokens_expiring_during_an_export_cost_one_token_request(
    fake_resharmonics: FakeResharmonics,
) -> None:
    path = add_numbers(fake_resharmonics)
    session = fake_resharmonics.session()
    items = session.paginate(path, page_size=10, concurrency=4)
    seen = [item["n"] for _, item in zip(range(50), items, strict=False)]
    fake_resharmonics.expire_all_tokens()
    seen += [item["n"] for item in items]
    assert seen == list(range(PAGES * 10))
    assert fake_resharmonics.token_requests == 2


def test_on_page_hears_of_every_page(fake_resharmonics: FakeResharmonics) -> None:
    path = add_numbers(fake_resharmonics)
    heard: list[PageProgress] = []
    list(fake_resharmonics.session().paginate(path, page_size=10, on_page=heard.append))
    assert [progress.number for progress in heard] == list(range(PAGES))
    assert heard[0] == PageProgress(0, 10, PAGES, PAGES * 10)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_concurrency_must_be_a_whole_number(fake_resharmonics: FakeResharmonics, bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="concurrency"):
        fake_resharmonics.session().paginate("/api/v3/units", concurrency=bad)


@pytest.mark.parametrize("form", [["--jsonl"], []])
def test_the_command_line_streams_an_export_with_concurrency(
    fake_resharmonics: FakeResharmonics, form: list[str]
) -> None:
    path = add_numbers(fake_resharmonics)
    result = run("get", path, "--all", "-p", "size=10", "--concurrency", "4", *form,
                 env=fake_resharmonics.environ())  # fmt: skip
    assert result.returncode == 0, result.stderr
    if form:
        numbers = [json.loads(line)["n"] for line in result.stdout.splitlines()]
    else:
        numbers = [item["n"] for item in json.loads(result.stdout)]
    assert numbers == list(range(PAGES * 10))
    assert result.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_progress_bar_on_a_terminal(fake_resharmonics: FakeResharmonics) -> None:
    pytest.importorskip("tqdm", reason="install the 'progress' extra")
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from .test_cli import CLEAN_ENV

    path = add_numbers(fake_resharmonics)
    terminal, stderr = pty.openpty()
    fcntl.ioctl(stderr, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    process = subprocess.run(
        [sys.executable, "-m", "requests_resharmonics", "get", path, "--jsonl", "-p", "size=10"],
        env={**CLEAN_ENV, **fake_resharmonics.environ()},
        stdout=subprocess.PIPE,
        stderr=stderr,
        timeout=60,
        check=False,
    )
    os.close(stderr)
    drawn = b""
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(terminal)
    assert process.returncode == 0
    assert len(process.stdout.splitlines()) == PAGES * 10  # stdout stays clean
    text = drawn.decode(errors="replace")
    assert f"{PAGES * 10}/{PAGES * 10}" in text  # items out of the total
    assert f"page {PAGES}/{PAGES}" in text
    assert "items/s" in text


def test_progress_true_draws_a_bar_of_pages_items_and_rate(
    fake_resharmonics: FakeResharmonics, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tqdm", reason="install the 'progress' extra")
    path = add_numbers(fake_resharmonics)
    rows = fake_resharmonics.session().paginate(path, page_size=10, progress=True)
    assert len(list(rows)) == PAGES * 10
    drawn = capsys.readouterr().err
    assert f"GET {path}" in drawn
    assert f"{PAGES * 10}/{PAGES * 10}" in drawn  # items out of the total
    assert f"page {PAGES}/{PAGES}" in drawn
    assert "items/s" in drawn


def test_progress_true_without_tqdm_says_what_to_install(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    with pytest.raises(ConfigurationError, match=r"requests-resharmonics\[progress\]"):
        fake_resharmonics.session().paginate("/api/v3/units", progress=True)
