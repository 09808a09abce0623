"""What a new user meets first: configuration, OAuth2Session's arguments, timeouts, caches."""

from __future__ import annotations

import builtins
import getpass
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from requests_resharmonics import (
    ConfigurationError,
    FileTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    ResharmonicsSession,
)
from requests_resharmonics import _credentials as auth_module
from requests_resharmonics.testing import FakeResharmonics

from .test_cli import run

TESTING_TOKEN_URL = "https://auth.testing.example.com/oauth2/token"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("RESHARMONICS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RESHARMONICS_CLIENT_ID", "id")
    monkeypatch.setenv("RESHARMONICS_CLIENT_SECRET", "secret")
    return monkeypatch


# -- 1. RESHARMONICS_ENVIRONMENT ------------------------------------------------------------


def test_the_environment_variable_chooses_the_testing_api(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RESHARMONICS_ENVIRONMENT", "testing")
    clean_env.setenv("RESHARMONICS_TOKEN_URL", TESTING_TOKEN_URL)
    session = ResharmonicsSession()
    assert session.base_url == "https://apiv3.resharmonics-dev.com"
    assert session.token_url == TESTING_TOKEN_URL
    clean_env.setenv("RESHARMONICS_ENVIRONMENT", " Testing ")
    assert ResharmonicsSession().base_url == "https://apiv3.resharmonics-dev.com"


def test_testing_without_its_token_url_is_an_error_not_production(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("RESHARMONICS_ENVIRONMENT", "testing")
    for build in (ResharmonicsSession, lambda: ResharmonicsAuth("id", "secret")):
        with pytest.raises(ConfigurationError, match="RESHARMONICS_TOKEN_URL"):
            build()


@pytest.mark.parametrize("where", ["variable", "argument"])
def test_a_misspelt_environment_is_named(clean_env: pytest.MonkeyPatch, where: str) -> None:
    builds: list[Callable[[], object]]
    if where == "variable":
        clean_env.setenv("RESHARMONICS_ENVIRONMENT", "prodution")
        builds = [ResharmonicsSession, lambda: ResharmonicsAuth("id", "secret")]
    else:
        builds = [
            lambda: ResharmonicsSession(environment="prodution"),
            lambda: ResharmonicsAuth("id", "secret", environment="prodution"),
        ]
    for build in builds:
        with pytest.raises(ConfigurationError, match="'prodution'"):
            build()


def test_the_command_line_reads_the_environment_the_same_way() -> None:
    result = run("token", env={"RESHARMONICS_CLIENT_ID": "i", "RESHARMONICS_CLIENT_SECRET": "s",
                               "RESHARMONICS_ENVIRONMENT": "prodution"})  # fmt: skip
    assert result.returncode == 2
    assert "'prodution'" in result.stderr
    assert "Traceback" not in result.stderr


# -- 2 and 3. OAuth2Session's arguments and the constructor -------------------------------


def test_a_saved_token_is_used_without_a_token_request(
    fake_resharmonics: FakeResharmonics,
) -> None:
    saved = {"access_token": fake_resharmonics.tokens.issue(), "expires_in": 3600}
    session = fake_resharmonics.session(token=saved)
    assert session.get("/api/v3/units").status_code == 200
    assert fake_resharmonics.token_requests == 0
    assert fake_resharmonics.requests[-1].token == saved["access_token"]
    with pytest.raises(ConfigurationError, match="token must be a dict"):
        fake_resharmonics.session(token="abc")


def test_token_updater_hears_of_every_new_token(fake_resharmonics: FakeResharmonics) -> None:
    updates: list[dict[str, Any]] = []
    session = fake_resharmonics.session(token_updater=updates.append)
    session.get("/api/v3/units")
    session.get("/api/v3/units")
    assert [update["access_token"] for update in updates] == fake_resharmonics.issued_tokens
    fake_resharmonics.expire_all_tokens()
    session.get("/api/v3/units")  # the expiry 401, a renewal and a replay
    assert [update["access_token"] for update in updates] == fake_resharmonics.issued_tokens
    assert len(updates) == 2
    assert updates[-1]["expires_at"] > time.time() + 3000
    assert session.token_updater == updates.append


def test_a_failing_token_updater_does_not_fail_the_call(
    fake_resharmonics: FakeResharmonics, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(token: dict[str, Any]) -> None:
        raise OSError("disk full")

    session = fake_resharmonics.session(token_updater=broken)
    assert session.get("/api/v3/units").status_code == 200
    assert "token_updater hook failed with OSError" in caplog.text


@pytest.mark.parametrize(
    "name", ["auto_refresh_url", "auto_refresh_kwargs", "redirect_uri", "state"]
)
def test_arguments_that_cannot_apply_are_refused_by_name(
    fake_resharmonics: FakeResharmonics, name: str
) -> None:
    with pytest.raises(ConfigurationError, match=name):
        fake_resharmonics.session(**{name: "x"})


def test_a_misspelt_keyword_names_the_session(fake_resharmonics: FakeResharmonics) -> None:
    with pytest.raises(TypeError, match=r"ResharmonicsSession\(\).*'base_ulr'"):
        fake_resharmonics.session(base_ulr="http://x")


def test_the_session_takes_credentials_and_token_url_by_position(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    session = ResharmonicsSession(
        fake.client_id, fake.client_secret, fake.token_url, base_url=fake.base_url
    )
    assert session.token_url == fake.token_url
    assert session.get("/api/v3/units").status_code == 200


# -- 4. a timeout on API calls --------------------------------------------------------------


def test_api_calls_time_out_by_default(fake_resharmonics: FakeResharmonics) -> None:
    assert fake_resharmonics.session().api_timeout == 60.0
    session = fake_resharmonics.session(api_timeout=0.5, retries=0)
    session.fetch_token()
    fake_resharmonics.hang_seconds = 5
    fake_resharmonics.fail_api_requests("hang")
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        session.get("/api/v3/units")
    assert time.monotonic() - started < 3
    fake_resharmonics.hang_seconds = 1
    fake_resharmonics.fail_api_requests("hang")
    assert session.get("/api/v3/units", timeout=10).status_code == 200  # its own wins


@pytest.mark.parametrize("value", [0, -1, "10", (1, 2, 3), True])
def test_a_bad_api_timeout_is_refused(fake_resharmonics: FakeResharmonics, value: Any) -> None:
    with pytest.raises(ConfigurationError, match="api_timeout"):
        fake_resharmonics.session(api_timeout=value)


def test_api_timeout_none_and_pairs_are_taken(fake_resharmonics: FakeResharmonics) -> None:
    assert fake_resharmonics.session(api_timeout=None).api_timeout is None
    session = fake_resharmonics.session(api_timeout=(2, 30))
    assert session.get("/api/v3/units").status_code == 200


# -- 5. whitespace around the secret --------------------------------------------------------


def test_a_secret_with_a_newline_works_as_an_argument_too(
    fake_resharmonics: FakeResharmonics,
) -> None:
    fake = fake_resharmonics
    auth = ResharmonicsAuth(f" {fake.client_id}\n", fake.client_secret + "\n", fake.token_url)
    assert requests.get(fake.base_url + "/api/v3/units", auth=auth).status_code == 200


# -- 6. one warning per cache outage --------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
def test_an_unusable_cache_folder_warns_once_and_recovers_once(
    fake_resharmonics: FakeResharmonics, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("filelock", reason="install the 'file' extra")
    # A folder nobody can create, root included, where reading finds no file: the cache
    # reads as empty while every write and lock fails.
    cache = FileTokenCache("/proc/requests-resharmonics-test/tokens.json")
    auth = fake_resharmonics.auth(cache=cache, background_renewal=False)
    caplog.set_level(logging.WARNING, logger="requests_resharmonics")
    for _ in range(4):
        assert requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth).ok
        fake_resharmonics.expire_all_tokens()
    messages = [record.getMessage() for record in caplog.records]
    assert sum("is unavailable" in message for message in messages) == 1
    assert not any("available again" in message for message in messages)
    cache.path = tmp_path / "tokens.json"  # the folder is usable again
    requests.get(fake_resharmonics.base_url + "/api/v3/units", auth=auth)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("available again" in message for message in messages) == 1


# -- 7. RedisTokenCache's argument ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (123, "not int"),
        ("localhost:6390", "redis://"),
        ("redis://:hunter2@localhost:notaport/0", "could not read"),
    ],
)
def test_a_redis_cache_of_something_else_is_refused_at_once(value: Any, words: str) -> None:
    pytest.importorskip("redis", reason="install the 'redis' extra")
    with pytest.raises(ConfigurationError, match=words) as raised:
        RedisTokenCache(value)
    assert "hunter2" not in str(raised.value)


# -- 8. prompting where nobody can answer ---------------------------------------------------


def test_a_prompt_nobody_can_answer_names_the_missing_variables(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.delenv("RESHARMONICS_CLIENT_ID")
    clean_env.delenv("RESHARMONICS_CLIENT_SECRET")

    class StdinNotImplementedError(NotImplementedError):  # IPython's, in a headless kernel
        pass

    def no_stdin(*args: object) -> str:
        raise StdinNotImplementedError(
            "raw_input was called, but this frontend does not support it"
        )

    clean_env.setattr(auth_module, "_interactive", lambda: True)
    clean_env.setattr(builtins, "input", no_stdin)
    clean_env.setattr(getpass, "getpass", no_stdin)
    with pytest.raises(
        ConfigurationError, match="RESHARMONICS_CLIENT_ID and RESHARMONICS_CLIENT_SECRET"
    ):
        ResharmonicsAuth.from_env(prompt=True)


# -- 9, 10 and 11. the command line ---------------------------------------------------------


def page_route(fake: FakeResharmonics, failing_page: int) -> None:
    def pages(request: Any) -> Any:
        number = int(request.query.text("page") or 0)
        if number == failing_page:
            return 500, {"message": "the list broke"}
        content = [{"id": number * 2 + 1}, {"id": number * 2 + 2}]
        return {"content": content, "page": {"size": 2, "number": number, "totalElements": 6,
                                              "totalPages": 3}}  # fmt: skip

    fake.add_route("GET", "/api/v3/teams", pages)


def test_get_all_prints_nothing_when_the_first_page_fails(
    fake_resharmonics: FakeResharmonics,
) -> None:
    page_route(fake_resharmonics, failing_page=0)
    result = run("get", "/api/v3/teams", "--all", env=fake_resharmonics.environ())
    assert (result.returncode, result.stdout) == (1, "")
    assert "HTTP 500" in result.stderr
    assert "the list broke" in result.stderr


def test_get_all_leaves_the_array_open_when_a_later_page_fails(
    fake_resharmonics: FakeResharmonics,
) -> None:
    page_route(fake_resharmonics, failing_page=1)
    result = run("get", "/api/v3/teams", "--all", env=fake_resharmonics.environ())
    assert result.returncode == 1
    with pytest.raises(json.JSONDecodeError):  # a partial export never parses as a whole one
        json.loads(result.stdout)
    assert json.loads(result.stdout + "\n]") == [{"id": 1}, {"id": 2}]
    assert "the list broke" in result.stderr


def test_a_connection_error_names_the_url_and_the_cause(
    fake_resharmonics: FakeResharmonics,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**fake_resharmonics.environ(), "RESHARMONICS_BASE_URL": f"http://127.0.0.1:{port}"}
    result = run("get", "/api/v3/units", env=env)
    assert result.returncode == 1
    assert f"http://127.0.0.1:{port}/api/v3/units" in result.stderr
    assert "refused the connection" in result.stderr
    assert "object at 0x" not in result.stderr


def test_the_command_line_reuses_its_token_between_runs(
    fake_resharmonics: FakeResharmonics, tmp_path: Path
) -> None:
    pytest.importorskip("filelock", reason="install the 'file' extra")
    env = {**fake_resharmonics.environ(), "XDG_CACHE_HOME": str(tmp_path)}
    first = run("token", env=env)
    second = run("token", env=env)
    run("get", "/api/v3/units", "-p", "size=1", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert fake_resharmonics.token_requests == 1
    assert run("token", "--no-cache", env=env).stdout != first.stdout
    assert fake_resharmonics.token_requests == 2
    assert first.stdout.strip() not in "".join(
        path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file()
    )
