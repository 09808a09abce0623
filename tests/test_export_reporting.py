"""What a failed page says of itself (its class, ``retryable``), and what an export shows."""

from __future__ import annotations

import pytest
import requests

from requests_resharmonics import (
    CollectionChangedError,
    PageConnectionError,
    PageHTTPError,
    PageRequestError,
    PageTimeoutError,
    ShortPageError,
)
from requests_resharmonics._export.page_errors import FailureKind, request_failure
from requests_resharmonics._export.requests_pages import failure_kind
from requests_resharmonics.testing import FakeResharmonics

UNITS = "/api/v3/units"  # 40 units: 8 pages of 5


def export_with_page_1_failing(fake: FakeResharmonics, fault: str) -> PageRequestError:
    fake.hang_seconds = 5.0
    fake.fail_api_requests("pass", fault)  # page 0 answers, page 1 meets the fault
    session = fake.session(retries=0, api_timeout=0.5)  # no retry of the session's own
    with pytest.raises(PageRequestError) as raised:
        list(session.paginate(UNITS, page_size=5))
    assert (raised.value.page, raised.value.delivered) == (1, 5)
    return raised.value


@pytest.mark.parametrize(
    ("fault", "kind", "also"),
    [
        ("hang", PageTimeoutError, requests.Timeout),
        ("reset", PageConnectionError, requests.ConnectionError),
        ("cut-off", PageRequestError, requests.RequestException),
        ("503", PageHTTPError, requests.HTTPError),
        ("500", PageHTTPError, requests.HTTPError),
    ],
)
def test_failures_a_retry_can_mend_are_retryable(
    fake_resharmonics: FakeResharmonics, fault: str, kind: type, also: type
) -> None:
    error = export_with_page_1_failing(fake_resharmonics, fault)
    assert type(error) is kind
    assert isinstance(error, also)
    assert error.retryable is True


def test_a_timed_out_page_is_caught_as_a_requests_timeout(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake_resharmonics.hang_seconds = 5.0
    fake_resharmonics.fail_api_requests("hang")
    session = fake_resharmonics.session(retries=0, api_timeout=0.3)
    try:
        list(session.paginate(UNITS))
    except requests.Timeout as error:
        assert "did not answer in time" in str(error)
        assert "page 0" in str(error)
    else:
        raise AssertionError("the hanging page did not time out")


def test_an_error_status_a_retry_cannot_mend_is_not_retryable(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session()
    with pytest.raises(PageHTTPError) as raised:
        list(session.paginate("/api/v3/nothing-here"))
    assert raised.value.status_code == 404
    assert raised.value.retryable is False


def test_a_refused_certificate_is_not_retryable_and_a_refused_connection_is() -> None:
    tls = requests.exceptions.SSLError("certificate verify failed")
    assert failure_kind(tls) is FailureKind.TLS
    refused = requests.ConnectionError(ConnectionRefusedError(111, "Connection refused"))
    assert failure_kind(refused) is FailureKind.CONNECTION
    url = "https://example.invalid/api/v3/units?page=0&size=100"
    for error, kind, retryable in ((tls, FailureKind.TLS, False),
                                   (refused, FailureKind.CONNECTION, True)):  # fmt: skip
        made = request_failure(error, kind, "GET /api/v3/units", 0, 0, url)
        assert isinstance(made, PageConnectionError)
        assert isinstance(made, requests.ConnectionError)
        assert made.retryable is retryable
    assert failure_kind(ValueError("not a request failure")) is None


def test_a_changed_collection_is_retryable_and_a_short_page_is_not() -> None:
    changed = CollectionChangedError("x", before=(300, 3), after=(200, 2))
    assert changed.retryable is True
    assert ShortPageError("x", expected=100, got=50).retryable is False


def test_an_export_says_what_it_reads_and_how_far_it_got(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session()
    rows = session.paginate(UNITS, {"bookable": "true"}, page_size=10)
    assert repr(rows) == f"<Export GET {UNITS}: not started, 0 rows>"
    next(rows)
    assert repr(rows) == f"<Export GET {UNITS}: reading, 1 of 40 rows, page 0 of 4>"
    html = rows._repr_html_()
    assert f"GET {UNITS}" in html and "bookable" in html and "page 0 of 4" in html
    rest = list(rows)
    assert len(rest) == 39
    assert repr(rows) == f"<Export GET {UNITS}: complete, 40 of 40 rows, 4 pages>"

    stopped = session.paginate(UNITS, page_size=10)
    next(stopped)
    stopped.cancel()
    assert repr(stopped).startswith(f"<Export GET {UNITS}: cancelled, 1 of 40 rows")
