"""The dlt source's incremental resources follow the change feed's rules: stays changed
before, during and after runs, a run that fails half-way, a server clock 5 minutes off. Every
change is loaded at least once; an unchanged stay is never loaded again."""

from __future__ import annotations

import datetime
import email.utils
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing import _http as fake_http
from requests_resharmonics.testing.api import bookings as fake_bookings

dlt = pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")
pytest.importorskip("duckdb")

from requests_resharmonics.dlt import resharmonics_source  # noqa: E402

DAY = datetime.date(2026, 11, 28)
_names = itertools.count()


class Runs:
    """Runs of the ``room_stays`` resource into DuckDB, and what each loaded."""

    def __init__(self, fake: FakeResharmonics, tmp_path: Path) -> None:
        self.fake = fake
        self.pipe = dlt.pipeline(
            pipeline_name=f"resharmonics_changes_{next(_names)}",
            destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
            dataset_name="resharmonics",
        )

    def run(self, **options: Any) -> int:
        """Load the room stays; return how many rows this run loaded."""
        source = resharmonics_source(
            client_id=self.fake.client_id,
            client_secret=self.fake.client_secret,
            token_url=self.fake.token_url,
            base_url=self.fake.base_url,
            page_size=50,
            concurrency=1,
            **options,
        ).with_resources("room_stays")
        self.pipe.run(source)
        counts = self.pipe.last_trace.last_normalize_info.row_counts
        return int(counts.get("room_stays", 0))

    def status_of(self, stay_id: int) -> str:
        with self.pipe.sql_client() as client:
            table = client.make_qualified_table_name("room_stays")
            rows = client.execute_sql(
                f"select room_stay_status from {table} where room_stay_id = {stay_id}"  # noqa: S608
            )
            return str(rows[0][0])


def flippable(fake: FakeResharmonics) -> list[Any]:
    stays = sorted(fake.portfolio.room_stays.values(), key=lambda stay: stay.id)
    return [s for s in stays if s.status in ("ENQUIRY", "QUOTED", "CANCELLED", "LOST")]


def change(fake: FakeResharmonics, stay: Any) -> None:
    fake.portfolio.set_status(stay, "LOST" if stay.status == "CANCELLED" else "CANCELLED")


@pytest.mark.fake_resharmonics(today=DAY)
def test_incremental_stays_load_every_change_once(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_resharmonics
    runs = Runs(fake, tmp_path)
    free = flippable(fake)
    before, early, late, after = free[3], free[0], free[-1], free[5]

    # Run 1, every stay: one changed before it, two while it reads (one on a page it has
    # already read, one on its last page).
    change(fake, before)
    real = fake_bookings._stays
    calls: list[int] = []

    def meanwhile(portfolio: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:  # the probe, page 0, then page 1: change two stays before it
            change(fake, early)
            change(fake, late)
        return real(portfolio)

    monkeypatch.setattr(fake_bookings, "_stays", meanwhile)
    assert runs.run() == len(fake.portfolio.room_stays)
    monkeypatch.setattr(fake_bookings, "_stays", real)
    assert runs.status_of(late.id) == late.status  # read after its change

    # Run 2: the stay changed after run 1, and the one changed while run 1 had already read
    # it; not the last-page one, which run 1 loaded as it is.
    change(fake, after)
    assert runs.run() == 2
    assert runs.status_of(early.id) == early.status
    assert runs.status_of(after.id) == after.status
    assert runs.run() == 0  # nothing changed: nothing loaded again

    # Run 4 fails half-way (page 1 of the changed stays answers 500); run 5 loads them all.
    for stay in free[10:70]:
        change(fake, stay)
    fake.fail_api_requests("pass", "pass", "500")
    with pytest.raises(Exception, match="answered HTTP 500"):
        runs.run()
    assert runs.run() == 60
    assert all(runs.status_of(stay.id) == stay.status for stay in free[10:70])
    assert runs.run() == 0


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_server_clock_five_minutes_behind_loses_no_change(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_resharmonics
    off = datetime.timedelta(minutes=-5)
    monkeypatch.setattr(
        fake.portfolio, "now", lambda: datetime.datetime.now(datetime.timezone.utc) + off
    )

    def date_header(handler: Any, timestamp: float | None = None) -> str:
        return email.utils.formatdate(time.time() + off.total_seconds(), usegmt=True)

    monkeypatch.setattr(fake_http._RequestHandler, "date_time_string", date_header)
    runs = Runs(fake, tmp_path)
    assert runs.run(overlap_seconds=0) == len(fake.portfolio.room_stays)
    stay = flippable(fake)[0]
    change(fake, stay)  # a client-clock mark, 5 minutes ahead, would be after this change
    assert runs.run(overlap_seconds=0) == 1
    assert runs.status_of(stay.id) == stay.status
    assert runs.run(overlap_seconds=0) == 0
