"""Running the Python examples of README.rst and docs/*.rst as a reader would, on the fake.

An example is written for the live service: credentials from the ``RESHARMONICS_*``
variables, or ``"my-client-id"``, and the API at ``https://apiv3.rerumapp.uk``. Here the
variables point at a fake server, and those few literals are replaced by the fake's. The
blocks of one document run in order in one namespace, as a reader pastes them.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics import otel
from requests_resharmonics.testing import FakeResharmonics

from .test_cli import CLEAN_ENV

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:    .*)?\n)+)", re.MULTILINE)
DOC_PAGES = sorted((ROOT / "docs").glob("*.rst"))

#: A module that README.rst's test example imports: the user's own job.
MYJOB = """
from requests_resharmonics import ResharmonicsSession


def sync_bookings():
    with ResharmonicsSession() as session:
        return list(session.paginate("/api/v3/bookings", {"statuses": "CONFIRMED"}))
"""


def python_blocks(path: Path) -> list[str]:
    """Return the ``.. code-block:: python`` blocks of a document, dedented."""
    return [textwrap.dedent(block) for block in BLOCK.findall(path.read_text(encoding="utf-8"))]


def snippets(path: Path) -> list[str]:
    """Return the blocks that are code to run, not a pytest module."""
    return [block for block in python_blocks(path) if "def test_" not in block]


def pytest_modules(path: Path) -> list[str]:
    """Return the blocks that are pytest modules, run by pytest with the plugin."""
    return [block for block in python_blocks(path) if "def test_" in block]


def missing_module(block: str) -> str | None:
    """Return a module the block imports that is not installed here (httpx2 needs 3.11)."""
    names: list[str] = re.findall(r"^(?:from|import) (\w+)", block, re.MULTILINE)
    for name in names:
        if importlib.util.find_spec(name) is None:
            return name
    return None


@pytest.fixture
def example_env(
    resharmonics_env: FakeResharmonics,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> FakeResharmonics:
    """A fake server that the ``RESHARMONICS_*`` variables name, and a folder of scratch.

    The examples' files (a sync's mark, a cassette, a DuckDB file, a token cache) go to
    ``tmp_path``; what an example changes in the process (log handlers, the OpenTelemetry
    providers) is put back afterwards.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # FileTokenCache() writes here
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt"))  # dlt's pipelines, not ~/.dlt
    for logger in (logging.getLogger("requests_resharmonics"), logging.getLogger()):
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(otel, "_instruments", otel._instruments)
    return resharmonics_env


def run_examples(
    blocks: list[str], name: str, fake: FakeResharmonics, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """Run ``blocks`` in order in one namespace, against ``fake``; return the namespace.

    Each FastAPI app an example defines is started, asked every route it serves, and
    stopped, as its tests would with ``TestClient``.
    """
    namespace: dict[str, Any] = {}
    apps_seen: set[int] = set()
    for number, block in enumerate(blocks):
        if missing_module(block):
            continue
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
        exec(compile(code, f"{name} python block {number}", "exec"), namespace)  # noqa: S102
        namespace.setdefault("_apps_asked", []).extend(serve_new_apps(namespace, apps_seen))
    return namespace


def serve_new_apps(namespace: dict[str, Any], seen: set[int]) -> Iterator[str]:
    """Run each FastAPI app not seen before through its lifespan; yield the paths asked."""
    fastapi = sys.modules.get("fastapi")
    if fastapi is None:
        return
    from fastapi.routing import APIRoute
    from fastapi.testclient import TestClient

    for app in [value for value in namespace.values() if isinstance(value, fastapi.FastAPI)]:
        if id(app) in seen:
            continue
        seen.add(id(app))
        with TestClient(app) as client:  # runs the lifespan: the app's one API client
            for route in app.routes:
                if isinstance(route, APIRoute):
                    answer = client.get(route.path)
                    assert answer.status_code == 200, answer.text
                    assert answer.json(), route.path  # rows from the fake, not an empty list
                    yield route.path
            api_client = app.state.resharmonics
        assert api_client.is_closed  # the lifespan closed it


def run_test_module(block: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a documented pytest module with the plugin, as its reader would, and no network."""
    (tmp_path / "myjob.py").write_text(MYJOB)
    (tmp_path / "test_example.py").write_text(block)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**CLEAN_ENV, "PYTHONPATH": str(tmp_path)},
        timeout=120,
        check=False,
    )
