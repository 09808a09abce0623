"""ResharmonicsSession: configuration, URLs, the token dict, and one renewal mechanism."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

from requests_resharmonics import (
    ConfigurationError,
    ConfigurationWarning,
    ResharmonicsAuth,
    ResharmonicsSession,
)
from requests_resharmonics.testing import FakeResharmonics


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "RESHARMONICS_CLIENT_ID",
        "RESHARMONICS_CLIENT_SECRET",
        "RESHARMONICS_TOKEN_URL",
        "RESHARMONICS_BASE_URL",
        "RESHARMONICS_SCOPE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_is_an_oauth2_session_with_a_backend_application_client(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session()
    assert isinstance(session, OAuth2Session)
    assert isinstance(session._client, BackendApplicationClient)
    assert isinstance(session.auth, ResharmonicsAuth)


def test_relative_urls_are_joined_to_the_base_url(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session(base_url=fake_resharmonics.base_url + "/")
    for path in ("/api/v3/bookings", "api/v3/bookings"):
        response = session.get(path, params={"size": 5})
        assert response.status_code == 200
        assert response.url.startswith(fake_resharmonics.base_url + "/api/v3/bookings?")
        assert len(response.json()["content"]) == 5
    absolute = fake_resharmonics.base_url + "/api/v3/units/1001"
    assert session.get(absolute).json()["id"] == 1001


def test_credentials_and_urls_from_the_environment(resharmonics_env: FakeResharmonics) -> None:
    session = ResharmonicsSession()
    assert session.base_url == resharmonics_env.base_url
    assert session.token_url == resharmonics_env.token_url
    assert session.get("/api/v3/units").status_code == 200


def test_environment_presets(monkeypatch: pytest.MonkeyPatch) -> None:
    production = ResharmonicsSession("id", "secret")
    assert production.base_url == "https://apiv3.rerumapp.uk"
    assert production.token_url == "https://auth.rerumapp.uk/oauth2/token"
    testing = ResharmonicsSession(
        "id", "secret", environment="testing", token_url="https://auth.example.com/oauth2/token"
    )
    assert testing.base_url == "https://apiv3.resharmonics-dev.com"
    monkeypatch.setenv("RESHARMONICS_BASE_URL", "https://proxy.example.com/resharmonics")
    # Production's token URL beside another API address is warned about (it is meant here).
    with pytest.warns(ConfigurationWarning, match="is not the production API"):
        proxied = ResharmonicsSession("id", "secret")
    assert proxied.base_url == "https://proxy.example.com/resharmonics"
    assert proxied.url_for("/api/v3/units") == (
        "https://proxy.example.com/resharmonics/api/v3/units"
    )


def test_testing_environment_needs_a_token_url() -> None:
    with pytest.raises(ConfigurationError, match="RESHARMONICS_TOKEN_URL"):
        ResharmonicsSession("id", "secret", environment="testing")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"environment": "staging"}, "unknown environment 'staging'"),
        ({"client_id": None}, "RESHARMONICS_CLIENT_ID"),
        ({"base_url": "apiv3.rerumapp.uk"}, "base URL"),
    ],
)
def test_bad_configuration_is_named(kwargs: dict[str, Any], words: str) -> None:
    arguments: dict[str, Any] = {"client_id": "id", "client_secret": "secret", **kwargs}
    with pytest.raises(ConfigurationError, match=words):
        ResharmonicsSession(**arguments)


def test_token_dict_and_fetch_token(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    assert session.token == {}
    authorized_before = session.authorized
    token = session.fetch_token()
    assert not authorized_before
    assert set(token) == {"access_token", "token_type", "expires_in", "expires_at"}
    assert token["token_type"] == "Bearer"
    assert 3590 <= token["expires_in"] <= 3600
    assert session.token == token
    assert session.access_token == token["access_token"]
    assert session.authorized
    assert session.fetch_token()["access_token"] != token["access_token"]
    assert fake_resharmonics.token_requests == 2


def test_fetch_token_refuses_other_credentials(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    with pytest.raises(ConfigurationError, match="create another session for another token"):
        session.fetch_token("https://elsewhere.example.com/token", client_secret="x")
    with pytest.raises(ConfigurationError, match="uses the session's own client id and secret"):
        session.fetch_token(client_secret="x")
    assert session.fetch_token(session.token_url)["access_token"]


def test_a_token_can_be_brought_in(fake_resharmonics: FakeResharmonics) -> None:
    donor = fake_resharmonics.session()
    donor.fetch_token()
    session = fake_resharmonics.session()
    session.token = donor.token
    assert session.get("/api/v3/units").status_code == 200
    assert fake_resharmonics.token_requests == 1


def test_session_renews_exactly_like_the_auth_object(
    fake_resharmonics: FakeResharmonics,
) -> None:
    session = fake_resharmonics.session()
    session.get("/api/v3/units")
    fake_resharmonics.expire_all_tokens()
    response = session.post("/api/v3/contacts", json={"firstName": "Ada", "lastName": "Byron"})
    assert response.status_code == 201
    assert [r.status_code for r in response.history] == [401]
    assert fake_resharmonics.token_requests == 2


def test_withhold_token(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session()
    response = session.get("/api/v3/units", withhold_token=True)
    assert response.status_code == 401
    assert fake_resharmonics.token_requests == 0


def test_context_manager_closes_token_connections(fake_resharmonics: FakeResharmonics) -> None:
    with fake_resharmonics.session() as session:
        session.get("/api/v3/units")
        endpoint = session._resharmonics_auth._manager.endpoint
        assert endpoint._session is not None
    assert endpoint._session is None


# -- 7. pickling and deepcopy --------------------------------------------------------------

DUPLICATES = [lambda obj: pickle.loads(pickle.dumps(obj)), copy.deepcopy]


@pytest.mark.parametrize(
    "duplicate",
    [lambda obj: pickle.loads(pickle.dumps(obj)), copy.deepcopy],
    ids=["pickle", "deepcopy"],
)
def test_session_survives_pickle_and_deepcopy(
    fake_resharmonics: FakeResharmonics, duplicate: Any
) -> None:
    session = fake_resharmonics.session()
    session.headers["X-Job"] = "nightly"
    session.get("/api/v3/units")
    clone = duplicate(session)
    assert clone.base_url == session.base_url
    assert clone.headers["X-Job"] == "nightly"
    assert clone.token["access_token"] == session.token["access_token"]
    assert clone.get("/api/v3/units").status_code == 200
    fake_resharmonics.expire_all_tokens()
    assert clone.get("/api/v3/units").status_code == 200
    assert clone.fetch_token()["access_token"]


@pytest.mark.parametrize(
    "duplicate",
    [lambda obj: pickle.loads(pickle.dumps(obj)), copy.deepcopy],
    ids=["pickle", "deepcopy"],
)
def test_auth_survives_pickle_and_deepcopy(
    fake_resharmonics: FakeResharmonics, duplicate: Any
) -> None:
    auth = fake_resharmonics.auth()
    requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth)
    clone = duplicate(auth)
    assert clone.token_url == auth.token_url
    assert clone.token is not None
    assert auth.token is not None
    assert clone.token.access_token == auth.token.access_token
    fake_resharmonics.expire_all_tokens()
    response = requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=clone)
    assert response.status_code == 200
    assert clone._manager._lock is not auth._manager._lock


SAVED: list[dict[str, Any]] = []


def save_token(token: dict[str, Any]) -> None:
    """A module-level token_updater, as README shows: picklable by reference."""
    SAVED.append(token)


def test_a_session_with_a_token_updater_pickles(fake_resharmonics: FakeResharmonics) -> None:
    session = fake_resharmonics.session(token_updater=save_token)
    clone = pickle.loads(pickle.dumps(session))
    SAVED.clear()
    assert clone.get("/api/v3/units").status_code == 200
    assert [saved["access_token"] for saved in SAVED] == [clone.access_token]
