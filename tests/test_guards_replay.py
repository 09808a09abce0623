"""Guards of the replay after a 401: rewinding, what counts as accepted, revoked replacements,
and the cap on the pause of renewals after a rejected replacement.

Each test here was seen to fail with one plausible one-line bug in the code it names (see
the docstrings), and to pass without it.
"""

from __future__ import annotations

import io
import time
import types

import pytest
import requests

from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

# The one private module of this file: the pause's clock is made to stand still in tests.
from requests_resharmonics._tokens import pauses  # isort: skip

from .conftest import StartHost

EXPIRED = {"message": "The incoming token has expired"}
UNAUTHORIZED = {"message": "Unauthorized"}
PAYLOAD = b"line one\n" * 2000 + b"the end"


class PauseClock:
    """The monotonic clock of the pauses after a rejected replacement, moved by the test
    only: no pause ends while the test looks, and a pause of minutes passes at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.monotonic()
        shim = types.SimpleNamespace(monotonic=lambda: self.now)
        monkeypatch.setattr(pauses, "time", shim)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bearer(incoming: Incoming) -> str:
    return incoming.headers.get("authorization", "").removeprefix("Bearer ")


@pytest.mark.parametrize("refusal", [EXPIRED, UNAUTHORIZED], ids=["expired", "unauthorized"])
def test_a_replacement_revoked_after_it_was_accepted_is_replaced_and_the_body_sent_whole(
    fake_resharmonics: FakeResharmonics, other_host: StartHost, refusal: dict[str, str]
) -> None:
    """A call goes out with the first token. Meanwhile another call of the client renews,
    is answered with the replacement (so the API accepted it), and the service then revokes
    that replacement. The first call meets the expiry 401, replays with the replacement
    (another call's renewal: no token request), meets a 401 again (the expiry message, or
    plain ``Unauthorized``), and, the replacement having been accepted before, replaces it
    once more: the third send is answered, and every send carries the whole file body.

    Mutants caught: the manager's ``replacement_rejected`` takes no proof of a revocation
    (``revoked = replacement.access_token in self._accepted`` -> ``revoked = False``): the
    call would get the 401 and renewals would pause; the conversation (``after_answer``)
    does not rewind the body before a second replay (``if again is None or not (yield
    Rewind()):`` -> ``if again is None:``): the third send would carry nothing.
    """
    auth = fake_resharmonics.auth()
    first = auth.valid_token()
    revoked: list[str] = []

    def api(incoming: Incoming) -> Answer:
        token = bearer(incoming)
        if token in revoked:
            return Answer(401, refusal)
        if token == first.access_token:
            # Meanwhile: another call renews, is answered, and the service revokes its token.
            replacement = auth.fetch_token()
            other = requests.get(f"{base}/units", auth=auth, timeout=30)
            assert other.status_code == 200
            assert other.request.headers["Authorization"] == "Bearer " + replacement.access_token
            revoked.append(replacement.access_token)
            return Answer(401, EXPIRED)
        return Answer(200, {"body": incoming.body.decode()})

    server = other_host(api)
    base = f"http://127.0.0.1:{server.port}/api/v3"
    response = requests.post(f"{base}/call", data=io.BytesIO(PAYLOAD), auth=auth, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"body": PAYLOAD.decode()}
    assert len(response.history) == 2
    sends = [incoming for incoming in server.seen if incoming.path.endswith("/call")]
    third = auth.token
    assert third is not None and third.access_token not in (first.access_token, *revoked)
    assert [bearer(s) for s in sends] == [first.access_token, revoked[0], third.access_token]
    assert [s.body for s in sends] == [PAYLOAD] * 3
    assert fake_resharmonics.token_requests == 3  # the first, the other call's, this call's
    assert not auth.manager.backing_off


@pytest.mark.parametrize("status", [403, 500, 503])
def test_an_answer_that_is_not_a_success_does_not_end_a_pause(
    fake_resharmonics: FakeResharmonics,
    other_host: StartHost,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
) -> None:
    """The API rejects every token with the expiry 401 (a gateway whose clock is off): the
    replacement is rejected too and renewals pause. A 403 or a 5xx answered to the
    replacement meanwhile says nothing about the token: the pause holds, and the next
    expiry 401 buys no token.

    Mutant caught: the conversation's ``note_answer`` notes any answer as the token accepted
    (``if 200 <= status < 400:`` -> ``if True:``): the 403 or 5xx would end
    the pause and count as proof that the replacement worked.
    """
    PauseClock(monkeypatch)

    def api(incoming: Incoming) -> Answer:
        if incoming.path == "/api/v3/other":
            return Answer(status, {"message": "not about the token"})
        return Answer(401, EXPIRED)

    server = other_host(api)
    base = f"http://127.0.0.1:{server.port}/api/v3"
    auth = fake_resharmonics.auth()
    auth.valid_token()
    assert requests.get(base + "/units", auth=auth, timeout=30).status_code == 401
    assert fake_resharmonics.token_requests == 2  # one replacement, rejected too: a pause
    assert auth.manager.backing_off
    replacement = auth.token
    assert replacement is not None
    assert requests.get(base + "/other", auth=auth, timeout=30).status_code == status
    assert auth.manager.backing_off
    assert requests.get(base + "/units", auth=auth, timeout=30).status_code == 401
    assert fake_resharmonics.token_requests == 2  # paused: no token for this 401
    assert auth.token is replacement
    assert [bearer(incoming) for incoming in server.seen][-1] == replacement.access_token


def test_the_pause_after_rejected_replacements_stops_growing_at_five_minutes(
    fake_resharmonics: FakeResharmonics, other_host: StartHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every replacement is rejected, for ten pauses in a row (1, 2, 4 ... 256 s, then
    512 s capped at 300 s): the last one ends after five minutes, and the next call renews.

    Mutant caught: the pauses' ``begin`` without its cap (``seconds = min(seconds,
    MAX_REJECTION_PAUSE)`` dropped): the tenth pause would last 512 s.
    """
    clock = PauseClock(monkeypatch)
    server = other_host(lambda incoming: Answer(401, EXPIRED))
    url = f"http://127.0.0.1:{server.port}/api/v3/units"
    auth = fake_resharmonics.auth()
    auth.valid_token()
    for pause in range(10):
        if pause:
            clock.advance(301)  # past every pause so far (256 s at most)
        assert requests.get(url, auth=auth, timeout=30).status_code == 401
        assert fake_resharmonics.token_requests == pause + 2  # a replacement each time
    clock.advance(299.5)  # the tenth pause, 300 s, still holds
    assert requests.get(url, auth=auth, timeout=30).status_code == 401
    assert fake_resharmonics.token_requests == 11
    clock.advance(1)  # it has ended
    assert requests.get(url, auth=auth, timeout=30).status_code == 401
    assert fake_resharmonics.token_requests == 12
