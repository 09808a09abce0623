"""Hostile servers, loaded machines and careless users against the 401 body readers and the
errors' pickling (session 32's review).

Each test here failed before the fix committed with it.
"""

from __future__ import annotations

import copy
import errno
import pickle
from collections.abc import Callable

import pytest

from requests_resharmonics import errors

# -- errors that travel ---------------------------------------------------------------------


class OwnPageError(errors.PageConnectionError):
    """A user's own error, an OSError as requests' are, made as OSError makes one: errno and
    strerror first (``str()`` then reads ``[Errno 104] ...``)."""

    def __init__(self, code: int, reason: str, url: str) -> None:
        OSError.__init__(self, code, reason)
        self.url, self.response, self.request = url, None, None
        self.where, self.page, self.delivered, self.retryable = "", None, 0, True


def pickled(error: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(error))  # type: ignore[no-any-return]


@pytest.mark.parametrize("travel", [pickled, copy.copy, copy.deepcopy])
def test_an_oserror_subclass_keeps_its_errno_strerror_and_message(
    travel: Callable[[OwnPageError], OwnPageError],
) -> None:
    error = OwnPageError(errno.ECONNRESET, "reset by peer", "https://api.example.test/units")
    error.filename = "units.json"  # OSError's other fields, set as OSError would
    rebuilt = travel(error)
    assert type(rebuilt) is OwnPageError
    assert (rebuilt.errno, rebuilt.strerror, rebuilt.filename, rebuilt.filename2) == (
        errno.ECONNRESET,
        "reset by peer",
        "units.json",
        None,
    )
    assert str(rebuilt) == str(error)
    assert rebuilt.args == error.args
    assert rebuilt.url == error.url
