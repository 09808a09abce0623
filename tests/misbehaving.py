"""A small threaded HTTP server on 127.0.0.1 that serves pages of a list and misbehaves on cue.

Each test says, page by page, what to answer: the right rows, rows of another page, a short
page, an error, a page that hangs until the server closes, or one cut off mid-body. The
server counts the requests in flight and remembers each one, for tests of concurrency.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Asked:
    """One request the server received."""

    page: int
    size: int
    headers: dict[str, str]
    in_flight: int  # requests in flight at the server when this one arrived, itself included


@dataclass
class Reply:
    """What to answer: a JSON body with a status, or a way to misbehave."""

    body: Any = None
    status: int = 200
    hang: bool = False  # answer nothing until the server closes
    cut_after: int | None = None  # send only this many bytes of the body, then hang up
    hang_up: bool = False  # close the connection without answering at all
    before: Callable[[], object] | None = None  # run first (wait for an event, say)
    extra_headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[Asked], Reply]


def numbered(total: int, *, id_field: str | None = "id") -> Callable[[int, int], list[Any]]:
    """Rows 0..total-1, as a page of them: ``{"id": n, "name": ...}``."""

    def rows(page: int, size: int) -> list[Any]:
        numbers = range(page * size, min((page + 1) * size, total))
        if id_field is None:
            return [{"n": n} for n in numbers]
        return [{id_field: n, "name": f"row {n}"} for n in numbers]

    return rows


def envelope(
    content: list[Any], page: int, size: int, total: int, pages: int | None = None
) -> dict[str, Any]:
    """A Spring page, as the API's current envelope writes it."""
    if pages is None:
        pages = -(-total // size)
    return {
        "content": content,
        "page": {"size": size, "number": page, "totalElements": total, "totalPages": pages},
    }


def good_page(asked: Asked, total: int) -> Reply:
    rows = numbered(total)(asked.page, asked.size)
    return Reply(envelope(rows, asked.page, asked.size, total))


class PagedServer:
    """The server: ``answer`` decides each reply; `close` ends every hanging one."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.asked: list[Asked] = []
        self.closing = threading.Event()
        self.arrived = threading.Condition()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.finished: list[int] = []  # pages whose answer was sent in full, in order
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v3/rows"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def in_flight(self) -> int:
        """Requests the server is answering now (a hanging page counts until cut)."""
        with self._lock:
            return self._in_flight

    def pages_asked(self) -> list[int]:
        with self._lock:
            return [asked.page for asked in self.asked]

    def wait_for(self, predicate: Callable[[PagedServer], bool], timeout: float = 30) -> None:
        """Wait (on the server's own events, not a sleep) until ``predicate`` holds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: predicate(self), timeout):
                raise AssertionError("the server never saw what the test waited for")

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        with self._lock:
            self._in_flight += 1
            asked = Asked(
                page=int(query.get("page", ["0"])[0]),
                size=int(query.get("size", ["20"])[0]),
                headers={k.lower(): v for k, v in handler.headers.items()},
                in_flight=self._in_flight,
            )
            self.asked.append(asked)
        with self.arrived:
            self.arrived.notify_all()
        try:
            self._reply(handler, asked, self.answer(asked))
        except OSError:
            pass  # the client hung up: what a cut export does
        finally:
            with self._lock:
                self._in_flight -= 1
            with self.arrived:
                self.arrived.notify_all()

    def _reply(self, handler: BaseHTTPRequestHandler, asked: Asked, reply: Reply) -> None:
        if reply.before is not None:
            reply.before()
        if reply.hang_up:
            handler.close_connection = True
            return
        if reply.hang:
            # Hang for as long as the server lives, or until the client hangs up.
            handler.close_connection = True
            handler.connection.settimeout(0.05)
            while not self.closing.is_set():
                try:
                    if handler.connection.recv(1, 0) == b"":
                        return
                except TimeoutError:
                    continue
                except OSError:
                    return
            return
        body = json.dumps(reply.body).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in reply.extra_headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if reply.cut_after is not None:
            handler.wfile.write(body[: reply.cut_after])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)
        handler.wfile.flush()
        with self._lock:
            self.finished.append(asked.page)
        with self.arrived:
            self.arrived.notify_all()

    def close(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture
def paged_server() -> Iterator[Callable[[Answer], PagedServer]]:
    started: list[PagedServer] = []

    def start(answer: Answer) -> PagedServer:
        server = PagedServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
