"""The command line and the pytest plugin load the fake only when a command or fixture uses it.

The plugin is loaded into every pytest run of every project that installs the package, and
``resharmonics token`` has no use for a fake server: each runs in a fresh interpreter here,
since this test process has long since imported the fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

FAKE = "requests_resharmonics.testing"


def _loaded_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the fake's modules it left loaded."""
    probe = code + textwrap.dedent(
        f"""
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.startswith({FAKE!r}))))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_importing_the_command_line_and_the_plugin_loads_no_fake() -> None:
    code = "import requests_resharmonics.pytest_plugin, requests_resharmonics.cli\n"
    assert _loaded_after(code) == []


def test_the_fake_server_commands_help_loads_no_fake() -> None:
    # The parser of every command, fake-server's flags included, is built without the fake.
    code = textwrap.dedent(
        """
        import contextlib, io
        from requests_resharmonics.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            try:
                main(["fake-server", "--help"])
            except SystemExit:
                pass
        assert "--token-lifetime" in out.getvalue(), out.getvalue()
        """
    )
    assert _loaded_after(code) == []


def test_a_pytest_run_that_uses_no_fixture_loads_no_fake(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            f"""
            import sys

            def test_plain():
                loaded = [m for m in sys.modules if m.startswith({FAKE!r})]
                assert "requests_resharmonics.pytest_plugin" in sys.modules
                assert loaded == []
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
