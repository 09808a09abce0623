"""`ResharmonicsHTTPXAuth`: the library's token handling for httpx clients, sync and async.

Install with ``pip install requests-resharmonics[httpx]``. The auth object renews tokens
exactly as `ResharmonicsAuth` does, through the same `TokenManager` and token caches, so a
process that mixes requests and httpx code shares one token per client. Under an
`httpx.AsyncClient` no token request runs on the event loop: it runs in a worker thread, and
coroutines that need the same renewal meanwhile wait for that one request.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncGenerator, Generator, Iterable
from typing import Any, Callable, TypeVar

import anyio
import anyio.to_thread
import httpx

from . import _config
from ._display import html_repr, plain_repr, token_state
from ._replay.body_httpx import abounded, bounded, rejects_as_expired
from ._retries import DEFAULT_TOKEN_RETRIES
from ._tokens.endpoint import DEFAULT_TIMEOUT
from ._tokens.events import TokenEvent
from ._tokens.manager import DEFAULT_LEEWAY
from ._tokens.stats import TokenStats
from .auth import build_manager, credentials_from_env
from .cache.base import TokenCache
from .errors import ConfigurationError, InsecureTransportError
from .token import Token

__all__ = ["ResharmonicsHTTPXAuth"]

_T = TypeVar("_T")

#: Where httpx's redirects carry the host the call was first made to (it copies a request's
#: extensions into the request it builds for a redirect).
_FIRST_HOST = "requests_resharmonics.first_host"


class ResharmonicsHTTPXAuth(httpx.Auth):
    """Authenticates httpx requests to the Res:Harmonics API with a client-credentials token.

    Takes the same arguments as `ResharmonicsAuth` and behaves the same way: the token is
    renewed shortly before it expires (in the background while it stays valid), a request
    answered ``401 {"message": "The incoming token has expired"}`` is replayed once with a
    new token, and any number of threads or coroutines sharing the object cause one token
    request per renewal. Tokens are shared through the same caches, so a requests
    `ResharmonicsAuth` of the same client in the process uses the same token.

    With an `httpx.AsyncClient`, token requests run in a worker thread (anyio's, so asyncio
    and trio both work) and never block the event loop.

    Example:
        >>> auth = ResharmonicsHTTPXAuth.from_env()
        >>> async with httpx.AsyncClient(base_url="https://apiv3.rerumapp.uk", auth=auth) as client:
        ...     response = await client.get("/api/v3/units", params={"size": 50})

    Its arguments (``client_id``, ``client_secret``, ``token_url``, ``scope``, ``leeway``,
    ``timeout``, ``client_auth``, ``token_retries``, ``allowed_hosts``, ``cache``,
    ``background_renewal``, ``environment``, ``on_event``) are `ResharmonicsAuth`'s, with the
    same defaults; ``stats`` is its snapshot of token costs.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str | None = None,
        *,
        scope: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        timeout: float = DEFAULT_TIMEOUT,
        client_auth: str = "basic",
        token_retries: int = DEFAULT_TOKEN_RETRIES,
        allowed_hosts: Iterable[str] | None = None,
        cache: TokenCache | None = None,
        background_renewal: bool = True,
        environment: str | None = None,
        on_event: Callable[[TokenEvent], object] | None = None,
    ) -> None:
        self._manager = build_manager(
            client_id,
            client_secret,
            token_url,
            scope=scope,
            leeway=leeway,
            timeout=timeout,
            client_auth=client_auth,
            token_retries=token_retries,
            cache=cache,
            background_renewal=background_renewal,
            environment=environment,
            on_event=on_event,
        )
        self._in_flight = threading.local()  # per thread, so per event loop
        self.allowed_hosts = allowed_hosts  # the setter normalises

    @property
    def stats(self) -> TokenStats:
        """A snapshot of this object's token costs, as `ResharmonicsAuth.stats`."""
        return self._manager.stats()

    @classmethod
    def from_env(cls, *, prompt: bool = False, **kwargs: Any) -> ResharmonicsHTTPXAuth:
        """Create an auth object from the ``RESHARMONICS_*`` variables, as `ResharmonicsAuth` does.

        Raises:
            ConfigurationError: naming the variable that is missing.
        """
        client_id, client_secret = credentials_from_env(
            kwargs.pop("client_id", None), kwargs.pop("client_secret", None), prompt=prompt
        )
        kwargs.setdefault("scope", _config.setting(None, _config.SCOPE_VAR))
        return cls(client_id, client_secret, kwargs.pop("token_url", None), **kwargs)

    @property
    def token_url(self) -> str:
        """The token endpoint this object fetches tokens from."""
        return self._manager.endpoint.token_url

    @property
    def client_id(self) -> str:
        """The client id tokens are requested for."""
        return self._manager.endpoint.client_id

    @property
    def scope(self) -> str | None:
        """The scope asked for, or ``None`` for every scope of the client."""
        return self._manager.endpoint.scope

    @property
    def allowed_hosts(self) -> frozenset[str] | None:
        """The hosts that may receive the token, or ``None`` for every host it is used with."""
        return self._allowed_hosts

    @allowed_hosts.setter
    def allowed_hosts(self, hosts: Iterable[str] | None) -> None:
        if isinstance(hosts, str):
            raise ConfigurationError("allowed_hosts must be a list of host names, not a string")
        self._allowed_hosts = None if hosts is None else frozenset(h.lower() for h in hosts)

    @property
    def token(self) -> Token | None:
        """The current token, or ``None`` before the first fetch."""
        return self._manager.token

    def fetch_token(self) -> Token:
        """Fetch a new token now, replacing the current one, and return it (blocking)."""
        return self._manager.fetch_token()

    def valid_token(self) -> Token:
        """Return a token good for the next call, fetching or renewing it only if needed."""
        return self._manager.valid_token()

    async def avalid_token(self) -> Token:
        """`valid_token` for coroutines: any token request runs in a worker thread."""
        ready = self._ready_token()
        if ready is not None:
            return ready
        return await self._coalesced(("valid",), self._manager.valid_token)

    def close(self) -> None:
        """Close the connections kept open to the token endpoint."""
        self._manager.endpoint.close()

    # -- the flows httpx drives ---------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        """Add the bearer token; renew and replay once on the expiry 401."""
        if not self._may_send_token_to(request):
            yield request
            return
        sent = self._manager.valid_token()
        request.headers["Authorization"] = "Bearer " + sent.access_token
        response = yield request
        if response.status_code != 401:
            self._note_accepted(response, sent)
            return
        body = bounded(response, response.iter_bytes())
        if not rejects_as_expired(response, body):
            return
        if not _replayable(request):
            self._manager.discard(sent)
            return
        replacement = self._manager.renew_after_rejection(sent)
        if replacement is None:
            return
        response.close()
        request.headers["Authorization"] = "Bearer " + replacement.access_token
        answer = yield request
        if answer.status_code == 401 and rejects_as_expired(
            answer, bounded(answer, answer.iter_bytes())
        ):
            # Replayed once here: no further replay, and a pause only if it never worked.
            self._manager.replacement_rejected(replacement, may_replace=False)
        else:
            self._note_accepted(answer, replacement)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Add the bearer token without blocking the loop; renew and replay once on expiry."""
        if not self._may_send_token_to(request):
            yield request
            return
        sent = await self.avalid_token()
        request.headers["Authorization"] = "Bearer " + sent.access_token
        response = yield request
        if response.status_code != 401:
            self._note_accepted(response, sent)  # no lock unless a pause ends
            return
        body = await abounded(response, response.aiter_bytes())
        if not rejects_as_expired(response, body):
            return
        if not _replayable(request):
            await anyio.to_thread.run_sync(self._manager.discard, sent)
            return
        replacement = self._replacement_ready(sent)
        if replacement is None:
            replacement = await self._coalesced(
                ("renew", sent.access_token),
                lambda: self._manager.renew_after_rejection(sent),
            )
        if replacement is None:
            return
        await response.aclose()
        request.headers["Authorization"] = "Bearer " + replacement.access_token
        answer = yield request
        if answer.status_code == 401 and rejects_as_expired(
            answer, await abounded(answer, answer.aiter_bytes())
        ):
            await anyio.to_thread.run_sync(
                functools.partial(
                    self._manager.replacement_rejected, replacement, may_replace=False
                )
            )
        else:
            self._note_accepted(answer, replacement)

    # -- helpers ------------------------------------------------------------------------

    def _ready_token(self) -> Token | None:
        """Return the current token if it is not due: reading it needs no lock, no thread."""
        token = self._manager.token
        if token is not None and self._manager.clock() < self._manager.renew_at(token):
            return token
        return None

    def _replacement_ready(self, rejected: Token) -> Token | None:
        """Return a token that already replaced ``rejected`` (another call renewed it)."""
        token = self._ready_token()
        if token is not None and token.access_token != rejected.access_token:
            return token
        return None

    async def _coalesced(self, key: tuple[str, ...], call: Callable[[], _T]) -> _T:
        """Run ``call`` in a worker thread, once for all the coroutines asking meanwhile.

        The manager's lock already makes threads wait for one token request; this keeps
        coroutines from each holding a worker thread while they wait for it.
        """
        table: dict[tuple[str, ...], _Pending] = self._in_flight.__dict__.setdefault("table", {})
        while True:
            pending = table.get(key)
            if pending is None:
                break
            await pending.done.wait()
            if pending.finished:
                if pending.error is not None:
                    raise pending.error
                result: _T = pending.result
                return result
            # The call that ran it was cancelled before it finished: run it again.
        pending = table[key] = _Pending()
        try:
            pending.result = await anyio.to_thread.run_sync(call)
            pending.finished = True
            return pending.result  # type: ignore[no-any-return]
        except Exception as error:
            pending.error, pending.finished = error, True
            raise
        finally:
            del table[key]
            pending.done.set()

    def _may_send_token_to(self, request: httpx.Request) -> bool:
        """Return whether this request's host may see the token; refuse plain http off loopback.

        httpx runs the auth flow again for each redirect: a redirect to another host goes
        without the token, as requests does it.
        """
        url = request.url
        host = (url.host or "").lower()
        first = request.extensions.setdefault(_FIRST_HOST, host)
        if first != host:
            return False
        if self._allowed_hosts is not None and host not in self._allowed_hosts:
            return False
        if url.scheme != "https" and not (
            _config.is_loopback(host) or _config.insecure_transport_allowed()
        ):
            raise InsecureTransportError(
                f"refusing to send a bearer token over plain {url.scheme or 'unknown'} "
                f"scheme to {host or str(url)!r}; use https (or set OAUTHLIB_INSECURE_TRANSPORT=1)"
            )
        return True

    def _note_accepted(self, response: httpx.Response, token: Token) -> None:
        """Tell the manager the API answered a call made with ``token``: proof that it works."""
        if 200 <= response.status_code < 400:
            self._manager.accepted(token)

    def _fields(self) -> list[tuple[str, object]]:
        return [("client_id", self.client_id), ("token_url", self.token_url)]

    def __repr__(self) -> str:
        state = token_state(self.token, self._manager.clock())
        return plain_repr(type(self).__name__, self._fields(), state)

    def _repr_html_(self) -> str:
        state = token_state(self.token, self._manager.clock())
        return html_repr(type(self).__name__, self._fields(), state)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_in_flight"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._in_flight = threading.local()


class _Pending:
    """A worker-thread call under way, that other coroutines of the loop wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.finished = False
        self.result: Any = None
        self.error: Exception | None = None


def _replayable(request: httpx.Request) -> bool:
    """Return whether the body is in memory (bytes, a form, JSON), so it can be sent again."""
    try:
        request.content  # noqa: B018 - raises for a streamed body not read into memory
    except httpx.RequestNotRead:
        return False
    return True
