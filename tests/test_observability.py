"""Token costs an operator can see: stats, the on_event hook, OpenTelemetry, log durations."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from requests_resharmonics import (
    ResharmonicsAuth,
    TokenEvent,
    TokenRequestError,
    otel,
    process_stats,
)
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock
from .test_background import due_auth, wait_for


def units(fake: FakeResharmonics, auth: ResharmonicsAuth) -> int:
    return requests.get(fake.base_url + "/api/v3/units", auth=auth, timeout=30).status_code


def test_stats_count_token_requests_by_outcome_and_replays(
    fake_resharmonics: FakeResharmonics,
) -> None:
    before = process_stats()
    auth = fake_resharmonics.auth(token_retries=0)
    assert auth.stats.token_requests == 0
    assert units(fake_resharmonics, auth) == 200
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200  # the expiry 401, a renewal, the replay
    stats = auth.stats
    assert (stats.requests_ok, stats.requests_refused, stats.requests_failed) == (2, 0, 0)
    assert stats.token_requests == 2
    assert stats.replays == 1
    assert stats.cache_misses == 2
    assert stats.cache_hits == 0
    assert stats.last_request_seconds is not None
    assert 0 < stats.last_request_seconds <= stats.request_seconds

    fake_resharmonics.fail_token_requests("invalid_client", "503")
    with pytest.raises(TokenRequestError):
        auth.fetch_token()
    with pytest.raises(TokenRequestError):
        auth.fetch_token()
    stats = auth.stats
    assert (stats.requests_ok, stats.requests_refused, stats.requests_failed) == (2, 1, 1)
    assert stats.as_dict()["token_requests"] == 4
    after = process_stats()
    assert after.token_requests - before.token_requests >= 4
    assert after.replays - before.replays >= 1


def test_a_second_auth_object_of_the_client_is_a_cache_hit(
    fake_resharmonics: FakeResharmonics,
) -> None:
    first, second = fake_resharmonics.auth(), fake_resharmonics.auth()
    first.valid_token()
    second.valid_token()
    assert (second.stats.cache_hits, second.stats.token_requests) == (1, 0)
    assert fake_resharmonics.token_requests == 1


@pytest.mark.fake_resharmonics(token_delay=0.05)
def test_stats_tell_background_renewals_from_inline_ones(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    in_background = due_auth(fake_resharmonics, clock)
    old = in_background.token
    in_background.valid_token()
    wait_for(lambda: in_background.token is not old)
    # Stats are told once the renewal's lock is released, a moment after its token is stored.
    wait_for(lambda: in_background.stats.background_renewals == 1)
    assert in_background.stats.inline_renewals == 0
    inline = due_auth(fake_resharmonics, clock, background_renewal=False, scope="api/read")
    inline.valid_token()
    assert (inline.stats.inline_renewals, inline.stats.background_renewals) == (1, 0)


def test_the_session_has_stats_too(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    session.get("/api/v3/units").raise_for_status()
    assert session.stats.requests_ok == 1
    assert session.stats == session._resharmonics_auth.stats


def test_on_event_sees_every_token_event_and_never_the_token(
    fake_resharmonics: FakeResharmonics,
) -> None:
    seen: list[TokenEvent] = []
    auth = fake_resharmonics.auth(on_event=seen.append)
    assert units(fake_resharmonics, auth) == 200
    first = auth.token
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200
    kinds = [(event.kind, event.outcome, event.trigger) for event in seen]
    assert kinds == [
        ("cache", "miss", None),
        ("token-request", "ok", "first"),
        ("cache", "miss", None),
        ("token-request", "ok", "replay"),
        ("replay", "ok", None),
    ]
    requests_seen = [event for event in seen if event.kind == "token-request"]
    assert first is not None and auth.token is not None
    assert [event.fingerprint for event in requests_seen] == [
        first.fingerprint,
        auth.token.fingerprint,
    ]
    assert all(event.duration is not None and event.duration > 0 for event in requests_seen)
    assert {event.client_id for event in seen} == {fake_resharmonics.client_id}
    for event in seen:
        text = repr(event) + repr(dataclasses.asdict(event))
        assert first.access_token not in text
        assert auth.token.access_token not in text
        assert fake_resharmonics.client_secret not in text


def test_a_refused_token_request_is_an_event_with_its_status(
    fake_resharmonics: FakeResharmonics,
) -> None:
    seen: list[TokenEvent] = []
    auth = fake_resharmonics.auth(on_event=seen.append, token_retries=0)
    fake_resharmonics.fail_token_requests("invalid_client")
    with pytest.raises(TokenRequestError):
        auth.valid_token()
    refused = [event for event in seen if event.kind == "token-request"]
    assert [(event.outcome, event.status) for event in refused] == [("refused", 400)]


def test_a_hook_that_raises_breaks_no_call(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: TokenEvent) -> None:
        raise RuntimeError("the operator's dashboard is down")

    auth = fake_resharmonics.auth(on_event=broken)
    with caplog.at_level(logging.WARNING, logger="requests_resharmonics"):
        assert units(fake_resharmonics, auth) == 200
        fake_resharmonics.expire_all_tokens()
        assert units(fake_resharmonics, auth) == 200
    assert "the on_event hook failed with RuntimeError" in caplog.text
    assert auth.stats.requests_ok == 2


def test_log_records_of_token_requests_carry_their_duration(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    auth = fake_resharmonics.auth()
    with caplog.at_level(logging.DEBUG, logger="requests_resharmonics"):
        auth.valid_token()
    fetched = [r for r in caplog.records if getattr(r, "resharmonics_event", "") == "fetched"]
    assert len(fetched) == 1
    duration = fetched[0].resharmonics_duration  # type: ignore[attr-defined]
    assert isinstance(duration, float)
    assert duration > 0
    assert f"in {duration:.3f} s" in fetched[0].getMessage()


# -- OpenTelemetry --------------------------------------------------------------------------


@pytest.fixture
def telemetry() -> Iterator[tuple[InMemoryMetricReader, InMemorySpanExporter]]:
    reader = InMemoryMetricReader()
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert otel.instrument(
        meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer_provider
    )
    yield reader, exporter
    otel.instrument()  # back to the global providers


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    found: list[Any] = []
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "requests_resharmonics"
            for metric in scope.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


def test_opentelemetry_spans_every_token_request_even_after_a_401(
    fake_resharmonics: FakeResharmonics,
    telemetry: tuple[InMemoryMetricReader, InMemorySpanExporter],
) -> None:
    reader, exporter = telemetry
    auth = fake_resharmonics.auth(token_retries=0)
    assert units(fake_resharmonics, auth) == 200
    fake_resharmonics.expire_all_tokens()
    assert units(fake_resharmonics, auth) == 200
    fake_resharmonics.fail_token_requests("invalid_client")
    with pytest.raises(TokenRequestError):
        auth.fetch_token()

    spans = [s for s in exporter.get_finished_spans() if s.name == "resharmonics.token_request"]
    assert [s.attributes["resharmonics.token.trigger"] for s in spans] == [  # type: ignore[index]
        "first",
        "replay",
        "explicit",
    ]
    for span in spans:
        attributes = dict(span.attributes or {})
        assert attributes["http.request.method"] == "POST"
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == fake_resharmonics.port
        assert attributes["url.full"] == fake_resharmonics.token_url
        text = repr(attributes)
        assert fake_resharmonics.client_secret not in text
        for token in fake_resharmonics.issued_tokens:
            assert token not in text
    assert spans[0].status.status_code is not StatusCode.ERROR
    failed = dict(spans[2].attributes or {})
    assert failed["error.type"] == "400"
    assert failed["http.response.status_code"] == 400
    assert failed["resharmonics.token.outcome"] == "refused"
    assert spans[2].status.status_code is StatusCode.ERROR

    requests_made = points(reader, "resharmonics.token.requests")
    by_outcome: dict[str, int] = {}
    for point in requests_made:
        outcome = point.attributes["resharmonics.token.outcome"]
        by_outcome[outcome] = by_outcome.get(outcome, 0) + point.value
    assert by_outcome == {"ok": 2, "refused": 1}
    (durations,) = [
        p
        for p in points(reader, "resharmonics.token.request.duration")
        if p.attributes["resharmonics.token.trigger"] == "first"
    ]
    assert durations.count == 1
    assert durations.sum > 0
    (replays,) = points(reader, "resharmonics.token.replays")
    assert replays.value == 1
    assert "resharmonics.client_id" not in repr([p.attributes for p in requests_made])


@pytest.mark.fake_resharmonics(token_delay=0.05)
def test_opentelemetry_counts_renewals_and_cache_lookups(
    fake_resharmonics: FakeResharmonics,
    clock: FakeClock,
    telemetry: tuple[InMemoryMetricReader, InMemorySpanExporter],
) -> None:
    reader, _ = telemetry
    auth = due_auth(fake_resharmonics, clock)
    old = auth.token
    auth.valid_token()
    wait_for(lambda: auth.token is not old)
    wait_for(lambda: reader.get_metrics_data() and points(reader, "resharmonics.token.renewals"))
    (renewals,) = points(reader, "resharmonics.token.renewals")
    assert renewals.value == 1
    assert dict(renewals.attributes) == {
        "resharmonics.token.outcome": "ok",
        "resharmonics.token.trigger": "background",
    }
    lookups = {
        p.attributes["resharmonics.token.outcome"]: p.value
        for p in points(reader, "resharmonics.token.cache.lookups")
    }
    assert lookups == {"miss": 2}
