"""Progress bars for long exports: pages, items, rate and time left.

On the command line (`progress_bar`, on a terminal only) and in notebooks or scripts
(``paginate(..., progress=True)``, `notebook_bar`: a Jupyter widget, else a text bar).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from ..errors import ConfigurationError
from .page import PageProgress


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


class NotebookBar:
    """A ``tqdm.auto`` bar for one export: a widget in Jupyter, a text bar elsewhere.

    Created by ``paginate(..., progress=True)``; it appears with the first page and is
    closed when the export ends, however it ends.

    Example:
        >>> rows = list(session.paginate("/api/v3/bookings", progress=True))
        GET /api/v3/bookings: 100%|##########| 683/683 [00:02<00:00, 301.2 items/s, page 7/7]
    """

    def __init__(self, description: str) -> None:
        self._description = description
        self._bar: Any = None
        self._lock = threading.Lock()

    def __call__(self, progress: PageProgress) -> None:
        """Draw ``progress`` (the bar appears with the first page)."""
        with self._lock:
            if self._bar is None:
                from tqdm.auto import tqdm

                self._bar = tqdm(
                    desc=self._description, total=progress.total_elements, unit=" items"
                )
            _advance(self._bar, progress)

    def both(
        self, other: Callable[[PageProgress], object] | None
    ) -> Callable[[PageProgress], object]:
        """Return an ``on_page`` callback that draws the bar, then calls ``other`` (if any)."""
        if other is None:
            return self

        def both(progress: PageProgress) -> None:
            self(progress)
            other(progress)

        return both

    def close(self) -> None:
        """Close the bar (leaving it drawn as it stopped)."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()


def notebook_bar(description: str) -> NotebookBar:
    """Return the bar of ``paginate(..., progress=True)``; refuse without tqdm installed."""
    try:
        import tqdm.auto  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "progress=True needs tqdm: pip install 'requests-resharmonics[progress]'"
        ) from None
    return NotebookBar(description)
