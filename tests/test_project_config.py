"""What setup.cfg promises, tox and CI test: the same Pythons and the same floors.

The floors are a security decision (SECURITY.rst, "Dependency floors"): each is the first
release without the known credential leaks, and ``tox -e lowest`` runs the suite on exactly
those releases, on the oldest Python allowed.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The first release of each dependency without a known credential leak.
FIXED = {"requests": "2.33.0", "urllib3": "2.7.0", "oauthlib": "3.2.1"}
#: The caches' own dependencies (extras): the first releases free of published advisories
#: but the one SECURITY.rst names (redis-py's PYSEC-2023-312, filed against a server bug).
CACHES_FIXED = {"cryptography": "50.0.0", "redis": "4.5.4", "psycopg": "3.1"}

pytestmark = pytest.mark.skipif(
    not (ROOT / "tox.ini").exists(), reason="a checkout's files, not an sdist's"
)


def _read(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / name, encoding="utf-8")
    return parser


def _version(text: str) -> tuple[int, ...]:
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 2 and parts[-1] == 0:  # 1.3 and 1.3.0 are one release
        parts.pop()
    return tuple(parts)


def floors() -> dict[str, str]:
    lines = _read("setup.cfg")["options"]["install_requires"].split("\n")
    found = (re.fullmatch(r"\s*([\w.-]+)>=([\d.]+)\s*", line) for line in lines if line.strip())
    return {match[1]: match[2] for match in found if match}


def extras_floors() -> dict[str, set[str]]:
    """Every floor the extras give each dependency (one extra may repeat another's)."""
    found: dict[str, set[str]] = {}
    for lines in _read("setup.cfg")["options.extras_require"].values():
        for line in lines.split("\n"):
            match = re.fullmatch(r"\s*([\w.-]+)(?:\[[\w,]+\])?>=([\d.]+)\s*", line)
            if match:
                found.setdefault(match[1], set()).add(match[2])
    return found


def lowest_pins() -> dict[str, str]:
    deps = _read("tox.ini")["testenv:lowest"]["deps"].split("\n")
    return dict(line.strip().split("==") for line in deps if "==" in line)


def oldest_python() -> str:
    required = _read("setup.cfg")["options"]["python_requires"]
    match = re.fullmatch(r">=\s*(3\.\d+)", required.strip())
    assert match, required
    return match[1]


def test_the_floors_are_releases_with_the_credential_fixes() -> None:
    declared = floors()
    for name, fixed in FIXED.items():
        assert _version(declared[name]) >= _version(fixed), name


def test_the_lowest_environment_is_the_floors_on_the_oldest_python() -> None:
    pins = lowest_pins()
    for name, floor in floors().items():
        assert _version(pins[name]) == _version(floor), name
    assert _read("tox.ini")["testenv:lowest"]["basepython"] == f"python{oldest_python()}"


def test_the_caches_floors_are_free_of_advisories_and_pinned_in_the_lowest_environment() -> None:
    declared, pins = extras_floors(), lowest_pins()
    for name, fixed in CACHES_FIXED.items():
        assert len(declared[name]) == 1, f"{name}: every extra gives the same floor"
        [floor] = declared[name]
        assert _version(floor) >= _version(fixed), name
        assert _version(pins[name]) == _version(floor), name


def test_every_promised_python_is_tested_and_no_other() -> None:
    classifiers = _read("setup.cfg")["metadata"]["classifiers"]
    promised = set(re.findall(r"Programming Language :: Python :: (3\.\d+)$", classifiers, re.M))
    assert min(promised, key=_version) == oldest_python()
    envlist = _read("tox.ini")["tox"]["envlist"]
    tested = {f"3.{env[3:]}" for env in re.findall(r"py3\d+", envlist)}
    for whole_suite in ("dist", "lowest"):  # each runs the suite on a Python of its own
        tested.add(_read("tox.ini")[f"testenv:{whole_suite}"]["basepython"].removeprefix("python"))
    assert tested == promised
    if (ROOT / ".ci").exists():  # a checkout's, not an sdist's
        loop = re.search(r"for version in ([\d. ]+); do", (ROOT / ".ci" / "run").read_text())
        assert loop and set(loop[1].split()) == promised
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'target-version = "py{oldest_python().replace(".", "")}"' in pyproject
    assert f'python_version = "{oldest_python()}"' in pyproject


def test_a_missing_python_fails_the_run_instead_of_being_skipped() -> None:
    assert _read("tox.ini")["tox"]["skip_missing_interpreters"] == "false"


def test_a_missing_python_says_how_to_get_it(tmp_path: Path) -> None:
    pytest.importorskip("tox", reason="install tox to run tox itself")
    empty = tmp_path / "bin"
    empty.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "tox", "-e", "py313", "--workdir", str(tmp_path / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": str(empty), "TOX_SKIP_MISSING_INTERPRETERS": ""},
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no Python for py313 on PATH" in output
    assert "--skip-missing-interpreters true" in output
