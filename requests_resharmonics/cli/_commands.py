"""The ``resharmonics`` command line: demo, token, get, sync and fake-server."""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import requests

from .. import _config, _describe
from .._export.export import Export
from .._export.progress import progress_bar
from .._version import __version__
from ..cache.base import TokenCache
from ..errors import ConfigurationError, ConfigurationWarning, ResharmonicsError
from ..session import ResharmonicsSession
from ._contract import add_contract_command
from ._fake_server import add_fake_server_command
from ._output import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    ItemWriter,
    Output,
    Signals,
    Terminated,
    WriteFailed,
    progress_line,
)
from ._sync import add_sync_command

EXIT_FAILED = 1
EXIT_USAGE = 2

_NOTHING = object()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        # Settings warnings (a misspelt variable...) as one line of ours, each once.
        warnings.simplefilter("default", ConfigurationWarning)
        warnings.showwarning = _show_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    _config.warn_about_unknown_variables()  # every command, fake-server's variables included
    try:
        return int(args.run(args))
    except ConfigurationError as error:
        _fail(_in_flags(str(error)))
        return EXIT_USAGE
    except ResharmonicsError as error:
        _fail(_in_flags(str(error)))
        return EXIT_FAILED
    except requests.HTTPError as error:
        answer = error.response
        if answer is None:
            _fail(f"a page of {args.path} failed: {error}")
        else:
            _fail(f"a page of {args.path} answered HTTP {answer.status_code}: {_excerpt(answer)}")
        return EXIT_FAILED
    except requests.RequestException as error:
        _fail(_describe_failure(error))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> None:
    print(f"resharmonics: error: {message}", file=sys.stderr)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    if issubclass(category, ConfigurationWarning):
        print(f"resharmonics: warning: {_in_flags(str(message))}", file=sys.stderr)
    else:  # another library's warning: as Python shows it
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resharmonics",
        description="Call the Res:Harmonics API v3 with automatic OAuth2 tokens.",
        epilog="Credentials come from RESHARMONICS_CLIENT_ID and RESHARMONICS_CLIENT_SECRET "
        "unless given as options. Try 'resharmonics demo' first: it needs no credentials.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="watch tokens fetched, reused and renewed, on a built-in fake server",
        description="Start a fake Res:Harmonics server with short-lived tokens, make calls "
        "through ResharmonicsAuth and ResharmonicsSession, and show each token event.",
    )
    demo.add_argument(
        "--lifetime", type=_seconds, default=4.0, help="token lifetime in seconds (default 4)"
    )
    demo.set_defaults(run=_demo)

    token = commands.add_parser(
        "token",
        help="print a valid access token, and nothing else",
        description="Print a valid access token on stdout, for example for "
        'curl -H "Authorization: Bearer $(resharmonics token)" ...',
    )
    _credential_options(token)
    token.set_defaults(run=_token)

    get = commands.add_parser(
        "get",
        help="GET a path of the API and print its JSON",
        description="Make an authenticated GET against the base URL; print pretty JSON.",
    )
    get.add_argument("path", help="for example /api/v3/bookings")
    get.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        type=_param,
        metavar="KEY=VALUE",
        help="a query parameter; repeat for more",
    )
    get.add_argument(
        "--all",
        action="store_true",
        help="follow the pages of a list endpoint and print every item as one JSON array",
    )
    get.add_argument(
        "--jsonl", action="store_true", help="with --all (implied): one JSON item a line"
    )
    get.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write to FILE instead of stdout, atomically: a temporary file is renamed to "
        "FILE only once the output is complete, so a FILE that exists is whole",
    )
    get.add_argument(
        "--concurrency",
        type=_positive_whole,
        default=1,
        metavar="N",
        help="with --all: up to N pages requested at once, items still in order (default 1; "
        "the next page is always requested while the current one is written)",
    )
    _credential_options(get)
    get.set_defaults(run=_get)

    add_sync_command(commands, _credential_options, _param, _positive_whole, _session,
                     _export_failed)  # fmt: skip
    add_fake_server_command(commands)
    add_contract_command(commands, _credential_options, _session)
    return parser


def _credential_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("credentials and addresses (default: environment)")
    group.add_argument("--client-id", help=f"default: ${_config.CLIENT_ID_VAR}")
    group.add_argument(
        "--client-secret",
        help=f"default: ${_config.CLIENT_SECRET_VAR}; prefer the variable, since other users "
        "can read a command line",
    )
    group.add_argument("--token-url", help=f"default: ${_config.TOKEN_URL_VAR}")
    group.add_argument("--base-url", help=f"default: ${_config.BASE_URL_VAR}")
    group.add_argument("--scope", help=f"default: ${_config.SCOPE_VAR}, else none")
    group.add_argument(
        "--environment",
        choices=sorted(_config.BASE_URLS),
        default=None,
        help=f"default: ${_config.ENVIRONMENT_VAR}, else production",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="fetch a new token for this run; by default tokens are reused between runs "
        "through the file cache (with the [file] extra), so a shell loop costs one token an hour",
    )


#: The library's errors name its arguments (``pass client_id=``); the command line's name its
#: flags. Only a name followed by ``=`` and no value is an argument: ``?scope=read`` in a URL
#: is left alone.
_ARGUMENT = re.compile(
    r"(?<![\w?&.])(client_id|client_secret|token_url|base_url|scope|environment)=(?![^\s),;])"
)


def _in_flags(message: str) -> str:
    """Return a library message with its argument names (``client_id=``) as flags."""
    return _ARGUMENT.sub(lambda match: "--" + match.group(1).replace("_", "-"), message)


def _session(args: argparse.Namespace) -> ResharmonicsSession:
    cache = None if args.no_cache else _file_cache()
    session = ResharmonicsSession(
        args.client_id,
        args.client_secret,
        token_url=args.token_url,
        base_url=args.base_url,
        environment=args.environment,
        scope=args.scope,
        cache=cache,
        # One run is one process: nothing would be left to use a background renewal.
        background_renewal=False,
    )
    if cache is None and not args.no_cache:
        # Otherwise a shell loop silently buys a token per run, each one billed.
        _say(
            "note: tokens cannot be reused between runs without the file cache, so each run "
            "requests a new one; pip install 'requests-resharmonics[file]' to reuse them "
            "(or pass --no-cache to say that a token per run is meant)"
        )
    return session


def _file_cache() -> TokenCache | None:
    """Return the per-user file cache, or None (no reuse) without the [file] extra."""
    try:
        from ..cache.file import FileTokenCache

        return FileTokenCache()
    except ConfigurationError:
        return None


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return EXIT_FAILED if run_demo(lifetime=args.lifetime) else 0


def _token(args: argparse.Namespace) -> int:
    with _session(args) as session:
        print(session.valid_token()["access_token"])
    return 0


def _get(args: argparse.Namespace) -> int:
    grouped: dict[str, list[str]] = {}
    for key, value in args.param:
        grouped.setdefault(key, []).append(value)
    params = {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}
    with _session(args) as session:
        if args.all or args.jsonl:
            return _export(session, args, params)
        response = session.get(args.path, params=params)
    if not response.ok:
        _fail(f"GET {args.path} answered HTTP {response.status_code}: {_excerpt(response)}")
        return EXIT_FAILED
    try:
        text = json.dumps(response.json(), indent=2, ensure_ascii=False) + "\n"
    except ValueError:
        text = response.text
    return _write_whole(args.output, text)


def _write_whole(path: str | None, text: str) -> int:
    output: Output | None = None
    try:
        output = Output.open(path)
        output.write(text)
        output.commit()
    except WriteFailed as error:
        if output is not None:
            output.discard(error)
        if error.broken_pipe:
            return EXIT_BROKEN_PIPE
        _fail(str(error))
        return EXIT_FAILED
    return 0


def _export(session: ResharmonicsSession, args: argparse.Namespace, params: Any) -> int:
    """Stream a whole list; on any failure or interruption, say how far it got, exit non-0.

    The JSON array is closed only when the export is complete, and ``--output`` renamed into
    place only then, so a partial export never looks like a whole one.
    """
    try:
        output = Output.open(args.output)
    except WriteFailed as error:
        _fail(str(error))
        return EXIT_FAILED
    signals = Signals()
    writer = ItemWriter(output, signals, jsonl=args.jsonl)
    rows: Export | None = None
    try:
        with signals, progress_bar(sys.stderr) as on_page:
            rows = session.paginate(
                args.path, params, concurrency=args.concurrency, on_page=on_page
            )
            with signals.cancelling(rows.cancel):
                for item in rows:
                    writer.write(item)
            writer.finish()
            output.commit()
        return 0
    except (KeyboardInterrupt, Terminated, WriteFailed, ResharmonicsError,
            requests.RequestException) as error:  # fmt: skip
        if rows is not None:
            rows.close()  # the pages in flight are cut now, not left to finish
        output.discard(error)
        total = rows.total if rows is not None else None
        return _export_failed(error, writer.count, total, output)


def _export_failed(error: BaseException, count: int, total: int | None, output: Output) -> int:
    started = count > 0 or total is not None
    if isinstance(error, WriteFailed):
        if error.broken_pipe:
            return EXIT_BROKEN_PIPE  # the reader has all it wanted: nothing to say
        _fail(str(error))
        return EXIT_FAILED
    if isinstance(error, KeyboardInterrupt):
        _say(progress_line("interrupted", count, total, output))
        return EXIT_INTERRUPTED
    if isinstance(error, Terminated):
        _say(progress_line("terminated", count, total, output))
        return EXIT_TERMINATED
    if isinstance(error, ResharmonicsError):
        _fail(_in_flags(str(error)))
    elif isinstance(error, requests.RequestException):
        _fail(_describe_failure(error))
    if started:
        _say(progress_line("incomplete", count, total, output))
    return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FAILED


def _say(message: str) -> None:
    print(f"resharmonics: {message}", file=sys.stderr)


def _describe_failure(error: requests.RequestException) -> str:
    """Name the URL and the cause of a failed request in words, and a default it used."""
    url = error.request.url if error.request is not None else None
    if not url:
        return f"the request failed: {_describe.describe(error)}"
    return (
        f"the request to {url}{_config.default_note(url)} failed: {_describe.describe(error, url)}"
    )


def _excerpt(response: requests.Response, limit: int = 300) -> str:
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "..."


def _param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _positive_whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _number_of_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None


def _seconds(text: str) -> float:
    value = _number_of_seconds(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
