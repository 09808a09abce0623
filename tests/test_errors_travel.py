"""Every error the library raises survives pickling and copying, and leaves no token behind.

Errors travel: a worker process sends its failure to its parent, a job queue keeps a failed
job's exception, a notebook's cell output is saved. Python rebuilds an exception by calling
its class with its ``args`` alone, which fails for keyword-only fields.
"""

from __future__ import annotations

import copy
import inspect
import multiprocessing
import pickle
from typing import Any

import pytest
import requests

from requests_resharmonics import errors

TOKEN = "eyJ-the-bearer-token-" + "ab" * 20


def page_answer() -> requests.Response:
    response = requests.Response()
    response.status_code = 503
    response._content = b'{"message": "Service Unavailable"}'
    response.request = requests.Request(
        "GET", "https://api.example.test/api/v3/units", headers={"Authorization": "Bearer " + TOKEN}
    ).prepare()
    return response


#: One instance of every exception class in `errors`, with every field it takes.
EXAMPLES: list[errors.ResharmonicsError] = [
    errors.ResharmonicsError("base"),
    errors.ConfigurationError("RESHARMONICS_CLIENT_ID is not set"),
    errors.InsecureTransportError("http://token.example.test is not https"),
    errors.TokenRequestError("no answer", status_code=None, description="timed out"),
    errors.token_request_error("refused", status_code=400, error="invalid_client"),
    errors.token_request_error("refused", status_code=400, error="a_code_of_their_own"),
    errors.TokenHeldError("held", until=2e9, seconds=30.0, reason="429 Retry-After",
                          status_code=429),
    errors.PaginationError("not a page", where="GET /api/v3/units", page=3, delivered=60),
    errors.InconsistentPagesError("page 2 says it is page 1", where="GET /api/v3/units", page=2),
    errors.ShortPageError("short", expected=20, got=7, where="GET /api/v3/units", page=1,
                          delivered=20),
    errors.RepeatedRowsError("repeated", repeated=4, where="GET /api/v3/bookings", page=2),
    errors.CollectionChangedError("changed", before=(40, 2), after=(41, 3), page=1),
    errors.PageRequestError("cut off", url="https://api.example.test/x", retryable=True),
    errors.PageTimeoutError("late", url="https://api.example.test/x", retryable=True),
    errors.PageConnectionError("refused", url="https://api.example.test/x", retryable=True),
    errors.PageHTTPError("503", url="https://api.example.test/x", status_code=503,
                         response=page_answer(), page=0),
    errors.ExportCancelled("cancelled", where="GET /api/v3/units", delivered=10),
    errors.ChangeStateError("held by another pass", retryable=True),
]  # fmt: skip


def fields(error: BaseException) -> dict[str, Any]:
    return {
        name: value for name, value in vars(error).items() if name not in ("response", "request")
    }


def test_every_error_class_has_an_example() -> None:
    classes = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ResharmonicsError)
    }
    assert classes - {type(example) for example in EXAMPLES} <= {
        # Built only through token_request_error, whose examples cover their shared code.
        cls
        for cls in classes
        if issubclass(cls, errors.RefusedTokenRequestError)
    }


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
@pytest.mark.parametrize("how", ["pickle", "copy", "deepcopy"])
def test_an_error_travels_whole(error: errors.ResharmonicsError, how: str) -> None:
    clone: BaseException
    if how == "pickle":
        clone = pickle.loads(pickle.dumps(error))
    elif how == "copy":
        clone = copy.copy(error)
    else:
        clone = copy.deepcopy(error)
    assert type(clone) is type(error)
    assert (str(clone), clone.args, fields(clone)) == (str(error), error.args, fields(error))
    assert clone.retryable is error.retryable


def test_a_page_errors_answer_stays_behind_with_its_token() -> None:
    error = errors.PageHTTPError(
        "GET /api/v3/units page 0 answered HTTP 503", url="https://api.example.test/x",
        status_code=503, response=page_answer(),
    )  # fmt: skip
    pickled = pickle.dumps(error)
    assert TOKEN.encode() not in pickled
    clone = pickle.loads(pickled)
    assert (clone.response, clone.request, clone.status_code) == (None, None, 503)
    assert error.response is not None  # the original keeps it


def _raise_short_page() -> None:
    raise errors.ShortPageError("short", expected=20, got=7, where="GET /api/v3/units", page=1)


def test_a_workers_pagination_error_reaches_its_parent() -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool, pytest.raises(errors.ShortPageError) as raised:
        # A bounded wait: an error the parent cannot rebuild leaves the pool's result for ever.
        pool.apply_async(_raise_short_page).get(timeout=120)
    assert (raised.value.expected, raised.value.got, raised.value.page) == (20, 7, 1)
