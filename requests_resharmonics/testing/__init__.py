"""Test against a local Res:Harmonics: `FakeResharmonics`, a real HTTP server on 127.0.0.1.

The package reads like the service it imitates: ``_tokens`` (the token service),
``api/`` (one module per resource group, and ``shapes``, the API's field names),
``_portfolio`` and ``_seed`` (the data behind every endpoint), ``_routes`` (route
declarations and dispatch), ``_query``, ``_schema`` and ``_validate`` (what a request
may carry, checked as Prism checks it), ``_paging`` and ``_errors`` (Spring's pages and
errors), ``_openapi`` (``/v3/api-docs``), ``_controls`` (``/_fake/``) and ``_http`` (the
server).

Example:
    >>> from requests_resharmonics.testing import FakeResharmonics
    >>> with FakeResharmonics(token_lifetime=5) as fake:
    ...     session = fake.session()
    ...     row = session.get("/api/v3/bookings", params={"size": 1}).json()["content"][0]
    ...     sorted(row)[:3]
    ['bookingContact', 'bookingId', 'bookingReference']
"""

from __future__ import annotations

from ._cassettes import CASSETTE_PORT, PLACEHOLDER_TOKEN, vcr_config
from ._contract import ContractReport, check_against_live, compare_documents, fake_document
from ._fake import EXPIRED_BODY, UNAUTHORIZED_BODY, FakeResharmonics
from ._faults import API_FAULTS
from ._http import Answer
from ._portfolio import Portfolio
from ._records import HOLDING_STATUSES, ROOM_STAY_STATUSES
from ._replayed import ReplayedResharmonics
from ._request_log import RecordedRequest
from ._routes import ApiRequest
from ._tokens import TOKEN_FAULTS

__all__ = [
    "API_FAULTS",
    "CASSETTE_PORT",
    "EXPIRED_BODY",
    "HOLDING_STATUSES",
    "PLACEHOLDER_TOKEN",
    "ROOM_STAY_STATUSES",
    "TOKEN_FAULTS",
    "UNAUTHORIZED_BODY",
    "Answer",
    "ApiRequest",
    "ContractReport",
    "FakeResharmonics",
    "Portfolio",
    "RecordedRequest",
    "ReplayedResharmonics",
    "check_against_live",
    "compare_documents",
    "fake_document",
    "vcr_config",
]
