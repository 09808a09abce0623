"""HTTP plumbing of the fake server: a threaded HTTP/1.1 server that closes cleanly."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: The largest request body the fake reads (Tomcat's default ``maxPostSize``, 2 MiB); a
#: bigger one is answered 413 without being read.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: How much of a refused body is read and dropped, so that the client sees the 413.
_MAX_DISCARD = 256 * 1024 * 1024
#: The longest chunk-size line (with its extensions) or trailer line read.
_MAX_LINE = 8192
#: Chunk sizes must fit in a signed 64-bit number, as servers parse them.
_MAX_CHUNK_SIZE = 2**63 - 1


class BadRequest(Exception):
    """A request the fake cannot read: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Incoming:
    """A request as the fake service sees it.

    ``query`` holds the last value of each query parameter; ``params`` holds every value, in
    order, for parameters given more than once (``statuses=A&statuses=B``).
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = field(repr=False)
    params: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Answer:
    """What the fake service answers: a status, a JSON or raw body, extra headers."""

    status: int
    body: bytes | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class Reset:
    """Close the connection without answering (a connection reset)."""


@dataclass
class CutOff:
    """Start answering, then close the connection halfway through the body."""

    answer: Answer


Handler = Callable[[Incoming], Answer | Reset | CutOff]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeHTTPServer
    timeout = 30  # an idle keep-alive connection is dropped, as real servers do
    # One write per answer, sent at once: headers and body in separate small writes meet
    # the client's delayed ACK and cost 40 ms a call.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and demos print what they choose."""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except BadRequest as error:
            # What is left of the body is not kept: the connection cannot be reused.
            self.close_connection = True
            self._send(Answer(error.status, {"message": error.message}, {"Connection": "close"}))
            self.wfile.flush()
            self._discard_body()
            return
        parts = urlsplit(self.path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        params: dict[str, list[str]] = {}
        for key, value in pairs:
            params.setdefault(key, []).append(value)
        incoming = Incoming(
            method=self.command,
            path=parts.path,
            query=dict(pairs),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
            params=params,
        )
        answer = self.server.answer(incoming)
        if isinstance(answer, CutOff):
            self._send(answer.answer, cut_off=True)
        if isinstance(answer, (Reset, CutOff)):
            self.close_connection = True
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(answer)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _read_body(self) -> bytes:
        """Read the body, at most `MAX_BODY_BYTES`; a bigger or malformed one raises BadRequest."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isdigit():
            raise BadRequest(400, "Content-Length must be a whole number")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise BadRequest(413, f"the request body is over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length) if length > 0 else b""

    def _discard_body(self) -> None:
        """Read and drop a refused body of known length (up to `_MAX_DISCARD` bytes).

        A client sends its whole body before it reads the answer; closing on unread data
        would reset the connection and the client would see that, not the 413.
        """
        text = (self.headers.get("Content-Length") or "0").strip()
        left = min(int(text), _MAX_DISCARD) if text.isdigit() else 0
        with contextlib.suppress(OSError):
            while left > 0:
                data = self.rfile.read(min(left, 1 << 16))
                if not data:
                    return
                left -= len(data)

    def _read_chunks(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_LINE + 1)
            if len(line) > _MAX_LINE:
                raise BadRequest(400, "a chunk-size line is too long")
            digits = line.split(b";")[0].strip()
            try:
                size = int(digits, 16)
            except ValueError:
                raise BadRequest(400, "a chunk size is not a hexadecimal number") from None
            if not 0 <= size <= _MAX_CHUNK_SIZE:
                raise BadRequest(400, "a chunk size is out of range")
            total += size
            if total > MAX_BODY_BYTES:
                raise BadRequest(413, f"the request body is over {MAX_BODY_BYTES} bytes")
            if size == 0:
                for _ in range(100):  # trailers, up to the blank line that ends them
                    trailer = self.rfile.readline(_MAX_LINE + 1)
                    if trailer in (b"\r\n", b"\n", b""):
                        return b"".join(chunks)
                raise BadRequest(400, "too many trailer lines")
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise BadRequest(400, "the body ended inside a chunk")
            chunks.append(chunk)
            self.rfile.readline(_MAX_LINE + 1)

    def _send(self, answer: Answer, cut_off: bool = False) -> None:
        if isinstance(answer.body, (dict, list)):
            payload = json.dumps(answer.body).encode()
        else:
            payload = answer.body
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload[: len(payload) // 2] if cut_off else payload)


class FakeHTTPServer(ThreadingHTTPServer):
    """A threaded server that tracks its connections so that `close` leaves none behind."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of 32 threads must not overflow the listen backlog

    def __init__(self, address: tuple[str, int], handle: Handler) -> None:
        self.answer = handle
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._tracked_threads: list[threading.Thread] = []
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve each connection in a tracked thread."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="fake-resharmonics-connection",
            daemon=True,
        )
        with self._lock:
            self._connections.add(request)
            self._tracked_threads = [alive for alive in self._tracked_threads if alive.is_alive()]
            self._tracked_threads.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up early (timeouts, resets); report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a connection once it is done."""
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving, drop open connections and wait for their threads."""
        self.shutdown()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._tracked_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout)
        self.server_close()
