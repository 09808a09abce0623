"""The stale window: a due token is sent while its renewal runs, but not up to its expiry."""

from __future__ import annotations

import pytest

from requests_resharmonics import Token
from requests_resharmonics._tokens.due import stale_until
from requests_resharmonics.testing import FakeResharmonics

from .conftest import FakeClock


@pytest.mark.parametrize(("lifetime", "margin"), [(3600.0, 1.0), (30.0, 0.6), (1.0, 0.02)])
def test_the_stale_window_closes_before_expiry(lifetime: float, margin: float) -> None:
    token = Token("t", obtained_at=1000.0, expires_at=1000.0 + lifetime)
    assert stale_until(token) == pytest.approx(token.expires_at - margin)  # type: ignore[operator]


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_a_token_about_to_expire_is_not_sent_while_it_is_renewed(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake_resharmonics.auth()  # background renewal on
    auth.manager.clock = clock
    old = auth.valid_token()
    assert old.expires_at is not None
    # Half a second before expiry: a call sent now would arrive with an expired token.
    clock.advance(old.expires_at - clock() - 0.5)
    assert auth.valid_token() is not old  # it waited for the renewal instead
    assert fake_resharmonics.token_requests == 2


@pytest.mark.fake_resharmonics(token_delay=0.5)
def test_a_due_token_is_still_sent_early_in_its_renewal_window(
    fake_resharmonics: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake_resharmonics.auth()
    auth.manager.clock = clock
    old = auth.valid_token()
    assert old.expires_at is not None
    clock.advance(old.expires_at - clock() - 30)  # due, 30 s of validity left
    assert auth.valid_token() is old  # served at once while the renewal runs behind
