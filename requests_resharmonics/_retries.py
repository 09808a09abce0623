"""Back-off policies, built on urllib3's ``Retry``: one for token requests, one for the API."""

from __future__ import annotations

from typing import Any

from urllib3.util.retry import Retry

from .errors import ConfigurationError

#: Token requests: connection errors, 429 and 5xx are retried this many times.
DEFAULT_TOKEN_RETRIES = 2
#: API calls made through a session: idempotent requests are retried this many times.
DEFAULT_API_RETRIES = 3
#: The longest ``Retry-After`` an API call waits for, in seconds.
MAX_API_RETRY_AFTER = 60

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


def _retry(retry_after_max: float, **options: Any) -> Retry:
    try:
        return _Retry(**options, retry_after_max=max(int(retry_after_max), 1))
    except TypeError:  # urllib3 older than 2.5 has no cap on Retry-After
        return _Retry(**options)


def token_request_retry(retries: int, timeout: float) -> Retry:
    """Return the back-off policy for token requests.

    Connection errors, 429 and 5xx are retried ``retries`` times with exponential back-off,
    honouring ``Retry-After`` up to ``timeout`` seconds. POST is retried: asking for a token
    twice is harmless.
    """
    return _retry(
        timeout,
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
