"""requests-oauthlib's own OAuth2Session tests, client-credentials cases, against our session.

Each test below re-expresses one test of requests-oauthlib 2.0's
``tests/test_oauth2_session.py`` (named in its docstring, ``upstream:``) for
`ResharmonicsSession`, against the fake server instead of a mocked ``send``: a mock of
``send`` does not see our token requests, which go through connections of their own (that
is the first difference, tested here too). Where the session behaves differently on
purpose, the test says ``Difference:`` and why; docs/coming-from-requests-oauthlib.rst
lists the same differences for users. The upstream cases of other grants (authorization
URLs, PKCE, fragments, the web-application state check, the legacy password grant) are
checked only for their refusal in words.
"""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from oauthlib.oauth2 import (
    BackendApplicationClient,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error
from requests_oauthlib import OAuth2Session

from requests_resharmonics import ConfigurationError, ResharmonicsSession, TokenRequestError
from requests_resharmonics.errors import InvalidClientTokenError
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import StartHost


@pytest.fixture
def fake(fake_resharmonics: FakeResharmonics) -> FakeResharmonics:
    return fake_resharmonics


def token_bodies(fake: FakeResharmonics) -> list[str]:
    return [r.body.decode() for r in fake.requests if r.path == "/oauth2/token"]


# -- OAuth2SessionTest -------------------------------------------------------------------------


def test_add_token(fake: FakeResharmonics) -> None:
    """upstream: test_add_token. A session given a token sends it as a Bearer header."""
    issued = fake.tokens.issue()
    session = fake.session(token={"access_token": issued, "token_type": "Bearer"})
    assert session.get("/api/v3/units").status_code == 200
    assert [r.token for r in fake.requests] == [issued]
    assert fake.token_requests == 0


def test_a_mock_of_send_does_not_see_token_requests(fake: FakeResharmonics) -> None:
    """upstream: every test that replaces ``sess.send``.

    Difference: token requests go through the session's own token connections, not through
    ``session.send``, so a mock of ``send`` sees the API calls only (and the token request
    reaches the real endpoint: here the fake). requests-mock, which patches the transport
    adapters, sees both.
    """
    session = fake.session()
    real_send = session.send
    sent: list[str] = []

    def verifier(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        sent.append(request.url or "")
        assert request.headers["Authorization"].startswith("Bearer ")
        response: requests.Response = real_send(request, **kwargs)
        return response

    session.send = verifier
    assert session.get("/api/v3/units").status_code == 200
    assert sent == [fake.base_url + "/api/v3/units"]
    assert fake.token_requests == 1


def test_mtls(fake: FakeResharmonics) -> None:
    """upstream: test_mtls (``fetch_token(url, include_client_id=True, cert=cert)``).

    Difference: ``cert=`` is refused (no mutual TLS for token requests). The other half,
    ``include_client_id=True``, is what ``client_auth="post"`` does: taken by such a
    session, and refused by a Basic one with the alternative named.
    """
    cert = ("client.pem", "client-key.pem")
    post = fake.session(client_auth="post")
    with pytest.raises(ConfigurationError, match=r"cert=: client certificates \(mutual TLS\)"):
        post.fetch_token(fake.token_url, include_client_id=True, cert=cert)
    post.fetch_token(fake.token_url, include_client_id=True)
    assert f"client_id={fake.client_id}" in token_bodies(fake)[-1]
    assert fake.requests[-1].client_auth == "post"

    basic = fake.session()
    with pytest.raises(ConfigurationError, match="client_auth='post'"):
        basic.fetch_token(fake.token_url, include_client_id=True)


def test_refresh_token_request(fake: FakeResharmonics) -> None:
    """upstream: test_refresh_token_request.

    Difference: an expired token is renewed from the token URL without being asked, so no
    ``TokenExpiredError`` and no ``TokenUpdated`` are raised, and ``auto_refresh_url`` is
    refused (it has nothing to do); ``token_updater`` is called with the new token, as there.
    """
    expired = {"access_token": "asdfoiw37850234lkjsdfsdf", "token_type": "Bearer"}
    expired["expires_at"] = time.time() - 10  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match="auto_refresh_url: tokens are renewed"):
        fake.session(token=expired, auto_refresh_url=fake.token_url)

    updates: list[dict[str, Any]] = []
    session = fake.session(token=expired, token_updater=updates.append)
    assert session.get("/api/v3/units").status_code == 200
    assert [update["access_token"] for update in updates] == [fake.issued_tokens[0]]
    assert updates[0]["expires_in"] == 3600
    assert fake.token_requests == 1
    # Difference: request(client_id=..., client_secret=...) only served auto_refresh_url.
    with pytest.raises(TypeError):
        session.get("/api/v3/units", client_id=fake.client_id)


def test_fetch_token(fake: FakeResharmonics) -> None:
    """upstream: test_fetch_token, the BackendApplicationClient cases and scenarios 1 to 5."""
    session = fake.session()
    token = session.fetch_token(fake.token_url)
    assert token == session.token
    assert token["access_token"] == fake.issued_tokens[-1]

    # Scenario 1: by default the credentials go in a Basic header, not in the body.
    session.fetch_token(fake.token_url, client_secret=fake.client_secret)
    body = token_bodies(fake)[-1]
    assert "client_id" not in body and "client_secret" not in body
    assert fake.requests[-1].client_auth == "basic"
    # Scenario 2: include_client_id=True is client_auth="post" (see test_mtls).
    # Scenario 3: an auth object with the session's own credentials is what it does anyway.
    basic = requests.auth.HTTPBasicAuth(fake.client_id, fake.client_secret)
    assert session.fetch_token(fake.token_url, auth=basic)["access_token"]
    assert fake.requests[-1].client_auth == "basic"
    # Difference: other credentials need another session.
    other = requests.auth.HTTPBasicAuth(fake.client_id, "another-secret")
    with pytest.raises(ConfigurationError, match="own client id and secret"):
        session.fetch_token(fake.token_url, auth=other)
    # Scenario 4: username and password belong to the legacy (password) grant.
    with pytest.raises(ConfigurationError, match="username=: it belongs to another grant"):
        session.fetch_token(fake.token_url, username="user_username", password="x")
    # Scenario 5: force_querystring=True would send the form in the URL.
    with pytest.raises(ConfigurationError, match="force_querystring=: the token request is"):
        session.fetch_token(fake.token_url, force_querystring=True)
    assert session.fetch_token(fake.token_url, force_querystring=False)["access_token"]
    # Scenarios 2b and 2c: client_secret=None is "not given"; "" is another secret.
    assert session.fetch_token(fake.token_url, client_secret=None)["access_token"]
    with pytest.raises(ConfigurationError, match="own client id and secret"):
        session.fetch_token(fake.token_url, client_secret="")


def test_fetch_token_errors_are_oauthlib_errors(other_host: StartHost) -> None:
    """upstream: test_fetch_token's ``{"error": "invalid_request"}`` case: an OAuth2Error."""
    codes = iter(["invalid_request", "slow_down"])

    def refuse(incoming: Incoming) -> Answer:
        return Answer(400, {"error": next(codes), "error_description": "no"})

    host = other_host(refuse)
    url = f"http://127.0.0.1:{host.port}/oauth2/token"
    session = ResharmonicsSession("someclientid", "someclientsecret", url, base_url=url)
    with pytest.raises(InvalidRequestError) as invalid:
        session.fetch_token(url)
    assert isinstance(invalid.value, TokenRequestError)
    assert (invalid.value.error, invalid.value.status_code) == ("invalid_request", 400)
    # An unknown code is oauthlib's CustomOAuth2Error, as oauthlib's raise_from_error makes it.
    with pytest.raises(CustomOAuth2Error) as custom:
        session.fetch_token(url)
    assert isinstance(custom.value, OAuth2Error) and custom.value.error == "slow_down"
    session.close()


def test_cleans_previous_token_before_fetching_new_one(fake: FakeResharmonics) -> None:
    """upstream: test_cleans_previous_token_before_fetching_new_one."""
    past = {"access_token": "old", "token_type": "Bearer", "expires_at": time.time() - 7200}
    session = fake.session(token=past)
    new = session.fetch_token(fake.token_url)
    assert new["access_token"] == fake.issued_tokens[-1]
    assert new["expires_in"] == 3600


@pytest.mark.parametrize("method", ["authorization_url", "token_from_fragment"])
def test_authorization_url_and_token_from_fragment(fake: FakeResharmonics, method: str) -> None:
    """upstream: test_authorization_url, test_pkce_authorization_url, test_token_from_fragment.

    Difference: these belong to grants with an authorization step: refused in words.
    """
    with pytest.raises(ConfigurationError, match="has no authorization step"):
        getattr(fake.session(), method)("https://i.b/callback")


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("state", "no authorization step"),
        ("pkce", "PKCE protects the authorization-code grant"),
        ("client", "pass client_id= and client_secret= instead"),
    ],
)
def test_web_app_and_pkce_arguments(fake: FakeResharmonics, argument: str, words: str) -> None:
    """upstream: test_web_app_fetch_token, test_pkce_web_app_fetch_token, the client= setUp.

    Difference: refused, naming the alternative.
    """
    value = BackendApplicationClient("someclientid") if argument == "client" else "S256"
    with pytest.raises(ConfigurationError, match=words):
        fake.session(**{argument: value})


def test_client_id_proxy(fake: FakeResharmonics) -> None:
    """upstream: test_client_id_proxy.

    Difference: the client id is fixed when the session is created (its secret and cached
    tokens belong to it), so assigning or deleting it is refused, naming the alternative.
    """
    session = fake.session()
    assert session.client_id == fake.client_id
    with pytest.raises(ConfigurationError, match=r"create another ResharmonicsSession\(client_id"):
        session.client_id = "different-id"
    with pytest.raises(ConfigurationError, match="fixed when it is created"):
        del session.client_id
    assert session.client_id == fake.client_id


def test_access_token_proxy(fake: FakeResharmonics) -> None:
    """upstream: test_access_token_proxy."""
    session = fake.session()
    assert session.access_token is None
    issued = fake.tokens.issue()
    session.access_token = issued
    assert session.access_token == issued
    assert session.get("/api/v3/units").status_code == 200
    assert fake.requests[-1].token == issued and fake.token_requests == 0
    del session.access_token
    assert access_token_of(session) is None
    assert session.get("/api/v3/units").status_code == 200  # fetches its own
    assert fake.token_requests == 1
    assert session.access_token == fake.issued_tokens[-1]


def access_token_of(session: ResharmonicsSession) -> str | None:
    return session.access_token  # a function: mypy would keep the value it last saw


def test_token_proxy(fake: FakeResharmonics) -> None:
    """upstream: test_token_proxy.

    Difference: ``session.token`` is the token as the session holds it, so it also says
    ``token_type`` (and ``expires_in``/``expires_at`` when the expiry is known).
    """
    token = {"access_token": "test-access"}
    session = fake.session(token=token)
    assert session.access_token == "test-access"
    assert session.token == {**token, "token_type": "Bearer"}
    token["access_token"] = "something-else"
    session.token = token
    assert session.access_token == "something-else"
    with pytest.raises(AttributeError):
        del session.token


def test_authorized_false(fake: FakeResharmonics) -> None:
    """upstream: test_authorized_false."""
    assert not fake.session().authorized


def test_authorized_true(fake: FakeResharmonics) -> None:
    """upstream: test_authorized_true."""
    session = fake.session()
    assert not session.authorized
    session.fetch_token(fake.token_url)
    assert session.authorized


# -- OAuth2SessionNetrcTest ----------------------------------------------------------------


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_no_magic_netrc_auth(
    fake: FakeResharmonics, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client_auth: str
) -> None:
    """upstream: OAuth2SessionNetrcTest (every test again, with a ~/.netrc for the host).

    A netrc entry replaces neither the bearer token on API calls nor the client's own
    credentials on token requests, whichever way the client authenticates.
    """
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1\n  login spam@eggs.co\n  password abc123\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    session = fake.session(client_auth=client_auth)
    assert session.get("/api/v3/units").status_code == 200
    token_request, api_call = fake.requests
    assert (token_request.status, token_request.client_auth) == (200, client_auth)
    assert api_call.token == fake.issued_tokens[-1]


# -- The rest of OAuth2Session's surface, as migrating users meet it ----------------------------


def test_token_errors_are_oauthlib_errors_and_token_request_errors(
    fake: FakeResharmonics,
) -> None:
    """``except InvalidClientError:`` catches a wrong secret, as with requests-oauthlib."""
    session = fake.session(client_secret="not-the-secret-4c1e")
    with pytest.raises(InvalidClientError) as caught:
        session.fetch_token()
    error: Any = caught.value  # oauthlib's classes are untyped
    as_json: str = caught.value.json  # oauthlib's rendering of the error, as a service would
    assert isinstance(error, TokenRequestError) and isinstance(error, requests.RequestException)
    assert (error.error, error.status_code, error.retryable) == ("invalid_client", 400, False)
    assert json.loads(as_json) == {"error": "invalid_client"}
    assert "not-the-secret-4c1e" not in str(error) + repr(error) + as_json
    assert "not-the-secret-4c1e" not in repr(vars(error))
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InvalidClientTokenError
    assert (str(copy), copy.error, copy.status_code) == (str(error), "invalid_client", 400)


def test_an_unknown_scope_is_oauthlibs_invalid_scope(fake: FakeResharmonics) -> None:
    with pytest.raises(InvalidScopeError):
        fake.session(scope="admin").get("/api/v3/units")


def test_scope_is_fixed_when_the_session_is_created(fake: FakeResharmonics) -> None:
    session = fake.session(scope="api/read")
    assert session.scope == "api/read"
    session.scope = ["api/read"]  # the same words: nothing to change
    with pytest.raises(ConfigurationError, match=r"ResharmonicsSession\(scope=\.\.\.\)"):
        session.scope = "api/write"
    with pytest.raises(ConfigurationError, match="asks for the session's scope"):
        session.fetch_token(scope="api/write")
    assert session.fetch_token(scope="api/read")["access_token"]


def test_refresh_token_names_itself_and_takes_no_refresh_token(fake: FakeResharmonics) -> None:
    session = fake.session()
    with pytest.raises(ConfigurationError) as caught:
        session.refresh_token(fake.token_url, extra="x")
    assert "ResharmonicsSession.refresh_token() does not take extra=" in str(caught.value)
    assert "fetch_token" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="client credentials have no refresh token"):
        session.refresh_token(fake.token_url, refresh_token="sldvafkjw34509s8dfsdf")
    assert session.refresh_token(fake.token_url)["access_token"] == fake.issued_tokens[-1]


@pytest.mark.parametrize(
    ("argument", "value", "words"),
    [
        ("timeout", 5, r"ResharmonicsSession\(timeout=\.\.\.\)"),
        ("verify", False, "REQUESTS_CA_BUNDLE"),
        ("proxies", {"https": "http://proxy:3128"}, "HTTPS_PROXY"),
        ("headers", {"X": "1"}, "the session's own headers"),
        ("audience", "api", r"audience=: the session's token request carries only"),
    ],
)
def test_per_call_token_settings_are_refused_naming_where_they_live(
    fake: FakeResharmonics, argument: str, value: object, words: str
) -> None:
    with pytest.raises(ConfigurationError, match=words):
        fake.session().fetch_token(fake.token_url, **{argument: value})
    assert fake.token_requests == 0


def test_expires_in_is_whole_straight_after_the_fetch(fake: FakeResharmonics) -> None:
    session = fake.session()
    assert session.fetch_token()["expires_in"] == 3600
    assert session.token["expires_in"] == 3600


# -- Compliance hooks --------------------------------------------------------------------------


def test_access_token_response_hooks_run_on_every_token_answer(fake: FakeResharmonics) -> None:
    seen: list[tuple[int, str | None]] = []

    def shorten(response: requests.Response) -> requests.Response:
        seen.append((response.status_code, response.headers.get("Content-Type")))
        assert getattr(response, "request", None) is None  # it held the credentials
        token = response.json()
        token["expires_in"] = 600  # what the hook says is what is read
        response._content = json.dumps(token).encode()
        return response

    session = fake.session()
    session.register_compliance_hook("access_token_response", shorten)
    assert session.get("/api/v3/units").status_code == 200
    assert 595 <= session.token["expires_in"] <= 600
    fake.expire_all_tokens()
    assert session.get("/api/v3/units").history[0].status_code == 401  # renewed meanwhile
    assert [status for status, _ in seen] == [200, 200]
    assert seen[0][1] is not None and seen[0][1].startswith("application/json")


def test_an_access_token_response_hook_that_returns_no_response_is_named(
    fake: FakeResharmonics,
) -> None:
    def forgetful(response: requests.Response) -> None:
        return None

    session = fake.session()
    session.compliance_hook["access_token_response"].add(forgetful)  # as upstream code does
    with pytest.raises(TokenRequestError, match=r"hook .*forgetful returned NoneType"):
        session.fetch_token()


def test_an_exception_of_a_hook_comes_out_as_it_was(fake: FakeResharmonics) -> None:
    def broken(response: requests.Response) -> requests.Response:
        raise KeyError("expires")

    session = fake.session()
    session.register_compliance_hook("access_token_response", broken)
    with pytest.raises(KeyError, match="expires"):
        session.fetch_token()


def test_protected_request_hooks_run_before_each_call_that_carries_the_token(
    fake: FakeResharmonics,
) -> None:
    calls: list[str] = []

    def tag(url: str, headers: Any, data: Any) -> tuple[str, Any, Any]:
        calls.append(url)
        return url, {**(headers or {}), "X-Tenant": "north"}, data

    session = fake.session()
    session.register_compliance_hook("protected_request", tag)
    assert session.get("/api/v3/units", headers={"Accept": "application/json"}).ok
    assert fake.requests[-1].headers["x-tenant"] == "north"
    assert fake.requests[-1].headers["accept"] == "application/json"
    assert calls == [fake.base_url + "/api/v3/units"]
    session.get("/v3/api-docs", withhold_token=True)
    assert len(calls) == 1  # no token, no hook: as OAuth2Session.request does it


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("refresh_token_response", "register the hook there"),
        ("refresh_token_request", "client credentials have no refresh token"),
        ("access_token_request", "choose client_auth= and scope="),
        ("token_response", "unknown compliance hook type 'token_response'"),
    ],
)
def test_hooks_the_session_cannot_run_are_refused_in_words(
    fake: FakeResharmonics, kind: str, words: str
) -> None:
    session = fake.session()
    with pytest.raises(ConfigurationError, match=words):
        session.register_compliance_hook(kind, lambda *args: args)
    with pytest.raises(ValueError, match=words):  # as OAuth2Session raises for unknown kinds
        session.compliance_hook[kind].add(lambda *args: args)


def test_the_session_is_still_an_oauth2_session_that_pickles_with_its_hooks(
    fake: FakeResharmonics,
) -> None:
    session = fake.session()
    session.register_compliance_hook("protected_request", _keep)
    assert isinstance(session, OAuth2Session)
    clone = pickle.loads(pickle.dumps(session))
    assert clone.compliance_hook["protected_request"] == {_keep}
    assert clone.get("/api/v3/units").status_code == 200


def _keep(url: str, headers: Any, data: Any) -> tuple[str, Any, Any]:
    return url, headers, data


def test_a_refused_request_with_mock_patching_still_names_the_alternative() -> None:
    """A fetch_token call copied from requests-oauthlib's docs is refused before any I/O."""
    with mock.patch("requests.Session.send", side_effect=AssertionError("no I/O expected")):
        session = ResharmonicsSession(
            "someclientid", "someclientsecret", "https://auth.example.com/oauth2/token",
            base_url="https://api.example.com",
        )  # fmt: skip
        with pytest.raises(ConfigurationError, match="another grant"):
            session.fetch_token("https://auth.example.com/oauth2/token", code="asdf345xdf")
