"""``resharmonics sync PATH --state FILE``: the changed rows as JSON lines, the new mark on
stderr, and the state saved only once the output is whole."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest

from requests_resharmonics.testing import FakeResharmonics

from .test_cli import CLEAN_ENV, run

DAY = datetime.date(2026, 11, 28)
STAYS = "/api/v3/roomStays"


def sync(fake: FakeResharmonics, state: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return run("sync", STAYS, "--state", str(state), "--no-cache", *options, env=fake.environ())


def lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.fake_resharmonics(today=DAY)
def test_sync_writes_what_changed_and_says_the_next_mark(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    state = tmp_path / "stays.json"
    first = sync(fake, state)
    assert first.returncode == 0, first.stderr
    assert len(lines(first)) == len(fake.portfolio.room_stays)
    mark = json.loads(state.read_text())["mark"]
    assert first.stderr.strip().endswith(f"the next sync reads from {mark}")

    assert (second := sync(fake, state)).returncode == 0 and second.stdout == ""
    stay = next(s for s in fake.portfolio.room_stays.values() if s.status == "ENQUIRY")
    fake.portfolio.set_status(stay, "CANCELLED")
    third = sync(fake, state, "-p", "size=50")
    assert third.returncode == 0, third.stderr
    assert [row["roomStayId"] for row in lines(third)] == [stay.id]
    assert "wrote 1 changed rows" in third.stderr


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_failed_sync_leaves_the_state_as_it_was_and_says_so(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    state = tmp_path / "stays.json"
    assert sync(fake, state).returncode == 0
    before = state.read_text()
    free = [s for s in fake.portfolio.room_stays.values() if s.status in ("CANCELLED", "LOST")]
    for stay in free[:30]:  # three pages of ten
        fake.portfolio.set_status(stay, "LOST" if stay.status == "CANCELLED" else "CANCELLED")
    fake.fail_api_requests("pass", "pass", "500")  # the probe, page 0, then page 1 fails
    failed = sync(fake, state, "-p", "size=10")
    assert failed.returncode == 1
    stderr = failed.stderr.splitlines()
    assert stderr[0].startswith(f"resharmonics: error: GET {STAYS} page 1 answered HTTP 500")
    assert any(line.startswith("resharmonics: incomplete: wrote 10 items") for line in stderr)
    assert (
        stderr[-1]
        == f"resharmonics: {state} was not changed: the next sync writes these rows again"
    )
    assert state.read_text() == before
    again = sync(fake, state, "-p", "size=10")
    assert again.returncode == 0
    assert lines(again)[:10] == lines(failed)  # delivered again, the failed sync's first


@pytest.mark.fake_resharmonics(today=DAY)
def test_output_to_a_file_appears_whole_before_the_state_moves(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    state, output = tmp_path / "stays.json", tmp_path / "changes.jsonl"
    done = sync(fake, state, "-o", str(output))
    assert done.returncode == 0, done.stderr
    assert len(output.read_text().splitlines()) == len(fake.portfolio.room_stays)
    assert state.exists()
    unwritable = tmp_path / "missing-folder" / "x" / "changes.jsonl"
    refused = sync(fake, tmp_path / "other.json", "-o", str(unwritable))
    assert refused.returncode == 1
    assert "cannot write" in refused.stderr
    assert not (tmp_path / "other.json").exists()


LOCKED = """
import sys, time
from requests_resharmonics import JsonFileState
state = JsonFileState(sys.argv[1])
state.acquire()
print("held", flush=True)
sys.stdin.readline()
"""


def test_a_second_sync_at_the_same_time_is_refused(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    state = tmp_path / "stays.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCKED, str(state)], env=CLEAN_ENV, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = sync(fake_resharmonics, state)
        assert refused.returncode == 1
        assert "another pass of this change feed holds" in refused.stderr
        assert refused.stdout == ""
    finally:
        holder.communicate("\n", timeout=30)
    assert sync(fake_resharmonics, state).returncode == 0  # free once the other has ended


def test_the_state_option_is_required() -> None:
    result = run("sync", STAYS)
    assert result.returncode == 2
    assert "--state" in result.stderr
