"""`retryable` on the library's errors, and the session's connection pool size."""

from __future__ import annotations

import logging
import socket

import pytest

from requests_resharmonics import ResharmonicsAuth
from requests_resharmonics._export.export import PaginationError
from requests_resharmonics.errors import (
    ConfigurationError,
    InsecureTransportError,
    ResharmonicsError,
    TokenRequestError,
)
from requests_resharmonics.testing import FakeResharmonics

from .test_concurrency import together


def token_error(fake: FakeResharmonics, **kwargs: object) -> TokenRequestError:
    auth = fake.auth(token_retries=0, **kwargs)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    return caught.value


@pytest.mark.parametrize("fault", ["503", "500", "429", "reset", "cut-off"])
def test_failures_a_retry_can_mend_are_retryable(
    fake_resharmonics: FakeResharmonics, fault: str
) -> None:
    fake_resharmonics.fail_token_requests(fault)
    assert token_error(fake_resharmonics).retryable is True


def test_a_timeout_is_retryable(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.hang_seconds = 5
    fake_resharmonics.fail_token_requests("hang")
    error = token_error(fake_resharmonics, timeout=0.2)
    assert "timed out" in str(error)
    assert error.retryable is True


def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = ResharmonicsAuth(
        "id", "secret", f"http://127.0.0.1:{port}/oauth2/token", token_retries=0
    )
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    assert caught.value.status_code is None
    assert caught.value.retryable is True


@pytest.mark.parametrize("fault", ["invalid_client", "html", "missing-access-token"])
def test_refusals_and_nonsense_are_not_retryable(
    fake_resharmonics: FakeResharmonics, fault: str
) -> None:
    fake_resharmonics.fail_token_requests(fault)
    assert token_error(fake_resharmonics).retryable is False


def test_wrong_credentials_are_not_retryable(fake_resharmonics: FakeResharmonics) -> None:
    auth = ResharmonicsAuth(fake_resharmonics.client_id, "wrong", fake_resharmonics.token_url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    error = caught.value
    assert error.error == "invalid_client"
    assert error.retryable is False


@pytest.mark.parametrize(
    "error",
    [
        ConfigurationError("x"),
        InsecureTransportError("x"),
        PaginationError("x"),
        ResharmonicsError("x"),
    ],
)
def test_other_errors_are_not_retryable(error: ResharmonicsError) -> None:
    assert error.retryable is False


def test_retryable_can_be_stated(fake_resharmonics: FakeResharmonics) -> None:
    assert TokenRequestError("x", status_code=400, retryable=True).retryable is True
    assert TokenRequestError("x", retryable=False).retryable is False


THREADS = 64


@pytest.mark.fake_resharmonics(api_delay=0.05)
def test_a_pool_as_large_as_the_threads_drops_no_connection(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    session = fake_resharmonics.session(pool_maxsize=THREADS)
    adapter = session.get_adapter(fake_resharmonics.base_url)
    assert adapter.poolmanager.connection_pool_kw["maxsize"] == THREADS
    session.valid_token()
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        statuses = together(THREADS, lambda: session.get("/api/v3/units").status_code)
        statuses += together(THREADS, lambda: session.get("/api/v3/units").status_code)
    assert statuses == [200] * (2 * THREADS)
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]
    session.close()


@pytest.mark.parametrize("size", [0, -1, 2.5, True, "64"])
def test_a_pool_size_must_be_a_positive_whole_number(
    fake_resharmonics: FakeResharmonics, size: object
) -> None:
    with pytest.raises(ConfigurationError, match="pool_maxsize"):
        fake_resharmonics.session(pool_maxsize=size)
