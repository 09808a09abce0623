"""`ResharmonicsSession`: an OAuth2Session that knows the API's address and renews its token."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from . import _config
from ._changes.feed import Changes, probe_of
from ._changes.mark import DEFAULT_OVERLAP, check_overlap
from ._changes.state import ChangeState, state_of
from ._display import html_repr, plain_repr, token_state
from ._export.export import DEFAULT_PAGE_SIZE, Export, PageProgress
from ._export.requests_pages import RequestsPages, paginate_session
from ._export.walk import plan
from ._retries import DEFAULT_API_RETRIES, DEFAULT_TOKEN_RETRIES, RetriesSetting, api_retry
from ._session import oauth2session_idioms
from ._session.oauth2session_idioms import ComplianceHooks, TokenDictUpdater
from ._session.token_methods import TokenMethods
from ._tokens.endpoint import DEFAULT_TIMEOUT
from ._tokens.events import TokenEvent
from ._tokens.manager import DEFAULT_LEEWAY
from .auth import ResharmonicsAuth, credentials_from_env
from .cache.base import TokenCache
from .errors import ConfigurationError

#: Connections kept per host: enough for a worker pool of threads sharing one session.
POOL_SIZE = 32

#: Seconds an API call may wait for the server (to connect, and for each read) unless the
#: call passes its own ``timeout``: requests would otherwise wait for ever.
DEFAULT_API_TIMEOUT = 60.0

ApiTimeout = float | tuple[float, float] | None


class ResharmonicsSession(TokenMethods):
    """A `requests_oauthlib.OAuth2Session` for the Res:Harmonics API.

    Its client is oauthlib's ``BackendApplicationClient`` (the client-credentials grant).
    Relative URLs are joined to `base_url`, and tokens are fetched and renewed exactly as
    `ResharmonicsAuth` does it: the session authenticates through one.

    Example:
        >>> with ResharmonicsSession() as session:  # credentials from RESHARMONICS_* variables
        ...     bookings = session.get("/api/v3/bookings", params={"size": 50}).json()

    Args:
        client_id: defaults to ``RESHARMONICS_CLIENT_ID``.
        client_secret: defaults to ``RESHARMONICS_CLIENT_SECRET``.
        token_url: defaults to ``RESHARMONICS_TOKEN_URL``, else the environment's token URL
            (only production has a public one).
        base_url: defaults to ``RESHARMONICS_BASE_URL``, else the environment's API address.
        environment: ``"production"`` or ``"testing"``; defaults to
            ``RESHARMONICS_ENVIRONMENT``, else production. An unknown name is an error.
        scope: defaults to ``RESHARMONICS_SCOPE``; by default no scope is sent.
        leeway, timeout, client_auth, token_retries: as for `ResharmonicsAuth`.
        retries: API calls with idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are
            retried on connection errors, 429, 502, 503 and 504 with exponential back-off
            that honours ``Retry-After``: a count, a urllib3 ``Retry``, or 0 for none.
            POST is never retried.
        background_renewal: as for `ResharmonicsAuth`.
        cache: a `TokenCache` shared with other sessions, processes or machines.
        allowed_hosts: hosts besides the base URL's that may receive the token; a request to
            any other host (a pre-signed download, a webhook) goes out without it.
        prompt: in an interactive session, ask for missing credentials instead of raising.
        api_timeout: seconds each API call may wait for the server, unless the call passes
            its own ``timeout``: a number, a ``(connect, read)`` pair, or ``None`` to wait for
            ever (requests' default). Default 60.
        token: a saved token dict (``access_token`` and ``expires_at`` or ``expires_in``) to
            start with, as `OAuth2Session` takes it; it is used until it is due for renewal.
        token_updater: called with the token dict each time the session starts using a new
            token (fetched, renewed, or found in the shared cache), to persist it; it runs in
            the thread that obtained the token, which may be the background renewal's.
        pool_maxsize: connections kept open per host (default 32); set it to the number of
            threads sharing the session, so that none opens a connection it must then drop
            (urllib3's "Connection pool is full" warning).
        on_event: as for `ResharmonicsAuth`: called with a `TokenEvent` for every token
            request, renewal, replay and cache lookup.
        token_budget: as for `ResharmonicsAuth`: ``(N, seconds)``, at most N token requests
            in any window of that many seconds, across the processes sharing ``cache``.

    The `OAuth2Session` arguments that cannot apply to client credentials
    (``auto_refresh_url``, ``auto_refresh_kwargs``, ``redirect_uri``, ``state``, ``pkce``,
    ``client``) are refused with a `ConfigurationError` that names them and what to do
    instead; so is every other requests-oauthlib idiom that the session cannot honour (see
    "Coming from requests-oauthlib" in the documentation). Token requests do not go through
    the session's ``send``: a mock of it sees API calls only.
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
        *,
        base_url: str | None = None,
        environment: str | None = None,
        scope: str | Iterable[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        timeout: float = DEFAULT_TIMEOUT,
        client_auth: str = "basic",
        token_retries: int = DEFAULT_TOKEN_RETRIES,
        retries: RetriesSetting = DEFAULT_API_RETRIES,
        allowed_hosts: Iterable[str] | None = None,
        cache: TokenCache | None = None,
        background_renewal: bool = True,
        prompt: bool = False,
        api_timeout: ApiTimeout = DEFAULT_API_TIMEOUT,
        token: Mapping[str, Any] | None = None,
        token_updater: Callable[[dict[str, Any]], object] | None = None,
        pool_maxsize: int = POOL_SIZE,
        on_event: Callable[[TokenEvent], object] | None = None,
        token_budget: tuple[int, float] | None = None,
        **kwargs: Any,
    ) -> None:
        oauth2session_idioms.refuse_arguments(kwargs)
        self.api_timeout = _api_timeout(api_timeout)
        if token_updater is not None and not callable(token_updater):
            raise ConfigurationError("token_updater must be callable with the token dict")
        environment = _config.environment(environment)
        client_id, client_secret = credentials_from_env(client_id, client_secret, prompt=prompt)
        token_url = _config.check_url(_config.token_url(token_url, environment), "token URL")
        base = _config.setting(base_url, _config.BASE_URL_VAR) or _config.BASE_URLS[environment]
        self.base_url = _config.check_url(base, "base URL").rstrip("/")
        _config.warn_if_environments_differ(token_url, self.base_url)
        auth = ResharmonicsAuth(
            client_id,
            client_secret,
            token_url,
            scope=scope if scope is not None else _config.setting(None, _config.SCOPE_VAR),
            leeway=leeway,
            timeout=timeout,
            client_auth=client_auth,
            token_retries=token_retries,
            allowed_hosts=[urlsplit(self.base_url).hostname or "", *(allowed_hosts or ())],
            cache=cache,
            background_renewal=background_renewal,
            on_event=on_event,
            token_budget=token_budget,
        )
        if isinstance(pool_maxsize, bool) or not isinstance(pool_maxsize, int) or pool_maxsize < 1:
            raise ConfigurationError(
                f"pool_maxsize must be a whole number >= 1, not {pool_maxsize!r}"
            )
        adapter = HTTPAdapter(max_retries=api_retry(retries), pool_maxsize=pool_maxsize)
        super().__init__(client=auth.oauth_client, scope=auth.scope)
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        # OAuth2Session sets a do-nothing lambda here; ours adds the token, and pickles.
        self.auth = auth
        self._resharmonics_auth = auth
        self.compliance_hook = ComplianceHooks(
            access_token_response=auth.token_answer_hooks, protected_request=set()
        )
        if token is not None:
            if not isinstance(token, Mapping):
                raise ConfigurationError(f"token must be a dict, not {type(token).__name__}")
            self.token = dict(token)
        self.token_updater = token_updater
        if token_updater is not None:
            auth.on_new_token = TokenDictUpdater(token_updater, auth)

    def url_for(self, url: str) -> str:
        """Return ``url`` joined to `base_url` when it is relative (``/api/v3/bookings``)."""
        if urlsplit(url).scheme:
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    def request(
        self,
        method: str,
        url: str,
        *args: Any,
        withhold_token: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request, joining a relative ``url`` to `base_url`.

        This bypasses `OAuth2Session.request`, which logs the token at DEBUG; the token is
        added by the session's `ResharmonicsAuth`. ``withhold_token=True`` sends no token.
        A call without its own ``timeout`` gets `api_timeout`.
        """
        kwargs = oauth2session_idioms.by_keyword(args, kwargs)
        url = self.url_for(url)
        if withhold_token:
            kwargs["auth"] = _no_auth
        else:
            for hook in tuple(self.compliance_hook["protected_request"]):
                url, kwargs["headers"], kwargs["data"] = hook(
                    url, kwargs.get("headers"), kwargs.get("data")
                )
        kwargs.setdefault("timeout", self.api_timeout)
        return requests.Session.request(self, method, url, **kwargs)

    def paginate(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        prefetch: bool = True,
        concurrency: int = 1,
        on_page: Callable[[PageProgress], object] | None = None,
        lenient: bool = False,
        progress: bool = False,
        **kwargs: Any,
    ) -> Export:
        """Iterate every item of a list endpoint, across its pages, in order, exactly once.

        While the caller works through one page, the next is already being requested
        (``prefetch=False`` asks for each page only when the previous one is used up). With
        ``concurrency=N``, once the first page says how many pages there are, up to N are
        requested at once; items still come out in order, and at most about N pages are
        held in memory. A 429 halves the pages in flight and waits its ``Retry-After``
        instead of failing.

        Every page is checked against the first (its totals, its number of rows, rows
        repeated by ``id``, else ``roomStayId``) before any of its rows comes out; a page that
        fails is asked for once more, then the export raises an `InconsistentPagesError`.
        ``lenient=True`` accepts a list that changes meanwhile: it warns
        (`PaginationWarning`) and goes on. Leaving early (``break``, an exception, Ctrl-C,
        `Export.cancel` from any thread) cuts the pages in flight and ends at once.

        Both the ``{"content": [...], "page": {...}}`` envelope and the older one with
        ``totalPages``, ``number`` and ``last`` at the top level are understood. ``on_page``
        is called with a `PageProgress` as each page is delivered; ``progress=True`` draws
        a ``tqdm.auto`` bar (the ``[progress]`` extra); ``kwargs`` go to each GET.

        Example:
            >>> for booking in session.paginate("/api/v3/bookings", {"statuses": "CONFIRMED"}):
            ...     print(booking["bookingReference"])

        Raises:
            InconsistentPagesError: pages contradict each other (a subclass says how).
            PageHTTPError: a page was answered with an error status (a requests.HTTPError).
            PageRequestError: a page failed or was cut off (a requests.RequestException).
            ExportCancelled: `Export.cancel` was called from another thread.
            PaginationError: an answer is not a page (the base class of all of these).
        """
        return paginate_session(
            self, path, params, page_size, prefetch=prefetch, concurrency=concurrency,
            on_page=on_page, lenient=lenient, progress=progress, **kwargs,
        )  # fmt: skip

    def changes(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        state: ChangeState | str | os.PathLike[str],
        overlap: float = DEFAULT_OVERLAP,
        page_size: int = DEFAULT_PAGE_SIZE,
        concurrency: int = 1,
        autocommit: bool = True,
        on_page: Callable[[PageProgress], object] | None = None,
        **kwargs: Any,
    ) -> Changes:
        """Iterate the rows of a list created or changed since the last complete pass, once.

        A change feed for lists that take ``lastUpdatedFrom`` (bookings and room stays, as
        documented). ``state`` keeps the mark between passes: a file path (a JSON file,
        written atomically, one pass at a time) or a store (`RedisChangeState`, any
        `ChangeState`). Each pass takes its new mark from the server's clock (its ``Date``)
        before reading, less ``overlap`` seconds (300) for clocks and late commits; reads
        the list as `paginate` does (every check applies); leaves out rows the overlap reads
        again unchanged; and saves the mark only once every row has been handed over (with
        ``autocommit=False``, only when you call `Changes.commit`). A row changed while a
        pass runs comes in this pass or the next; a pass that fails or is left saves
        nothing, and the next delivers its rows again. The first pass reads every row.

        Example:
            >>> for row in session.changes("/api/v3/bookings", {"statuses": ROOM_STAY_STATUSES},
            ...                            state="bookings-sync.json"):
            ...     upsert(row)  # by row["roomStayId"]

        Raises:
            ChangeStateError: another pass holds the state, or it belongs to another list.
            PaginationError: as `paginate` (the state is then left as it was).
        """
        store = state_of(state)
        overlap = check_overlap(overlap)
        plan(params, page_size, prefetch=True, concurrency=concurrency)  # bad settings: now

        def read(query: dict[str, Any]) -> Export:
            return self.paginate(path, query, page_size=page_size, concurrency=concurrency,
                                 on_page=on_page, **kwargs)  # fmt: skip

        probe = probe_of(RequestsPages(self, path, dict(kwargs)))
        return Changes(f"GET {path}", params, store, overlap, probe, read, autocommit=autocommit)

    def close(self) -> None:
        """Close the session's connections, those to the token endpoint included."""
        super().close()
        self._resharmonics_auth.close()

    def _fields(self) -> list[tuple[str, object]]:
        auth = self._resharmonics_auth
        return [
            ("client_id", auth.client_id),
            ("base_url", self.base_url),
            ("token_url", auth.token_url),
        ]

    def __repr__(self) -> str:
        auth = self._resharmonics_auth
        return plain_repr(type(self).__name__, self._fields(), token_state(auth.token, auth.now()))

    def _repr_html_(self) -> str:
        auth = self._resharmonics_auth
        return html_repr(type(self).__name__, self._fields(), token_state(auth.token, auth.now()))

    def __getstate__(self) -> dict[str, Any]:
        # requests.Session pickles only its own attributes; OAuth2Session's and ours matter too.
        return self.__dict__.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _api_timeout(value: ApiTimeout) -> ApiTimeout:
    if value is None:
        return None
    parts = value if isinstance(value, tuple) else (value,)
    valid = len(parts) in (1, 2) and all(
        isinstance(part, (int, float)) and not isinstance(part, bool) and part > 0 for part in parts
    )
    if not valid:
        raise ConfigurationError(
            "api_timeout must be a positive number of seconds, a (connect, read) pair of them, "
            f"or None, not {value!r}"
        )
    return value
