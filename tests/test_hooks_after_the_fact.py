"""Hooks are told after the fact: outside every lock, once the new token is stored.

Each hook here calls back into the auth object that told it. Before, ``on_event`` ran
while the auth's lock was held: such a hook deadlocked the call that fetched, and every
later call of the client. Each test runs the calls in a thread with a time limit, so that
a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import requests_resharmonics
from requests_resharmonics import ResharmonicsAuth, TokenEvent, TokenStats, process_stats
from requests_resharmonics._tokens import events, process
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock
from .test_background import wait_for

#: Seconds a call told to a hook may take before the test calls it a deadlock.
LIMIT = 30.0


def within_limit(call: Callable[[], Any]) -> Any:
    """Run ``call`` in a thread; return its result, or fail if it has not ended in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(LIMIT)
    assert not thread.is_alive(), "the call did not end: a hook waits on a lock its call holds"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class Seen:
    """What a hook saw when told of each event: the auth's token, its stats, a new call."""

    def __init__(self) -> None:
        self.auth: ResharmonicsAuth | None = None
        self.events: list[TokenEvent] = []
        self.tokens: list[str | None] = []  # the fingerprint of auth.token, as the hook saw it
        self.valid: list[str] = []  # the fingerprint valid_token() returned to the hook
        self.stats: list[TokenStats] = []
        self.process: list[TokenStats] = []

    def __call__(self, event: TokenEvent) -> None:
        auth = self.auth
        assert auth is not None
        self.events.append(event)
        token = auth.token
        self.tokens.append(token.fingerprint if token is not None else None)
        self.stats.append(auth.stats)
        self.process.append(process_stats())
        if event.kind in ("token-request", "renewal", "replay") and event.outcome == "ok":
            self.valid.append(auth.valid_token().fingerprint)

    def told(self, kind: str, outcome: str = "ok") -> list[int]:
        return [
            index
            for index, event in enumerate(self.events)
            if (event.kind, event.outcome) == (kind, outcome)
        ]


def watched(fake: FakeResharmonics, **kwargs: Any) -> tuple[ResharmonicsAuth, Seen]:
    seen = Seen()
    auth = fake.auth(on_event=seen, **kwargs)
    seen.auth = auth
    return auth, seen


def units(fake: FakeResharmonics, auth: ResharmonicsAuth) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


def test_a_hook_asking_for_the_token_on_the_first_request_gets_the_new_one(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth, seen = watched(fake_resharmonics)
    token = within_limit(auth.valid_token)
    (told,) = seen.told("token-request")
    assert seen.events[told].fingerprint == token.fingerprint
    assert seen.tokens[told] == token.fingerprint  # stored before the hook heard of it
    assert seen.valid == [token.fingerprint]  # and valid_token() returned it, at once
    assert fake_resharmonics.token_requests == 1
    assert within_limit(auth.valid_token) is token  # later calls are not stuck either


@pytest.mark.fake_resharmonics(token_delay=0.05)
def test_a_hook_of_a_background_renewal_sees_the_renewed_token(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth, seen = watched(fake_resharmonics)
    auth._manager.clock = clock
    old = within_limit(auth.valid_token)
    clock.advance(3600 - 30)  # due: inside the last minute, 30 s before expiry
    del seen.events[:], seen.tokens[:], seen.valid[:]
    assert within_limit(auth.valid_token) is old  # due, not expired: served at once
    wait_for(lambda: seen.told("renewal"))
    (request,) = seen.told("token-request")
    (renewal,) = seen.told("renewal")
    assert seen.events[renewal].trigger == "background"
    new = seen.events[request].fingerprint
    assert new is not None and new != old.fingerprint
    assert seen.tokens[request] == seen.tokens[renewal] == new
    # valid_token() inside the hook: the renewed token, not the old one served while due.
    assert seen.valid == [new, new]
    assert within_limit(auth.valid_token).fingerprint == new


def test_a_hook_of_a_replay_sees_the_replacement(fake_resharmonics: FakeResharmonics) -> None:
    auth, seen = watched(fake_resharmonics)
    assert within_limit(lambda: units(fake_resharmonics, auth)) == 200
    first = auth.token
    assert first is not None
    fake_resharmonics.expire_all_tokens()
    assert within_limit(lambda: units(fake_resharmonics, auth)) == 200  # 401, renewal, replay
    (replay,) = seen.told("replay")
    replacement = seen.events[replay].fingerprint
    assert replacement is not None and replacement != first.fingerprint
    assert seen.tokens[replay] == replacement
    assert seen.valid[-1] == replacement
    assert fake_resharmonics.token_requests == 2


def test_events_keep_their_order_and_stats_count_each_before_its_hook(
    fake_resharmonics: FakeResharmonics,
) -> None:
    auth, seen = watched(fake_resharmonics)
    before = process_stats()
    within_limit(lambda: units(fake_resharmonics, auth))
    fake_resharmonics.expire_all_tokens()
    within_limit(lambda: units(fake_resharmonics, auth))
    within_limit(auth.fetch_token)
    assert [(event.kind, event.outcome, event.trigger) for event in seen.events] == [
        ("cache", "miss", None),
        ("token-request", "ok", "first"),
        ("cache", "miss", None),
        ("token-request", "ok", "replay"),
        ("replay", "ok", None),
        ("token-request", "ok", "explicit"),
    ]
    # Each hook found its own event counted, and none of the events after it.
    assert [stats.cache_misses for stats in seen.stats] == [1, 1, 2, 2, 2, 2]
    assert [stats.requests_ok for stats in seen.stats] == [0, 1, 1, 2, 2, 3]
    assert [stats.replays for stats in seen.stats] == [0, 0, 0, 0, 1, 1]
    assert [totals.requests_ok - before.requests_ok for totals in seen.process] == [
        0,
        1,
        1,
        2,
        2,
        3,
    ]
    # The token the hook read is the one the event names, from the first request on.
    requests_told = seen.told("token-request")
    assert [seen.tokens[i] for i in requests_told] == [
        seen.events[i].fingerprint for i in requests_told
    ]


def test_a_hook_that_makes_another_client_fetch_hears_its_events_after_its_own(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """A hook that calls another auth object: that call's events wait behind the ones
    still to be told (the first client's token request), so every listener hears them
    all in the order they happened, none told inside another's hook."""
    client_id, secret = fake_resharmonics.add_client("second-tenant")
    told: list[tuple[str, str, str]] = []
    second = ResharmonicsAuth(client_id, secret, fake_resharmonics.token_url)

    def listener(event: TokenEvent) -> None:
        told.append((event.client_id, event.kind, event.outcome))
        if event.client_id == fake_resharmonics.client_id and event.kind == "cache":
            second.valid_token()  # makes events of its own, from inside this hook

    process.add_listener(listener)
    try:
        first = fake_resharmonics.auth()
        within_limit(first.valid_token)
    finally:
        process.remove_listener(listener)
    me = fake_resharmonics.client_id
    assert told == [
        (me, "cache", "miss"),
        (me, "token-request", "ok"),
        (client_id, "cache", "miss"),
        (client_id, "token-request", "ok"),
    ]
    assert second.token is not None and first.token is not None


def test_a_hook_may_fetch_a_token_itself(fake_resharmonics: FakeResharmonics) -> None:
    fetched: list[str] = []
    holder: list[ResharmonicsAuth] = []

    def hook(event: TokenEvent) -> None:
        if event.kind == "token-request" and event.trigger == "first":
            fetched.append(holder[0].fetch_token().fingerprint)

    auth = fake_resharmonics.auth(on_event=hook)
    holder.append(auth)
    first = within_limit(auth.valid_token)
    assert fake_resharmonics.token_requests == 2
    assert auth.token is not None and fetched == [auth.token.fingerprint]
    assert first.fingerprint != auth.token.fingerprint


def test_a_token_updater_may_use_the_session(fake_resharmonics: FakeResharmonics) -> None:
    updates: list[tuple[str, int]] = []
    holder: list[Any] = []

    def token_updater(token: dict[str, Any]) -> None:
        session = holder[0]
        # The session, with the new token in place: no second token request, no deadlock.
        status = session.get("/api/v3/units").status_code
        updates.append((token["access_token"], status))

    session = fake_resharmonics.session(token_updater=token_updater)
    holder.append(session)
    try:
        assert within_limit(lambda: session.get("/api/v3/units").status_code) == 200
        fake_resharmonics.expire_all_tokens()
        assert within_limit(lambda: session.get("/api/v3/units").status_code) == 200
    finally:
        session.close()
    assert [status for _, status in updates] == [200, 200]
    assert [token for token, _ in updates] == fake_resharmonics.issued_tokens
    assert fake_resharmonics.token_requests == 2


def test_a_process_wide_listener_may_call_the_auth_object(
    fake_resharmonics: FakeResharmonics,
) -> None:
    holder: list[ResharmonicsAuth] = []
    valid: list[str] = []

    def listener(event: TokenEvent) -> None:
        if event.kind == "token-request" and event.outcome == "ok" and holder:
            valid.append(holder[0].valid_token().fingerprint)

    process.add_listener(listener)
    try:
        auth = fake_resharmonics.auth()
        holder.append(auth)
        token = within_limit(auth.valid_token)
    finally:
        process.remove_listener(listener)
    assert valid == [token.fingerprint]


def test_a_request_span_wraps_each_token_request_and_hooks_come_after_it(
    fake_resharmonics: FakeResharmonics,
) -> None:
    """The seam OpenTelemetry plugs into: a span around the request itself (the lock held),
    whose metrics it defers; the events come once the lock is released."""
    happened: list[str] = []
    plugins = process.current().plugins
    kept = plugins.request_span

    @contextlib.contextmanager
    def span(token_url: str, client_id: str, trigger: Any) -> Iterator[events.RequestNote]:
        happened.append(f"span opens ({trigger})")
        try:
            yield events.RequestNote()
        finally:
            happened.append("span closes")
            events.later(lambda: happened.append("metrics recorded"))

    process.set_request_span(span)
    try:
        auth = fake_resharmonics.auth(on_event=lambda e: happened.append(f"{e.kind} told"))
        within_limit(auth.valid_token)
    finally:
        process.set_request_span(kept)
    assert happened == [
        "span opens (first)",
        "span closes",
        "cache told",  # the miss happened first, and is told first
        "metrics recorded",
        "token-request told",
    ]


def test_the_token_core_never_imports_the_optional_integrations() -> None:
    """OpenTelemetry plugs itself in through `events.Plugins`; the core does not know it."""
    core = Path(requests_resharmonics.__file__).parent / "_tokens"
    imported: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        tree = ast.parse(path.read_text())
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names.add("." * node.level + (node.module or ""))
                names.update(
                    "." * node.level + (node.module or "") + "." + a.name for a in node.names
                )
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
        imported[path.name] = names
    assert imported, "no module found in _tokens/"
    for module, names in imported.items():
        for name in names:
            assert "otel" not in name.split(".") and not name.startswith("opentelemetry"), (
                f"_tokens/{module} imports {name}"
            )
