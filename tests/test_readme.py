"""README.rst is valid reStructuredText, and its commands are the ones CI runs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", ["README.rst", "SECURITY.rst", "benchmarks/README.rst"])
def test_documents_render_without_warnings(name: str) -> None:
    core = pytest.importorskip("docutils.core", reason="install the 'tests' extra")
    core.publish_doctree(
        (ROOT / name).read_text(encoding="utf-8"),
        settings_overrides={"report_level": 2, "halt_level": 2},
    )


def test_ci_runs_the_test_command_from_the_readme() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    command = "python3 -m venv .venv && .venv/bin/pip install tox && .venv/bin/tox"
    assert command in readme
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
