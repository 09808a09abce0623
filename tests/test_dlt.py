"""`requests_resharmonics.dlt`: the source loads the fake into DuckDB and PostgreSQL, every
resource, typed; the next run removes what was deleted and loads only the changed stay."""

from __future__ import annotations

import collections
import datetime
import decimal
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics.errors import ConfigurationError, InconsistentPagesError
from requests_resharmonics.testing import FakeResharmonics

from .postgres_server import PostgresServer

dlt = pytest.importorskip("dlt", reason="dlt installs on Python 3.9 to 3.14 only")
duckdb = pytest.importorskip("duckdb")

from requests_resharmonics.dlt import (  # noqa: E402
    ResharmonicsDltAuth,
    SpringPaginator,
    resharmonics_source,
)

DAY = datetime.date(2026, 11, 28)
_names = itertools.count()


class Warehouse:
    """One dlt pipeline into DuckDB or PostgreSQL, and what it holds."""

    def __init__(self, tmp_path: Path, destination: Any) -> None:
        self.pipe = dlt.pipeline(
            pipeline_name=f"resharmonics_test_{next(_names)}",
            destination=destination,
            pipelines_dir=str(tmp_path / "pipelines"),
            dataset_name="resharmonics",
        )

    def run(self, source: Any) -> dict[str, int]:
        """Load ``source``; return the rows loaded per table."""
        self.pipe.run(source)
        counts = self.pipe.last_trace.last_normalize_info.row_counts
        return {table: count for table, count in counts.items() if not table.startswith("_dlt")}

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Run ``sql``, whose ``{t}`` are table names, qualified in the dataset."""
        with self.pipe.sql_client() as client:
            names = _Qualified(client)
            rows = client.execute_sql(sql.format_map(names))
            return [tuple(row) for row in rows]

    def count(self, table: str) -> int:
        return int(self.query(f"select count(*) from {{{table}}}")[0][0])  # noqa: S608


class _Qualified(dict[str, str]):
    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client

    def __missing__(self, table: str) -> str:
        return str(self.client.make_qualified_table_name(table))


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(tmp_path, dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")))
    server: PostgresServer = request.getfixturevalue("postgres")  # tests/conftest.py
    database = f"warehouse_{next(_names)}"
    server.execute(f'CREATE DATABASE "{database}"')
    return Warehouse(tmp_path, dlt.destinations.postgres(credentials=server.url(database)))


@pytest.fixture
def duckdb_warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path, dlt.destinations.duckdb(str(tmp_path / "warehouse.duckdb")))


@pytest.fixture
def dlt_warnings() -> Iterator[list[str]]:
    """What dlt logs at WARNING or above (its logger does not propagate to pytest's)."""
    said: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("dlt")
    logger.addHandler(handler)
    yield said
    logger.removeHandler(handler)


def source(fake: FakeResharmonics, **kwargs: Any) -> Any:
    return resharmonics_source(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        base_url=fake.base_url,
        **kwargs,
    )


def lone_stay(fake: FakeResharmonics) -> Any:
    """A room stay whose booking has no other stay: changing it touches one row only."""
    per_booking = collections.Counter(s.booking_id for s in fake.portfolio.room_stays.values())
    return next(
        stay
        for stay in fake.portfolio.room_stays.values()
        if per_booking[stay.booking_id] == 1 and stay.status == "ENQUIRY"
    )


def every_row(fake: FakeResharmonics) -> dict[str, int]:
    portfolio = fake.portfolio
    stays = len(portfolio.room_stays)
    return {
        "bookings": stays,  # one row per room stay, PENDING ones included
        "room_stays": stays,
        "guest_stays": len(portfolio.guest_stays),
        "units": len(portfolio.units),
        "unit_types": len(portfolio.unit_types),
        "contacts": len(portfolio.contacts),
        "invoices": len(portfolio.sales_invoices),
        "invoice_items": sum(len(invoice.items) for invoice in portfolio.sales_invoices.values()),
        # A payment's records: one for each invoice it paid.
        "payments": sum(len(payment.allocations) for payment in portfolio.payments.values()),
        "finance_accounts": len(portfolio.accounts),
    }


@pytest.mark.fake_resharmonics(today=DAY)
def test_every_row_loads_then_a_deletion_and_one_changed_stay(
    fake_resharmonics: FakeResharmonics, warehouse: Warehouse, dlt_warnings: list[str]
) -> None:
    fake = fake_resharmonics
    portfolio = fake.portfolio
    doomed = max(portfolio.units)
    assert warehouse.run(source(fake)) == every_row(fake)
    assert warehouse.count("units") == len(portfolio.units)
    assert fake.token_requests == 1
    assert not [said for said in dlt_warnings if "did not receive any data" in said]

    # A unit is deleted at the source and a stay changes; the next run removes the one and
    # loads the other as exactly that row.
    del portfolio.units[doomed]
    stay = lone_stay(fake)
    portfolio.set_status(stay, "CANCELLED")
    loaded = warehouse.run(source(fake))
    assert loaded["room_stays"] == 1 and loaded["bookings"] == 1
    assert warehouse.count("units") == len(portfolio.units)
    assert warehouse.query(f"select id from {{units}} where id = {doomed}") == []  # noqa: S608
    assert warehouse.count("room_stays") == len(portfolio.room_stays)  # merged, not appended
    changed = warehouse.query(
        f"select room_stay_status from {{room_stays}} where room_stay_id = {stay.id}"  # noqa: S608
    )
    assert changed == [("CANCELLED",)]
    assert not [said for said in dlt_warnings if "did not receive any data" in said]


@pytest.mark.fake_resharmonics(today=DAY)
def test_dates_load_as_dates_and_money_as_exact_decimals(
    fake_resharmonics: FakeResharmonics, warehouse: Warehouse
) -> None:
    fake = fake_resharmonics
    warehouse.run(
        source(fake).with_resources("room_stays", "invoices", "invoice_items", "payments")
    )
    first = min(fake.portfolio.room_stays.values(), key=lambda stay: stay.id)
    start, net = warehouse.query(
        f"select start_date, net_amount from {{room_stays}} where room_stay_id = {first.id}"  # noqa: S608
    )[0]
    assert start == first.start  # a date, not text
    assert isinstance(net, decimal.Decimal)
    row = fake.session().get("/api/v3/roomStays", params={"size": 1}).json()["content"][0]
    assert net == decimal.Decimal(repr(row["netAmount"]))  # exactly the number the API wrote
    invoice = warehouse.query("select invoice_date, gross, last_updated from {invoices} limit 1")[0]
    assert isinstance(invoice[0], datetime.date) and isinstance(invoice[1], decimal.Decimal)
    assert isinstance(invoice[2], datetime.datetime)
    item = warehouse.query("select unit_price, sales_invoice__invoice_date from {invoice_items}")[0]
    assert isinstance(item[0], decimal.Decimal) and isinstance(item[1], datetime.date)
    paid = warehouse.query("select amount, date from {payments}")[0]
    assert isinstance(paid[0], decimal.Decimal) and isinstance(paid[1], datetime.datetime)


@pytest.mark.fake_resharmonics(today=DAY)
def test_an_inconsistent_list_fails_the_load_with_the_librarys_error(
    fake_resharmonics: FakeResharmonics, duckdb_warehouse: Warehouse
) -> None:
    fake = fake_resharmonics
    duckdb_warehouse.run(source(fake, overlap_seconds=0))
    stay = lone_stay(fake)
    fake.portfolio.set_status(stay, "CANCELLED")
    # A page that is not the page asked for: the load fails after the stays were read.
    fake.add_route("GET", "/api/v3/unitTypes", {"content": [{"id": 1}], "page": {"number": 3}})
    with pytest.raises(Exception) as raised:
        duckdb_warehouse.run(source(fake, overlap_seconds=0))
    assert isinstance(cause_of(raised.value, InconsistentPagesError), InconsistentPagesError)
    assert "answered page 3 when asked for page 0" in str(raised.value)
    fake.router.clear_added()
    loaded = duckdb_warehouse.run(source(fake, overlap_seconds=0).with_resources("room_stays"))
    assert loaded == {"room_stays": 1}  # the failed run's mark was not kept


def cause_of(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    """Return the first ``kind`` in ``error``'s chain (dlt wraps a resource's error)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "exception", None)
    return None


@pytest.mark.fake_resharmonics(today=DAY)
def test_a_stay_changed_while_the_load_runs_is_loaded_again_next_time(
    fake_resharmonics: FakeResharmonics, duckdb_warehouse: Warehouse
) -> None:
    fake = fake_resharmonics
    stay = lone_stay(fake)

    def units_meanwhile(request: Any) -> dict[str, Any]:
        if stay.status != "CANCELLED":  # someone cancels a stay while the load runs
            fake.portfolio.set_status(stay, "CANCELLED")
        page = {"size": 20, "number": 0, "totalElements": 1, "totalPages": 1}
        return {"content": [{"id": 1, "unitName": "Flat 1"}], "page": page}

    fake.add_route("GET", "/api/v3/units", units_meanwhile)
    duckdb_warehouse.run(source(fake, overlap_seconds=0))
    loaded = duckdb_warehouse.run(source(fake, overlap_seconds=0).with_resources("room_stays"))
    assert loaded == {"room_stays": 1}
    query = f"select room_stay_status from {{room_stays}} where room_stay_id = {stay.id}"  # noqa: S608
    assert duckdb_warehouse.query(query) == [("CANCELLED",)]


def test_the_declarative_rest_api_source_accepts_the_auth(
    fake_resharmonics: FakeResharmonics, duckdb_warehouse: Warehouse
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
    assert duckdb_warehouse.run(api) == {"units": len(fake.portfolio.units)}
    assert fake.client_secret not in repr(auth)


@pytest.mark.fake_resharmonics(legacy_pagination=True)
def test_the_older_page_envelope_is_read_too(
    fake_resharmonics: FakeResharmonics, duckdb_warehouse: Warehouse
) -> None:
    loaded = duckdb_warehouse.run(source(fake_resharmonics, page_size=9).with_resources("units"))
    assert loaded == {"units": len(fake_resharmonics.portfolio.units)}


def test_settings_come_from_the_resharmonics_variables(
    resharmonics_env: FakeResharmonics, duckdb_warehouse: Warehouse
) -> None:
    loaded = duckdb_warehouse.run(resharmonics_source().with_resources("unit_types"))
    assert loaded == {"unit_types": len(resharmonics_env.portfolio.unit_types)}


def test_missing_credentials_are_named_before_any_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("RESHARMONICS_CLIENT_ID", "RESHARMONICS_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError, match="RESHARMONICS_CLIENT_SECRET"):
        resharmonics_source(client_id="someone", base_url="http://127.0.0.1:9")
