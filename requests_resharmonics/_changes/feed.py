"""A pass of a change feed: every row created or changed since the last complete pass, once.

One pass:

1. takes its state (one writer at a time) and reads the previous pass's mark and window;
2. asks the server for the time (the ``Date`` of a one-row page, asked fresh) before it reads
   any row: the new mark is that time less the overlap;
3. reads the list through the export engine, filtered by ``lastUpdatedFrom`` = the previous
   mark (every check of an export applies);
4. leaves out a row the previous pass read exactly as it is now (same id, same content): a
   row the overlap reads again, unchanged, is not delivered twice;
5. once every row is read (and, unless told otherwise, handed over), saves the new mark and
   the window: the id and a fingerprint of every row this pass read whose ``lastUpdated``
   (when rows carry one) is not before the new mark.

A row changed while the pass runs is read by this pass after its change (and delivered), or
before it: then its ``lastUpdated`` is after the new mark, so the next pass reads it, sees
its content differ from the window's, and delivers it. A list whose totals change while it
is read (a row newly matching the filter) is read again from the start, rows already
handed over left out. A pass that fails or is left saves nothing: the next one starts from
the same mark and delivers its rows again.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from .._display import html_repr
from .._export.checks import ID_FIELDS
from .._export.export import Export
from .._export.page_errors import http_failure, request_failure
from .._export.source import PageSource
from ..errors import ChangeStateError, CollectionChangedError, PaginationWarning
from .mark import format_mark, parse_mark, server_time
from .state import ChangeState

__all__ = ["STATE_VERSION", "Changes"]

STATE_VERSION = 1
#: How many times one pass reads a list whose totals change while it is read.
READ_ATTEMPTS = 3
#: Parameters that change how a list is read, not which rows it holds: a state stays good
#: when they change. (A ``lastUpdatedFrom`` given by the caller starts the first pass.)
_NOT_THE_LIST = frozenset({"page", "size", "sort", "lastUpdatedFrom"})

#: Asks the server for one row of the list with this query; returns the answer's headers.
Probe = Callable[[dict[str, Any]], Mapping[str, str]]
#: Reads the list with this query, through the export engine.
Read = Callable[[dict[str, Any]], Export]


class Changes(Iterator[Any]):
    """The rows of a list created or changed since the last complete pass: one pass.

    What `ResharmonicsSession.changes` returns. Iterate it once; the state is saved when
    the last row has been handed over (or, with ``autocommit=False``, when you call
    `commit`, after your own writes are safe). `cancel` or `close` ends it without saving.

    Example:
        >>> with session.changes("/api/v3/bookings", state="bookings.json") as feed:
        ...     for row in feed:
        ...         upsert(row)
        >>> feed.mark, feed.delivered, feed.unchanged
        (datetime.datetime(2026, 11, 28, 2, 55, tzinfo=...), 12, 3)
    """

    def __init__(
        self, where: str, params: Mapping[str, Any] | None, store: ChangeState, overlap: float,
        probe: Probe, read: Read, *, autocommit: bool = True,
    ) -> None:  # fmt: skip
        self.where = where
        self.params = dict(params or {})
        self.store = store
        self.overlap = overlap
        #: The mark this pass reads from (the last complete pass's), None on the first pass.
        self.since: datetime.datetime | None = None
        #: The mark the next pass will read from, once the server's time is known.
        self.mark: datetime.datetime | None = None
        #: Rows handed over.
        self.delivered = 0
        #: Rows read again inside the overlap, unchanged since the last pass, left out.
        self.unchanged = 0
        #: How many times the list changed under this pass, which then read it again.
        self.rereads = 0
        #: Whether every row has been read.
        self.complete = False
        #: Whether the new state has been saved.
        self.committed = False
        self._probe = probe
        self._read = read
        self._autocommit = autocommit
        self._export: Export | None = None
        self._holding = False
        self._next_state: dict[str, Any] | None = None
        self._state = "not started"
        self._rows = self._pass()

    def __iter__(self) -> Changes:
        return self

    def __next__(self) -> Any:
        return next(self._rows)

    def commit(self) -> None:
        """Save the new mark and window (the pass must be complete); release the state.

        Raises:
            ChangeStateError: the pass is not complete, or the state could not be written.
        """
        if self.committed:
            return
        if not self.complete or self._next_state is None:
            raise ChangeStateError(
                f"{self.where}: a change feed's pass saves its mark only once it is complete "
                f"(it has delivered {self.delivered} rows so far)"
            )
        try:
            self.store.save(self._next_state)
            self.committed = True
            self._state = "committed"
        finally:
            self._release()

    def cancel(self) -> None:
        """Stop the pass now, from any thread, without saving; release the state."""
        export = self._export
        if export is not None:
            export.cancel()
        try:
            self._rows.close()
        except ValueError:
            return  # iterated by another thread, which gets ExportCancelled and releases
        if not self.committed:
            self._state = "cancelled" if not self.complete else "left uncommitted"
        self._release()

    def close(self) -> None:
        """Do as `cancel` does (a complete pass that was committed is left as it is)."""
        if not self.committed:
            self.cancel()

    def __enter__(self) -> Changes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_holding", False):
            with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone
                self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.where}: {self._describe()}>"

    def _repr_html_(self) -> str:
        since = format_mark(self.since) if self.since else "the beginning"
        fields = [("list", self.where), ("parameters", self.params or "none"), ("since", since)]
        return html_repr(type(self).__name__, fields, self._describe(), label="progress")

    def _describe(self) -> str:
        since = format_mark(self.since) if self.since else "the beginning"
        said = f"{self._state} since {since}, {self.delivered} changed rows delivered"
        if self.unchanged:
            said += f", {self.unchanged} unchanged left out"
        if self.mark is not None:
            said += f", next mark {format_mark(self.mark)}"
        return said

    def _pass(self) -> Generator[Any, None, None]:
        self.store.acquire()
        self._holding = True
        try:
            since, window = self._previous(self.store.load())
            self.since = since
            query = dict(self.params)
            if since is not None:
                query["lastUpdatedFrom"] = format_mark(since)
            self._state = "reading"
            self.mark = self._now(self._probe(query)) - datetime.timedelta(seconds=self.overlap)
            read = yield from self._rows_of(query, window)
            self._next_state = self._state_after(read)
            self.complete = True
            self._state = "complete"
            if self._autocommit:
                self.commit()
        except BaseException as error:
            if not self.complete:
                self._state = f"failed ({type(error).__name__})"
                if isinstance(error, GeneratorExit):
                    self._state = "left early"
            raise
        finally:
            if not self.complete:
                self._release()

    def _rows_of(
        self, query: dict[str, Any], window: Mapping[str, str]
    ) -> Generator[Any, None, dict[str, tuple[str, datetime.datetime | None]]]:
        """Yield the changed rows of the list; return what the complete read saw of each row.

        A list that changes while it is read (its totals move) is read again, from the
        start, up to `READ_ATTEMPTS` times in all; rows already handed over in this pass
        are not handed over again unless they changed meanwhile.
        """
        handed: dict[str, str] = {}
        left_out: set[str] = set()
        for attempt in range(1, READ_ATTEMPTS + 1):
            export = self._export = self._read(query)
            read: dict[str, tuple[str, datetime.datetime | None]] = {}
            try:
                for row in export:
                    key = row_key(row)
                    if key is not None:
                        prints = fingerprint(row)
                        read[key] = (prints, last_updated(row))
                        if window.get(key) == prints:
                            left_out.add(key)
                            self.unchanged = len(left_out)
                            continue
                        if handed.get(key) == prints:
                            continue  # handed over by an earlier read of this pass
                        handed[key] = prints
                    self.delivered += 1
                    yield row
            except CollectionChangedError:
                if attempt == READ_ATTEMPTS:
                    raise
                self.rereads += 1
                continue
            return read
        raise AssertionError("unreachable")  # pragma: no cover

    def _previous(
        self, saved: Mapping[str, Any] | None
    ) -> tuple[datetime.datetime | None, dict[str, str]]:
        if saved is None:
            return None, {}
        listed = saved.get("list")
        if listed != self._list():
            raise ChangeStateError(
                f"{self.store!r} holds the mark of {listed}, not of {self._list()}: give each "
                "list (and each set of parameters) a state of its own"
            )
        try:
            mark = parse_mark(str(saved["mark"]))
            window = {str(key): str(value) for key, value in dict(saved["window"]).items()}
        except (KeyError, TypeError, ValueError):
            raise ChangeStateError(f"{self.store!r} is not a change state this library wrote "
                                   "(no readable mark or window)") from None  # fmt: skip
        return mark, window

    def _now(self, headers: Mapping[str, str]) -> datetime.datetime:
        moment = server_time(headers)
        if moment is not None:
            return moment
        warnings.warn(
            f"{self.where} answered without a Date header: the mark is taken from this "
            "machine's clock, which may differ from the server's (raise the overlap)",
            PaginationWarning,
            stacklevel=4,
        )
        return datetime.datetime.now(datetime.timezone.utc)

    def _state_after(
        self, read: Mapping[str, tuple[str, datetime.datetime | None]]
    ) -> dict[str, Any]:
        mark = self.mark
        assert mark is not None
        # A row last updated before the new mark is not read again (unless it changes): its
        # fingerprint would only make the state larger.
        window = {key: prints for key, (prints, updated) in read.items()
                  if updated is None or updated >= mark}  # fmt: skip
        return {"version": STATE_VERSION, "list": self._list(), "mark": format_mark(mark),
                "window": window}  # fmt: skip

    def _list(self) -> str:
        """Name the list and its parameters, as the state records which list it belongs to."""
        pairs: list[tuple[str, str]] = []
        for name in sorted(set(self.params) - _NOT_THE_LIST):
            value = self.params[name]
            values = value if isinstance(value, (list, tuple)) else [value]
            pairs.extend((name, str(item)) for item in values)
        return self.where + (f"?{urlencode(pairs)}" if pairs else "")

    def _release(self) -> None:
        if self._holding:
            self._holding = False
            self.store.release()


def row_key(row: Any) -> str | None:
    """Return a row's id (its ``id``, else its ``roomStayId``) as text, or None without one."""
    if isinstance(row, dict):
        for name in ID_FIELDS:
            value = row.get(name)
            if value is not None:
                return str(value)
    return None


def fingerprint(row: Any) -> str:
    """Return 16 hex digits that change whenever anything in the row changes."""
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)  # fmt: skip
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def last_updated(row: Any) -> datetime.datetime | None:
    """Return a row's ``lastUpdated``, when it has one that reads as a date-time."""
    value = row.get("lastUpdated") if isinstance(row, dict) else None
    if not isinstance(value, str):
        return None
    try:
        return parse_mark(value)
    except ValueError:
        return None


def probe_of(source: PageSource) -> Probe:
    """Return a `Probe` that asks ``source`` for one row, fresh, and returns the headers.

    Asked fresh (``Cache-Control: no-cache``): a cached answer would carry an old ``Date``.
    A failure is the export's error for page 0.
    """

    def probe(query: dict[str, Any]) -> Mapping[str, str]:
        asked = {**query, "page": 0, "size": 1}
        try:
            reply = source.send(asked, True)
        except Exception as error:
            kind = source.failure_kind(error)
            if kind is None:
                raise
            raise request_failure(error, kind, source.where, 0, 0, source.url(asked)) from error
        finally:
            source.close()
        if reply.status >= 400:
            raise http_failure(reply.status, reply.reason, reply.text(), reply.response,
                               source.where, 0, 0, source.url(asked))  # fmt: skip
        return reply.headers

    return probe
