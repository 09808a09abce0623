"""The change feed against the fake: rows changed before, during and after passes, a pass
that fails half-way, a server clock 5 minutes off the client's. Every change comes at least
once; an unchanged row never twice."""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics import (
    ChangeStateError,
    CollectionChangedError,
    ConfigurationError,
    JsonFileState,
    MemoryChangeState,
    PageHTTPError,
    PaginationWarning,
    ResharmonicsSession,
)
from requests_resharmonics._changes.feed import fingerprint
from requests_resharmonics._changes.mark import format_mark
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing import _http as fake_http

DAY = datetime.date(2026, 11, 28)
STAYS = "/api/v3/roomStays"  # every room stay, one row each, ordered by id


class Consumer:
    """What a sync job received, pass by pass: (roomStayId, fingerprint) of every row."""

    def __init__(self) -> None:
        self.passes: list[list[tuple[int, str]]] = []

    def run(self, session: ResharmonicsSession, state: Any, **options: Any) -> list[Any]:
        rows: list[Any] = []
        self.passes.append([])
        try:
            for row in session.changes(STAYS, state=state, page_size=50, **options):
                rows.append(row)
                self.passes[-1].append((row["roomStayId"], fingerprint(row)))
        finally:
            if not self.passes[-1]:
                self.passes.pop()
        return rows


def stays_by_id(fake: FakeResharmonics) -> list[Any]:
    return sorted(fake.portfolio.room_stays.values(), key=lambda stay: stay.id)


def change(fake: FakeResharmonics, stay: Any) -> None:
    """Change a stay in a way that never clashes: between two statuses that hold no unit."""
    fake.portfolio.set_status(stay, "LOST" if stay.status == "CANCELLED" else "CANCELLED")


def unheld(fake: FakeResharmonics) -> list[Any]:
    """Stays whose status holds no unit, which `change` can flip freely."""
    return [s for s in stays_by_id(fake) if s.status in ("ENQUIRY", "QUOTED", "CANCELLED", "LOST")]


def as_served(session: ResharmonicsSession, stay_id: int) -> str:
    row = session.get(f"{STAYS}?size=1000").json()["content"]
    return fingerprint(next(r for r in row if r["roomStayId"] == stay_id))


@pytest.mark.fake_resharmonics(today=DAY)
def test_every_change_comes_at_least_once_and_an_unchanged_row_never_twice(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    session = fake.session()
    state = tmp_path / "stays.json"
    consumer = Consumer()
    everyone = stays_by_id(fake)
    flippable = unheld(fake)
    before, on_first_page, on_last_page, after = (
        flippable[3], flippable[0], flippable[-1], flippable[5],
    )  # fmt: skip
    assert on_first_page.id in [s.id for s in everyone[:50]]
    assert on_last_page.id in [s.id for s in everyone[-10:]]

    # Pass 1 reads everything. One stay changed before it; during it, one on the first page
    # (already read when it changes) and one on the last page (not read yet).
    change(fake, before)
    changed_during = threading.Event()

    def during(progress: Any) -> None:
        if progress.number == 0 and not changed_during.is_set():
            change(fake, on_first_page)
            change(fake, on_last_page)
            changed_during.set()

    first = consumer.run(session, state, on_page=during)
    assert len(first) == len(everyone)  # every row, each once
    assert sorted(r["roomStayId"] for r in first) == [s.id for s in everyone]
    delivered_last = next(r for r in first if r["roomStayId"] == on_last_page.id)
    assert fingerprint(delivered_last) == as_served(session, on_last_page.id)  # after its change
    saved = json.loads(state.read_text())
    assert saved["list"] == f"GET {STAYS}"

    # Pass 2: the stay changed after pass 1, and the first-page stay changed during it (read
    # before its change). Not the last-page stay: pass 1 delivered it as it is.
    change(fake, after)
    second = consumer.run(session, state)
    assert sorted(r["roomStayId"] for r in second) == sorted([after.id, on_first_page.id])

    # Pass 3 changes nothing, and reads again what the overlap covers: nothing is delivered.
    assert consumer.run(session, state) == []

    # Pass 4 fails half-way: 60 stays changed, two pages; the second page fails.
    many = flippable[10:70]
    for stay in many:
        change(fake, stay)
    fake.fail_api_requests("pass", "pass", "500")  # the probe, page 0, then page 1 fails
    half: list[Any] = []

    def read_into_half() -> None:
        for row in session.changes(STAYS, state=state, page_size=50):
            half.append(row)

    with pytest.raises(PageHTTPError):
        read_into_half()
    assert 0 < len(half) <= 50  # the first page's changed rows (unchanged ones left out)
    assert {r["roomStayId"] for r in half} <= {s.id for s in many}
    # Pass 5 delivers every one of them: the failed pass moved no mark.
    fifth = consumer.run(session, state)
    assert sorted(r["roomStayId"] for r in fifth) == sorted(s.id for s in many)

    # Across the passes that completed, no row was delivered twice as it was.
    everything = [entry for one in consumer.passes for entry in one]
    assert len(everything) == len(set(everything))
    # And every stay's last delivery is the stay as the server has it now.
    last: dict[int, str] = {}
    for stay_id, prints in everything:
        last[stay_id] = prints
    current = {row["roomStayId"]: fingerprint(row) for row in
               session.get(f"{STAYS}?size=1000").json()["content"]}  # fmt: skip
    assert last == current


@pytest.fixture
def server_clock_off(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> Callable[[float], None]:
    """Set the fake's clock (its rows' lastUpdated and its Date header) off the client's."""

    def set_off(seconds: float) -> None:
        real = datetime.datetime.now

        def server_now() -> datetime.datetime:
            return real(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)

        monkeypatch.setattr(fake_resharmonics.portfolio, "now", server_now)

        def date_header(handler: Any, timestamp: float | None = None) -> str:
            import email.utils

            return email.utils.formatdate(time.time() + seconds, usegmt=True)

        monkeypatch.setattr(fake_http._RequestHandler, "date_time_string", date_header)

    return set_off


@pytest.mark.parametrize("off", [-300.0, 300.0])
@pytest.mark.fake_resharmonics(today=DAY)
def test_a_server_clock_five_minutes_off_loses_no_change(
    fake_resharmonics: FakeResharmonics, server_clock_off: Callable[[float], None], off: float
) -> None:
    fake = fake_resharmonics
    server_clock_off(off)
    session = fake.session()
    state = MemoryChangeState()
    consumer = Consumer()
    consumer.run(session, state, overlap=0)  # everything; no overlap, to make the point
    flippable = unheld(fake)
    change(fake, flippable[0])
    # Changed one second after the pass: a mark from the client's clock, five minutes ahead
    # of the server's, would be after the change and miss it.
    assert [r["roomStayId"] for r in consumer.run(session, state, overlap=0)] == [flippable[0].id]
    assert consumer.run(session, state, overlap=0) == []
    mark = json.loads(json.dumps(state.state))["mark"]
    client_now = datetime.datetime.now(datetime.timezone.utc)
    server = client_now + datetime.timedelta(seconds=off)
    assert (
        abs((datetime.datetime.fromisoformat(mark.replace("Z", "+00:00")) - server).total_seconds())
        < 30
    )


@pytest.mark.fake_resharmonics(today=DAY)
def test_the_mark_is_the_servers_time_less_the_overlap_and_is_sent_next_time(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    state = MemoryChangeState()
    session = fake.session()
    feed = session.changes(STAYS, state=state, overlap=120)
    assert repr(feed).startswith(f"<Changes GET {STAYS}: not started")
    rows = list(feed)
    assert feed.complete and feed.committed and feed.delivered == len(rows)
    assert feed.since is None and feed.mark is not None
    saved = state.load()
    assert saved is not None and format_mark(feed.mark) == saved["mark"]
    probe = next(r for r in fake.requests if r.path == STAYS)
    assert probe.query.get("size") == "1" and probe.headers.get("cache-control") == "no-cache"
    second = session.changes(STAYS, state=state)
    list(second)
    asked = [r for r in fake.requests if r.path == STAYS][-1]
    assert asked.query["lastUpdatedFrom"] == format_mark(feed.mark)
    assert second.since == feed.mark
    assert "committed since" in repr(second)


@pytest.mark.fake_resharmonics(today=DAY)
def test_nothing_is_saved_before_commit_when_autocommit_is_off(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    session = fake_resharmonics.session()
    state = tmp_path / "stays.json"
    feed = session.changes(STAYS, state=state, autocommit=False)
    rows = list(feed)
    assert feed.complete and not feed.committed and not state.exists()
    with pytest.raises(ChangeStateError, match="holds"):  # still the writer until commit
        next(session.changes(STAYS, state=state))
    feed.commit()
    assert json.loads(state.read_text())["mark"] == format_mark(feed.mark)  # type: ignore[arg-type]
    assert len(rows) == len(fake_resharmonics.portfolio.room_stays)
    assert list(session.changes(STAYS, state=state)) == []  # and the lock is free again


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_pass_left_early_saves_nothing_and_frees_the_state(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    session = fake_resharmonics.session()
    state = tmp_path / "stays.json"
    with session.changes(STAYS, state=state) as feed:
        for index, _ in enumerate(feed):
            if index == 10:
                break
    assert not state.exists()
    assert "cancelled" in repr(feed)
    assert len(list(session.changes(STAYS, state=state))) == len(
        fake_resharmonics.portfolio.room_stays
    )


def test_one_writer_at_a_time(fake_resharmonics: FakeResharmonics, tmp_path: Path) -> None:
    session = fake_resharmonics.session()
    state = tmp_path / "units.json"
    running = session.changes("/api/v3/units", state=state, page_size=5)
    next(running)  # holds the state now
    with pytest.raises(ChangeStateError) as refused:
        next(session.changes("/api/v3/units", state=state))
    assert refused.value.retryable is True
    assert "units.json.lock" in str(refused.value)
    running.close()
    assert len(list(session.changes("/api/v3/units", state=state))) == 40


def test_a_state_of_another_list_is_refused(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    session = fake_resharmonics.session()
    state = tmp_path / "state.json"
    list(session.changes("/api/v3/units", state=state))
    with pytest.raises(ChangeStateError, match="holds the mark of GET /api/v3/units"):
        next(session.changes(STAYS, state=state))
    with pytest.raises(ChangeStateError, match="holds the mark of"):
        next(session.changes("/api/v3/units", {"bookable": "true"}, state=state))


def test_a_state_file_that_is_not_one_is_named(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json")
    with pytest.raises(ChangeStateError, match="is not a change state"):
        next(fake_resharmonics.session().changes("/api/v3/units", state=state))


def test_bad_settings_are_refused_before_any_request(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    session = fake_resharmonics.session()
    with pytest.raises(ConfigurationError, match="overlap"):
        session.changes(STAYS, state=tmp_path / "s.json", overlap=-1)
    with pytest.raises(ConfigurationError, match="state must be"):
        session.changes(STAYS, state=42)  # type: ignore[arg-type]
    assert fake_resharmonics.api_requests == 0


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_list_that_changes_while_a_pass_reads_it_is_read_again(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    session = fake.session()
    state = MemoryChangeState()
    list(session.changes(STAYS, state=state, overlap=0))
    flippable = unheld(fake)
    for stay in flippable[:100]:
        change(fake, stay)
    grown = threading.Event()

    def grow(progress: Any) -> None:
        # A stay changes while the pass is on its first page: the filtered list grows.
        if not grown.is_set():
            change(fake, flippable[-1])
            grown.set()

    feed = session.changes(STAYS, state=state, overlap=0, page_size=50, on_page=grow)
    rows = list(feed)
    assert feed.rereads == 1
    ids = [row["roomStayId"] for row in rows]
    assert len(ids) == len(set(ids)) == 101  # each once, the late change included


def test_a_list_that_keeps_changing_fails_the_pass(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    from requests_resharmonics._changes import feed as feeds

    monkeypatch.setattr(feeds, "READ_ATTEMPTS", 1)
    session = fake_resharmonics.session()
    flippable = unheld(fake_resharmonics)

    def grow(progress: Any) -> None:
        change(fake_resharmonics, flippable[-1 - progress.number])

    state = MemoryChangeState()
    list(session.changes(STAYS, state=state, overlap=0))
    for stay in flippable[:100]:
        change(fake_resharmonics, stay)
    with pytest.raises(CollectionChangedError):
        list(session.changes(STAYS, state=state, overlap=0, page_size=50, on_page=grow))


def test_an_answer_without_a_date_falls_back_to_this_clock_with_a_warning(
    fake_resharmonics: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = fake_http._RequestHandler.send_header

    def no_date(handler: Any, keyword: str, value: str) -> None:
        if keyword.lower() != "date":
            original(handler, keyword, value)

    monkeypatch.setattr(fake_http._RequestHandler, "send_header", no_date)
    with pytest.warns(PaginationWarning, match="without a Date header"):
        rows = list(fake_resharmonics.session().changes("/api/v3/units", state=MemoryChangeState()))
    assert len(rows) == 40


def test_the_json_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "state.json"
    store = JsonFileState(path)
    store.acquire()
    try:
        assert store.load() is None
        store.save({"version": 1, "mark": "2026-11-28T00:00:00.000Z", "window": {}})
    finally:
        store.release()
    assert json.loads(path.read_text())["mark"] == "2026-11-28T00:00:00.000Z"
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".part"] == []


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("redis_server").url
    return url


def test_redis_keeps_the_state_for_passes_on_any_machine(
    fake_resharmonics: FakeResharmonics, redis_url: str
) -> None:
    from requests_resharmonics import RedisChangeState

    session = fake_resharmonics.session()
    assert len(list(session.changes("/api/v3/units", state=RedisChangeState(redis_url, "u")))) == 40
    # Another process (another store object on the same key) sees the mark: nothing changed.
    elsewhere = RedisChangeState(redis_url, "u")
    assert list(session.changes("/api/v3/units", state=elsewhere)) == []
    held = RedisChangeState(redis_url, "u")
    held.acquire()
    try:
        with pytest.raises(ChangeStateError) as refused:
            next(session.changes("/api/v3/units", state=elsewhere))
        assert refused.value.retryable is True
    finally:
        held.release()
    assert list(session.changes("/api/v3/units", state=elsewhere)) == []  # free again


def test_a_redis_pass_that_outlived_its_lock_cannot_save(
    fake_resharmonics: FakeResharmonics, redis_url: str
) -> None:
    from requests_resharmonics import RedisChangeState

    store = RedisChangeState(redis_url, "expired", lock_seconds=0.05)
    feed = fake_resharmonics.session().changes("/api/v3/units", state=store, autocommit=False)
    rows = list(feed)
    time.sleep(0.2)  # the lock expires: the pass overran it (a sleep is the point here)
    with pytest.raises(ChangeStateError, match="longer than lock_seconds"):
        feed.commit()
    assert len(rows) == 40
    assert store.load() is None
