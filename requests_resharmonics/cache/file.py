"""`FileTokenCache`: tokens shared by the processes of one user on one machine."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .base import Hold, TokenCache, budget_wait, value_id

log = logging.getLogger("requests_resharmonics")

FILE_NAME = "tokens.json"
#: A token cache holds a few hundred bytes per client: anything larger is not one.
MAX_FILE_BYTES = 1 << 20
#: A fetch lock unused for this long is removed by the next write. A fetch holds its lock
#: for one token request (seconds) and marks it used when it takes it, so a lock this old
#: is nobody's: removing it costs nothing, and keeping it would leave one file per client,
#: secret or scope ever used.
STALE_LOCK_SECONDS = 3600.0
_FETCH_LOCK_SUFFIX = ".fetch.lock"
# Entries beside the tokens: a client's hold on its token requests, and its budget's count.
_HOLD = "hold:"
_BUDGET = "budget:"
# Never follow a link planted at the path, never block on a FIFO planted there.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


def default_path() -> Path:
    """Return the per-user cache file in the platform's user cache directory."""
    try:
        from platformdirs import user_cache_dir
    except ImportError:
        raise _missing_extra() from None
    return Path(user_cache_dir("requests-resharmonics", appauthor=False)) / FILE_NAME


def _missing_extra() -> ConfigurationError:
    return ConfigurationError(
        "FileTokenCache needs filelock, platformdirs and cryptography: "
        "pip install 'requests-resharmonics[file]'"
    )


class FileTokenCache(TokenCache):
    """Tokens in one file per user, shared by all of that user's processes on the machine.

    Tokens are stored encrypted with a key derived from the client secret. The file is
    created with mode 0600 inside a directory with mode 0700, replaced atomically
    (a temporary file renamed over it) so that a reader never sees half of it, and guarded by
    a cross-process lock (filelock) that one process holds while it fetches a token: the
    others wait, then read its token. A corrupt file is ignored and rewritten.

    Nothing planted at the path is read: the file is opened without following a symbolic
    link and without blocking (a FIFO), and read, at most 1 MiB of it, only if it is a
    regular file of ours that nobody else can write. The folder must be ours and closed to
    others' writes (the default folder is closed if it is not); otherwise the cache is
    unavailable: one warning, and tokens are fetched directly.

    Example:
        >>> cache = FileTokenCache()  # ~/.cache/requests-resharmonics/tokens.json on Linux
        >>> auth = ResharmonicsAuth(client_id, client_secret, cache=cache)

    Args:
        path: the cache file; defaults to ``tokens.json`` in the user cache directory. A
            missing directory is created with mode 0700; an existing one given here must be
            the user's own and not writable by group or others (not /tmp).
    """

    seals = True

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        try:
            import cryptography  # noqa: F401 - checked here, so a missing extra fails early
            import filelock
        except ImportError:
            raise _missing_extra() from None
        self._filelock = filelock
        self.path = Path(path) if path is not None else default_path()
        # Only a directory of our own may be tightened: a path given by the user may live in
        # a shared directory (/tmp, a project folder) whose mode is not ours to change.
        self._own_directory = path is None
        self._warned_corrupt = False

    def __repr__(self) -> str:
        return f"FileTokenCache({str(self.path)!r})"

    def __reduce__(self) -> Any:
        return (FileTokenCache, (str(self.path),))

    # -- reading -------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        """Return the value stored for ``key`` (a missing or corrupt file is an empty cache)."""
        try:
            entries = self._read()
        except CorruptCacheError as error:
            if not self._warned_corrupt:
                log.warning("%s", error)
                self._warned_corrupt = True
            return None
        entry = entries.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    def _read(self) -> dict[str, Any]:
        self._check_directory()
        return self._load()

    def _load(self) -> dict[str, Any]:
        """Read the file, the folder being checked already."""
        try:
            descriptor = os.open(self.path, _OPEN_FLAGS)
        except FileNotFoundError:
            return {}
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise UnsafeCacheError(
                    f"{self.path} is a symbolic link; not following it"
                ) from None
            raise
        with os.fdopen(descriptor, "rb") as file:
            self._check_file(os.fstat(descriptor))
            content = file.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise CorruptCacheError(
                f"{self.path} is too large for a token cache; it will be rewritten"
            )
        try:
            entries = json.loads(content)
        except (ValueError, RecursionError, UnicodeDecodeError):
            entries = None
        if not isinstance(entries, dict):
            raise CorruptCacheError(f"{self.path} is not a token cache; it will be rewritten")
        return entries

    def _check_file(self, info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeCacheError(f"{self.path} is not a regular file; not reading it")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise UnsafeCacheError(f"{self.path} belongs to another user; not reading it")
        if stat.S_IMODE(info.st_mode) & 0o022:
            raise UnsafeCacheError(f"{self.path} can be written by others; not reading it")

    def _check_directory(self) -> None:
        """Refuse a folder where others could plant files (or lock-file links) beside ours."""
        directory = self.path.parent
        try:
            info = directory.stat()
        except FileNotFoundError:
            return  # created, closed, by the first write
        if self._own_directory and directory.is_symlink():
            # Our default folder is tightened to 0700 and filled with tokens and locks: a
            # link planted there would make us do that to its target (a shared folder).
            raise UnsafeCacheError(f"{directory} is a symbolic link; not using it")
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeCacheError(f"{directory} is not a folder")
        if not hasattr(os, "getuid"):
            return  # Windows: the user profile's permissions apply
        if info.st_uid != os.getuid():
            raise UnsafeCacheError(f"{directory} belongs to another user; not using it")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o022 and not self._own_directory:
            raise UnsafeCacheError(
                f"{directory} can be written by others; give FileTokenCache a path in a "
                "folder of your own"
            )
        if mode & 0o077 and self._own_directory:
            directory.chmod(0o700)  # our default folder holds our tokens: others keep out

    # -- writing -------------------------------------------------------------------------

    def set(self, key: str, value: str, expires_at: float | None) -> None:
        """Store ``value`` for ``key``, dropping expired entries, in one atomic replacement."""
        with self._writing() as entries:
            entries[key] = {"value": value, "expires_at": expires_at}

    def delete_if(self, key: str, token_id: str) -> None:
        """Delete the entry for ``key`` if it holds the token ``token_id``."""
        with self._writing() as entries:
            entry = entries.get(key)
            value = entry.get("value") if isinstance(entry, dict) else None
            if isinstance(value, str) and value_id(value) == token_id:
                del entries[key]

    # -- what makes the fleet back off together ----------------------------------------

    def hold(self, key: str, until: float, reason: str) -> None:
        """Hold ``key``'s token requests until ``until`` for every process using the file."""
        name = _HOLD + key
        with self._writing() as entries:
            if until <= time.time():
                entries.pop(name, None)
                return
            previous = _number(entries.get(name), "until")
            if previous is None or previous < until:
                entries[name] = {"until": until, "reason": reason, "expires_at": until}

    def held(self, key: str) -> Hold | None:
        """Return the hold on ``key``'s token requests in the file, if one is in place."""
        try:
            entry = self._read().get(_HOLD + key)
        except CorruptCacheError:
            return None
        until = _number(entry, "until")
        reason = entry.get("reason") if isinstance(entry, dict) else None
        if until is None or until <= time.time() or not isinstance(reason, str):
            return None
        return Hold(until, reason)

    def admit_token_request(
        self, key: str, limit: int, window: float, delay: float = 0.0
    ) -> float | None:
        """Count a token request of ``key`` within its budget, under the file's write lock."""
        name = _BUDGET + key
        with self._writing() as entries:
            now = time.time()
            entry = entries.get(name)
            found = entry.get("at") if isinstance(entry, dict) else None
            counted = [
                moment
                for moment in (found if isinstance(found, list) else [])
                if isinstance(moment, (int, float)) and moment > now - window
            ]
            wait = budget_wait(counted, now + delay, limit, window)
            if wait == 0.0:
                counted.append(now + delay)
            if counted:
                entries[name] = {"at": sorted(counted), "expires_at": max(counted) + window}
            else:
                entries.pop(name, None)
            return wait

    @contextmanager
    def _writing(self) -> Iterator[dict[str, Any]]:
        self._prepare_directory()
        with self._filelock.FileLock(str(self.path) + ".lock", timeout=10, mode=0o600):
            try:
                entries = self._load()  # _prepare_directory has checked the folder
            except CorruptCacheError:
                entries = {}
            now = time.time()
            entries = {
                k: v for k, v in entries.items() if isinstance(v, dict) and not _expired(v, now)
            }
            yield entries
            self._replace(entries)
            self._warned_corrupt = False
            self._remove_stale_fetch_locks(now)

    def _prepare_directory(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._check_directory()
        with contextlib.suppress(FileNotFoundError):  # a planted path: no lock, no write
            info = os.lstat(self.path)
            if not stat.S_ISREG(info.st_mode):
                raise UnsafeCacheError(f"{self.path} is not a regular file; not using it")

    def _replace(self, entries: dict[str, Any]) -> None:
        descriptor, temporary = tempfile.mkstemp(
            dir=self.path.parent, prefix=".tokens-", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:  # mkstemp: mode 0600
                json.dump(entries, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    # -- the fetch lock ------------------------------------------------------------------

    @contextmanager
    def lock(self, key: str, wait: float) -> Iterator[bool]:
        """Hold the cross-process fetch lock of ``key`` (a lock file beside the cache)."""
        self._prepare_directory()
        path = f"{self.path}.{key[:16]}{_FETCH_LOCK_SUFFIX}"
        lock = self._filelock.FileLock(path, timeout=wait, mode=0o600)
        try:
            lock.acquire()
        except self._filelock.Timeout:
            yield False
            return
        try:
            with contextlib.suppress(OSError):
                os.utime(path)  # in use now: not stale for another STALE_LOCK_SECONDS
            yield True
        finally:
            lock.release()

    def _remove_stale_fetch_locks(self, now: float) -> None:
        """Remove our fetch locks that nobody took for `STALE_LOCK_SECONDS`."""
        prefix = self.path.name + "."
        with contextlib.suppress(OSError), os.scandir(self.path.parent) as found:
            for entry in found:
                if not (entry.name.startswith(prefix) and entry.name.endswith(_FETCH_LOCK_SUFFIX)):
                    continue
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_LOCK_SECONDS:
                        os.unlink(entry.path)


class CorruptCacheError(ValueError):
    """The cache file holds something other than a token cache."""


class UnsafeCacheError(PermissionError):
    """The cache file or its folder could have been planted or changed by someone else."""


def _number(entry: object, field: str) -> float | None:
    value = entry.get(field) if isinstance(entry, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _expired(entry: dict[str, Any], now: float) -> bool:
    expires_at = entry.get("expires_at")
    return isinstance(expires_at, (int, float)) and expires_at <= now
