"""Back-off policies, built on urllib3's ``Retry``: one for token requests, one for the API."""

from __future__ import annotations

import contextlib
import email.utils
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, Protocol

from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from .errors import ConfigurationError

#: Token requests: connection errors, 429 and 5xx are retried this many times.
DEFAULT_TOKEN_RETRIES = 2
#: API calls made through a session: idempotent requests are retried this many times.
DEFAULT_API_RETRIES = 3
#: The longest ``Retry-After`` an API call waits for, in seconds.
MAX_API_RETRY_AFTER = 60

#: The longest wait a ``Retry-After`` is taken to ask for, in seconds: a week. The token
#: services that cap token requests the hardest count them per day; a far longer wait (a
#: date years ahead, a number of 30 digits) is a gateway's mistake or a hostile answer,
#: and would hold a fleet sharing the cache for as long (or overflow the clock).
MAX_RETRY_AFTER = 7 * 86400.0

#: Methods retried on 429 and 502-504: POST (and PATCH) could act twice, so never.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

RetriesSetting = int | Retry


class _Retry(Retry):
    """urllib3's Retry, tolerant of a malformed ``Retry-After`` (it then backs off as usual)."""

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except Exception:
            return None


def retry_after(response: Any) -> float | None:
    """Return the seconds an answer's ``Retry-After`` asks for, or None.

    Whole seconds or an HTTP date, read as urllib3 reads it for the session's own retries;
    None when there is none or it is unreadable.
    """
    return _Retry().get_retry_after(response)


def asked_wait(value: str | None) -> float | None:
    """Return the seconds a ``Retry-After`` value asks for (a week at most); None if unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():  # "²" is a digit too, but no number
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = (moment - datetime.now(timezone.utc)).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class RetryListener(Protocol):
    """Told of a token request's retries as they are decided (see `listening`)."""

    def retry_after(self, status: int, seconds: float) -> None:
        """Hear that the endpoint answered ``status`` with ``Retry-After: seconds``."""

    def may_retry(self, delay: float) -> bool:
        """Return whether the retry, due ``delay`` seconds from now, may go out."""


# The listener of the token request this thread is making (token requests run in the
# thread that asked for them; urllib3 builds the Retry objects, so they cannot be told).
_listening = threading.local()


@contextlib.contextmanager
def listening(listener: RetryListener) -> Iterator[None]:
    """Tell ``listener`` of the retries of the token requests this thread makes meanwhile."""
    previous = getattr(_listening, "listener", None)
    _listening.listener = listener
    try:
        yield
    finally:
        _listening.listener = previous


class _TokenRetry(_Retry):
    """Token requests' retries: a long ``Retry-After`` is not waited out, and the fleet hears.

    A ``429`` or ``503`` asking to wait longer than the request's timeout ends the request
    (its answer is the request's failure) instead of being waited out for the timeout and
    sent again too early; whatever its length, it is told to the listener (which holds the
    client's token requests across the fleet), and so is each retry before it goes out
    (which the listener may forbid: a hold, a spent budget).
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> _TokenRetry:
        """Return the next retry, after telling the listener; raise when there is none."""
        listener: RetryListener | None = getattr(_listening, "listener", None)
        status = getattr(response, "status", None)
        asked = None
        if status in (429, 503):
            asked = asked_wait(response.headers.get("Retry-After"))
        if asked is not None and listener is not None:
            listener.retry_after(int(status), asked)  # type: ignore[arg-type]
        if asked is not None and asked > self.retry_after_max:
            raise MaxRetryError(_pool, url, error)  # the answer stands: no retry
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if listener is not None:
            delay = asked if asked is not None else retry.get_backoff_time()
            if not listener.may_retry(delay):
                raise MaxRetryError(_pool, url, error)
        return retry


def _retry(retry_after_max: float, kind: type[_Retry] = _Retry, **options: Any) -> Retry:
    try:
        return kind(**options, retry_after_max=max(int(retry_after_max), 1))
    except TypeError:  # urllib3 older than 2.5 has no cap on Retry-After
        return kind(**options)


def token_request_retry(retries: int, timeout: float) -> Retry:
    """Return the back-off policy for token requests.

    Connection errors, 429 and 5xx are retried ``retries`` times with exponential back-off,
    honouring ``Retry-After`` up to ``timeout`` seconds. POST is retried: asking for a token
    twice is harmless.
    """
    return _retry(
        timeout,
        _TokenRetry,
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=None,
        status_forcelist=(429, 500, 502, 503, 504),
        backoff_factor=0.5,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def api_retry(retries: RetriesSetting) -> Retry:
    """Return the back-off policy for API calls from ``retries``: a count or a ``Retry``.

    A count retries idempotent requests on connection errors, 429, 502, 503 and 504, with
    exponential back-off that honours ``Retry-After`` (up to a minute); 0 turns retries off.
    """
    if isinstance(retries, Retry):
        return retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(
            f"retries must be a whole number >= 0 or a urllib3 Retry, not {retries!r}"
        )
    if retries == 0:
        return Retry(0, read=False)
    return _retry(
        MAX_API_RETRY_AFTER,
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=(429, 502, 503, 504),
        backoff_factor=0.5,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
