"""examples/quickstart.ipynb runs top to bottom, and shows no secret."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="install the 'tests' extra to run notebooks")
nbclient = pytest.importorskip("nbclient", reason="install the 'tests' extra to run notebooks")

NOTEBOOK = Path(__file__).parent.parent / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_executes(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("RESHARMONICS_"):
            monkeypatch.delenv(name)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute(cwd=str(NOTEBOOK.parent))
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    text = json.dumps(outputs)
    assert "text/html" in text  # the rich display of the auth object and the session
    assert "token valid for" in text
    assert "(200, [401])" in text  # the expired token was renewed and the call replayed
    shown = outputs_of(notebook, '"/api/v3/bookings"')
    assert re.search(r"\('\d{8}-\d{5}',\s+'[A-Z_]+',\s+'\d{4}-\d\d-\d\d'", shown)  # booking rows
    frame = outputs_of(notebook, "json_normalize")
    assert "unit.name" in frame
    assert "bookingContact.lastName" in frame
    departures = outputs_of(notebook, "checkOutDateFrom")
    assert re.search(r"\('\d{4}-\d\d-\d\d', '", departures)  # someone is leaving
    assert "fake-secret-" not in text
    assert "eyJ" not in text  # no JWT-shaped token in any output


def outputs_of(notebook: object, marker: str) -> str:
    cells = [
        cell
        for cell in notebook.cells  # type: ignore[attr-defined]
        if cell.cell_type == "code" and marker in cell.source
    ]
    assert len(cells) == 1
    return "".join(output["data"]["text/plain"] for output in cells[0].outputs)


def test_prompt_in_a_headless_notebook_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("RESHARMONICS_"):
            monkeypatch.delenv(name)
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from requests_resharmonics import ResharmonicsAuth\n"
            "ResharmonicsAuth.from_env(prompt=True)"
        )
    )
    client = nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3")  # no stdin
    with pytest.raises(nbclient.exceptions.CellExecutionError) as raised:
        client.execute()
    assert raised.value.ename == "ConfigurationError"
    assert "RESHARMONICS_CLIENT_ID and RESHARMONICS_CLIENT_SECRET" in raised.value.evalue
