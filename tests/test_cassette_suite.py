"""A user's suite of cassette tests, recorded in one run and replayed one test at a time.

Run the way a user runs it: a pytest subprocess with pytest-recording and vcrpy, the
plugin's fixtures and nothing of this project's conftest. Recording needs the fake; replaying
needs neither it, nor the network, nor credentials: the plugin hands the test dummies.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

pytest.importorskip("vcr")
pytest.importorskip("pytest_recording")

pytest_plugins = ("pytester",)

#: Five tests as a user writes them, one of them meeting a token expiry. Each records what it
#: got into $OUT/<test>.json, for the replay to be compared with.
SUITE = """
import datetime
import json
import os
from pathlib import Path

import pytest
import requests

from requests_resharmonics import ResharmonicsAuth, ResharmonicsSession

pytestmark = [
    pytest.mark.vcr,
    pytest.mark.fake_resharmonics(port={port}, seed=3, today=datetime.date(2026, 11, 28)),
]


def keep(request, value):
    Path(os.environ["OUT"], request.node.name + ".json").write_text(json.dumps(value))


def test_units(resharmonics_env, request):
    with ResharmonicsSession() as session:
        units = session.get("/api/v3/units", params={{"size": 3}}).json()["content"]
    keep(request, [unit["id"] for unit in units])
    if not resharmonics_env.replaying:
        assert resharmonics_env.token_requests == 1


def test_bookings(resharmonics_env, request):
    with ResharmonicsSession() as session:
        rows = session.get("/api/v3/bookings", params={{"size": 2}}).json()["content"]
    keep(request, [row["bookingReference"] for row in rows])
    if not resharmonics_env.replaying:
        assert resharmonics_env.token_requests == 1


def test_auth_object(fake_resharmonics, request):
    auth = ResharmonicsAuth(
        fake_resharmonics.client_id, fake_resharmonics.client_secret, fake_resharmonics.token_url
    )
    answer = requests.get(fake_resharmonics.base_url + "/api/v3/buildings", auth=auth, timeout=30)
    assert answer.status_code == 200
    assert answer.history == []  # no token of another test, so no 401 first
    keep(request, [building["id"] for building in answer.json()["content"]])


def test_token_expiry(resharmonics_env, request):
    with ResharmonicsSession() as session:
        first = session.get("/api/v3/units", params={{"size": 2}})
        resharmonics_env.expire_all_tokens()  # in replay, the cassette holds the 401
        second = session.get("/api/v3/units", params={{"size": 2}})
    assert first.status_code == second.status_code == 200
    assert [answer.status_code for answer in second.history] == [401]
    keep(request, [second.history[0].json(), [unit["id"] for unit in second.json()["content"]]])
    if not resharmonics_env.replaying:
        assert resharmonics_env.token_requests == 2


def test_client_secret_post(resharmonics_env, request):
    with ResharmonicsSession(client_auth="post") as session:
        stays = session.get("/api/v3/roomStays", params={{"size": 2}}).json()["content"]
    keep(request, [stay["roomStayId"] for stay in stays])
"""

NAMES = [
    "test_units",
    "test_bookings",
    "test_auth_object",
    "test_token_expiry",
    "test_client_secret_post",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def outputs(folder: Path) -> dict[str, object]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def test_a_suite_recorded_in_one_run_replays_one_test_at_a_time_offline(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    pytester.makepyfile(test_suite=SUITE.format(port=port))
    for name in ("CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL", "BASE_URL", "SCOPE", "ENVIRONMENT"):
        monkeypatch.delenv("RESHARMONICS_" + name, raising=False)
    recorded, replayed = tmp_path / "recorded", tmp_path / "replayed"
    recorded.mkdir()
    replayed.mkdir()
    strict = ("-p", "no:cacheprovider", "--strict-markers", "-W", "error")

    monkeypatch.setenv("OUT", str(recorded))
    pytester.runpytest_subprocess(*strict, "--record-mode=once").assert_outcomes(passed=5)
    cassettes = pytester.path / "cassettes" / "test_suite"
    token_requests = {
        path.stem: len(re.findall(r"uri: http://127\.0\.0\.1:\d+/oauth2/token", path.read_text()))
        for path in cassettes.glob("*.yaml")
    }
    # Every test fetched its own token, none inherited the previous test's.
    assert token_requests == {name: 2 if name == "test_token_expiry" else 1 for name in NAMES}

    # Replay: nothing listens on the port (it is held here, so no fake could start), the
    # network is blocked, and no credentials are set; one test per run.
    monkeypatch.setenv("OUT", str(replayed))
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the recording's
        holder.bind(("127.0.0.1", port))
        holder.listen()
        for name in NAMES:
            run = pytester.runpytest_subprocess(
                *strict, "--record-mode=none", "--block-network", "-k", name
            )
            run.assert_outcomes(passed=1, deselected=4)
        together = pytester.runpytest_subprocess(*strict, "--block-network")  # none: the default
        together.assert_outcomes(passed=5)
    assert outputs(replayed) == outputs(recorded)
    assert len(outputs(recorded)) == 5


#: Two tests with the same fixed port and secret: the second must not be sent the first's
#: token from the process's memory cache (it would get a 401 from its own fake).
ISOLATION = """
import pytest

from requests_resharmonics import ResharmonicsSession

pytestmark = pytest.mark.fake_resharmonics(port={port}, client_secret="the-same-secret")


@pytest.mark.parametrize("round", [1, 2, 3])
def test_each_starts_without_a_token(resharmonics_env, round):
    with ResharmonicsSession() as session:
        answer = session.get("/api/v3/units", params={{"size": 1}})
    assert answer.status_code == 200
    assert answer.history == []
    assert resharmonics_env.token_requests == 1
"""


def test_each_fixture_use_starts_with_no_token_from_another_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_isolation=ISOLATION.format(port=free_port()))
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error").assert_outcomes(passed=3)


def test_a_stopped_fake_takes_only_its_own_tokens_out_of_the_memory_cache() -> None:
    from requests_resharmonics.cache import MemoryTokenCache, cache_key
    from requests_resharmonics.testing import FakeResharmonics

    def cached(fake: FakeResharmonics) -> str | None:
        key = cache_key(fake.token_url, fake.client_id, fake.client_secret, None)
        return MemoryTokenCache().get(key)

    with FakeResharmonics() as running:
        running.auth().valid_token()
        with FakeResharmonics() as stopping:
            stopping.auth().valid_token()
            assert cached(stopping) is not None
            token_url, client_id = stopping.token_url, stopping.client_id
            secret = stopping.client_secret
        # Stopped: its client's key is empty, so a later fake with the same client, port and
        # secret does not inherit a dead token...
        key = cache_key(token_url, client_id, secret, None)
        assert MemoryTokenCache().get(key) is None
        # ...while the running fake's client still shares its token.
        assert cached(running) is not None
