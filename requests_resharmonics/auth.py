"""`ResharmonicsAuth`: a requests auth object that keeps a valid bearer token on every call."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from . import _config
from ._credentials import Credentials, build_manager, credentials_from_env
from ._replay.hook import AnswerHook, body_position

__all__ = ["ResharmonicsAuth", "build_manager", "credentials_from_env"]


class ResharmonicsAuth(Credentials, AuthBase):
    """Authenticates requests to the Res:Harmonics API with a client-credentials token.

    The first call fetches a token; later calls reuse it until shortly before it expires. When
    the API still answers ``401 {"message": "The incoming token has expired"}``, the token is
    renewed once and the request replayed. Threads may share one object: each renewal is one
    token request, however many threads need it.

    Example:
        >>> auth = ResharmonicsAuth("my-client-id", "my-client-secret")
        >>> requests.get("https://apiv3.rerumapp.uk/api/v3/bookings", auth=auth)
        <Response [200]>

    Args:
        client_id: the client id from Res:Harmonics API support.
        client_secret: its secret.
        token_url: defaults to ``RESHARMONICS_TOKEN_URL``, else the environment's token URL
            (only production has a public one).
        scope: space-separated scopes to ask for; by default none is sent and the service
            grants every scope of the client.
        leeway: renew at most this many seconds before expiry (less for short-lived tokens).
        timeout: seconds to wait for the token endpoint, per attempt.
        client_auth: ``"basic"`` (HTTP Basic, the default) or ``"post"`` (in the form body).
        token_retries: how many times to retry a token request on connection errors, 429
            and 5xx.
        allowed_hosts: hosts to send the token to; ``None`` (the default) sends it to every
            host this auth object is used with, as any requests auth object does.
        background_renewal: renew a token that is due but still valid in a worker of the
            process's renewal pool while calls go on using it, so that no call waits for the
            token endpoint; False renews inline, in the call that finds it due.
        cache: where tokens are shared: the default `MemoryTokenCache` shares them with every
            auth object of the same client in the process; `FileTokenCache`,
            `RedisTokenCache` and `SQLTokenCache` share them between processes and machines.
        environment: ``"production"`` or ``"testing"``; defaults to
            ``RESHARMONICS_ENVIRONMENT``, else production. It only chooses the default token
            URL here (the testing one is not public, so it needs ``token_url``).
        on_event: called with a `TokenEvent` for every token request, renewal, replay after
            the expiry 401 and shared-cache lookup, in the thread where it happened (a
            worker of the shared pool for background renewals), once no lock is held and
            after a new token is stored: it may call this object (``valid_token()``,
            ``token``, ``stats``) and sees the new token. Keep it quick; should it raise,
            the exception is logged and the call goes on.
        token_budget: ``(N, seconds)``: at most N token requests of this client in any
            window of that many seconds, retries included, counted across every process
            sharing ``cache`` (the memory cache: this process). A request over it is held
            back: calls with a valid token go on with it, the others get a
            `TokenHeldError` saying until when. ``None`` (the default): no budget.

    Whatever the budget, a ``429`` or ``503`` with ``Retry-After`` from the token endpoint
    holds this client's token requests until it passes, in every process sharing ``cache``
    (see "A fleet backs off together" in the documentation of caches).

    ``from_env()`` builds one from the ``RESHARMONICS_*`` variables. Whitespace around the
    client id and secret is removed, whether they come from arguments
    or from the environment (a secret pasted with its newline works).
    """

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the bearer token to ``request`` and watch its answer for the expiry 401."""
        url = request.url or ""
        if (self._allowed_hosts is not None or not url.startswith("https://")) and not (
            self._may_send_token_to_origin(url)
        ):
            return request
        token = self._manager.valid_token()
        request.headers["Authorization"] = "Bearer " + token.access_token
        hook = AnswerHook(self._manager, token, body_position(request.body))
        request.hooks["response"].append(hook)
        return request

    def _hosts_changed(self) -> None:
        self._origins: dict[str, bool] = {}

    def _may_send_token_to_origin(self, url: str) -> bool:
        """`may_send_token_to`, remembered per origin: it is asked on every call."""
        start = url.find("://") + 3
        slash = url.find("/", start)
        origin = url if slash < 0 else url[:slash]
        verdict = self._origins.get(origin)
        if verdict is None:
            verdict = self.may_send_token_to(url)
            if url.startswith("https://") or _config.is_loopback(urlsplit(url).hostname):
                if len(self._origins) > 512:
                    self._origins.clear()
                self._origins[origin] = verdict  # independent of OAUTHLIB_INSECURE_TRANSPORT
        return verdict
