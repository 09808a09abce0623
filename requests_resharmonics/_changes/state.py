"""Where a change feed keeps its state between passes: a protocol, a JSON file, memory.

A state is a small JSON object: the list it belongs to, the mark of the next pass, and the
window (each row id read by the last pass, with a fingerprint of the row as it was). It is
written only when a pass is complete, by one writer at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ChangeStateError, ConfigurationError

#: A state larger than this is not one of ours (a window of a million rows is ~40 MB).
MAX_STATE_BYTES = 256 << 20


@runtime_checkable
class ChangeState(Protocol):
    """Where a change feed keeps its mark: the protocol every store follows.

    A pass calls `acquire` before it reads anything, `load` once, `save` once if it
    completes, and `release` at the end however it ends. A store of your own (a database
    row, a cloud object) needs only these four methods.

    Example:
        >>> class RowState:
        ...     def acquire(self) -> None: db.execute("select ... for update")
        ...     def load(self) -> dict | None: return db.fetch_state()
        ...     def save(self, state: dict) -> None: db.store_state(state)
        ...     def release(self) -> None: db.commit()
    """

    def acquire(self) -> None:
        """Become the one writer of the state, or raise `ChangeStateError` (retryable)."""
        ...

    def load(self) -> Mapping[str, Any] | None:
        """Return the state the last complete pass saved, or None before the first."""
        ...

    def save(self, state: Mapping[str, Any]) -> None:
        """Replace the state with ``state`` (JSON-serialisable), all at once."""
        ...

    def release(self) -> None:
        """Stop being the writer (after `save`, or without saving)."""
        ...


class MemoryChangeState:
    """A state in memory: for tests, or a feed polled by one long-running process.

    Example:
        >>> state = MemoryChangeState()
        >>> for row in session.changes("/api/v3/roomStays", state=state): ...
    """

    def __init__(self) -> None:
        self.state: Mapping[str, Any] | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Become the writer; another pass holding it is an error, not a wait."""
        if not self._lock.acquire(blocking=False):
            raise ChangeStateError("another pass of this change feed is running",
                                   retryable=True)  # fmt: skip

    def load(self) -> Mapping[str, Any] | None:
        """Return the saved state (a copy), or None."""
        return json.loads(json.dumps(self.state)) if self.state is not None else None

    def save(self, state: Mapping[str, Any]) -> None:
        """Keep a copy of ``state``."""
        self.state = json.loads(json.dumps(state))

    def release(self) -> None:
        """Let the next pass in."""
        with contextlib.suppress(RuntimeError):  # not held
            self._lock.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'empty' if self.state is None else 'saved'})"


class JsonFileState:
    """A state in a JSON file, written atomically, by one process at a time.

    The file is replaced whole (a temporary file beside it, renamed), so a crash leaves the
    last complete pass's state. A lock file (``FILE.lock``) keeps a second pass, in this
    process or another, from running at the same time: it fails at once with a retryable
    `ChangeStateError` rather than wait behind a pass that may be stuck.

    Example:
        >>> for row in session.changes("/api/v3/bookings", state="bookings-sync.json"):
        ...     upsert(row)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise ConfigurationError(f"state must be a file path or a store, not {path!r}")
        self.path = Path(path)
        self._lock: _FileLock | None = None

    def acquire(self) -> None:
        """Take the lock file, or raise a retryable `ChangeStateError` naming it."""
        lock = _FileLock(Path(str(self.path) + ".lock"))
        lock.acquire()
        self._lock = lock

    def load(self) -> Mapping[str, Any] | None:
        """Return the file's state, None if there is no file, or raise if it is not one."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise ChangeStateError(f"cannot read the change state {self.path}: "
                                   f"{error.strerror or error}") from None  # fmt: skip
        try:
            state = json.loads(data) if len(data) <= MAX_STATE_BYTES else None
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise ChangeStateError(
                f"{self.path} is not a change state (a JSON object written by a change feed); "
                "remove it to read every row again"
            )
        return state

    def save(self, state: Mapping[str, Any]) -> None:
        """Write ``state`` to a temporary file beside the file, then rename it into place."""
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                                 dir=folder)  # fmt: skip
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    json.dump(state, stream, separators=(",", ":"))
                    stream.flush()
                    os.fsync(stream.fileno())
                os.chmod(temporary, _mode_for(self.path))
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            raise ChangeStateError(f"cannot write the change state {self.path}: "
                                   f"{error.strerror or error}") from None  # fmt: skip

    def release(self) -> None:
        """Release the lock file."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def state_of(state: ChangeState | str | os.PathLike[str]) -> ChangeState:
    """Return the store ``state`` names: a `JsonFileState` for a path, else the store itself."""
    if isinstance(state, (str, os.PathLike)):
        return JsonFileState(state)
    if isinstance(state, ChangeState):
        return state
    raise ConfigurationError(
        "state must be a file path (a JSON file) or a store with acquire, load, save and "
        f"release (JsonFileState, RedisChangeState...), not {type(state).__name__}"
    )


def _mode_for(path: Path) -> int:
    """Return the mode a new file gets from the umask, or the existing file's own."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


class _FileLock:
    """An exclusive lock on a file, across processes (and threads): taken at once or not at all.

    filelock when it is installed (the ``[file]`` extra); else the operating system's own
    advisory lock (``fcntl.flock`` on POSIX). The lock dies with its process.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._held: Any = None

    def acquire(self) -> None:
        busy = ChangeStateError(f"another pass of this change feed holds {self.path}; try "
                                "again once it has ended", retryable=True)  # fmt: skip
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ChangeStateError(f"cannot create {self.path}: {error.strerror}") from None
        try:
            import filelock
        except ImportError:
            self._held = _flock(self.path, busy)
            return
        lock = filelock.FileLock(str(self.path), timeout=0)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise busy from None
        self._held = lock

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        if hasattr(held, "release"):
            held.release()
        else:
            os.close(held)  # closing the descriptor drops its flock


def _flock(path: Path, busy: ChangeStateError) -> int:
    try:
        import fcntl
    except ImportError:
        raise ConfigurationError(
            "a change state file needs filelock on this system: "
            "pip install 'requests-resharmonics[file]'"
        ) from None
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise busy from None
    return descriptor
