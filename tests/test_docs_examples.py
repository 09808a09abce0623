"""The documentation pages' Python examples run against the fake, and do what they say.

Each page's blocks run in order in one namespace (tests/doc_examples.py), with the
``RESHARMONICS_*`` variables pointing at a fake server; then a check per page looks at what
the examples produced. The pytest modules the pages show run under pytest with the plugin.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics.testing import FakeResharmonics

from .doc_examples import (
    DOC_PAGES,
    ROOT,
    example_env,
    missing_module,
    pytest_modules,
    run_examples,
    run_test_module,
    snippets,
)
from .test_cli import CLEAN_ENV

__all__ = ["example_env"]  # a fixture, used by name

Check = Callable[[dict[str, Any], FakeResharmonics, Path], None]


def check_exports(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    in_house = namespace["in_house"]
    checked_in = [s for s in fake.portfolio.room_stays.values() if s.status == "CHECKED_IN"]
    assert sorted(in_house) == sorted(stay.id for stay in checked_in)


def check_notebooks(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    stays = namespace["stays"]
    assert len(stays) > 20
    assert {"unit.name", "bookingContact.lastName"} <= set(stays.columns)


def check_httpx(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    assert len(namespace["stays"]) == 50
    if not missing_module("import httpx2"):
        assert len(namespace["unit_rows"]) == 40
    assert sorted(namespace["_apps_asked"]) == ["/arrivals", "/units"]  # both FastAPI apps


def check_dlt(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    with duckdb.connect(str(tmp_path / "nightly.duckdb"), read_only=True) as db:
        bookings = db.sql("select count(*) from resharmonics.bookings").fetchall()
        assert bookings == [(len(fake.portfolio.room_stays),)]
        columns = {row[0] for row in db.sql("describe resharmonics.bookings").fetchall()}
        assert "unit__name" in columns  # as the page names it
        for table in ("invoices", "invoice_items", "finance_accounts", "extras", "channels"):
            (count,) = db.sql(f"select count(*) from resharmonics.{table}").fetchall()  # noqa: S608
            assert count[0] > 0, table
    # "Deletions": a table read whole is replaced, so a record gone from the API goes.
    pipeline, source = namespace["pipeline"], namespace["resharmonics_source"]
    gone = fake.portfolio.add_contact("Gone", "Soon", "gone@example.com")
    pipeline.run(source().with_resources("contacts"))
    query = f"select count(*) from resharmonics.contacts where id = {gone.id}"  # noqa: S608
    with duckdb.connect(str(tmp_path / "nightly.duckdb"), read_only=True) as db:
        assert db.sql(query).fetchall() == [(1,)]
    del fake.portfolio.contacts[gone.id]
    pipeline.run(source().with_resources("contacts"))
    with duckdb.connect(str(tmp_path / "nightly.duckdb"), read_only=True) as db:
        assert db.sql(query).fetchall() == [(0,)]


def check_caches(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    assert namespace["units"].status_code == 200
    assert namespace["session"].get("/api/v3/units").ok  # through the FileTokenCache
    assert list(tmp_path.glob("requests-resharmonics/tokens*"))  # which wrote its file


def check_observability(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    spans = namespace["spans"].get_finished_spans()
    assert [span.name for span in spans] == ["resharmonics.token_request"]
    assert "resharmonics.token.requests" in {metric.name for metric in namespace["metrics"]}


def check_errors(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    assert namespace["first_page"]["content"]


def check_testing(namespace: dict[str, Any], fake: FakeResharmonics, tmp_path: Path) -> None:
    assert len(namespace["units"]) == 5
    cassette = (tmp_path / "cassettes" / "units.yaml").read_text()
    assert "grant_type=client_credentials" in cassette  # the token request was recorded
    assert fake.client_secret not in cassette
    assert not re.search(r"(?i)authorization", cassette)


CHECKS: dict[str, Check] = {
    "exports.rst": check_exports,
    "notebooks.rst": check_notebooks,
    "httpx.rst": check_httpx,
    "dlt.rst": check_dlt,
    "caches.rst": check_caches,
    "observability.rst": check_observability,
    "errors.rst": check_errors,
    "testing.rst": check_testing,
}


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda path: path.name)
def test_the_docs_pages_examples_run(
    page: Path,
    example_env: FakeResharmonics,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    namespace = run_examples(snippets(page), page.name, example_env, request)
    check = CHECKS.get(page.name)
    if check is not None:
        check(namespace, example_env, tmp_path)


def test_every_checked_page_exists_and_has_examples() -> None:
    for name in CHECKS:
        assert snippets(ROOT / "docs" / name), name


DOC_TEST_MODULES = [
    pytest.param(block, id=f"{page.name}-{number}")
    for page in DOC_PAGES
    for number, block in enumerate(pytest_modules(page))
]


@pytest.mark.parametrize("module", DOC_TEST_MODULES)
def test_the_docs_pytest_examples_pass_with_the_plugin(module: str, tmp_path: Path) -> None:
    result = run_test_module(module, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{module.count('def test_')} passed" in result.stdout


def secrets_toml(fake: FakeResharmonics) -> str:
    """Return the page's ``[sources.resharmonics]`` section, filled in for the fake."""
    text = (ROOT / "docs" / "dlt.rst").read_text(encoding="utf-8")
    match = re.search(r"^\.\. code-block:: toml\n\n((?:    .*\n)+)", text, re.MULTILINE)
    assert match and "[sources.resharmonics]" in match[1]
    section = match[1].replace("    ", "", 1).replace("\n    ", "\n")
    section = section.replace('"my-client-id"', f'"{fake.client_id}"')
    section = section.replace('"my-client-secret"', f'"{fake.client_secret}"')
    # "token_url, base_url ... too, where the defaults do not suit": the fake's do not.
    return section + f'token_url = "{fake.token_url}"\nbase_url = "{fake.base_url}"\n'


#: A load of the units alone, in a process of its own: dlt finds ``.dlt/`` from the working
#: folder when it first reads its configuration, once per process.
LOAD_UNITS = """
import dlt
from requests_resharmonics.dlt import resharmonics_source

pipeline = dlt.pipeline("secrets", destination="duckdb", dataset_name="resharmonics")
pipeline.run(resharmonics_source().with_resources("units"))
print("units:", pipeline.last_trace.last_normalize_info.row_counts["units"])
"""


@pytest.mark.parametrize("where", ["secrets.toml", "environment"])
def test_the_dlt_source_reads_the_section_the_page_names(
    where: str, fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    pytest.importorskip("dlt")
    fake = fake_resharmonics
    env = {**CLEAN_ENV, "DLT_DATA_DIR": str(tmp_path / "dlt")}
    if where == "secrets.toml":
        (tmp_path / ".dlt").mkdir()
        (tmp_path / ".dlt" / "secrets.toml").write_text(secrets_toml(fake))
    else:
        for name, value in fake.environ().items():
            env[name.replace("RESHARMONICS_", "SOURCES__RESHARMONICS__")] = value
    result = subprocess.run(
        [sys.executable, "-c", LOAD_UNITS],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 40" in result.stdout
    assert fake.token_requests == 1
