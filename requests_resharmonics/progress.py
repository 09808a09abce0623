"""A progress bar for long exports on the command line: pages, items, rate and time left."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Callable, TextIO

from .pagination import PageProgress


@contextlib.contextmanager
def progress_bar(stream: TextIO) -> Iterator[Callable[[PageProgress], object] | None]:
    """Yield an ``on_page`` callback that draws a bar on ``stream``, or None.

    Only when ``stream`` is a terminal (a bar in a log file or a pipe is noise), and only
    with tqdm installed (``pip install 'requests-resharmonics[progress]'``).
    """
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    bar = _tqdm(stream) if interactive else None
    if bar is None:
        yield None
        return
    try:
        yield lambda progress: _advance(bar, progress)
    finally:
        bar.close()


def _tqdm(stream: TextIO) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    try:  # a terminal that reports no width (an unsized pty) would get an empty bar
        width = os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        width = 80
    return tqdm(file=stream, unit=" items", ncols=width, leave=True)


def _advance(bar: Any, progress: PageProgress) -> None:
    if bar.total is None and progress.total_elements is not None:
        bar.total = progress.total_elements
    pages = f"{progress.number + 1}/{progress.total_pages}" if progress.total_pages else "?"
    bar.set_postfix_str(f"page {pages}", refresh=False)
    bar.update(progress.items)
