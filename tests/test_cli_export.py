"""``resharmonics get --all`` never hands over a partial export as a complete one: the real
command line, in a subprocess, against local servers that fail, hang or cut a page off."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, envelope, good_page, paged_server
from .test_cli import CLEAN_ENV, run

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]
TOTAL = 300
PROMPTLY = 3.0


def environ(fake: FakeResharmonics, server: PagedServer) -> dict[str, str]:
    """Tokens from the fake, pages from the misbehaving server."""
    return {**fake.environ(), "RESHARMONICS_BASE_URL": server.base_url}


def get_all(*options: str) -> list[str]:
    return ["get", "/api/v3/rows", "--all", "-p", "size=100", "--no-cache", *options]


def fails_on(page: int, reply: Reply) -> Callable[[Asked], Reply]:
    def answer(asked: Asked) -> Reply:
        return reply if asked.page == page else good_page(asked, TOTAL)

    return answer


def hangs_on(page: int) -> Callable[[Asked], Reply]:
    return fails_on(page, Reply(hang=True))


def test_a_failed_page_leaves_the_array_open_and_says_how_far_it_got(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(fails_on(2, Reply({"message": "boom"}, 500)))
    result = run(*get_all("--concurrency", "2"), env=environ(fake_resharmonics, server))
    assert result.returncode == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)  # no parser takes it for a whole export
    assert len(json.loads(result.stdout + "\n]")) == 200
    lines = result.stderr.splitlines()
    assert lines[0].startswith("resharmonics: error: GET /api/v3/rows page 2 answered HTTP 500")
    assert f"{server.base_url}/api/v3/rows?page=2&size=100" in lines[0]
    assert "200 rows were delivered before it" in lines[0]
    assert lines[1:] == ["resharmonics: incomplete: wrote 200 of 300 items"]


def test_a_page_cut_off_mid_body_says_which_page_where_and_how_many_rows_were_written(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    def cut(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        if asked.page == 1:
            reply.cut_after = 50
        return reply

    server = paged_server(cut)
    result = run(*get_all("--jsonl"), env=environ(fake_resharmonics, server))
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 100
    error, written = result.stderr.splitlines()
    assert error.startswith("resharmonics: error: GET /api/v3/rows page 1 failed")
    assert f"({server.base_url}/api/v3/rows?page=1&size=100)" in error
    assert "closed the connection 50 bytes into the body" in error
    assert "IncompleteRead(" not in error and "<" not in error
    assert "100 rows were delivered before it" in error
    assert written == "resharmonics: incomplete: wrote 100 of 300 items"


def start(fake: FakeResharmonics, server: PagedServer, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "requests_resharmonics", *get_all(*options)],
        env={**CLEAN_ENV, **environ(fake, server)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize(
    ("sent", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_an_interrupted_export_is_left_open_and_says_how_far_it_got(
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    sent: signal.Signals,
    status: int,
    said: str,
) -> None:
    server = paged_server(hangs_on(2))
    process = start(fake_resharmonics, server, "--concurrency", "2")
    server.wait_for(lambda s: s.finished == [0, 1] and 2 in s.pages_asked())
    started = time.monotonic()
    process.send_signal(sent)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < PROMPTLY  # the hanging page is cut, not waited for
    assert process.returncode == status
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"resharmonics: {said}: wrote "), err
    written = int(lines[0].split()[3])
    assert lines[0].endswith(f"wrote {written} of 300 items")
    if written:
        with pytest.raises(json.JSONDecodeError):
            json.loads(out)
        assert len(json.loads(out + "\n]")) == written
    server.wait_for(lambda s: s.in_flight == 0, timeout=PROMPTLY)


def test_output_is_written_whole_or_not_at_all(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, tmp_path: Path
) -> None:
    target = tmp_path / "rows.json"
    good = paged_server(lambda asked: good_page(asked, TOTAL))
    result = run(*get_all("-o", str(target)), env=environ(fake_resharmonics, good))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [row["id"] for row in json.loads(target.read_text())] == list(range(TOTAL))
    before = target.read_text()

    failing = paged_server(fails_on(2, Reply({"message": "boom"}, 500)))
    result = run(*get_all("--output", str(target)), env=environ(fake_resharmonics, failing))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"resharmonics: incomplete after 200 of 300 items; {target} was not written"
    )
    assert target.read_text() == before  # the last whole export, untouched
    assert sorted(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_a_new_output_file_gets_the_usual_permissions(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, tmp_path: Path
) -> None:
    target = tmp_path / "rows.jsonl"
    good = paged_server(lambda asked: good_page(asked, TOTAL))
    result = run(*get_all("--jsonl", "-o", str(target)), env=environ(fake_resharmonics, good))
    assert result.returncode == 0, result.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert len(target.read_text().splitlines()) == TOTAL


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_one_line_not_a_traceback(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    server = paged_server(lambda asked: good_page(asked, TOTAL))
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "requests_resharmonics", *get_all()],
            env={**CLEAN_ENV, **environ(fake_resharmonics, server)},
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == "resharmonics: error: cannot write stdout: No space left on device\n"


def test_a_closed_pipe_ends_the_export_silently(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer
) -> None:
    more = threading.Event()

    def wide_rows(asked: Asked) -> Reply:  # a page is more than stdout's buffer: it flushes
        first = asked.page * 100
        rows = [{"id": n, "name": "x" * 200} for n in range(first, first + 100)]
        reply = Reply(envelope(rows, asked.page, 100, 100 * 50))
        if asked.page >= 1:
            reply.before = lambda: more.wait(30)
        return reply

    server = paged_server(wide_rows)
    process = start(fake_resharmonics, server, "--jsonl")
    assert process.stdout is not None
    assert json.loads(process.stdout.readline())["id"] == 0  # as `| head -1` reads
    process.stdout.close()
    more.set()
    process.wait(30)
    assert process.returncode == 141  # as a command killed by SIGPIPE
    assert process.stderr is not None and process.stderr.read() == ""


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_an_interrupted_export_to_a_file_leaves_no_file(
    fake_resharmonics: FakeResharmonics, paged_server: StartServer, tmp_path: Path
) -> None:
    target = tmp_path / "rows.json"
    server = paged_server(hangs_on(2))
    process = start(fake_resharmonics, server, "-o", str(target))
    server.wait_for(lambda s: s.finished == [0, 1] and 2 in s.pages_asked())
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == ""
    assert err.startswith("resharmonics: interrupted after ")
    assert err.endswith(f" of 300 items; {target} was not written\n")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
