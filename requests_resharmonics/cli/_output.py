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
from collections.abc import Callable, Iterator
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
    """Ctrl-C and SIGTERM during an export: never lost, never raised inside the export's code.

    Outside an export a signal is raised at once, as Python does, so that a request or a lock
    that blocks the main thread is left; but never while an item is written (`held`): the
    count of items written is then exact, an item is either written and counted, or not.

    While an export is read (`cancelling`), a signal is only noted: an exception raised
    wherever the main thread happens to be could land in a finalizer or a weakref callback,
    which swallow it (the export would then wait for ever on a page that hangs), or inside
    threading's or the export's own code, between a lock taken and the ``try`` that frees it.
    A thread of ours, woken through a pipe (writing to it takes no lock), stops the export
    instead, as the export allows from any thread; the signal is raised once the export has
    stopped, or between two items, whichever comes first.

    Example:
        >>> with Signals() as signals:
        ...     with signals.cancelling(rows.cancel):
        ...         for item in rows:
        ...             with signals.held():
        ...                 write(item)  # a Ctrl-C meanwhile is raised once it is written
    """

    def __init__(self) -> None:
        self._holding = False
        self._deferring = False
        self._wake: int | None = None
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
        self._previous.clear()

    def _arrived(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between any two of its bytecodes: it takes no lock.
        error = Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        if self._deferring:
            self._pending = self._pending or error
            wake = self._wake
            if wake is not None:
                with contextlib.suppress(OSError):  # full: the relay is awake already
                    os.write(wake, b"\0")
            return
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

    @contextlib.contextmanager
    def cancelling(self, stop: Callable[[], object]) -> Iterator[None]:
        """Inside, a signal calls ``stop`` from another thread; it is raised on the way out.

        ``stop`` must end, from any thread, whatever the main thread waits for inside
        (`Export.cancel` does). Without the handlers (not the main thread), signals are
        left as they are.
        """
        if not self._previous:
            yield
            return
        self._deferring = True
        relay: threading.Thread | None = None
        read = write = -1
        try:
            read, write = os.pipe()
            if hasattr(os, "set_blocking"):  # not on Windows before 3.12: the relay reads
                os.set_blocking(write, False)  # the first byte, and a pipe holds thousands
            relay = threading.Thread(
                target=_relay, args=(read, stop), name="resharmonics-signals", daemon=True
            )
            relay.start()
            self._wake = write
            if self._pending is not None:  # came while the relay was being started
                os.write(write, b"\0")
            yield
        finally:
            self._wake = None
            if write >= 0:
                os.close(write)  # the relay reads the end of the pipe, and returns
            if relay is not None:
                relay.join()
            if read >= 0:
                os.close(read)
            self._deferring = False
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending  # instead of the export's ExportCancelled: it is what stopped it


def _relay(read: int, stop: Callable[[], object]) -> None:
    """Wait for a signal (a byte) or the end of the export (the pipe closed); stop on a signal."""
    if os.read(read, 1):
        stop()


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
