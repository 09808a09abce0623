"""``resharmonics demo``: watch tokens being fetched, reused and renewed, on a fake server."""

from __future__ import annotations

import datetime
import logging
import sys
import time
from typing import Callable, TextIO

import requests

from .testing import FakeResharmonics
from .token import fingerprint

_EVENTS = {
    ("fetched",): "fetched a new token",
    ("due", "fetched"): "renewed the token before it expired",
    ("rejected", "fetched"): "got the expiry 401: renewed the token and replayed the call",
    ("rejected",): "got the expiry 401: used the token another call had just renewed",
}


class _EventLog(logging.Handler):
    """Collects the library's token events (their names, never a token)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[str] = []
        self.tokens: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "resharmonics_event", None)
        if name:
            self.events.append(name)
            self.tokens.append(getattr(record, "resharmonics_token", "?"))


def run_demo(lifetime: float = 4.0, out: TextIO | None = None) -> int:
    """Run the demo against a fresh fake server; return the number of failed calls."""
    stream = out if out is not None else sys.stdout
    events = _EventLog()
    logger = logging.getLogger("requests_resharmonics")
    previous_level = logger.level
    logger.addHandler(events)
    logger.setLevel(logging.DEBUG)
    started = time.monotonic()

    def say(text: str) -> None:
        clock = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        print(f"{clock} +{time.monotonic() - started:5.2f}s  {text}", file=stream, flush=True)

    failures = calls = replays = 0
    try:
        with FakeResharmonics(token_lifetime=lifetime) as fake:
            say(f"fake Res:Harmonics at {fake.base_url}; tokens live {lifetime:g} s")

            def call(label: str, send: Callable[[], requests.Response]) -> None:
                nonlocal failures, calls, replays
                del events.events[:], events.tokens[:]
                response = send()
                calls += 1
                replays += len(response.history)
                failures += response.status_code >= 400
                outcome = _EVENTS.get(tuple(events.events), "reused the current token")
                token = events.tokens[-1] if events.tokens else _fingerprint(response)
                say(f"{label} -> {response.status_code}  {outcome} [token {token}]")

            say("-- ResharmonicsAuth, as requests.get(url, auth=auth)")
            auth = fake.auth()

            def get(path: str) -> Callable[[], requests.Response]:
                return lambda: requests.get(fake.base_url + path, auth=auth, timeout=10)

            call("GET /api/v3/bookings", get("/api/v3/bookings"))
            call("GET /api/v3/units   ", get("/api/v3/units"))
            token = auth.token
            if token is not None and token.expires_at is not None:
                wait = token.renew_at(auth._manager.leeway) - time.time() + 0.05
                say(f"... waiting {max(wait, 0):.1f} s, until the token is due for renewal")
                time.sleep(max(wait, 0))
            call("GET /api/v3/contacts", get("/api/v3/contacts"))
            say("... the service expires every token early (as it may, before expires_in)")
            fake.expire_all_tokens()
            call("GET /api/v3/bookings", get("/api/v3/bookings"))
            call("GET /api/v3/units   ", get("/api/v3/units"))

            say("-- ResharmonicsSession, relative URLs on the base URL")
            with fake.session() as session:
                call("GET /api/v3/units   ", lambda: session.get("/api/v3/units"))
                call("GET /api/v3/units   ", lambda: session.get("/api/v3/units"))
                say("... the service expires every token early again")
                fake.expire_all_tokens()
                call("POST /api/v3/echo   ", lambda: session.post("/api/v3/echo", json={}))
            say(
                f"done: {calls} calls, {failures} failed; {replays} expiry 401s replayed; "
                f"{fake.token_requests} token requests"
            )
    finally:
        logger.removeHandler(events)
        logger.setLevel(previous_level)
    return failures


def _fingerprint(response: requests.Response) -> str:
    header = response.request.headers.get("Authorization", "")
    return fingerprint(header.removeprefix("Bearer ")) if header else "none"
