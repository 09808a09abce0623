"""The exceptions raised by requests-resharmonics.

Every exception the library raises on purpose derives from `ResharmonicsError`, and none of
them carries the client secret, an access token or an ``Authorization`` header in its message.
"""

from __future__ import annotations

import requests


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
