"""Test against a local Res:Harmonics: `FakeResharmonics`, a real HTTP server on 127.0.0.1.

Example:
    >>> from requests_resharmonics.testing import FakeResharmonics
    >>> with FakeResharmonics(token_lifetime=5) as fake:
    ...     session = fake.session()
    ...     session.get("/api/v3/bookings").json()["page"]["totalElements"]
    95
"""

from __future__ import annotations

from ._fake import (
    API_FAULTS,
    EXPIRED_BODY,
    TOKEN_FAULTS,
    UNAUTHORIZED_BODY,
    FakeResharmonics,
    RecordedRequest,
)

__all__ = [
    "API_FAULTS",
    "EXPIRED_BODY",
    "TOKEN_FAULTS",
    "UNAUTHORIZED_BODY",
    "FakeResharmonics",
    "RecordedRequest",
]
