"""Where ``resharmonics get`` writes: stdout, or a file replaced atomically.

A partial export never looks like a complete one.
A JSON array is closed only once the export is complete; on a failure or an interruption it
is left open, so no JSON parser accepts it, and the exit status is not 0. ``--output FILE``
writes a temporary file next to FILE and renames it into place only when complete: a FILE
that exists is whole. A closed pipe ends the command silently with status 141, as a command
killed by SIGPIPE; any other write error is one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, TextIO

#: The exit statuses of a shell whose command was interrupted, terminated, or lost its pipe.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM
EXIT_BROKEN_PIPE = 128 + 13  # SIGPIPE, which Windows does not define


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM during an export, as Ctrl-C raises KeyboardInterrupt.

    Both then end the same way: the export cut, the output left incomplete, a line said.
    """


class WriteFailed(Exception):
    """Writing the output failed: a full disk, a closed pipe, a file that cannot be made."""

    def __init__(self, target: str, error: OSError) -> None:
        super().__init__(f"cannot write {target}: {error.strerror or error}")
        self.target = target
        self.error = error

    @property
    def broken_pipe(self) -> bool:
        """Whether the reader of a pipe went away (``| head -1``): no error to report."""
        return isinstance(self.error, BrokenPipeError)


class Signals:
    """Ctrl-C and SIGTERM during an export: raised at once, but never while an item is written.

    The count of items written is then exact: an item is either written and counted, or not.

    Example:
        >>> with Signals() as signals:
        ...     with signals.held():
        ...         write(item)  # a Ctrl-C meanwhile is raised once the item is written
    """

    def __init__(self) -> None:
        self._holding = False
        self._pending: BaseException | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._arrived)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _arrived(self, signum: int, frame: FrameType | None) -> None:
        error = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if self._holding:
            self._pending = self._pending or error
            return
        raise error

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold signals back while inside; raise the first that came on the way out."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending


class Output:
    r"""Standard output, or a temporary file renamed to ``path`` by `commit`.

    Example:
        >>> output = Output.open("bookings.json")  # or Output.open(None) for stdout
        >>> output.write("[]\\n")
        >>> output.commit()  # only now does bookings.json appear, whole
    """

    def __init__(self, stream: TextIO, name: str, path: str | None, temporary: str | None) -> None:
        self.stream = stream
        self.name = name
        self.path = path
        self._temporary = temporary

    @classmethod
    def open(cls, path: str | None) -> Output:
        """Open stdout (``path`` None) or a temporary file beside ``path``."""
        if path is None or path == "-":
            return cls(sys.stdout, "stdout", None, None)
        folder = os.path.dirname(os.path.abspath(path))
        try:
            handle, temporary = tempfile.mkstemp(
                prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder
            )
        except OSError as error:
            raise WriteFailed(path, error) from None
        stream = os.fdopen(handle, "w", encoding="utf-8")
        return cls(stream, path, path, temporary)

    def write(self, text: str) -> None:
        """Write ``text``; a failure is a `WriteFailed`."""
        try:
            self.stream.write(text)
        except OSError as error:
            raise WriteFailed(self.name, error) from None

    def commit(self) -> None:
        """Flush stdout, or make the file whole on disk and rename it into place."""
        try:
            self.stream.flush()
            if self._temporary is None or self.path is None:
                return
            os.fsync(self.stream.fileno())
            self.stream.close()
            os.chmod(self._temporary, _mode_for(self.path))
            os.replace(self._temporary, self.path)
            self._temporary = None
        except OSError as error:
            raise WriteFailed(self.name, error) from None

    def discard(self, error: BaseException | None) -> None:
        """After a failure: remove the temporary file; leave a broken stdout quiet."""
        if self._temporary is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
            with contextlib.suppress(OSError):
                os.unlink(self._temporary)
            self._temporary = None
            return
        if isinstance(error, WriteFailed):
            # What is still buffered would fail again when Python flushes stdout at exit,
            # with a traceback-like "Exception ignored" message: send it nowhere instead.
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self.stream.fileno())
                os.close(devnull)


def _mode_for(path: str) -> int:
    """Return the mode a plain ``>`` would give FILE: its own if it exists, else 0666 - umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class ItemWriter:
    """Writes items as they arrive: one a line, or as the elements of a pretty JSON array.

    Nothing is written before the first item, so an export that fails at once leaves no
    output. `finish` closes the array; an export that does not finish leaves it open.
    """

    def __init__(self, output: Output, signals: Signals, *, jsonl: bool) -> None:
        self.output = output
        self.signals = signals
        self.jsonl = jsonl
        self.count = 0

    def write(self, item: Any) -> None:
        """Write one item (a signal meanwhile waits until it is written and counted)."""
        if self.jsonl:
            text = json.dumps(item, ensure_ascii=False) + "\n"
        else:
            text = textwrap.indent(json.dumps(item, indent=2, ensure_ascii=False), "  ")
            text = ("[\n" if self.count == 0 else ",\n") + text
        with self.signals.held():
            self.output.write(text)
            self.count += 1

    def finish(self) -> None:
        """Close the JSON array (or write ``[]``): the export is complete."""
        if not self.jsonl:
            self.output.write("[]\n" if self.count == 0 else "\n]\n")


def progress_line(done: str, count: int, total: int | None, output: Output) -> str:
    """Say how far an export got: ``interrupted: wrote 80 of 683 items``."""
    of = f" of {total}" if total is not None else ""
    if output.path is None:
        return f"{done}: wrote {count}{of} items"
    return f"{done} after {count}{of} items; {output.path} was not written"
