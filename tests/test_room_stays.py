"""One list of room-stay statuses: the public constant, the fake's and the dlt source's agree."""

from __future__ import annotations

import requests_resharmonics
from requests_resharmonics import ROOM_STAY_STATUSES
from requests_resharmonics import testing as fake


def test_the_fake_serves_the_statuses_the_public_constant_names() -> None:
    # The fake keeps its own copy (it stands for the service, not the client); it must agree.
    assert fake.ROOM_STAY_STATUSES == ROOM_STAY_STATUSES
    assert "ROOM_STAY_STATUSES" in requests_resharmonics.__all__


def test_the_dlt_source_uses_the_same_constant() -> None:
    import pytest

    dlt = pytest.importorskip("requests_resharmonics.dlt")
    assert dlt.ROOM_STAY_STATUSES is ROOM_STAY_STATUSES


def test_asking_for_every_status_reads_every_stay(fake_resharmonics: fake.FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    default = list(session.paginate("/api/v3/bookings", page_size=500))
    every = list(session.paginate("/api/v3/bookings", {"statuses": ROOM_STAY_STATUSES},
                                  page_size=500))  # fmt: skip
    assert len(every) == len(fake_resharmonics.portfolio.room_stays) > len(default)
