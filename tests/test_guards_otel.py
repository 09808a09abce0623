"""Guards of the OpenTelemetry spans and metrics: each test fails if one plausible bug is put in.

- the ``user:password@`` of a token URL must never reach ``url.full`` (nor any attribute);
- a token request that gets no answer (a refused connection, a timeout) must still say
  ``error.type``, on its span and on its metrics, as the HTTP semantic conventions ask.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from requests_resharmonics import ResharmonicsAuth, TokenRequestError, otel
from requests_resharmonics.testing import Answer

from .conftest import StartHost

SPAN = "resharmonics.token_request"
PASSWORD = "hunter2-in-the-url"
#: A token answer any client reads: the server below hands it to every request.
TOKEN_ANSWER = {"access_token": "opaque-token-7c1e", "token_type": "Bearer", "expires_in": 3600}


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


def token_spans(exporter: InMemorySpanExporter, port: int) -> list[ReadableSpan]:
    """This test's token request spans (a renewal left running by another test may end here)."""
    return [
        span
        for span in exporter.get_finished_spans()
        if span.name == SPAN and (span.attributes or {}).get("server.port") == port
    ]


def request_points(reader: InMemoryMetricReader, server_address: str) -> list[Any]:
    """The data points of ``resharmonics.token.requests`` for one server."""
    data = reader.get_metrics_data()
    assert data is not None
    found: list[Any] = []
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "resharmonics.token.requests":
                    found.extend(metric.data.data_points)
    return [p for p in found if p.attributes.get("server.address") == server_address]


def test_the_user_info_of_a_token_url_never_reaches_a_span(
    other_host: StartHost,
    telemetry: tuple[InMemoryMetricReader, InMemorySpanExporter],
) -> None:
    _, exporter = telemetry
    server = other_host(lambda incoming: Answer(200, TOKEN_ANSWER))
    clean = f"http://127.0.0.1:{server.port}/oauth2/token"
    token_url = f"http://someone:{PASSWORD}@127.0.0.1:{server.port}/oauth2/token"
    # The front doors refuse such a URL outright; the span's scrubbing is the second line,
    # for a manager built on an endpoint directly.
    from requests_resharmonics._tokens.endpoint import TokenEndpoint
    from requests_resharmonics._tokens.manager import TokenManager

    manager = TokenManager(TokenEndpoint(token_url, "otel-client", "otel-secret", retries=0))
    assert manager.fetch_token().access_token == TOKEN_ANSWER["access_token"]
    assert len(server.seen) == 1

    (span,) = token_spans(exporter, server.port)
    attributes = dict(span.attributes or {})
    assert attributes["url.full"] == clean
    assert attributes["server.address"] == "127.0.0.1"
    assert attributes["server.port"] == server.port
    text = repr(attributes)
    for secret in (PASSWORD, "someone", "otel-secret", TOKEN_ANSWER["access_token"]):
        assert secret not in text


def refused_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused at once, every time."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(8)
        yield holder.getsockname()[1]


@pytest.mark.parametrize(
    ("port_of", "words"),
    [(refused_port, "could not connect"), (silent_port, "timed out")],
    ids=["refused", "timeout"],
)
def test_a_token_request_without_an_answer_has_an_error_type(
    telemetry: tuple[InMemoryMetricReader, InMemorySpanExporter],
    port_of: Any,
    words: str,
) -> None:
    reader, exporter = telemetry
    for port in port_of():
        auth = ResharmonicsAuth(
            "otel-client",
            "otel-secret",
            f"http://127.0.0.1:{port}/oauth2/token",
            timeout=0.5,  # the silent port: a timeout after half a second
            token_retries=0,
        )
        with pytest.raises(TokenRequestError) as raised:
            auth.fetch_token()
        assert raised.value.status_code is None  # no answer: the case under test
        assert words in str(raised.value)

    (span,) = token_spans(exporter, port)
    attributes = dict(span.attributes or {})
    error_type = attributes.get("error.type")
    assert isinstance(error_type, str) and error_type, attributes
    assert not error_type.isdigit()  # no HTTP status: there was no answer
    assert str(port) not in error_type and "/" not in error_type  # a type, not a message
    assert "http.response.status_code" not in attributes
    assert attributes["resharmonics.token.outcome"] == "failed"
    assert span.status.status_code is StatusCode.ERROR

    # Metrics carry no port: any failed request to 127.0.0.1 counts here, and each says why.
    failed = [
        point
        for point in request_points(reader, "127.0.0.1")
        if point.attributes["resharmonics.token.outcome"] == "failed"
    ]
    assert failed
    assert all(point.attributes.get("error.type") for point in failed)
    assert error_type in {point.attributes["error.type"] for point in failed}


@pytest.mark.parametrize("what", ["token_url", "base_url"])
def test_a_url_with_user_info_is_refused_without_echoing_the_password(what: str) -> None:
    from requests_resharmonics import ConfigurationError, ResharmonicsSession

    url = "https://user:hunter2-password@auth.example.com/oauth2/token"
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError) as raised:
            ResharmonicsSession("id", "secret", **{what: url})  # type: ignore[arg-type]
    assert "hunter2-password" not in str(raised.value)
    assert not any("hunter2-password" in str(warning.message) for warning in warned)
    assert "user:password@" in str(raised.value)
