"""Why a request got no answer, in a few words: the host and the cause, not urllib3's reprs.

requests wraps urllib3's ``MaxRetryError``, which wraps a ``NewConnectionError`` naming a
connection object, which was raised from the socket's own error. The socket's error is the
one that says what happened; everything around it is plumbing. `describe` walks the chain to
it and says it as a user would: the name was not found, the connection was refused, the port
speaks plain http, the host did not answer in time.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from http.client import IncompleteRead, RemoteDisconnected
from urllib.parse import urlsplit

from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

#: OpenSSL's reasons for a handshake answered with something that is not TLS, such as a
#: plain-http server's "HTTP/1.1 400" (the wording changed between OpenSSL 1.1 and 3).
_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "PACKET_LENGTH_TOO_LONG"}
)
_UNREACHABLE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN})
_MAX_CHAIN = 20
_MAX_WORDS = 160


def describe(error: BaseException, url: str | None = None) -> str:
    """Return one short line naming the host of ``url`` and why ``error`` left no answer.

    Example:
        >>> describe(error, "https://127.0.0.1:8181/oauth2/token")
        '127.0.0.1:8181 does not speak TLS (a plain-http port? try http://)'
    """
    try:
        return _describe(error, url)
    except Exception:  # a message must never be the next failure
        return f"{_host(url)}: {type(error).__name__}"


def _describe(error: BaseException, url: str | None) -> str:
    host = _host(url)
    causes = list(chain(error))
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            name = _host(url, with_port=False)
            if cause.errno == socket.EAI_AGAIN:
                return f"the name {name} could not be looked up (no answer from DNS)"
            return f"the name {name} was not found (DNS)"
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return f"{host} refused the connection (nothing is listening there)"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            why = cause.verify_message or "certificate verify failed"
            return f"the TLS certificate of {host} is not trusted ({why})"
        if isinstance(cause, ssl.SSLError):
            if getattr(cause, "reason", None) in _NOT_TLS:
                return f"{host} does not speak TLS (a plain-http port? try http://)"
            return f"the TLS handshake with {host} failed ({_words(cause)})"
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE:
            return f"{host} cannot be reached from here (no route to it)"
    for cause in causes:
        if isinstance(cause, ConnectTimeoutError) and not isinstance(cause, NewConnectionError):
            return f"{host} did not accept the connection in time"
        if isinstance(cause, (ReadTimeoutError, TimeoutError, socket.timeout)):
            return f"{host} did not answer in time"
    for cause in causes:
        if isinstance(cause, IncompleteRead):
            # http.client keeps the bytes read, urllib3's subclass their count.
            partial: object = cause.partial
            got = partial if isinstance(partial, int) else len(cause.partial)
            more = f" ({cause.expected} more were announced)" if cause.expected else ""
            return f"{host} closed the connection {got} bytes into the body{more}"
        if isinstance(cause, (ConnectionResetError, RemoteDisconnected, BrokenPipeError)):
            return f"{host} closed the connection without answering"
    return f"{host}: {_words(causes[-1])}"


def _host(url: str | None, *, with_port: bool = True) -> str:
    try:
        parts = urlsplit(url or "")
        name = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "the host"
    if not name:
        return "the host"
    name = f"[{name}]" if ":" in name else name
    return f"{name}:{port}" if port and with_port else name


def chain(error: BaseException) -> Iterator[BaseException]:
    """Yield ``error`` and what it wraps, outermost first, each once."""
    seen: set[int] = set()
    queue: list[object] = [error]
    while queue and len(seen) < _MAX_CHAIN:
        cause = queue.pop(0)
        if not isinstance(cause, BaseException) or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        queue.extend((getattr(cause, "reason", None), cause.__cause__, cause.__context__))
        queue.extend(cause.args)


def _words(error: BaseException) -> str:
    """Return an error's own words: without object reprs and pool names, cut at a word."""
    text = str(error) or type(error).__name__
    text = re.sub(r"<[^<>]*>:? ?", "", text)
    text = re.sub(r"\w*(ConnectionPool|Pool)\(host=[^)]*\): ", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip(" ,'\"")
    if len(text) <= _MAX_WORDS:
        return text
    return text[:_MAX_WORDS].rsplit(" ", 1)[0] + " ..."
