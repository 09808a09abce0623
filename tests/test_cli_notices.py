"""What the command line says about its settings: its own flags, typos, and tokens it rebuys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from requests_resharmonics.cli import _commands as cli_module
from requests_resharmonics.testing import FakeResharmonics


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No RESHARMONICS_* variable (in any spelling), and a cache folder of the test's own."""
    for name in list(os.environ):
        if "HARMONIC" in name.upper():
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return monkeypatch


def test_missing_credentials_are_asked_for_as_flags(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_module.main(["token"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "resharmonics: error: missing Res:Harmonics credentials: set RESHARMONICS_CLIENT_ID "
        "and RESHARMONICS_CLIENT_SECRET (or pass --client-id and --client-secret)\n"
    )


def test_a_prefix_typo_is_named_in_the_error_it_causes(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("RESHARMONIC_CLIENT_ID", "my-id")
    clean_env.setenv("RESHARMONICS_CLIENT_SECRET", "a-secret-of-the-test")
    assert cli_module.main(["token", "--no-cache"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "resharmonics: warning: RESHARMONIC_CLIENT_ID is set, but requests-resharmonics does "
        "not read it: did you mean RESHARMONICS_CLIENT_ID?",
        "resharmonics: error: missing Res:Harmonics credentials: set RESHARMONICS_CLIENT_ID "
        "(or pass --client-id and --client-secret); RESHARMONIC_CLIENT_ID is set: did you "
        "mean RESHARMONICS_CLIENT_ID?",
    ]


def test_a_testing_token_url_is_asked_for_as_a_flag(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("RESHARMONICS_CLIENT_SECRET", "a-secret-of-the-test")
    args = ["token", "--client-id", "id", "--environment", "testing", "--no-cache"]
    assert cli_module.main(args) == 2
    err = capsys.readouterr().err
    assert "the testing environment's token URL is not public: pass --token-url or set " in err
    assert "token_url=" not in err


def test_flags_replace_argument_names_but_not_url_parameters() -> None:
    message = (
        "set X and Y (or token_url= and base_url=); pass scope=, "
        "not 'https://h/t?scope=read&client_id=abc' nor options.scope=1"
    )
    assert cli_module._in_flags(message) == (
        "set X and Y (or --token-url and --base-url); pass --scope, "
        "not 'https://h/t?scope=read&client_id=abc' nor options.scope=1"
    )


#: One run of the command line in a process of its own, as if the [file] extra were missing.
WITHOUT_FILE_EXTRA = (
    "import sys; sys.modules['filelock'] = None; "
    "from requests_resharmonics.cli import main; sys.exit(main(sys.argv[1:]))"
)


def run_without_file_extra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_FILE_EXTRA, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_the_file_extra_each_run_says_once_that_it_buys_a_token(
    clean_env: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    for _ in range(3):
        run = run_without_file_extra("token")
        assert run.returncode == 0, run.stderr
        assert run.stderr.count("\n") == 1
        assert run.stderr.startswith("resharmonics: note: tokens cannot be reused between runs")
        assert "pip install 'requests-resharmonics[file]'" in run.stderr
        assert "--no-cache" in run.stderr
    assert fake_resharmonics.token_requests == 3  # what the note is about
    # Asking for a token per run is a choice, and says nothing.
    run = run_without_file_extra("token", "--no-cache")
    assert (run.returncode, run.stderr) == (0, "")


def test_with_the_file_extra_nothing_is_said_and_the_token_is_reused(
    clean_env: pytest.MonkeyPatch,
    fake_resharmonics: FakeResharmonics,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("filelock", reason="install the 'file' extra")
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    for _ in range(2):
        assert cli_module.main(["token"]) == 0
        assert capsys.readouterr().err == ""
    assert fake_resharmonics.token_requests == 1
