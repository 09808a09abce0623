"""``resharmonics sync PATH --state FILE``: the rows changed since the last sync, as JSON lines.

The change feed (`ResharmonicsSession.changes`) from the command line. The rows go to stdout
(or ``-o FILE``, written whole or not at all) one a line; the state is saved only after the
output is complete, so a sync that fails, is interrupted or cannot write its output leaves
the mark where it was, and the next one delivers the same rows again. Exit statuses and the
lines on stderr are those of ``get --all``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import requests

from .._changes.feed import Changes
from .._changes.mark import DEFAULT_OVERLAP, format_mark
from .._export.progress import progress_bar
from ..errors import ResharmonicsError
from ..session import ResharmonicsSession
from ._output import ItemWriter, Output, Signals, Terminated, WriteFailed

#: The exit status of a sync that could not start writing.
EXIT_FAILED = 1

AddOptions = Callable[[argparse.ArgumentParser], None]
Convert = Callable[[str], Any]
SessionFor = Callable[[argparse.Namespace], ResharmonicsSession]
#: Says how an export that did not complete ended; returns the exit status (get --all's).
Failed = Callable[[BaseException, int, "int | None", Output], int]


def add_sync_command(
    commands: Any, credentials: AddOptions, param: Convert, whole: Convert, session: SessionFor,
    failed: Failed,
) -> None:  # fmt: skip
    """Add ``sync`` to the command line; the helpers are the other commands' own."""
    sync = commands.add_parser(
        "sync",
        help="print the rows of a list changed since the last sync, as JSON lines",
        description="Read the rows of a list created or changed since the last complete sync "
        "(by lastUpdatedFrom, from the server's clock less an overlap), one JSON object a "
        "line; save the new mark in the state file only once they are all written. Rows "
        "read again unchanged are left out.",
    )
    sync.add_argument("path", help="a list that takes lastUpdatedFrom, such as /api/v3/bookings")
    sync.add_argument("--state", required=True, metavar="FILE",
                      help="where the mark is kept between syncs (a JSON file; one sync at a "
                      "time); the first sync reads every row")  # fmt: skip
    sync.add_argument("--param", "-p", action="append", default=[], type=param,
                      metavar="KEY=VALUE", help="a query parameter; repeat for more")  # fmt: skip
    sync.add_argument("--overlap", type=_seconds, default=DEFAULT_OVERLAP, metavar="SECONDS",
                      help="how far before the server's time the next sync reads from "
                      f"(default {DEFAULT_OVERLAP:g})")  # fmt: skip
    sync.add_argument("--concurrency", type=whole, default=1, metavar="N",
                      help="up to N pages requested at once (default 1)")  # fmt: skip
    sync.add_argument("--output", "-o", metavar="FILE",
                      help="write to FILE instead of stdout, atomically: FILE appears only "
                      "once every row is written, and only then is the state saved")  # fmt: skip
    credentials(sync)
    sync.set_defaults(run=lambda args: run_sync(args, session, failed))


def run_sync(args: argparse.Namespace, session_for: SessionFor, failed: Failed) -> int:
    """Write the changed rows; save the mark once the output is complete; say the new mark."""
    grouped: dict[str, list[str]] = {}
    for key, value in args.param:
        grouped.setdefault(key, []).append(value)
    params = {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}
    try:
        output = Output.open(args.output)
    except WriteFailed as error:
        _say(f"error: {error}")
        return EXIT_FAILED
    signals = Signals()
    writer = ItemWriter(output, signals, jsonl=True)
    feed: Changes | None = None
    try:
        with session_for(args) as session, signals, progress_bar(sys.stderr) as on_page:
            feed = session.changes(
                args.path, params, state=args.state, overlap=args.overlap,
                concurrency=args.concurrency, autocommit=False, on_page=on_page,
            )  # fmt: skip
            for row in feed:
                writer.write(row)
            writer.finish()
            output.commit()  # the rows are safe: only now may the mark move
            feed.commit()
        assert feed.mark is not None
        left_out = f", {feed.unchanged} read again unchanged and left out" if feed.unchanged else ""
        _say(f"wrote {writer.count} changed rows{left_out}; the next sync reads from "
            f"{format_mark(feed.mark)}")  # fmt: skip
        return 0
    except (KeyboardInterrupt, Terminated, WriteFailed, ResharmonicsError,
            requests.RequestException) as error:  # fmt: skip
        if feed is not None:
            feed.close()  # the pages in flight are cut now; the state is left as it was
        output.discard(error)
        status = failed(error, writer.count, None, output)
        if feed is not None and not feed.committed and writer.count:
            _say(f"{args.state} was not changed: the next sync writes these rows again")
        return status


def _say(message: str) -> None:
    print(f"resharmonics: {message}", file=sys.stderr)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value
