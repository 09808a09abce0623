"""README.rst is valid reStructuredText, its commands are the ones CI runs, and what it (or the
page its content moved to) says of the code is so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    "name", ["README.rst", "SECURITY.rst", "CHANGELOG.rst", "benchmarks/README.rst"]
)
def test_documents_render_without_warnings(name: str) -> None:
    core = pytest.importorskip("docutils.core", reason="install the 'tests' extra")
    core.publish_doctree(
        (ROOT / name).read_text(encoding="utf-8"),
        settings_overrides={"report_level": 2, "halt_level": 2},
    )


@pytest.mark.skipif(not (ROOT / ".ci").exists(), reason="a checkout's file, not an sdist's")
def test_ci_runs_the_test_command_from_the_readme() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    command = "python3 -m venv .venv && .venv/bin/pip install tox && .venv/bin/tox run-parallel"
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("document", "promise"),
    [
        ("README.rst", "pip install '.[file,redis]'"),  # installing from a checkout
        # what paginate raises for an error page
        ("docs/getting-started.rst", "``requests.HTTPError`` when a page is"),
        # unreplayable bodies
        ("docs/renewal.rst", "is never re-sent: that call returns the expiry 401 to you"),
        ("docs/getting-started.rst", "``RESHARMONICS_ENVIRONMENT``"),
        ("docs/getting-started.rst", "``api_timeout`` (60 s)"),
        ("docs/cli.rst", "``--no-cache``"),
    ],
)
def test_the_documentation_says_what_the_code_does(document: str, promise: str) -> None:
    assert promise in " ".join((ROOT / document).read_text(encoding="utf-8").split())


def test_every_test_security_rst_names_exists() -> None:
    text = (ROOT / "SECURITY.rst").read_text(encoding="utf-8")
    named = re.findall(r"``(tests/[\w/]+\.py)::(test_\w+)``", text)
    assert len(named) >= 30
    for path, name in named:
        assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), name
