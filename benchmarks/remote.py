"""A FakeResharmonics in a child process, so that the server does not share the GIL.

Benchmarks measure the client; a server in the same process would compete with it for the
interpreter lock and blur every figure.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from requests_resharmonics.testing import FakeResharmonics


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    with FakeResharmonics(**options) as fake:
        conn.send((fake.base_url, fake.token_url, fake.client_id, fake.client_secret))
        while True:
            message = conn.recv()
            if message is None:
                break
            name, args = message
            attribute = getattr(fake, name)
            if callable(attribute):
                conn.send(attribute(*args))
            else:
                conn.send(attribute)


class RemoteFake:
    """Start a fake server in a child process; read its counters and use its controls."""

    def __init__(self, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, options), daemon=True)
        self._process.start()
        self.base_url, self.token_url, self.client_id, self.client_secret = self._conn.recv()

    def __enter__(self) -> RemoteFake:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def ask(self, name: str, *args: Any) -> Any:
        """Call a method of the fake (or read an attribute) in the child; return the result."""
        self._conn.send((name, args))
        return self._conn.recv()

    @property
    def token_requests(self) -> int:
        """Token requests the server has received."""
        return int(self.ask("token_requests"))

    def stop(self) -> None:
        """Stop the server and its process."""
        if self._process.is_alive():
            self._conn.send(None)
            self._process.join(10)

    def environ(self) -> dict[str, str]:
        """The RESHARMONICS_* variables for this server."""
        return dict(self.ask("environ"))
