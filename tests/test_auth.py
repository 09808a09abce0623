"""ResharmonicsAuth: proactive renewal (2), reactive renewal and replay (3), configuration."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest
import requests

from requests_resharmonics import (
    ConfigurationError,
    InsecureTransportError,
    ResharmonicsAuth,
    TokenRequestError,
)
from requests_resharmonics._tokens.manager import MIN_REJECTION_PAUSE
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer, Incoming

from .conftest import FakeClock, StartHost, add_echo


@pytest.fixture
def fake(fake_resharmonics: FakeResharmonics) -> FakeResharmonics:
    return fake_resharmonics


def echo(fake: FakeResharmonics) -> str:
    return add_echo(fake)


# -- 2. proactive renewal ------------------------------------------------------------------


def test_first_call_fetches_and_later_calls_reuse(fake: FakeResharmonics) -> None:
    auth = fake.auth()
    assert auth.token is None
    for _ in range(5):
        assert requests.get(fake.base_url + "/api/v3/units", auth=auth).status_code == 200
    assert fake.token_requests == 1
    assert auth.token is not None


def test_hour_long_token_is_renewed_a_minute_before_expiry(
    fake: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake.auth(background_renewal=False)
    auth._manager.clock = clock
    first = auth.valid_token()
    clock.advance(3600 - 61)
    assert auth.valid_token() is first
    clock.advance(2)  # now inside the last minute
    second = auth.valid_token()
    assert second is not first
    assert fake.token_requests == 2


@pytest.mark.fake_resharmonics(token_lifetime=2)
def test_two_second_token_is_not_fetched_on_every_call(
    fake: FakeResharmonics, clock: FakeClock
) -> None:
    auth = fake.auth()
    auth._manager.clock = clock
    for _ in range(100):  # 100 calls over 10 s of clock time: 5 lifetimes
        requests.get(echo(fake), auth=auth).raise_for_status()
        clock.advance(0.1)
    assert 5 <= fake.token_requests <= 6


def test_leeway_is_configurable(fake: FakeResharmonics, clock: FakeClock) -> None:
    auth = fake.auth(leeway=5, background_renewal=False)
    auth._manager.clock = clock
    first = auth.valid_token()
    clock.advance(3600 - 6)
    assert auth.valid_token() is first
    clock.advance(2)
    assert auth.valid_token() is not first


# -- 3. reactive renewal -------------------------------------------------------------------


@pytest.mark.parametrize("expiry_style", ["message", "www-authenticate"])
def test_expiry_401_renews_once_and_replays(fake: FakeResharmonics, expiry_style: str) -> None:
    fake.expiry_style = expiry_style
    auth = fake.auth()
    requests.get(echo(fake), auth=auth)
    fake.expire_all_tokens()
    response = requests.get(echo(fake), auth=auth, params={"q": "1"})
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert response.json()["query"] == {"q": "1"}
    assert fake.token_requests == 2
    assert response.request.headers["Authorization"] == "Bearer " + fake.issued_tokens[-1]


@pytest.mark.fake_resharmonics(server_lifetime=0)
def test_never_more_than_one_replay(fake: FakeResharmonics) -> None:
    auth = fake.auth()
    response = requests.get(echo(fake), auth=auth)
    # Every token is already expired server-side: one replay, then the 401 is the answer.
    assert response.status_code == 401
    assert len(response.history) == 1
    assert fake.token_requests == 2
    assert fake.api_requests == 2


@pytest.mark.fake_resharmonics(server_lifetime=0)
def test_permanent_rejection_costs_a_few_tokens_not_two_per_call(
    fake: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    auth = fake.auth(background_renewal=False)
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    statuses = [requests.get(echo(fake), auth=auth).status_code for _ in range(20)]
    assert statuses == [401] * 20
    assert fake.token_requests <= 3  # it was 40: a fetch and a replay for every call
    assert sum("rejects new tokens" in r.getMessage() for r in caplog.records) == 1
    # The gateway is fixed: after the pause, service resumes by itself.
    fake.tokens.server_lifetime = None
    time.sleep(MIN_REJECTION_PAUSE + 0.1)
    assert requests.get(echo(fake), auth=auth).status_code == 200
    assert requests.get(echo(fake), auth=auth).status_code == 200
    assert sum("accepts tokens again" in r.getMessage() for r in caplog.records) == 1


def test_unknown_token_401_and_403_are_returned_untouched(
    fake: FakeResharmonics, other_host: StartHost
) -> None:
    auth = fake.auth()
    token = auth.valid_token()
    fake.revoke(token.access_token)
    response = requests.get(echo(fake), auth=auth)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.history == []
    forbidden = other_host(lambda incoming: Answer(403, {"message": "Forbidden"}))
    response = requests.get(f"http://127.0.0.1:{forbidden.port}/x", auth=auth)
    assert response.status_code == 403
    assert fake.token_requests == 1


def body_kinds() -> Iterator[tuple[str, dict[str, object], str]]:
    yield "bytes", {"data": b"\x00binary\xff"}, "\x00binary\ufffd"
    yield "str", {"data": "caf\u00e9 au lait"}, "caf\u00e9 au lait"
    yield "form", {"data": {"a": "1", "b": "two"}}, "a=1&b=two"
    yield (
        "json",
        {"json": {"booking": 7, "notes": ["x"]}},
        json.dumps({"booking": 7, "notes": ["x"]}),
    )


@pytest.mark.parametrize(("kind", "send", "expected"), list(body_kinds()))
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_bodies_are_replayed_identically(
    fake: FakeResharmonics, kind: str, send: dict[str, object], expected: str, method: str
) -> None:
    auth = fake.auth()
    auth.valid_token()
    fake.expire_all_tokens()
    response = requests.request(method, echo(fake), auth=auth, **send)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert len(response.history) == 1
    bodies = [seen.body for seen in fake.requests if seen.path == "/api/v3/echo"]
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    # requests before 2.32 sends a str body as Latin-1, later ones as UTF-8: either way the
    # replay carries exactly the bytes first sent.
    assert response.json()["body"] in (expected, bodies[0].decode("utf-8", "replace"))


def test_seekable_file_is_rewound(fake: FakeResharmonics) -> None:
    auth = fake.auth()
    auth.valid_token()
    fake.expire_all_tokens()
    upload = io.BytesIO(b"header-to-skip|payload")
    upload.seek(len(b"header-to-skip|"))
    response = requests.post(echo(fake), data=upload, auth=auth)
    assert response.status_code == 200
    assert response.json()["body"] == "payload"
    assert [seen.body for seen in fake.requests if seen.path == "/api/v3/echo"] == [
        b"payload",
        b"payload",
    ]


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("unseekable")


@pytest.mark.parametrize(
    "make_body",
    [
        lambda: (chunk for chunk in [b"one,", b"two"]),
        lambda: Unseekable(b"one,two"),
    ],
    ids=["generator", "unseekable-stream"],
)
def test_unreplayable_body_is_not_sent_again(fake: FakeResharmonics, make_body: object) -> None:
    auth = fake.auth()
    first = auth.valid_token()
    fake.expire_all_tokens()
    response = requests.post(echo(fake), data=make_body(), auth=auth)  # type: ignore[operator]
    assert response.status_code == 401
    assert response.history == []
    assert fake.api_requests == 1
    # The rejected token is dropped: the next call fetches a fresh one and succeeds.
    assert requests.get(echo(fake), auth=auth).status_code == 200
    assert auth.token is not None and auth.token is not first
    assert fake.token_requests == 2


def test_cookies_set_by_the_401_are_sent_on_the_replay(
    fake: FakeResharmonics, other_host: StartHost
) -> None:
    auth = fake.auth()
    token_seen: list[str] = []

    def expire_then_ok(incoming: Incoming) -> Answer:
        token_seen.append(incoming.headers.get("authorization", ""))
        if len(token_seen) == 1:
            return Answer(
                401,
                {"message": "The incoming token has expired"},
                {"Set-Cookie": "AWSALB=sticky; Path=/"},
            )
        return Answer(200, {"cookie": incoming.headers.get("cookie")})

    api = other_host(expire_then_ok)
    response = requests.get(f"http://127.0.0.1:{api.port}/api", auth=auth)
    assert response.json() == {"cookie": "AWSALB=sticky"}
    assert token_seen[0] != token_seen[1]


def test_token_request_failure_during_renewal_is_one_clear_error(
    fake: FakeResharmonics,
) -> None:
    auth = fake.auth(token_retries=0)
    auth.valid_token()
    fake.expire_all_tokens()
    fake.fail_token_requests("invalid_client")
    with pytest.raises(TokenRequestError, match="invalid_client"):
        requests.get(echo(fake), auth=auth)


# -- security: hosts and transport ---------------------------------------------------------


def test_redirect_to_another_host_never_carries_the_token(
    fake: FakeResharmonics, other_host: StartHost
) -> None:
    target = other_host(lambda incoming: Answer(200, {"ok": True}))
    redirect = other_host(
        lambda incoming: Answer(302, b"", {"Location": f"http://localhost:{target.port}/file"})
    )
    response = requests.get(f"http://127.0.0.1:{redirect.port}/download", auth=fake.auth())
    assert response.status_code == 200
    assert "authorization" in redirect.seen[0].headers
    assert "authorization" not in target.seen[0].headers


def test_expiry_401_after_a_cross_host_redirect_is_not_answered_with_a_token(
    fake: FakeResharmonics, other_host: StartHost
) -> None:
    target = other_host(lambda incoming: Answer(401, {"message": "The incoming token has expired"}))
    redirect = other_host(
        lambda incoming: Answer(302, b"", {"Location": f"http://localhost:{target.port}/file"})
    )
    response = requests.get(f"http://127.0.0.1:{redirect.port}/download", auth=fake.auth())
    assert response.status_code == 401
    assert len(target.seen) == 1
    assert "authorization" not in target.seen[0].headers
    assert fake.token_requests == 1


def test_allowed_hosts_limits_where_the_token_goes(
    fake: FakeResharmonics, other_host: StartHost
) -> None:
    other = other_host(lambda incoming: Answer(200, {}))
    auth = fake.auth(allowed_hosts=["127.0.0.1"])
    requests.get(f"http://localhost:{other.port}/x", auth=auth)
    assert "authorization" not in other.seen[0].headers
    assert fake.token_requests == 0
    requests.get(f"http://127.0.0.1:{other.port}/x", auth=auth)
    assert "authorization" in other.seen[1].headers


def test_plain_http_to_a_remote_host_is_refused_before_sending(
    fake: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    with pytest.raises(InsecureTransportError, match=r"api\.example\.com"):
        requests.get("http://api.example.com/api/v3/bookings", auth=fake.auth())
    assert fake.token_requests == 0


@pytest.mark.parametrize(
    "url",
    ["http://auth.example.com/oauth2/token", "ftp://auth.example.com/t", "not a url", "/oauth2"],
)
def test_token_url_must_be_https_before_any_traffic(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    with pytest.raises(ConfigurationError, match="token URL"):
        ResharmonicsAuth("id", "secret", url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/oauth2/token",
        "http://127.0.0.5/oauth2/token",
        "http://[::1]:9000/oauth2/token",
        "https://auth.example.com/oauth2/token",
    ],
)
def test_https_or_loopback_token_urls_are_accepted(url: str) -> None:
    assert ResharmonicsAuth("id", "secret", url).token_url == url


def test_insecure_transport_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    url = "http://auth.internal/oauth2/token"
    assert ResharmonicsAuth("id", "secret", url).token_url == url


# -- configuration -------------------------------------------------------------------------


def test_token_url_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RESHARMONICS_TOKEN_URL", raising=False)
    assert ResharmonicsAuth("id", "secret").token_url == "https://auth.rerumapp.uk/oauth2/token"
    monkeypatch.setenv("RESHARMONICS_TOKEN_URL", "https://auth.example.com/oauth2/token")
    assert ResharmonicsAuth("id", "secret").token_url == "https://auth.example.com/oauth2/token"


def test_from_env(resharmonics_env: FakeResharmonics, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESHARMONICS_SCOPE", "api/read")
    auth = ResharmonicsAuth.from_env()
    assert auth.token_url == resharmonics_env.token_url
    assert auth.scope == "api/read"
    assert auth.fetch_token().scope == "api/read"


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (["RESHARMONICS_CLIENT_ID"], "RESHARMONICS_CLIENT_ID"),
        (["RESHARMONICS_CLIENT_SECRET"], "RESHARMONICS_CLIENT_SECRET"),
        (
            ["RESHARMONICS_CLIENT_ID", "RESHARMONICS_CLIENT_SECRET"],
            "RESHARMONICS_CLIENT_ID and RESHARMONICS_CLIENT_SECRET",
        ),
    ],
)
def test_from_env_names_what_is_missing(
    resharmonics_env: FakeResharmonics,
    monkeypatch: pytest.MonkeyPatch,
    unset: list[str],
    named: str,
) -> None:
    for name in unset:
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError, match=named):
        ResharmonicsAuth.from_env()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"client_id": ""}, "client id"),
        ({"client_secret": None}, "client secret"),
        ({"client_auth": "jwt"}, "client_auth"),
        ({"timeout": 0}, "timeout"),
        ({"token_retries": -1}, "token_retries"),
        ({"leeway": -1}, "leeway"),
        ({"scope": 42}, "scope"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], words: str) -> None:
    arguments: dict[str, object] = {"client_id": "id", "client_secret": "secret", **kwargs}
    with pytest.raises(ConfigurationError, match=words):
        ResharmonicsAuth(**arguments)  # type: ignore[arg-type]


def test_prompt_asks_for_missing_credentials_only_when_interactive(
    resharmonics_env: FakeResharmonics, monkeypatch: pytest.MonkeyPatch
) -> None:
    from requests_resharmonics import _credentials as auth_module

    secret = resharmonics_env.client_secret
    monkeypatch.delenv("RESHARMONICS_CLIENT_SECRET")
    asked: list[str] = []

    def fake_getpass(prompt: str) -> str:
        asked.append(prompt)
        return secret

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    monkeypatch.setattr(auth_module, "_interactive", lambda: False)
    with pytest.raises(ConfigurationError, match="RESHARMONICS_CLIENT_SECRET"):
        ResharmonicsAuth.from_env(prompt=True)
    monkeypatch.setattr(auth_module, "_interactive", lambda: True)
    with pytest.raises(ConfigurationError):
        ResharmonicsAuth.from_env()  # prompting is opt-in
    auth = ResharmonicsAuth.from_env(prompt=True)
    assert asked == ["Res:Harmonics client secret: "]
    assert auth.fetch_token().access_token in resharmonics_env.issued_tokens
