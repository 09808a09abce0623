"""Res:Harmonics for dlt: an auth its ``rest_api`` source accepts, Spring's paging, a ready source.

Install with ``pip install requests-resharmonics[dlt]``. `resharmonics_source` loads the main
collections into any dlt destination (DuckDB, Postgres, BigQuery, Snowflake...), merging on
their keys; bookings and room stays load incrementally, by ``lastUpdatedFrom``.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.helpers.rest_client.client import RESTClient
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import rest_api_resources
from requests import PreparedRequest, Request, Response

from . import _config
from ._export.export import PaginationError
from .auth import ResharmonicsAuth, credentials_from_env

__all__ = ["ROOM_STAY_STATUSES", "ResharmonicsDltAuth", "SpringPaginator", "resharmonics_source"]

#: Every room-stay status the API documents. The bookings list leaves PENDING out unless
#: asked for it, and the guest-stays list keeps only CONFIRMED, CHECKED_IN and CHECKED_OUT,
#: so the source asks for all of them: a load holds every row, not a default's selection.
ROOM_STAY_STATUSES = (
    "ENQUIRY",
    "QUOTED",
    "PENDING",
    "MEDIATION_REQUIRED",
    "CONFIRMED",
    "CHECKED_IN",
    "CHECKED_OUT",
    "COMPLETE",
    "CANCELLED",
    "LOST",
)

#: The resource-state key holding the ``lastUpdatedFrom`` of the next run.
STATE_KEY = "last_updated_from"

#: Objects that are null in many rows: typed up front, so that a load whose rows all hold
#: null still creates the column (as JSON), instead of dlt warning that it cannot type it.
_BOOKING_ACCOUNT: dict[str, Any] = {"bookingAccount": {"data_type": "json"}}
_SALES_ACCOUNT: dict[str, Any] = {"contactSalesAccount": {"data_type": "json"}}

_building = threading.Lock()


@configspec
class ResharmonicsDltAuth(AuthConfigBase):
    """A dlt auth (``AuthConfigBase``) that keeps a Res:Harmonics token, as `ResharmonicsAuth` does.

    dlt's declarative ``rest_api`` source and its ``RESTClient`` accept it. Settings not
    given come from dlt's configuration (``secrets.toml``, its environment variables), else
    from the ``RESHARMONICS_*`` variables. Tokens are renewed and shared exactly as by
    `ResharmonicsAuth` (which it uses): one token request per renewal, the expiry 401 replayed.

    Example:
        >>> from dlt.sources.rest_api import rest_api_source
        >>> source = rest_api_source({
        ...     "client": {"base_url": "https://apiv3.rerumapp.uk/api/v3/",
        ...                "auth": ResharmonicsDltAuth(), "paginator": SpringPaginator()},
        ...     "resources": [{"name": "units", "endpoint": {"path": "units",
        ...                                                 "data_selector": "content"}}],
        ... })
    """

    client_id: str | None = None
    client_secret: TSecretStrValue | None = None
    token_url: str | None = None
    scope: str | None = None
    environment: str | None = None
    allowed_hosts: list[str] | None = None

    def requests_auth(self) -> ResharmonicsAuth:
        """Return the `ResharmonicsAuth` doing the work, created on first use.

        Raises:
            ConfigurationError: credentials are missing or a setting is invalid.
        """
        auth: ResharmonicsAuth | None = self.__dict__.get("_requests_auth")
        if auth is None:
            with _building:
                auth = self.__dict__.get("_requests_auth")
                if auth is None:
                    client_id, client_secret = credentials_from_env(
                        self.client_id, self.client_secret
                    )
                    auth = ResharmonicsAuth(
                        client_id,
                        client_secret,
                        self.token_url,
                        scope=_config.setting(self.scope, _config.SCOPE_VAR),
                        environment=self.environment,
                        allowed_hosts=self.allowed_hosts,
                    )
                    self.__dict__["_requests_auth"] = auth
        return auth

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """Add the bearer token, as `ResharmonicsAuth` does."""
        return self.requests_auth()(request)

    def __repr__(self) -> str:
        auth: ResharmonicsAuth | None = self.__dict__.get("_requests_auth")
        return f"{type(self).__name__}({auth!r})" if auth else f"{type(self).__name__}()"


class SpringPaginator(BasePaginator):
    """dlt paginator for Spring Data pages: ``page`` from 0 until the last page.

    Reads ``{"content": [...], "page": {"number", "totalPages", "totalElements"}}`` and the
    older envelope with ``totalPages``, ``number`` and ``last`` at the top level, and stops
    at an empty page. Fails (`PaginationError`) rather than load a collection wrongly: when
    the API ignores the page number, or when the number of rows changes between pages (rows
    may then have shifted past a page boundary unread; running again is safe).

    Example:
        >>> client = RESTClient(base_url, auth=ResharmonicsDltAuth(), paginator=SpringPaginator())
        >>> rows = [row for page in client.paginate("/api/v3/units", data_selector="content")
        ...         for row in page]
    """

    def __init__(self, page_param: str = "page") -> None:
        super().__init__()
        self.page_param = page_param
        self.page = 0
        self.total_elements: int | None = None

    def init_request(self, request: Request) -> None:
        """Ask for the first page."""
        self.page = 0
        self.total_elements = None
        self._has_next_page = True
        self.update_request(request)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        """Read the page's position and decide whether another page follows."""
        try:
            payload = response.json()
        except ValueError:
            raise PaginationError(f"page {self.page} of {response.url} is not JSON") from None
        if not isinstance(payload, dict):
            raise PaginationError(f"page {self.page} of {response.url} is not a Spring page")
        nested = payload.get("page")
        info: dict[str, Any] = nested if isinstance(nested, dict) else payload
        number, total_pages = info.get("number"), info.get("totalPages")
        if isinstance(number, int) and number != self.page:
            raise PaginationError(
                f"{response.url} ignores the page parameter: asked for page {self.page}, "
                f"got page {number}"
            )
        elements = info.get("totalElements")
        if isinstance(elements, int):
            if self.total_elements is not None and elements != self.total_elements:
                raise PaginationError(
                    f"{response.url} changed while it was read ({self.total_elements} rows, "
                    f"then {elements} at page {self.page}): rows may have been skipped; "
                    "run the load again"
                )
            self.total_elements = elements
        if not data:
            self._has_next_page = False
        elif isinstance(payload.get("last"), bool):
            self._has_next_page = not payload["last"]
        elif isinstance(total_pages, int):
            self._has_next_page = self.page + 1 < total_pages
        else:
            raise PaginationError(
                f"page {self.page} of {response.url} says neither totalPages nor last"
            )
        self.page += 1

    def update_request(self, request: Request) -> None:
        """Ask for the next page."""
        if request.params is None:
            request.params = {}
        request.params[self.page_param] = self.page


@dlt.source(name="resharmonics")
def resharmonics_source(
    client_id: str | None = None,
    client_secret: TSecretStrValue | None = None,
    token_url: str | None = None,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    page_size: int = 500,
    overlap_seconds: float = 300.0,
    statuses: Sequence[str] | None = None,
) -> Iterable[DltResource]:
    """Return the Res:Harmonics collections as dlt resources, merged on their keys.

    Resources: ``bookings`` (one row per room stay) and ``room_stays``, keyed on
    ``roomStayId`` and loaded incrementally; ``guest_stays``, ``units``, ``unit_types`` and
    ``contacts``, keyed on ``id`` and read whole on every run (merged, so nothing doubles).

    The rows carry no last-updated field, so the incremental resources keep a mark in dlt's
    state: the time the source was created, before any row was read (less
    ``overlap_seconds``, for clocks that disagree),
    saved only when the run succeeds, and sent as ``lastUpdatedFrom`` on the next run. The
    first run loads every row. (Whether the API takes a date-time there is not documented;
    the source sends ``YYYY-MM-DDTHH:MM:SS.sss`` in UTC, which Spring reads as a local date-time.)

    Args:
        client_id: as for `ResharmonicsSession`; like every setting here, it defaults to
            dlt's configuration, else to its ``RESHARMONICS_*`` variable.
        client_secret: as for `ResharmonicsSession`.
        token_url: as for `ResharmonicsSession`.
        environment: as for `ResharmonicsSession`.
        scope: as for `ResharmonicsSession`.
        base_url: defaults to ``RESHARMONICS_BASE_URL``, else the environment's API address.
        page_size: rows asked for per page.
        overlap_seconds: how far before the previous run's start the next run looks back.
        statuses: room-stay statuses to load bookings and guest stays in; default: every
            documented status (the API's own defaults leave some out).

    Example:
        >>> pipeline = dlt.pipeline("nightly", destination="duckdb", dataset_name="resharmonics")
        >>> pipeline.run(resharmonics_source())
    """
    name = _config.environment(environment)
    base = _config.setting(base_url, _config.BASE_URL_VAR) or _config.BASE_URLS[name]
    base = _config.check_url(base, "base URL").rstrip("/")
    auth = ResharmonicsDltAuth(
        client_id=client_id,
        client_secret=client_secret,
        token_url=token_url,
        scope=scope,
        environment=name,
        allowed_hosts=[urlsplit(base).hostname or ""],
    )
    auth.requests_auth()  # a missing secret fails here, before any request
    chosen = list(statuses) if statuses is not None else list(ROOM_STAY_STATUSES)
    # Taken before any row is read: a row changed while the load runs is loaded again next
    # time, whichever page or resource it was read in.
    started = datetime.datetime.now(datetime.timezone.utc)
    since = started - datetime.timedelta(seconds=overlap_seconds)
    mark = since.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]  # milliseconds, as Spring writes them
    client = RESTClient(
        base_url=base, auth=auth, paginator=SpringPaginator(), data_selector="content"
    )
    for table, path, query in (
        ("bookings", "/api/v3/bookings", {"size": page_size, "statuses": chosen}),
        ("room_stays", "/api/v3/roomStays", {"size": page_size}),
    ):
        yield dlt.resource(
            _changed_rows(client, path, query, mark),
            name=table,
            primary_key="roomStayId",
            write_disposition="merge",
            columns=_BOOKING_ACCOUNT,
        )
    yield from rest_api_resources(
        {
            "client": {"base_url": base, "auth": auth, "paginator": SpringPaginator()},
            "resource_defaults": {
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {"data_selector": "content", "params": {"size": page_size}},
            },
            "resources": [
                {
                    "name": "guest_stays",
                    "endpoint": {"path": "/api/v3/guestStays", "params": {"statuses": chosen}},
                },
                {"name": "units", "endpoint": {"path": "/api/v3/units"}},
                {"name": "unit_types", "endpoint": {"path": "/api/v3/unitTypes"}},
                {
                    "name": "contacts",
                    "endpoint": {"path": "/api/v3/contacts"},
                    "columns": _SALES_ACCOUNT,
                },
            ],
        }
    )


def _changed_rows(client: RESTClient, path: str, query: dict[str, Any], mark: str) -> Any:
    def rows() -> Iterator[list[Any]]:
        state = dlt.current.resource_state()
        params = dict(query)
        since = state.get(STATE_KEY)
        if since:
            params["lastUpdatedFrom"] = since
        for page in client.paginate(path, params=params):
            yield list(page)
        # Reached only once every page is read; dlt keeps the state with the load.
        state[STATE_KEY] = mark

    return rows
