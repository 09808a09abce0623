"""``resharmonics demo``: watch tokens being fetched, reused and renewed, on a fake server."""

from __future__ import annotations

import datetime
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

import requests

from ..testing import FakeResharmonics
from ..token import fingerprint

_EVENTS = {
    "fetched": "token {token} fetched from the token endpoint",
    "due": "token {token} is due for renewal: renewing it in the background, calls keep using it",
    "rejected": "token {token} got the expiry 401: renewing it and replaying the call",
    "renewal-failed": "background renewal of token {token} failed; retrying while it is valid",
}


class _Narrator(logging.Handler):
    """Tells the library's token events as they happen (their names, never a token)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.say = say
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        name = getattr(record, "resharmonics_event", None)
        if name in _EVENTS:
            self.count += 1
            token = getattr(record, "resharmonics_token", "?")
            self.say("    " + _EVENTS[name].format(token=token))


def run_demo(lifetime: float = 4.0, out: TextIO | None = None) -> int:
    """Run the demo against a fresh fake server; return the number of failed calls."""
    stream = out if out is not None else sys.stdout
    started = time.monotonic()
    printing = threading.Lock()

    def say(text: str) -> None:
        clock = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        with printing:
            print(f"{clock} +{time.monotonic() - started:5.2f}s  {text}", file=stream, flush=True)

    narrator = _Narrator(say)
    logger = logging.getLogger("requests_resharmonics")
    previous_level = logger.level
    logger.addHandler(narrator)
    logger.setLevel(logging.DEBUG)
    failures = calls = 0
    try:
        with FakeResharmonics(token_lifetime=lifetime) as fake:
            say(f"fake Res:Harmonics at {fake.base_url}; tokens live {lifetime:g} s")

            def call(label: str, send: Callable[[], requests.Response]) -> None:
                nonlocal failures, calls
                before = narrator.count
                response = send()
                calls += 1
                failures += response.status_code >= 400
                header = response.request.headers.get("Authorization", "")
                token = fingerprint(header[len("Bearer ") :]) if header else "none"
                reused = " (reused the current token)" if narrator.count == before else ""
                say(f"{label} -> {response.status_code} with token {token}{reused}")

            say("-- ResharmonicsAuth, as requests.get(url, auth=auth)")
            auth = fake.auth()

            def get(path: str) -> Callable[[], requests.Response]:
                return lambda: requests.get(fake.base_url + path, auth=auth, timeout=10)

            call("GET /api/v3/bookings", get("/api/v3/bookings"))
            call("GET /api/v3/units   ", get("/api/v3/units"))
            _wait_until_due(auth, say)
            call("GET /api/v3/contacts", get("/api/v3/contacts"))
            time.sleep(0.2)  # the background renewal lands meanwhile
            call("GET /api/v3/units   ", get("/api/v3/units"))
            say("... the service expires every token early (as it may, before expires_in)")
            fake.expire_all_tokens()
            call("GET /api/v3/bookings", get("/api/v3/bookings"))
            call("GET /api/v3/units   ", get("/api/v3/units"))

            say("-- ResharmonicsSession, relative URLs on the base URL")
            with fake.session() as session:
                call("GET /api/v3/units   ", lambda: session.get("/api/v3/units"))
                say("... the service expires every token early again")
                fake.expire_all_tokens()
                contact = {"firstName": "Ada", "lastName": "Lovelace"}
                call(
                    "POST /api/v3/contacts", lambda: session.post("/api/v3/contacts", json=contact)
                )
                say("-- what came back: the arrivals of the next week")
                week = {
                    "dateFrom": datetime.date.today().isoformat(),
                    "dateTo": (datetime.date.today() + datetime.timedelta(days=7)).isoformat(),
                    "statuses": "CONFIRMED",
                    "sort": "startDate",
                }
                for row in session.get("/api/v3/bookings", params={**week, "size": 3}).json()[
                    "content"
                ]:
                    say(
                        f"    {row['bookingReference']}  {row['startDate']} to {row['endDate']}"
                        f"  {row['unit']['name']}  {row['roomStayStatus']}"
                    )
            say(f"done: {calls} calls, {failures} failed; {fake.token_requests} token requests")
    finally:
        logger.removeHandler(narrator)
        logger.setLevel(previous_level)
    return failures


def _wait_until_due(auth: object, say: Callable[[str], None]) -> None:
    manager = auth._manager  # type: ignore[attr-defined]
    token = manager.token
    if token is None or token.expires_at is None:
        return
    wait = max(manager.renew_at(token) - time.time() + 0.05, 0)
    say(f"... waiting {wait:.1f} s, until the token is due for renewal")
    time.sleep(wait)
