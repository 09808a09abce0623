"""Every way the package reads a whole list, behind one call, for tests that hold them alike.

``read(reader, fake, base_url, path, **options)`` returns the rows, or raises what that
reader raised. The readers: ``session.paginate`` (requests), `requests_resharmonics.httpx`'s
``paginate`` and ``apaginate``, and (added by their own tests' modules) the change feed and
the dlt source.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from typing import Any

from requests_resharmonics import MemoryChangeState, PaginationError
from requests_resharmonics.httpx import apaginate, async_client, client, paginate
from requests_resharmonics.testing import FakeResharmonics

READERS = ["requests", "httpx", "httpx-async"]
#: The same functions given httpx2's clients (httpx's API, Pydantic's fork).
HTTPX2_READERS = ["httpx2", "httpx2-async"]
#: Readers built on the export: the change feed, and the dlt source (its units resource,
#: which the misbehaving server answers as it answers any path).
BUILT_ON = ["changes", "dlt"]


def settings(fake: FakeResharmonics, base_url: str) -> dict[str, Any]:
    """The arguments of a client of ``base_url`` whose tokens come from ``fake``."""
    return {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_url": fake.token_url,
        "base_url": base_url,
    }


def read(
    reader: str, fake: FakeResharmonics, base_url: str, path: str, **options: Any
) -> list[Any]:
    """Read every row of ``path`` at ``base_url`` with ``reader``; ``options`` are paginate's."""
    if reader == "requests":
        with fake.session(base_url=base_url, retries=0) as session:
            return list(session.paginate(path, **options))
    if reader == "httpx":
        with client(**settings(fake, base_url)) as api:
            return list(paginate(api, path, **options))
    if reader == "httpx-async":

        async def rows() -> list[Any]:
            async with (
                async_client(**settings(fake, base_url)) as api,
                apaginate(api, path, **options) as export,
            ):
                return [row async for row in export]

        return asyncio.run(rows())
    if reader in HTTPX2_READERS:
        return _read_httpx2(reader, fake, base_url, path, **options)
    if reader == "changes":
        with fake.session(base_url=base_url, retries=0) as session:
            return list(session.changes(path, state=MemoryChangeState(), **options))
    if reader == "dlt":
        return _read_dlt(fake, base_url, **options)
    raise AssertionError(f"unknown reader {reader}")


def _read_dlt(fake: FakeResharmonics, base_url: str, **options: Any) -> list[Any]:
    """Load the dlt source's units from ``base_url`` into DuckDB; return them, or raise the
    library's error that failed the load (dlt wraps it)."""
    import dlt

    from requests_resharmonics.dlt import resharmonics_source

    folder = tempfile.mkdtemp(prefix="resharmonics-dlt-reader-")
    try:
        pipe = dlt.pipeline(
            pipeline_name="reader",
            destination=dlt.destinations.duckdb(os.path.join(folder, "warehouse.duckdb")),
            pipelines_dir=os.path.join(folder, "pipelines"),
            dataset_name="reader",
        )
        options.setdefault("concurrency", 1)  # paginate's default (the source's is 4)
        source = resharmonics_source(**settings(fake, base_url), **options)
        try:
            pipe.run(source.with_resources("units"))
        except Exception as error:
            cause = _library_error(error)
            if cause is None:
                raise
            raise cause from error
        with pipe.sql_client() as client:
            table = client.make_qualified_table_name("units")
            rows = client.execute_sql(f"select id, name from {table} order by id")  # noqa: S608
            return [{"id": row[0], "name": row[1]} for row in rows or ()]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _library_error(error: BaseException) -> BaseException | None:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, PaginationError):
            return seen
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "exception", None)
    return None


def _read_httpx2(
    reader: str, fake: FakeResharmonics, base_url: str, path: str, **options: Any
) -> list[Any]:
    import httpx2

    from requests_resharmonics._export.httpx_pages import build_client
    from requests_resharmonics.httpx2 import ResharmonicsHTTPX2Auth

    if reader == "httpx2":
        with build_client(ResharmonicsHTTPX2Auth, httpx2.Client, **settings(fake, base_url)) as api:
            return list(paginate(api, path, **options))

    async def rows() -> list[Any]:
        api = build_client(ResharmonicsHTTPX2Auth, httpx2.AsyncClient, **settings(fake, base_url))
        async with api, apaginate(api, path, **options) as export:
            return [row async for row in export]

    return asyncio.run(rows())
