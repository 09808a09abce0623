"""A fleet's holds against hostile answers and careless use: absurd, zero and unreadable
Retry-After values, holds written far ahead, a frozen Redis, a secret left in a token URL,
and a held error sent to another process."""

from __future__ import annotations

import copy
import os
import pickle
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from requests_resharmonics import (
    FileTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    TokenHeldError,
    TokenRequestError,
)
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer


def throttled_forever(fake: FakeResharmonics, retry_after: str) -> None:
    """Make the fake's token endpoint answer every request 429 with ``retry_after``."""

    def answer(incoming: Any) -> Any:
        return Answer(429, {"message": "Too Many Requests"}, {"Retry-After": retry_after}), None

    fake.tokens.answer = answer  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "retry_after",
    ["99999999999999999999999", "9" * 400, "Fri, 31 Dec 9999 23:59:59 GMT"],
)
def test_an_absurd_retry_after_gives_a_clear_held_error_not_an_overflow(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, retry_after: str
) -> None:
    throttled_forever(fake_resharmonics, retry_after)
    cache = FileTokenCache(tmp_path / "tokens.json")
    auth = fake_resharmonics.auth(timeout=1, cache=cache)
    with pytest.raises(TokenHeldError) as caught:
        auth.valid_token()
    assert caught.value.retryable
    # A hold no longer than a week: an answer years ahead is a gateway's mistake or hostile.
    assert 0 < caught.value.seconds <= 7 * 86400
    other = fake_resharmonics.auth(timeout=1, cache=FileTokenCache(tmp_path / "tokens.json"))
    with pytest.raises(TokenHeldError, match="no token request was made"):
        other.valid_token()  # the fleet reads the hold: a clear error again, not a crash
    assert fake_resharmonics.token_requests == 1


def test_a_token_held_error_survives_pickling_and_copying() -> None:
    error = TokenHeldError(
        "held", until=1_700_000_000.0, seconds=5.0, reason="why", status_code=429
    )
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert isinstance(clone, TokenHeldError) and str(clone) == "held"
        assert (clone.until, clone.seconds, clone.reason) == (1_700_000_000.0, 5.0, "why")
        assert clone.status_code == 429 and clone.retryable


def test_a_retry_after_of_a_superscript_digit_reads_as_none_not_as_a_failure(
    fake_resharmonics: FakeResharmonics,
) -> None:
    throttled_forever(fake_resharmonics, "\u00b2")  # "²": str.isdigit says yes, float no
    auth = fake_resharmonics.auth(timeout=1)
    with pytest.raises(TokenRequestError) as caught:
        auth.valid_token()
    assert caught.value.status_code == 429 and caught.value.retryable
    assert "float" not in str(caught.value)
    assert fake_resharmonics.token_requests == 3  # unreadable: backed off as usual, retried


def test_a_hold_far_ahead_in_a_shared_cache_gives_a_clear_held_error(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    # Written by another process sharing the cache (an older release, a careless script).
    cache = FileTokenCache(tmp_path / "tokens.json")
    auth = fake_resharmonics.auth(timeout=1, cache=cache)
    cache.hold(auth.manager.fleet.key, 1e300, "held by a sharer")
    with pytest.raises(TokenHeldError, match=r"held until .*: held by a sharer"):
        auth.valid_token()
    assert fake_resharmonics.token_requests == 0


def test_a_redis_cache_from_a_url_does_not_hang_on_a_redis_that_stopped_answering(
    own_redis_server: Any,
) -> None:
    cache = RedisTokenCache(own_redis_server.url)
    # Set by the cache itself: redis-py before 6 (the floor is 4.5.4) waits for ever.
    kwargs = cache._client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 5.0
    assert cache.held("client") is None  # connected
    outcome: list[BaseException | None] = []

    def ask() -> None:
        try:
            cache.held("client")
            outcome.append(None)
        except BaseException as error:  # the error the guard turns into "no cache"
            outcome.append(error)

    os.kill(own_redis_server.process.pid, signal.SIGSTOP)  # a Redis frozen, its socket open
    try:
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        asking.join(20)
    finally:
        os.kill(own_redis_server.process.pid, signal.SIGCONT)
    assert outcome, "a Redis command waited on a frozen server for ever"
    assert outcome[0] is not None and "Timeout" in type(outcome[0]).__name__
    # A timeout of the user's own, in the URL, still wins.
    cache = RedisTokenCache(own_redis_server.url + "?socket_timeout=0.25")
    assert cache._client.connection_pool.connection_kwargs["socket_timeout"] == 0.25


def test_a_retry_after_of_zero_holds_nothing_and_says_nothing_of_a_hold(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    auth = fake_resharmonics.auth(timeout=1, cache=cache)
    key = auth.manager.fleet.key
    throttled_forever(fake_resharmonics, "0")  # "ask again now", said on every answer
    with pytest.raises(TokenRequestError) as caught:
        auth.valid_token()
    assert not isinstance(caught.value, TokenHeldError)
    assert fake_resharmonics.token_requests == 3  # retried at once, as asked
    assert not [record for record in caplog.records if "held until" in record.getMessage()]
    assert cache.held(key) is None and auth.manager.fleet.held() is None


def test_a_held_error_and_its_warning_never_carry_a_secret_left_in_the_token_url(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    fake = fake_resharmonics
    secret = fake.client_secret
    url = f"{fake.token_url}?client_secret={secret}"  # a careless copy of a token URL
    auth = ResharmonicsAuth(fake.client_id, secret, token_url=url, token_budget=(1, 60))
    auth.fetch_token()
    with pytest.raises(TokenHeldError) as caught:
        auth.fetch_token()
    assert secret not in str(caught.value) and "client_secret=***" in str(caught.value)
    throttled_forever(fake, "30")
    other = ResharmonicsAuth(fake.client_id, secret, token_url=url, scope="x", timeout=1)
    with pytest.raises(TokenHeldError) as caught:
        other.fetch_token()
    assert secret not in str(caught.value)
    warnings = [record.getMessage() for record in caplog.records]
    assert any("held until" in message for message in warnings)
    assert not [message for message in warnings if secret in message]
