"""README.rst's Python examples run against the fake, and none uses an invented field."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sized
from pathlib import Path
from typing import Any, cast

import pytest

from requests_resharmonics.cli import _demo as demo
from requests_resharmonics.testing import FakeResharmonics

from .test_cli import CLEAN_ENV

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.rst").read_text(encoding="utf-8")
BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.MULTILINE)
EXAMPLES = [textwrap.dedent(block) for block in BLOCK.findall(README)]
SNIPPETS = [block for block in EXAMPLES if "def test_" not in block]
TEST_FILES = [block for block in EXAMPLES if "def test_" in block]

MYJOB = """
from requests_resharmonics import ResharmonicsSession


def sync_bookings():
    with ResharmonicsSession() as session:
        return list(session.paginate("/api/v3/bookings", {"statuses": "CONFIRMED"}))
"""


def test_the_readme_has_examples_of_both_kinds() -> None:
    assert len(SNIPPETS) >= 8
    assert len(TEST_FILES) == 1


def test_readme_snippets_run_against_the_fake(
    resharmonics_env: FakeResharmonics,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake = resharmonics_env
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # FileTokenCache() writes here
    monkeypatch.chdir(tmp_path)  # and the sync recipe its high-water mark
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))  # dlt's pipelines, not ~/.dlt
    namespace: dict[str, object] = {}
    for number, block in enumerate(SNIPPETS):
        code = (
            block.replace("https://apiv3.rerumapp.uk", fake.base_url)
            .replace('"my-client-id"', repr(fake.client_id))
            .replace('"my-client-secret"', repr(fake.client_secret))
        )
        if "redis://" in code:
            redis_url = request.getfixturevalue("redis_server").url
            code = re.sub(r"redis://[\w.:/-]+", redis_url, code)
        if "postgresql://" in code:
            postgres_url = request.getfixturevalue("postgres").url()
            code = re.sub(r"postgresql://[\w.:@/-]+", postgres_url, code)
        exec(compile(code, f"README.rst python block {number}", "exec"), namespace)  # noqa: S102
    first = cast(list[dict[str, Any]], namespace["first_night"])
    second = cast(list[dict[str, Any]], namespace["second_night"])
    assert len(first) > 300  # a year of stays
    assert second == []  # nothing changed between the two runs
    # A stay changes during the day: the next night reads that one row, and only it.
    enquiry = next(s for s in fake.portfolio.room_stays.values() if s.status == "ENQUIRY")
    fake.portfolio.set_status(enquiry, "CONFIRMED")
    third: list[dict[str, Any]] = []
    sync = cast(Callable[[Callable[[dict[str, Any]], None]], None], namespace["nightly_sync"])
    sync(third.append)
    assert [row["roomStayId"] for row in third] == [enquiry.id]
    assert len(cast(Sized, namespace["stays"])) > 20  # the DataFrame of the notebook recipe


def test_readme_pytest_example_passes_with_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "myjob.py").write_text(MYJOB)
    (tmp_path / "test_nightly.py").write_text(TEST_FILES[0])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**CLEAN_ENV, "PYTHONPATH": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


INVENTED = ("arrivalDate", "departureDate", "totalPrice", "nightlyRate", '["status"]')


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "README.rst",
        ROOT / "examples/quickstart.ipynb",
        Path(demo.__file__),  # the installed module, where the tests run on a wheel
        *sorted((ROOT / "docs").glob("*.rst")),
    ],
    ids=lambda path: path.name,
)
def test_docs_use_only_real_field_names(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not [name for name in INVENTED if name in text]


DOC_PAGES = sorted((ROOT / "docs").glob("*.rst"))


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda path: path.name)
def test_the_docs_pages_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RESHARMONICS_"):
            monkeypatch.delenv(name)
    logger = logging.getLogger("requests_resharmonics")  # an example may add a handler
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "level", logger.level)
    namespace: dict[str, object] = {}
    blocks = [textwrap.dedent(b) for b in BLOCK.findall(page.read_text(encoding="utf-8"))]
    for number, block in enumerate(blocks):
        exec(compile(block, f"{page.name} python block {number}", "exec"), namespace)  # noqa: S102
