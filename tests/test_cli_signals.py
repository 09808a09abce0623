"""A Ctrl-C or SIGTERM during ``resharmonics get --all`` ends the export wherever it lands in
the main thread: in a finalizer or a weakref callback too, which swallow what is raised there
(a handler that raised there once left the command waiting for ever on a page that hangs)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from requests_resharmonics._export.page import PageProgress
from requests_resharmonics.cli import _commands
from requests_resharmonics.testing import FakeResharmonics

from .misbehaving import Asked, PagedServer, Reply, good_page, paged_server
from .test_cli_export import PROMPTLY, TOTAL, environ, get_all

__all__ = ["paged_server"]

StartServer = Callable[[Callable[[Asked], Reply]], PagedServer]


class _SignalsWhenFinalized:
    """An object whose finalizer sends the process a signal: Python ignores what it raises."""

    def __init__(self, sent: signal.Signals) -> None:
        self.sent = sent

    def __del__(self) -> None:
        signal.raise_signal(self.sent)


@pytest.mark.skipif(os.name != "posix", reason="signals")
@pytest.mark.parametrize(
    ("sent", "status", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_that_lands_in_a_finalizer_still_ends_the_export(
    sent: signal.Signals,
    status: int,
    said: str,
    fake_resharmonics: FakeResharmonics,
    paged_server: StartServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    released = threading.Event()

    def answer(asked: Asked) -> Reply:
        reply = good_page(asked, TOTAL)
        if asked.page == 2:  # held back until the test ends: only the signal ends the export
            reply.before = lambda: released.wait(10)
        return reply

    @contextlib.contextmanager
    def on_page_bar(stream: object) -> Iterator[Callable[[PageProgress], object]]:
        def on_page(progress: PageProgress) -> None:
            if progress.number == 1:
                # Garbage collection can run a finalizer at any point in the main thread:
                # a Ctrl-C that arrives meanwhile is handled there.
                _SignalsWhenFinalized(sent)

        yield on_page

    server = paged_server(answer)
    for name, value in environ(fake_resharmonics, server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_commands, "progress_bar", on_page_bar)
    target = tmp_path / "rows.json"
    started = time.monotonic()
    try:
        exit_status = _commands.main(get_all("-o", str(target)))
    finally:
        released.set()
    assert time.monotonic() - started < 10 * PROMPTLY
    assert exit_status == status
    err = capsys.readouterr().err
    assert err.startswith(f"resharmonics: {said} after "), err
    assert err.endswith(f" of 300 items; {target} was not written\n")
    assert list(tmp_path.iterdir()) == []
