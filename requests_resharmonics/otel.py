"""OpenTelemetry, when ``opentelemetry-api`` is installed (the ``[otel]`` extra).

Metrics go to the meter ``requests_resharmonics``:

- ``resharmonics.token.requests`` (counter, ``{request}``) and
  ``resharmonics.token.request.duration`` (histogram, seconds), with the attributes
  ``resharmonics.token.outcome`` (``ok``, ``refused``, ``failed``),
  ``resharmonics.token.trigger`` (``first``, ``background``, ``inline``, ``replay``,
  ``explicit``), ``server.address`` and, when it failed, ``error.type``;
- ``resharmonics.token.renewals`` (counter; ``resharmonics.token.outcome`` and
  ``resharmonics.token.trigger``), ``resharmonics.token.replays`` (counter; outcome ``ok``,
  ``paused``, ``failed``) and ``resharmonics.token.cache.lookups`` (counter; outcome
  ``hit``, ``miss``).

Every token request, those after an expiry 401 included, runs inside an INTERNAL span
``resharmonics.token_request`` from the tracer ``requests_resharmonics``, with the HTTP
semantic conventions' attributes that apply (``http.request.method``, ``server.address``,
``server.port``, ``url.full``, ``http.response.status_code`` and ``error.type`` on a
failure, with the span's status ERROR) and the ones above. The span covers the request's
retries; an HTTP instrumentation of requests, if installed, adds one CLIENT span per
attempt beneath it. No attribute ever holds a token or a secret; tenants' client ids are
on spans only, never on metrics (thousands of tenants would make thousands of series).

Without an SDK configured, the API does nothing; `instrument` points the library at
providers of its own instead of the global ones.

This module plugs itself into the library's token events (a listener and a span around
each token request, see ``_tokens.events.Plugins``) when it is imported, which the package
does; the token manager never imports it. Metrics are recorded once the thread that made
them holds no token lock, like every event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from ._tokens import events, process
from ._tokens.events import RequestNote, TokenEvent, Trigger
from ._version import __version__

try:
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
except ImportError:  # the [otel] extra is not installed: every hook here is a no-op
    _metrics = None  # type: ignore[assignment]
    _trace = None  # type: ignore[assignment]

NAME = "requests_resharmonics"
#: Bucket boundaries of the duration histogram: the HTTP semantic conventions' advice.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


class _Instruments:
    def __init__(self, meter_provider: Any, tracer_provider: Any) -> None:
        meter = (
            meter_provider.get_meter(NAME, __version__)
            if meter_provider is not None
            else _metrics.get_meter(NAME, __version__)
        )
        self.tracer = (
            tracer_provider.get_tracer(NAME, __version__)
            if tracer_provider is not None
            else _trace.get_tracer(NAME, __version__)
        )
        self.requests = meter.create_counter(
            "resharmonics.token.requests", unit="{request}", description="Token requests made"
        )
        try:
            self.duration = meter.create_histogram(
                "resharmonics.token.request.duration",
                unit="s",
                description="Duration of token requests, retries included",
                explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
            )
        except TypeError:  # opentelemetry-api older than 1.23 takes no advice
            self.duration = meter.create_histogram(
                "resharmonics.token.request.duration",
                unit="s",
                description="Duration of token requests, retries included",
            )
        self.renewals = meter.create_counter(
            "resharmonics.token.renewals", unit="{renewal}", description="Due tokens renewed"
        )
        self.replays = meter.create_counter(
            "resharmonics.token.replays",
            unit="{replay}",
            description="Renewals after the API rejected a token as expired",
        )
        self.cache = meter.create_counter(
            "resharmonics.token.cache.lookups",
            unit="{lookup}",
            description="Shared token cache lookups",
        )


_lock = threading.Lock()
_instruments: _Instruments | None = None


def available() -> bool:
    """Return whether ``opentelemetry-api`` is installed."""
    return _metrics is not None


def instrument(*, meter_provider: Any = None, tracer_provider: Any = None) -> bool:
    """Send the library's metrics and spans to these providers (default: the global ones).

    The library reports to the global providers by itself when the API is installed; call
    this to choose others (a test's in-memory reader). Returns False when
    ``opentelemetry-api`` is not installed.

    Example:
        >>> from opentelemetry.sdk.metrics import MeterProvider
        >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        >>> reader = InMemoryMetricReader()
        >>> requests_resharmonics.otel.instrument(
        ...     meter_provider=MeterProvider(metric_readers=[reader])
        ... )
        True
    """
    global _instruments
    if not available():
        return False
    with _lock:
        _instruments = _Instruments(meter_provider, tracer_provider)
    _plug_in()
    return True


def _current() -> _Instruments | None:
    global _instruments
    if _instruments is None and available():
        with _lock:
            if _instruments is None:
                _instruments = _Instruments(None, None)
    return _instruments


def _on_event(event: TokenEvent) -> None:
    instruments = _current()
    if instruments is None:
        return
    attributes: dict[str, str] = {"resharmonics.token.outcome": event.outcome}
    if event.kind == "renewal":
        attributes["resharmonics.token.trigger"] = event.trigger or "inline"
        instruments.renewals.add(1, attributes)
    elif event.kind == "replay":
        instruments.replays.add(1, attributes)
    elif event.kind == "cache":
        instruments.cache.add(1, attributes)
    # token requests are measured by `token_request`, which knows the server


@contextmanager
def token_request(token_url: str, client_id: str, trigger: Trigger) -> Iterator[RequestNote]:
    """Measure one token request, inside a span when OpenTelemetry is installed."""
    note = RequestNote()
    instruments = _current()
    if instruments is None:
        yield note
        return
    parts = urlsplit(token_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    started = time.monotonic()
    with instruments.tracer.start_as_current_span(
        "resharmonics.token_request",
        kind=_trace.SpanKind.INTERNAL,
        attributes={
            "http.request.method": "POST",
            "server.address": host,
            "server.port": port,
            # Built from the host and port: user info in a URL never reaches a trace.
            "url.full": f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}",
            "resharmonics.client_id": client_id,
            "resharmonics.token.trigger": trigger,
        },
        record_exception=False,  # exception messages stay out of traces: we set the type
        set_status_on_exception=False,
    ) as span:
        try:
            yield note
        finally:
            seconds = time.monotonic() - started
            attributes = {
                "resharmonics.token.outcome": note.outcome,
                "resharmonics.token.trigger": trigger,
                "server.address": host,
            }
            span.set_attribute("resharmonics.token.outcome", note.outcome)
            if note.status is not None:
                span.set_attribute("http.response.status_code", note.status)
            if note.error_type is not None:
                attributes["error.type"] = note.error_type
                span.set_attribute("error.type", note.error_type)
                span.set_status(_trace.StatusCode.ERROR)
            if note.fingerprint is not None:
                span.set_attribute("resharmonics.token.fingerprint", note.fingerprint)
            events.later(lambda: _count_request(instruments, seconds, attributes))


def _count_request(instruments: _Instruments, seconds: float, attributes: dict[str, str]) -> None:
    instruments.requests.add(1, attributes)
    instruments.duration.record(seconds, attributes)


def _plug_in() -> None:
    process.add_listener(_on_event)
    process.set_request_span(token_request)


if available():
    _plug_in()
