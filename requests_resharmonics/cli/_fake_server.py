"""``resharmonics fake-server``: the fake in the foreground, for curl and other languages.

Every setting of `FakeResharmonics` is a flag; the start banner prints the URLs, the
credentials and commands that paste into a POSIX shell as they are. The parser is built
without the fake: `requests_resharmonics.testing` is imported when the command runs, so
that ``resharmonics token`` and ``get`` do not load the fake's thirty-odd modules.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import math
import os
import signal
import threading
from typing import Any

from .. import _config
from ..errors import ConfigurationError

#: The fake server's own credential variables: never the real ones, so that a real secret in
#: the environment is not taken for the fake's and printed.
FAKE_CLIENT_ID_VAR = _config.FAKE_CLIENT_ID_VAR
FAKE_CLIENT_SECRET_VAR = _config.FAKE_CLIENT_SECRET_VAR
#: What the banner's ``export`` shows for a secret given with ``--client-secret``.
SECRET_PLACEHOLDER = "<your --client-secret>"


def add_fake_server_command(commands: Any) -> argparse.ArgumentParser:
    """Add the ``fake-server`` command to the CLI's subparsers; return its parser."""
    fake: argparse.ArgumentParser = commands.add_parser(
        "fake-server",
        help="run the fake Res:Harmonics server in the foreground",
        description="Run the fake server on 127.0.0.1 until interrupted, printing its URLs and "
        "credentials, for trying curl or other languages against it. Its controls (expire "
        "tokens, queue faults, add latency, change settings, reset the data) are under "
        "/_fake/: GET it for the list.",
    )
    fake.add_argument("--port", type=_port, default=0, help="port to listen on (default: any)")
    fake.add_argument(
        "--token-lifetime",
        type=_seconds(_config.FAKE_MAX_LIFETIME, positive=True),
        default=3600.0,
        metavar="SECONDS",
        help="expires_in of issued tokens (default 3600)",
    )
    fake.add_argument(
        "--server-lifetime",
        type=_seconds(_config.FAKE_MAX_LIFETIME),
        default=None,
        metavar="SECONDS",
        help="how long the API really accepts a token, to play early expiry "
        "(default: the token lifetime)",
    )
    fake.add_argument(
        "--client-id",
        default=os.environ.get(FAKE_CLIENT_ID_VAR) or "fake-client-id",
        help=f"the client id it accepts (default: ${FAKE_CLIENT_ID_VAR}, else fake-client-id)",
    )
    fake.add_argument(
        "--client-secret",
        default=os.environ.get(FAKE_CLIENT_SECRET_VAR),
        help=f"the client secret it accepts (default: ${FAKE_CLIENT_SECRET_VAR}, else random)",
    )
    fake.add_argument("--seed", type=int, default=7, help="seed of the generated data (default 7)")
    fake.add_argument(
        "--today",
        type=_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date the data is built around (default: today)",
    )
    fake.add_argument(
        "--api-delay",
        type=_seconds(_config.FAKE_MAX_DELAY),
        default=0.0,
        metavar="SECONDS",
        help="latency added to every API call (default 0)",
    )
    fake.add_argument(
        "--token-delay",
        type=_seconds(_config.FAKE_MAX_DELAY),
        default=0.0,
        metavar="SECONDS",
        help="latency added to every token request (default 0)",
    )
    fake.add_argument(
        "--expiry-style",
        choices=_config.FAKE_EXPIRY_STYLES,
        default="message",
        help="how an expired token is answered: the 401 JSON message (default) or a "
        "WWW-Authenticate challenge",
    )
    fake.add_argument(
        "--legacy-pagination",
        action="store_true",
        help="answer lists in the older envelope (totalPages, number, last at the top level)",
    )
    fake.add_argument(
        "--access-log",
        action="store_true",
        help="print a line per request received: time, method, path and query (credentials "
        "hidden), status, milliseconds",
    )
    fake.set_defaults(run=run_fake_server)
    return fake


def run_fake_server(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM); return the exit status."""
    from ..testing import FakeResharmonics

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fake = FakeResharmonics(
        port=args.port,
        token_lifetime=args.token_lifetime,
        server_lifetime=args.server_lifetime,
        client_id=args.client_id,
        client_secret=args.client_secret,
        seed=args.seed,
        today=args.today,
        api_delay=args.api_delay,
        token_delay=args.token_delay,
        expiry_style=args.expiry_style,
        legacy_pagination=args.legacy_pagination,
    )
    if args.access_log:
        printing = threading.Lock()

        def log(line: str) -> None:
            with printing:  # one whole line at a time, from many connections' threads
                print(line, flush=True)

        fake.access_log = log
    try:
        fake.start()
    except OSError as error:
        raise ConfigurationError(_cannot_listen(args.port, error)) from None
    with fake:
        if args.client_secret is None:
            source = "random"
        elif args.client_secret == os.environ.get(FAKE_CLIENT_SECRET_VAR):
            source = "env"
        else:
            source = "flag"
        print(banner(fake, secret_source=source, config=_config), flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def banner(fake: Any, *, secret_source: str, config: Any) -> str:
    """Return the start banner: URLs, credentials, and shell commands that paste as they are.

    ``secret_source`` is ``"random"``, ``"env"`` (from ``$RESHARMONICS_FAKE_CLIENT_SECRET``)
    or ``"flag"``. A secret the user chose may be a real one: it is not printed back. The
    commands read it from its variable; given with ``--client-secret``, the one ``export``
    that sets it holds the placeholder `SECRET_PLACEHOLDER` to replace (the README says so).
    """
    note = ""
    if secret_source == "random":
        secret = fake.client_secret
        exported = basic_secret = _quoted(fake.client_secret)
    elif secret_source == "env":
        secret = "<from $" + FAKE_CLIENT_SECRET_VAR + ">"
        exported = basic_secret = f'"${FAKE_CLIENT_SECRET_VAR}"'
    else:
        secret = "<given with --client-secret, not shown>"
        exported = _quoted(SECRET_PLACEHOLDER)
        basic_secret = f'"${config.CLIENT_SECRET_VAR}"'
        note = "  # replace the placeholder with the secret you gave"
    environ = {**fake.environ(), config.CLIENT_SECRET_VAR: None}
    exports = [
        f"    export {name}={exported + note if value is None else _quoted(value)}"
        for name, value in environ.items()
    ]
    basic = _quoted(fake.client_id + ":") + basic_secret
    token_command = (
        f"curl -s -u {basic} -d grant_type=client_credentials {fake.token_url}"
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    )
    lines = [
        "fake Res:Harmonics server running (Ctrl-C to stop)",
        f"  base URL:      {fake.base_url}",
        f"  token URL:     {fake.token_url}",
        f"  client id:     {fake.client_id}",
        f"  client secret: {secret}",
        f"  controls:      {fake.controls_url}",
        f"  OpenAPI:       {fake.base_url}/v3/api-docs (needs a bearer token, as the API does)",
        "  for this library, in your shell:",
        *exports,
        "  or with curl (a token, then the OpenAPI document with it"
        + (", after the exports above):" if note else "):"),
        f"    TOKEN=$({token_command})",
        f'    curl -H "Authorization: Bearer $TOKEN" {fake.base_url}/v3/api-docs',
    ]
    return "\n".join(lines)


def _cannot_listen(port: int, error: OSError) -> str:
    """Say in words why the server could not listen on a port, and what to do."""
    where = f"127.0.0.1:{port}"
    if error.errno == errno.EADDRINUSE:
        reason = f"port {port} is already in use by another program"
    elif error.errno == errno.EACCES:
        reason = f"this user may not listen on port {port}"
    else:
        reason = error.strerror or str(error)
    return f"cannot listen on {where}: {reason}; choose another --port (0 picks a free one)"


def _quoted(value: str) -> str:
    """Quote a value for a POSIX shell, always in single quotes (as the banner promises)."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def _seconds(upper: float, *, positive: bool = False) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds, got {text!r}"
            ) from None
        low_ok = value > 0 if positive else value >= 0
        if not (math.isfinite(value) and low_ok and value <= upper):
            span = f"at most {upper:.0f}" if positive else f"from 0 to {upper:.0f}"
            kind = "a positive number" if positive else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind} of seconds {span}, got {text!r}")
        return value

    return parse


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
