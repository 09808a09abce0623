"""`requests_resharmonics.dlt`: the source loads the fake into DuckDB, then only what changed."""

from __future__ import annotations

import collections
import datetime
import itertools
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics.errors import ConfigurationError
from requests_resharmonics.testing import FakeResharmonics

dlt = pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")
duckdb = pytest.importorskip("duckdb")

from requests_resharmonics.dlt import (  # noqa: E402
    ResharmonicsDltAuth,
    SpringPaginator,
    resharmonics_source,
)

DAY = datetime.date(2026, 11, 28)
_names = itertools.count()


def pipeline(tmp_path: Path) -> Any:
    return dlt.pipeline(
        pipeline_name=f"resharmonics_test_{next(_names)}",
        destination=dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")),
        pipelines_dir=str(tmp_path / "pipelines"),
        dataset_name="resharmonics",
    )


def source(fake: FakeResharmonics, **kwargs: Any) -> Any:
    return resharmonics_source(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        base_url=fake.base_url,
        **kwargs,
    )


def loaded(pipe: Any) -> dict[str, int]:
    counts = pipe.last_trace.last_normalize_info.row_counts
    return {table: count for table, count in counts.items() if not table.startswith("_dlt")}


def rows_in(tmp_path: Path, table: str, columns: str = "count(*)") -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as db:
        result: list[tuple[Any, ...]] = db.sql(
            f"select {columns} from resharmonics.{table}"  # noqa: S608 - the tests' own names
        ).fetchall()
        return result


def lone_stay(fake: FakeResharmonics) -> Any:
    """A room stay whose booking has no other stay: changing it touches one row only."""
    per_booking = collections.Counter(s.booking_id for s in fake.portfolio.room_stays.values())
    return next(
        stay
        for stay in fake.portfolio.room_stays.values()
        if per_booking[stay.booking_id] == 1 and stay.status == "ENQUIRY"
    )


@pytest.mark.fake_resharmonics(today=DAY)
def test_the_first_run_loads_every_row_and_the_next_only_the_changed_stay(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    portfolio = fake.portfolio
    pipe = pipeline(tmp_path)
    pipe.run(source(fake, page_size=100))
    stays = len(portfolio.room_stays)
    assert loaded(pipe) == {
        "bookings": stays,  # one row per room stay, PENDING ones included
        "room_stays": stays,
        "guest_stays": len(portfolio.guest_stays),
        "units": len(portfolio.units),
        "unit_types": len(portfolio.unit_types),
        "contacts": len(portfolio.contacts),
    }
    assert rows_in(tmp_path, "room_stays") == [(stays,)]
    assert fake.token_requests == 1

    stay = lone_stay(fake)
    portfolio.set_status(stay, "CANCELLED")
    pipe.run(source(fake, page_size=100).with_resources("bookings", "room_stays"))
    assert loaded(pipe) == {"bookings": 1, "room_stays": 1}
    assert rows_in(tmp_path, "room_stays") == [(stays,)]  # merged, not appended
    changed = rows_in(tmp_path, f"room_stays where room_stay_id = {stay.id}", "room_stay_status")
    assert changed == [("CANCELLED",)]
    queries = [r.query for r in fake.requests if r.path == "/api/v3/roomStays"]
    assert "lastUpdatedFrom" not in queries[0] and "lastUpdatedFrom" in queries[-1]


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_failed_run_does_not_move_the_mark(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    pipe = pipeline(tmp_path)
    pipe.run(source(fake, overlap_seconds=0))
    stay = lone_stay(fake)
    fake.portfolio.set_status(stay, "CANCELLED")
    # A page that is not the page asked for: the load fails after the stays were read.
    fake.add_route("GET", "/api/v3/unitTypes", {"content": [{"id": 1}], "page": {"number": 3}})
    with pytest.raises(Exception, match="ignores the page parameter"):
        pipe.run(source(fake, overlap_seconds=0))
    fake.router.clear_added()
    pipe.run(source(fake, overlap_seconds=0).with_resources("room_stays"))
    assert loaded(pipe) == {"room_stays": 1}  # the failed run's mark was not kept


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_stay_changed_while_the_load_runs_is_loaded_again_next_time(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    fake = fake_resharmonics
    stay = lone_stay(fake)

    def units_meanwhile(request: Any) -> dict[str, Any]:
        if stay.status != "CANCELLED":  # someone cancels a stay while the load runs
            fake.portfolio.set_status(stay, "CANCELLED")
        page = {"size": 20, "number": 0, "totalElements": 1, "totalPages": 1}
        return {"content": [{"id": 1, "unitName": "Flat 1"}], "page": page}

    fake.add_route("GET", "/api/v3/units", units_meanwhile)
    pipe = pipeline(tmp_path)
    pipe.run(source(fake, overlap_seconds=0))
    pipe.run(source(fake, overlap_seconds=0).with_resources("room_stays"))
    assert loaded(pipe) == {"room_stays": 1}
    assert rows_in(tmp_path, f"room_stays where room_stay_id = {stay.id}", "room_stay_status") == [
        ("CANCELLED",)
    ]


def test_the_declarative_rest_api_source_accepts_the_auth(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    from dlt.sources.rest_api import rest_api_source

    fake = fake_resharmonics
    auth = ResharmonicsDltAuth(
        client_id=fake.client_id, client_secret=fake.client_secret, token_url=fake.token_url
    )
    api = rest_api_source(
        {
            "client": {"base_url": fake.base_url, "auth": auth, "paginator": SpringPaginator()},
            "resources": [
                {
                    "name": "units",
                    "primary_key": "id",
                    "endpoint": {
                        "path": "/api/v3/units",
                        "data_selector": "content",
                        "params": {"size": 7},  # 40 units: 6 pages, the last one short
                    },
                }
            ],
        }
    )
    pipe = pipeline(tmp_path)
    pipe.run(api)
    assert loaded(pipe) == {"units": len(fake.portfolio.units)}
    assert fake.client_secret not in repr(auth)


@pytest.mark.fake_resharmonics(legacy_pagination=True)
def test_the_older_page_envelope_is_read_too(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    pipe = pipeline(tmp_path)
    pipe.run(source(fake_resharmonics, page_size=9).with_resources("units"))
    assert loaded(pipe) == {"units": len(fake_resharmonics.portfolio.units)}


def test_settings_come_from_the_resharmonics_variables(
    resharmonics_env: FakeResharmonics, tmp_path: Path
) -> None:
    pipe = pipeline(tmp_path)
    pipe.run(resharmonics_source().with_resources("unit_types"))
    assert loaded(pipe) == {"unit_types": len(resharmonics_env.portfolio.unit_types)}


def test_missing_credentials_are_named_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RESHARMONICS_CLIENT_ID", "RESHARMONICS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="RESHARMONICS_CLIENT_SECRET"):
        resharmonics_source(client_id="someone", base_url="http://127.0.0.1:9")
