"""README.rst's Python examples run against the fake, and none uses an invented field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from requests_resharmonics.cli import _demo as demo
from requests_resharmonics.testing import FakeResharmonics

from .doc_examples import (
    DOC_PAGES,
    ROOT,
    example_env,
    pytest_modules,
    python_blocks,
    run_examples,
    run_test_module,
    snippets,
)

__all__ = ["example_env"]  # a fixture, used by name

README = ROOT / "README.rst"
#: The recipes README.rst promises, each with its example.
RECIPES = (
    "With requests: ``auth=``",
    "The session",
    "A full export",
    "A nightly sync",
    "httpx",
    "Tests",
)


@pytest.mark.parametrize("title", RECIPES)
def test_each_recipe_of_the_readme_has_an_example(title: str) -> None:
    parts = re.split(r"^(.+)\n=+\n", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    sections = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert ".. code-block:: python" in sections[title]


def test_readme_snippets_run_against_the_fake(
    example_env: FakeResharmonics, request: pytest.FixtureRequest
) -> None:
    fake = example_env
    namespace = run_examples(snippets(README), "README.rst", fake, request)
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
    assert len(namespace["names"]) == 40  # the httpx recipe: four pages of ten units
    assert namespace["response"].status_code == 200  # the auth= recipe
    assert namespace["bookings"]["content"]  # the session's


def test_readme_pytest_example_passes_with_the_plugin(tmp_path: Path) -> None:
    (module,) = pytest_modules(README)
    result = run_test_module(module, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


INVENTED = ("arrivalDate", "departureDate", "totalPrice", "nightlyRate", '["status"]')


@pytest.mark.parametrize(
    "path",
    [
        README,
        ROOT / "examples/quickstart.ipynb",
        Path(demo.__file__),  # the installed module, where the tests run on a wheel
        *DOC_PAGES,
    ],
    ids=lambda path: path.name,
)
def test_docs_use_only_real_field_names(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not [name for name in INVENTED if name in text]


def test_the_readme_examples_are_few() -> None:
    # Five minutes' reading: one example a recipe; the rest is on the documentation's pages.
    assert len(python_blocks(README)) == len(RECIPES)
