"""The exceptions raised by requests-resharmonics.

Every exception the library raises on purpose derives from `ResharmonicsError`, and none of
them carries the client secret, an access token or an ``Authorization`` header in its message.
"""

from __future__ import annotations

from typing import Any

import requests
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors


class ResharmonicsError(Exception):
    """Base class of every error raised by requests-resharmonics.

    Attributes:
        retryable: whether the same call may succeed if made again later (a timeout, a
            refused connection, a 429 or a 5xx from the token endpoint); False for
            everything a retry cannot mend (wrong credentials, bad settings, refusals).

    Example:
        >>> try:
        ...     ResharmonicsAuth.from_env()
        ... except ResharmonicsError as error:
        ...     print(error)  # names the missing environment variable
    """

    retryable: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Python rebuilds an exception by calling its class with ``args`` alone, which fails
        # for the keyword-only fields of most of ours (a worker's error sent to its parent,
        # a failed job kept by a queue): rebuild it from its message and fields instead.
        # An OSError's own fields (requests' errors are OSErrors) live outside ``__dict__``,
        # and ``__new__`` leaves them unset when a class has an ``__init__`` of its own.
        # Only those set: one set to None is no longer unset, and ``str()`` would show it.
        own = {name: getattr(self, name, None) for name in _OS_ERROR_FIELDS}
        own = {name: value for name, value in own.items() if value is not None}
        return (_rebuilt, (type(self), self.args, self._pickled_fields(), own))

    def _pickled_fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: What ``str()`` of an OSError is made of, kept outside its ``__dict__``.
_OS_ERROR_FIELDS = ("errno", "strerror", "filename", "filename2")


def _rebuilt(
    cls: type[ResharmonicsError],
    args: tuple[Any, ...],
    fields: dict[str, Any],
    os_error_fields: dict[str, Any],
) -> Any:
    """Return an error of ``cls`` with ``args`` and ``fields``, without its ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(fields)
    for name, value in os_error_fields.items():
        setattr(error, name, value)
    return error


class ConfigurationError(ResharmonicsError, ValueError):
    """The library was given settings it cannot work with.

    Raised before any network traffic: a missing client id or secret, a token URL that is not
    https, an unknown environment name or client authentication method.
    """


class InsecureTransportError(ConfigurationError):
    """A token or a secret would have been sent over plain http to a host that is not loopback.

    Set ``OAUTHLIB_INSECURE_TRANSPORT=1`` to allow it, for example behind a TLS-terminating
    proxy you trust.
    """


class ConfigurationWarning(UserWarning):
    """Settings that work but are probably not what was meant: a typo, mixed environments.

    Warned once per place in your code: a ``RESHARMONICS_*`` variable the library does not
    read (``RESHARMONICS_TOKEN_ULR``: did you mean ``RESHARMONICS_TOKEN_URL``?), or a token
    URL and an API address from different environments, so that a token from one would be
    sent to the other.

    Example:
        >>> import warnings
        >>> warnings.filterwarnings("error", category=ConfigurationWarning)  # strict, in CI
    """


class TokenRequestError(ResharmonicsError, requests.RequestException):
    """The token endpoint did not give us a usable token.

    It derives from `requests.RequestException`, so code that already catches request failures
    catches it too.

    Attributes:
        status_code: the HTTP status of the token endpoint's answer, or ``None`` when there was
            no answer (timeout, refused connection).
        error: the OAuth2 error code the endpoint sent (``"invalid_client"``...), if any.
        description: the endpoint's ``error_description``, or what was wrong with its answer.
        retryable: True when there was no answer (a timeout, a connection error), the
            answer was cut off, or it was a 429 or a 5xx, which the token requests' own
            retries already met;
            False for a refusal (``invalid_client``, ``invalid_scope``...) or an answer that
            is not a token, which the same request would get again.

    Example:
        >>> try:
        ...     auth.fetch_token()
        ... except TokenRequestError as error:
        ...     print(error.status_code, error.error)
        400 invalid_client
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        # The response is deliberately not attached: its request carries the client's
        # credentials, and exceptions travel far (logs, error trackers, notebooks).
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.description = description
        if retryable is None:
            retryable = status_code is None or status_code == 429 or status_code >= 500
        self.retryable = retryable


class RefusedTokenRequestError(TokenRequestError):
    """The token endpoint refused with an OAuth 2 error code (``invalid_client``...).

    Each code has a subclass that also derives from oauthlib's error for it, as
    requests-oauthlib raises it: code written for `requests_oauthlib.OAuth2Session`
    (``except InvalidClientError:``, ``except OAuth2Error:``) catches it as it did. Its
    message is ours, and oauthlib's fields that would come from the request (``client_id``,
    ``scopes``...) are ``None``: the request holds the credentials.

    Example:
        >>> from oauthlib.oauth2 import InvalidClientError
        >>> try:
        ...     session.fetch_token()
        ... except InvalidClientError as error:  # also a TokenRequestError
        ...     print(error.error, error.status_code)
        invalid_client 400
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error: str | None = None,
        description: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            error=error,
            description=description,
            retryable=retryable,
        )
        # What oauthlib's own __init__ would set; it is not called, its message not wanted.
        self.uri: str | None = None
        self.state: str | None = None
        self.redirect_uri = self.client_id = self.scopes = None
        self.response_type = self.response_mode = self.grant_type = None


class InvalidRequestTokenError(RefusedTokenRequestError, oauth2_errors.InvalidRequestError):  # type: ignore[misc]
    """``invalid_request``: also oauthlib's `InvalidRequestError`."""


class InvalidClientTokenError(RefusedTokenRequestError, oauth2_errors.InvalidClientError):  # type: ignore[misc]
    """``invalid_client`` (a wrong client id or secret): also oauthlib's `InvalidClientError`."""


class InvalidGrantTokenError(RefusedTokenRequestError, oauth2_errors.InvalidGrantError):  # type: ignore[misc]
    """``invalid_grant``: also oauthlib's `InvalidGrantError`."""


class UnauthorizedClientTokenError(
    RefusedTokenRequestError,
    oauth2_errors.UnauthorizedClientError,  # type: ignore[misc]
):
    """``unauthorized_client``: also oauthlib's `UnauthorizedClientError`."""


class UnsupportedGrantTypeTokenError(
    RefusedTokenRequestError,
    oauth2_errors.UnsupportedGrantTypeError,  # type: ignore[misc]
):
    """``unsupported_grant_type``: also oauthlib's `UnsupportedGrantTypeError`."""


class InvalidScopeTokenError(RefusedTokenRequestError, oauth2_errors.InvalidScopeError):  # type: ignore[misc]
    """``invalid_scope``: also oauthlib's `InvalidScopeError`."""


class AccessDeniedTokenError(RefusedTokenRequestError, oauth2_errors.AccessDeniedError):  # type: ignore[misc]
    """``access_denied``: also oauthlib's `AccessDeniedError`."""


class ServerTokenError(RefusedTokenRequestError, oauth2_errors.ServerError):  # type: ignore[misc]
    """``server_error``: also oauthlib's `ServerError`."""


class TemporarilyUnavailableTokenError(
    RefusedTokenRequestError,
    oauth2_errors.TemporarilyUnavailableError,  # type: ignore[misc]
):
    """``temporarily_unavailable``: also oauthlib's `TemporarilyUnavailableError`."""


class CustomOAuth2TokenError(RefusedTokenRequestError, oauth2_errors.CustomOAuth2Error):  # type: ignore[misc]
    """Any other error code: also oauthlib's `CustomOAuth2Error`, as requests-oauthlib raises."""


_REFUSALS: dict[str, type[RefusedTokenRequestError]] = {
    "invalid_request": InvalidRequestTokenError,
    "invalid_client": InvalidClientTokenError,
    "invalid_grant": InvalidGrantTokenError,
    "unauthorized_client": UnauthorizedClientTokenError,
    "unsupported_grant_type": UnsupportedGrantTypeTokenError,
    "invalid_scope": InvalidScopeTokenError,
    "access_denied": AccessDeniedTokenError,
    "server_error": ServerTokenError,
    "temporarily_unavailable": TemporarilyUnavailableTokenError,
}


def token_request_error(
    message: str,
    *,
    status_code: int | None = None,
    error: str | None = None,
    description: str | None = None,
    retryable: bool | None = None,
) -> TokenRequestError:
    """Return the `TokenRequestError` for a failed token request: by its error code, if any.

    An OAuth 2 error code makes it a `RefusedTokenRequestError` of the code's subclass (an
    unknown code: `CustomOAuth2TokenError`); without one it is a plain `TokenRequestError`.
    """
    if not error:
        cls: type[TokenRequestError] = TokenRequestError
    else:
        cls = _REFUSALS.get(error, CustomOAuth2TokenError)
    return cls(
        message,
        status_code=status_code,
        error=error,
        description=description,
        retryable=retryable,
    )


class TokenHeldError(TokenRequestError):
    """No token request was made: the client's token requests are held for a while.

    The token endpoint asked to wait (``429`` or ``503`` with ``Retry-After``), answered to
    this process or to another sharing the token cache; or the auth object's
    ``token_budget`` is spent for now. A call that still had a valid token is never
    failed for it (the token is used meanwhile): this is raised only to calls that needed
    a new one. It is always retryable: from `until` on, token requests go out again.

    Attributes:
        until: when the hold ends, in seconds since the epoch.
        seconds: how many seconds the hold had left when this was raised.
        reason: the hold's cause in words (no secret).
        status_code: the status that began the hold (429, 503), or ``None`` for a budget.

    Example:
        >>> try:
        ...     session.get("/api/v3/units")
        ... except TokenHeldError as error:
        ...     time.sleep(error.seconds)  # or requeue the job for later
    """

    def __init__(
        self,
        message: str,
        *,
        until: float,
        seconds: float,
        reason: str,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, retryable=True)
        self.until = until
        self.seconds = seconds
        self.reason = reason


class PaginationError(ResharmonicsError):
    """An export could not deliver every row of a list exactly once, and says why.

    The base class: a list endpoint answered with something that is not a page, its pages
    contradict each other, a page failed, or the export was cancelled. Every subclass's
    message names the list, the page (numbered from 0, as the API does) and how many rows
    had already been delivered.

    Attributes:
        where: the list, as ``GET /api/v3/bookings``.
        page: the page concerned, or ``None``.
        delivered: how many rows the export had handed over before this error.

    Example:
        >>> try:
        ...     rows = list(session.paginate("/api/v3/bookings"))
        ... except PaginationError as error:
        ...     print(error.page, error.delivered)  # where it stopped, and how far it got
    """

    def __init__(
        self, message: str, *, where: str = "", page: int | None = None, delivered: int = 0
    ) -> None:
        super().__init__(message)
        self.where = where
        self.page = page
        self.delivered = delivered


class InconsistentPagesError(PaginationError):
    """Pages of one export contradict each other, even after asking for the page again.

    For example a page says it is page 1 when page 2 was asked for, or says it is the last
    one when the first page said there were more.
    """


class ShortPageError(InconsistentPagesError):
    """A page had fewer rows than the first page promised (and it is not the last one).

    Attributes:
        expected: the rows the page should have had.
        got: the rows it had.
    """

    def __init__(
        self, message: str, *, expected: int, got: int, where: str = "",
        page: int | None = None, delivered: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(message, where=where, page=page, delivered=delivered)
        self.expected = expected
        self.got = got


class RepeatedRowsError(InconsistentPagesError):
    """A page repeated rows already delivered (by their ``id``, else ``roomStayId``).

    Attributes:
        repeated: how many of the page's rows had been delivered before.
    """

    def __init__(
        self, message: str, *, repeated: int, where: str = "", page: int | None = None,
        delivered: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(message, where=where, page=page, delivered=delivered)
        self.repeated = repeated


class CollectionChangedError(InconsistentPagesError):
    """The list's total (rows or pages) changed during the export.

    Rows were added or removed meanwhile, so rows may have moved between pages: some could
    be missed or come twice. Pass ``lenient=True`` to accept a live list with a warning.
    It is ``retryable``: an export started again reads the list as it is then.

    Attributes:
        before: ``(totalElements, totalPages)`` on the first page.
        after: the same on the page that differed.
    """

    retryable = True

    def __init__(
        self, message: str, *, before: tuple[int | None, int | None],
        after: tuple[int | None, int | None], where: str = "", page: int | None = None,
        delivered: int = 0,
    ) -> None:  # fmt: skip
        super().__init__(message, where=where, page=page, delivered=delivered)
        self.before = before
        self.after = after


class PageRequestError(PaginationError, requests.RequestException):
    """A page could not be fetched: the connection failed, broke mid-answer or timed out.

    Also a `requests.RequestException`, so existing handlers of request failures catch it
    (under the httpx readers too). The original exception is its ``__cause__``.

    Attributes:
        url: the page's URL.
        retryable: True when the same page may come later: a timeout, a refused or reset
            connection, an answer cut off, a 408, a 429 or a 5xx; False otherwise (a TLS
            certificate that is not trusted, an invalid URL, any other status).
        response: the answer (a ``requests.Response``, or an ``httpx.Response`` under the
            httpx readers), or None when there was none. A pickled or copied error leaves
            it behind (None): its request carries the bearer token.
    """

    def __init__(
        self, message: str, *, url: str, where: str = "", page: int | None = None,
        delivered: int = 0, response: Any = None, retryable: bool = False,
    ) -> None:  # fmt: skip
        PaginationError.__init__(self, message, where=where, page=page, delivered=delivered)
        self.url = url
        self.response = response
        self.request = None
        self.retryable = retryable

    def _pickled_fields(self) -> dict[str, Any]:
        return {**self.__dict__, "response": None, "request": None}


class PageTimeoutError(PageRequestError, requests.Timeout):
    """A page was not answered in time: also a `requests.Timeout`, and ``retryable``."""


class PageConnectionError(PageRequestError, requests.ConnectionError):
    """A page's connection failed: refused, reset, or (not retryable) its TLS refused.

    Also a `requests.ConnectionError`.
    """


class PageHTTPError(PageRequestError, requests.HTTPError):
    """A page was answered with an error status (``error.response`` has it, and the body).

    Also a `requests.HTTPError`, as a page error always was. ``retryable`` for a 408, a
    429 (after the export's own waits) and a 5xx.

    Attributes:
        status_code: the answer's HTTP status.
    """

    def __init__(
        self, message: str, *, url: str, status_code: int, where: str = "",
        page: int | None = None, delivered: int = 0, response: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(
            message, url=url, where=where, page=page, delivered=delivered, response=response,
            retryable=status_code in (408, 429) or status_code >= 500,
        )  # fmt: skip
        self.status_code = status_code


class ExportCancelled(PaginationError):
    """The export was cancelled (`Export.cancel` or ``close``) before it was complete."""


class ChangeStateError(ResharmonicsError):
    """A change feed could not take, read or keep its state (its mark and its window).

    Raised when another pass holds the state (``retryable``: it will be free once that pass
    ends), when the state holds the mark of another list, or when it cannot be read or
    written. Nothing was delivered or saved by the pass that raises it at its start; raised
    by ``commit``, it means the rows were delivered but the mark was not moved, so the next
    pass delivers them again.
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class PaginationWarning(UserWarning):
    """A lenient export (``lenient=True``) met pages that contradict each other, and went on.

    Its message says what was inconsistent, as the error would have.
    """
