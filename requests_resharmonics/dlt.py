"""Res:Harmonics for dlt: a ready source, and an auth and a paginator for ``rest_api`` sources.

Install with ``pip install requests-resharmonics[dlt]``. `resharmonics_source` loads the
collections into any dlt destination (DuckDB, Postgres, BigQuery, Snowflake...), each read
through the library's export engine (`ResharmonicsSession.paginate`), so that a list whose
pages contradict each other fails the load with the library's error instead of loading
rows twice or not at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import PreparedRequest, Request, Response

from . import _config
from ._export.dlt_tables import INVOICE_ITEMS, INVOICES, PAYMENTS, TABLES, Table, decimals
from ._export.export import PaginationError
from ._export.room_stays import ROOM_STAY_STATUSES
from .auth import ResharmonicsAuth, credentials_from_env
from .session import ResharmonicsSession

__all__ = ["ROOM_STAY_STATUSES", "ResharmonicsDltAuth", "SpringPaginator", "resharmonics_source"]

#: The resource-state key holding an incremental resource's change-feed state.
STATE_KEY = "changes"

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


@dlt.source(name="resharmonics", section="resharmonics")
def resharmonics_source(
    client_id: str | None = None,
    client_secret: TSecretStrValue | None = None,
    token_url: str | None = None,
    base_url: str | None = None,
    environment: str | None = None,
    scope: str | None = None,
    page_size: int = 500,
    concurrency: int = 4,
    overlap_seconds: float = 300.0,
    statuses: Sequence[str] | None = None,
) -> Iterable[DltResource]:
    """Return the Res:Harmonics collections as dlt resources.

    Resources, each read through the library's checked export:

    - ``bookings`` (one row per room stay) and ``room_stays``, keyed on ``roomStayId``,
      loaded incrementally by ``lastUpdatedFrom`` and merged;
    - ``guest_stays``, ``units``, ``unit_types``, ``contacts``, ``invoices``,
      ``invoice_items``, ``payments`` and ``finance_accounts``, keyed on ``id``, read whole
      on every run and **replaced**, so that a row deleted at the source is gone after the
      next run.

    Bookings and room stays are read as change feeds (`ResharmonicsSession.changes`), by
    the same rules: the mark is the server's time at the start of the run less
    ``overlap_seconds``, kept in the resource's dlt state only with a load that succeeds,
    and rows the overlap reads again unchanged are not loaded again. The first run loads
    every row.

    Invoice items are read invoice by invoice, and payments booking by booking (for the
    bookings that have invoices, which payments are reconciled against), ``concurrency``
    at a time: the API has no list of either. The payments' path,
    ``/api/v3/bookings/{id}/payments``, is one a public client reads, not in the API's
    recovered description: a guess.

    Dates load as dates, date-times as timestamps and money as decimals (the number as the
    API wrote it). Settings not given come from dlt's configuration (the
    ``[sources.resharmonics]`` section of ``.dlt/secrets.toml``), else from the
    ``RESHARMONICS_*`` variables, as for `ResharmonicsSession`.

    Args:
        client_id: as for `ResharmonicsSession`.
        client_secret: as for `ResharmonicsSession`.
        token_url: as for `ResharmonicsSession`.
        base_url: as for `ResharmonicsSession`.
        environment: as for `ResharmonicsSession`.
        scope: as for `ResharmonicsSession`.
        page_size: rows asked for per page.
        concurrency: pages (or invoices) requested at once by each resource.
        overlap_seconds: how far before the server's time at the start of a run the next
            run reads from (the change feed's ``overlap``).
        statuses: room-stay statuses to load bookings and guest stays in; default: every
            documented status (the API's own defaults leave some out).

    Raises:
        ConfigurationError: a credential is missing or a setting is invalid (before any
            request).

    Example:
        >>> pipeline = dlt.pipeline("nightly", destination="duckdb", dataset_name="resharmonics")
        >>> pipeline.run(resharmonics_source())
    """
    session = ResharmonicsSession(
        client_id, client_secret, token_url, base_url=base_url, environment=environment,
        scope=scope,
    )  # fmt: skip
    chosen = tuple(statuses) if statuses is not None else ROOM_STAY_STATUSES
    reader = _Reader(session, page_size, concurrency)
    invoices: DltResource | None = None
    for table in TABLES:
        params = {"statuses": chosen} if table.every_status else {}
        rows = (
            reader.changed(table, params, overlap_seconds)
            if table.incremental
            else reader.whole(table, params)
        )
        resource = _resource(rows, table)
        if table is INVOICES:
            invoices = resource
        yield resource
    assert invoices is not None

    def items(invoices: list[Any]) -> Iterator[list[Any]]:  # functions, as dlt wants
        yield from reader.per_row(INVOICE_ITEMS, invoices, lambda invoice: invoice["id"])

    def payments(invoices: list[Any]) -> Iterator[list[Any]]:
        yield from reader.per_row(PAYMENTS, invoices, lambda invoice: invoice["booking"]["id"])

    for table, each in ((INVOICE_ITEMS, items), (PAYMENTS, payments)):
        yield dlt.transformer(
            each,
            data_from=invoices,
            name=table.name,
            primary_key=table.key,
            write_disposition=table.write_disposition,
            columns=table.hints(),
        )


def _resource(rows: Any, table: Table) -> DltResource:
    resource: DltResource = dlt.resource(
        rows,
        name=table.name,
        primary_key=table.key,
        write_disposition=table.write_disposition,
        columns=table.hints(),
    )
    return resource


class DltResourceState:
    """A change feed's state kept in a dlt resource's state (a `ChangeState`).

    dlt runs one load of a pipeline at a time and keeps a resource's state only with a
    load that succeeds, which is what a change feed needs of its store.
    """

    def __init__(self, state: Any) -> None:
        self._state = state

    def acquire(self) -> None:
        """Nothing to take: dlt runs one load of a pipeline at a time."""

    def load(self) -> Any:
        """Return the state the last successful load kept, or None."""
        return self._state.get(STATE_KEY)

    def save(self, state: Any) -> None:
        """Keep ``state`` with this load."""
        self._state[STATE_KEY] = dict(state)

    def release(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return "the dlt resource's state"


class _Reader:
    """Reads the source's tables through one session, as batches of rows for dlt."""

    def __init__(self, session: ResharmonicsSession, page_size: int, concurrency: int) -> None:
        self.session = session
        self.page_size = page_size
        self.concurrency = concurrency
        self._seen: dict[str, set[Any]] = {}  # the parents already read, per table

    def batches(self, table: Table, path: str, params: dict[str, Any]) -> Iterator[list[Any]]:
        """Yield the rows of ``path`` a page at a time, checked; fail as the export does."""
        export = self.session.paginate(
            path, params, page_size=self.page_size, concurrency=self.concurrency
        )
        with export:
            yield from self.batched(table, export)

    def batched(self, table: Table, rows: Iterator[Any]) -> Iterator[list[Any]]:
        """Yield ``rows`` in batches of a page, their money as decimals."""
        batch: list[Any] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.page_size:
                yield decimals(batch, table.money)
                batch = []
        if batch:
            yield decimals(batch, table.money)

    def whole(self, table: Table, params: dict[str, Any]) -> Any:
        def rows() -> Iterator[list[Any]]:
            yield from self.batches(table, table.path, params)

        return rows

    def changed(self, table: Table, params: dict[str, Any], overlap: float) -> Any:
        """Read ``table`` as a change feed whose state is the resource's dlt state."""

        def rows() -> Iterator[list[Any]]:
            state = DltResourceState(dlt.current.resource_state())
            feed = self.session.changes(
                table.path, params, state=state, overlap=overlap, page_size=self.page_size,
                concurrency=self.concurrency,
            )  # fmt: skip
            with feed:
                # The feed saves its mark into dlt's state once the last row is handed
                # over; dlt keeps that state only with a load that succeeds.
                yield from self.batched(table, feed)

        return rows

    def per_row(
        self, table: Table, parents: list[Any], key: Callable[[Any], Any]
    ) -> Iterator[list[Any]]:
        """Yield ``table``'s rows for each parent of a batch, ``concurrency`` at a time.

        ``key`` names the parent in ``table.path`` (an invoice's id, its booking's id); a
        parent already read in this run (a booking with several invoices) is read once.
        """
        seen = self._seen.setdefault(table.name, set())
        wanted = []
        for parent in parents:
            named = key(parent)
            if named not in seen:
                seen.add(named)
                wanted.append(named)

        def of(named: Any) -> list[Any]:
            path = table.path.format(id=named)
            return [row for batch in self.batches(table, path, {}) for row in batch]

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="resharmonics-dlt") as pool:
            for rows in pool.map(of, wanted):
                if rows:
                    yield rows
