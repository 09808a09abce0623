"""What a user reads when the settings or the network go wrong: words, hosts and defaults.

Misspelt variables and mixed environments are warned about before any request; failed
connections name the host and the cause instead of urllib3's reprs; an answer that is not a
token service's suggests checking the token URL; the token endpoint's own answers and the
attempts made are said as they were.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
from typing import Any

import pytest
import requests

from requests_resharmonics import (
    ConfigurationError,
    ConfigurationWarning,
    ResharmonicsAuth,
    ResharmonicsSession,
    TokenHeldError,
    TokenRequestError,
)
from requests_resharmonics.cli import _commands as cli_module
from requests_resharmonics.testing import FakeResharmonics
from requests_resharmonics.testing._http import Answer

from .conftest import StartHost

NOT_URLLIB3 = ("Pool(", "Max retries", "object at 0x", "Caused by", "<")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> pytest.MonkeyPatch:
    """No RESHARMONICS_* variable of the machine's, and a cache folder of the test's own."""
    for name in list(os.environ):
        if name.startswith("RESHARMONICS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return monkeypatch


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Only loopback names resolve; every other name asked for is recorded and not found.

    Nothing leaves the machine, yet the library's whole path to a remote host is exercised.
    """
    names: list[str] = []
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in ("localhost", "127.0.0.1", "::1"):
            return real(host, *args, **kwargs)
        names.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return names


# 1. A typo in a variable


def test_a_misspelt_variable_is_named_with_the_one_meant(
    clean_env: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    clean_env.setenv("RESHARMONICS_TOKEN_ULR", fake_resharmonics.token_url)
    with pytest.warns(ConfigurationWarning) as caught:
        auth = ResharmonicsAuth("id", "secret")
    messages = [str(warning.message) for warning in caught]
    assert any(
        "RESHARMONICS_TOKEN_ULR is set, but requests-resharmonics does not read it: "
        "did you mean RESHARMONICS_TOKEN_URL?" in message
        for message in messages
    ), messages
    # The warning points at the caller's line, not into the library.
    assert caught[0].filename == __file__
    assert auth.token_url == "https://auth.rerumapp.uk/oauth2/token"


@pytest.mark.parametrize(
    ("variable", "meant"),
    [
        ("RESHARMONIC_CLIENT_ID", "RESHARMONICS_CLIENT_ID"),
        ("RES_HARMONICS_TOKEN_URL", "RESHARMONICS_TOKEN_URL"),
        ("resharmonics_base_url", "RESHARMONICS_BASE_URL"),
        ("Resharmonics_Scope", "RESHARMONICS_SCOPE"),
        ("RESHARMONCIS_ENVIRONMENT", "RESHARMONICS_ENVIRONMENT"),
    ],
)
def test_a_near_miss_of_the_prefix_or_its_case_is_named_with_the_one_meant(
    clean_env: pytest.MonkeyPatch, variable: str, meant: str
) -> None:
    for name in list(os.environ):
        if "HARMON" in name.upper():
            clean_env.delenv(name)
    clean_env.setenv(variable, "https://127.0.0.1:1/x")
    with pytest.warns(ConfigurationWarning) as caught:
        ResharmonicsAuth("id", "secret")
    assert [str(warning.message) for warning in caught] == [
        f"{variable} is set, but requests-resharmonics does not read it: did you mean {meant}?"
    ]


def test_variables_of_other_programs_are_not_taken_for_typos(
    clean_env: pytest.MonkeyPatch,
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "RESOURCE_DIR", "RESULTS_HOME", "REMOTE_HARMONY", "RES"):
        clean_env.setenv(name, "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigurationWarning)
        ResharmonicsAuth("id", "secret")


def test_missing_credentials_name_the_typo_that_left_them_missing(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("RESHARMONIC_CLIENT_ID", "id")
    clean_env.setenv("RES_HARMONICS_CLIENT_SECRET", "a-secret-of-the-test")
    with pytest.raises(ConfigurationError) as caught:
        ResharmonicsSession()
    assert str(caught.value) == (
        "missing Res:Harmonics credentials: set RESHARMONICS_CLIENT_ID and "
        "RESHARMONICS_CLIENT_SECRET (or pass client_id= and client_secret=); "
        "RESHARMONIC_CLIENT_ID is set: did you mean RESHARMONICS_CLIENT_ID?; "
        "RES_HARMONICS_CLIENT_SECRET is set: did you mean RESHARMONICS_CLIENT_SECRET?"
    )
    assert "a-secret-of-the-test" not in str(caught.value)


def test_a_token_from_the_fake_bound_for_the_production_api_is_warned_about(
    clean_env: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    base_url = fake_resharmonics.environ()["RESHARMONICS_BASE_URL"]
    clean_env.delenv("RESHARMONICS_BASE_URL")
    clean_env.setenv("RESHARMONICS_BASEURL", base_url)
    with pytest.warns(ConfigurationWarning) as caught:
        session = ResharmonicsSession()
    messages = " | ".join(str(warning.message) for warning in caught)
    assert "RESHARMONICS_BASEURL is set" in messages
    assert "did you mean RESHARMONICS_BASE_URL?" in messages
    assert (
        f"the token URL {fake_resharmonics.token_url} is not production's, but the base URL "
        "https://apiv3.rerumapp.uk (production's API, the default: RESHARMONICS_BASE_URL is "
        "not set) is the production API"
    ) in messages
    assert session.base_url != base_url
    session.close()


def test_a_production_token_bound_for_another_api_is_warned_about(
    clean_env: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    with pytest.warns(ConfigurationWarning, match="the token URL https://auth.rerumapp.uk/") as w:
        session = ResharmonicsSession("id", "secret", base_url=fake_resharmonics.base_url)
    assert "(production's, the default: RESHARMONICS_TOKEN_URL is not set)" in str(w[0].message)
    assert "is not the production API" in str(w[0].message)
    session.close()


def test_settings_of_one_environment_warn_about_nothing(
    clean_env: pytest.MonkeyPatch, fake_resharmonics: FakeResharmonics
) -> None:
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    clean_env.setenv("RESHARMONICS_FAKE_CLIENT_ID", "known-too")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigurationWarning)
        ResharmonicsSession().close()
        fake_resharmonics.session().close()
        ResharmonicsSession("id", "secret").close()  # production, both defaults
        testing_token_url = "https://auth.example/oauth2/token"
        ResharmonicsSession("id", "secret", testing_token_url, environment="testing").close()


def test_the_cli_says_it_used_the_production_default_after_a_typo(
    clean_env: pytest.MonkeyPatch,
    looked_up: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    clean_env.setenv("RESHARMONICS_CLIENT_ID", "id")
    clean_env.setenv("RESHARMONICS_CLIENT_SECRET", "a-secret-of-the-test")
    clean_env.setenv("RESHARMONICS_TOKEN_ULR", "http://127.0.0.1:8181/oauth2/token")
    status = cli_module.main(["token", "--no-cache"])
    err = capsys.readouterr().err
    assert status == 1
    lines = err.strip().splitlines()
    assert len(lines) == 2  # the warning once, though the session and its auth both check
    assert lines[0] == (
        "resharmonics: warning: RESHARMONICS_TOKEN_ULR is set, but requests-resharmonics "
        "does not read it: did you mean RESHARMONICS_TOKEN_URL?"
    )
    assert lines[-1] == (
        "resharmonics: error: token request to https://auth.rerumapp.uk/oauth2/token "
        "(production's, the default: RESHARMONICS_TOKEN_URL is not set) could not connect: "
        "the name auth.rerumapp.uk was not found (DNS)"
    )
    assert set(looked_up) == {"auth.rerumapp.uk"}
    assert "a-secret-of-the-test" not in err


# 2. Connection errors in words


def test_https_to_a_plain_http_port_says_so(fake_resharmonics: FakeResharmonics) -> None:
    url = fake_resharmonics.token_url.replace("http://", "https://")
    auth = ResharmonicsAuth(fake_resharmonics.client_id, fake_resharmonics.client_secret, url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    port = url.split(":")[2].split("/")[0]
    assert str(caught.value) == (
        f"token request to {url} could not connect: 127.0.0.1:{port} does not speak TLS "
        "(a plain-http port? try http://)"
    )
    assert caught.value.status_code is None


def test_an_unknown_host_is_named_in_whole_words(looked_up: list[str]) -> None:
    auth = ResharmonicsAuth("id", "secret", "https://auth.example.invalid/oauth2/token")
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    assert str(caught.value).endswith(
        "could not connect: the name auth.example.invalid was not found (DNS)"
    )
    assert not any(noise in str(caught.value) for noise in NOT_URLLIB3)


def test_a_refused_connection_is_one_line_in_the_cli(
    clean_env: pytest.MonkeyPatch,
    fake_resharmonics: FakeResharmonics,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    base = f"http://127.0.0.1:{port}"
    status = cli_module.main(["get", "/api/v3/units", "--base-url", base, "--no-cache"])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (
        f"resharmonics: error: the request to {base}/api/v3/units failed: "
        f"127.0.0.1:{port} refused the connection (nothing is listening there)\n"
    )


def test_https_to_the_api_on_a_plain_http_port_in_the_cli(
    clean_env: pytest.MonkeyPatch,
    fake_resharmonics: FakeResharmonics,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in fake_resharmonics.environ().items():
        clean_env.setenv(name, value)
    base = fake_resharmonics.base_url.replace("http://", "https://")
    status = cli_module.main(["get", "/api/v3/units", "--base-url", base, "--no-cache"])
    err = capsys.readouterr().err
    assert status == 1
    assert "does not speak TLS (a plain-http port? try http://)" in err
    assert len(err.splitlines()) == 1
    assert not any(noise in err for noise in NOT_URLLIB3)


# 3. A wrong token URL path


def test_a_wrong_token_path_suggests_checking_the_token_url(
    fake_resharmonics: FakeResharmonics,
) -> None:
    url = fake_resharmonics.token_url.replace("/oauth2/token", "/oauth2/tokn")
    auth = ResharmonicsAuth(fake_resharmonics.client_id, fake_resharmonics.client_secret, url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    assert str(caught.value) == (
        f"token request to {url} was answered HTTP 401: Unauthorized "
        "(no OAuth2 error in the answer: check the token URL)"
    )
    assert caught.value.status_code == 401


def test_a_token_url_that_redirects_says_where(other_host: StartHost) -> None:
    host = other_host(lambda _: Answer(301, b"", headers={"Location": "https://elsewhere/"}))
    url = f"http://127.0.0.1:{host.port}/oauth2/token"
    with pytest.raises(TokenRequestError, match="check the token URL; it redirects to https://"):
        ResharmonicsAuth("id", "secret", url).fetch_token()


def test_an_oauth2_refusal_does_not_blame_the_url(fake_resharmonics: FakeResharmonics) -> None:
    auth = ResharmonicsAuth(fake_resharmonics.client_id, "wrong", fake_resharmonics.token_url)
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    assert "invalid_client" in str(caught.value)
    assert "token URL" not in str(caught.value)


# The token endpoint's own answers and the attempts made


def test_503s_with_a_long_retry_after_are_said_as_503s_and_held(other_host: StartHost) -> None:
    """A 503 asking to wait longer than the request's timeout is not sent again after the
    timeout (too early): it is the request's answer, and it holds the client's requests."""
    host = other_host(
        lambda _: Answer(503, {"message": "Service Unavailable"}, {"Retry-After": "100000"})
    )
    auth = ResharmonicsAuth("id", "secret", f"http://127.0.0.1:{host.port}/oauth2/token", timeout=1)
    with pytest.raises(TokenHeldError) as caught:
        auth.fetch_token()
    assert caught.value.status_code == 503 and caught.value.retryable
    message = str(caught.value)
    assert message.startswith(f"token request to {auth.token_url} was answered HTTP 503: ")
    assert "Service Unavailable; token requests of client 'id' of " in message
    assert re.search(
        r"held until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(1000\d\d s from now\)", message
    )
    assert message.endswith("as its Retry-After asks, in every process sharing its token cache")
    assert len(host.seen) == 1
    with pytest.raises(TokenHeldError, match="no token request was made") as again:
        auth.fetch_token()
    assert again.value.reason == "the token endpoint answered HTTP 503 with Retry-After: 100000 s"
    assert 99_000 < again.value.seconds <= 100_000
    assert len(host.seen) == 1


def test_hung_attempts_are_counted_with_the_time_they_took(raw_server: Any) -> None:
    attempts: list[float] = []
    started = threading.Event()

    def hang(connection: socket.socket, stopping: threading.Event) -> None:
        attempts.append(time.monotonic())
        started.set()
        connection.recv(1)  # until the client gives up and closes it

    server = raw_server(hang)
    url = f"http://127.0.0.1:{server.port}/oauth2/token"
    auth = ResharmonicsAuth("id", "secret", url, timeout=0.5)
    began = time.monotonic()
    with pytest.raises(TokenRequestError) as caught:
        auth.fetch_token()
    took = time.monotonic() - began
    message = str(caught.value)
    assert started.is_set() and len(attempts) == 3
    assert "timed out: 3 attempts of up to 0.5 s each, " in message
    said = float(message.rsplit(", ", 1)[1].removesuffix(" s in all"))
    assert 3 * 0.5 <= said <= took + 0.05
    assert caught.value.status_code is None


def test_one_attempt_keeps_the_short_wording(raw_server: Any) -> None:
    server = raw_server(lambda connection, stopping: connection.recv(1))
    url = f"http://127.0.0.1:{server.port}/oauth2/token"
    auth = ResharmonicsAuth("id", "secret", url, timeout=0.3, token_retries=0)
    with pytest.raises(TokenRequestError, match=r"timed out after 0\.3 s$"):
        auth.fetch_token()


def test_unknown_hosts_are_not_looked_up_by_these_tests(looked_up: list[str]) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get("http://not-here.invalid/", timeout=1)
    assert looked_up == ["not-here.invalid"]


def test_an_answer_cut_off_says_how_far_it_got(fake_resharmonics: FakeResharmonics) -> None:
    fake_resharmonics.fail_token_requests("cut-off", "cut-off", "cut-off")
    with pytest.raises(TokenRequestError) as caught:
        fake_resharmonics.auth(timeout=2).fetch_token()
    message = str(caught.value)
    assert "was cut off while answering: 127.0.0.1:" in message
    assert re.search(r"closed the connection \d+ bytes into the body \(\d+ more were", message)
    assert not any(noise in message for noise in NOT_URLLIB3)


def test_the_fake_server_command_names_a_misspelt_variable_too() -> None:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith("RESHARMONICS_")
    }
    env["RESHARMONICS_FAKE_CLIENT_SECRT"] = "not-read"
    server = subprocess.Popen(
        [sys.executable, "-m", "requests_resharmonics", "fake-server"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        assert "fake Res:Harmonics server running" in server.stdout.readline()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=90)  # a loaded machine: five suites at once
    assert err.splitlines()[0] == (
        "resharmonics: warning: RESHARMONICS_FAKE_CLIENT_SECRT is set, but "
        "requests-resharmonics does not read it: did you mean RESHARMONICS_FAKE_CLIENT_SECRET?"
    )
