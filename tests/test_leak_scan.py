"""The leak scan: every public flow at DEBUG, and nowhere a secret or a token.

Collected: every log record of every logger (formatted, with tracebacks), reprs and HTML
reprs, str and tracebacks of exceptions, cache files and Redis values, and command-line
output except ``resharmonics token``'s stdout. None may contain the client secret, its
Basic or form encodings, or any token the fake server issued.
"""

from __future__ import annotations

import base64
import copy
import http.client
import io
import logging
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from requests_resharmonics import (
    ConfigurationError,
    FileTokenCache,
    RedisTokenCache,
    ResharmonicsAuth,
    ResharmonicsError,
    ResharmonicsSession,
    TokenRequestError,
)
from requests_resharmonics.testing import FakeResharmonics

from .conftest import RedisServer

SECRET = "s3cr3t/with+special=chars&more"


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def everything_at_debug() -> Iterator[Collector]:
    collector = Collector()
    root = logging.getLogger()
    previous = root.level
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    levels = [logger.level for logger in loggers]
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    http.client.HTTPConnection.debuglevel = 0  # prints to stdout, outside logging: off
    yield collector
    root.removeHandler(collector)
    root.setLevel(previous)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def test_no_flow_leaks_a_secret_or_a_token(
    everything_at_debug: Collector, tmp_path: Path, redis_server: RedisServer
) -> None:
    seen: list[str] = []

    def look(*objects: object) -> None:
        for obj in objects:
            seen.append(repr(obj))
            seen.append(str(obj))
            html = getattr(obj, "_repr_html_", None)
            if html is not None:
                seen.append(html())

    def failing(action: Callable[[], object]) -> None:
        try:
            action()
        except (ResharmonicsError, requests.RequestException) as error:
            seen.append(str(error))
            seen.append(repr(error))
            seen.append(
                "".join(traceback.format_exception(type(error), error, error.__traceback__))
            )
            look(error)
        else:
            raise AssertionError("expected a failure")

    with FakeResharmonics(token_lifetime=3, client_secret=SECRET) as fake:
        api = fake.base_url + "/api/v3"
        # The auth object, both client authentications, renewal and replay.
        for client_auth in ("basic", "post"):
            auth = fake.auth(client_auth=client_auth)
            look(auth)
            requests.get(api + "/units", auth=auth, timeout=10)
            look(auth, auth.token)
            fake.expire_all_tokens()
            requests.post(
                api + "/contacts",
                json={"firstName": "Ada", "lastName": "Byron"},
                auth=auth,
                timeout=10,
            )
            fake.expire_all_tokens()
            requests.post(api + "/contacts", data=iter([b"stream"]), auth=auth, timeout=10)
            auth.fetch_token()
        # Background renewal, and a failed one.
        auth = fake.auth()
        auth._manager.background_retry_delay = 0.05
        token = auth.valid_token()
        fake.fail_token_requests("invalid_client")
        time.sleep(max(auth._manager.renew_at(token) - time.time(), 0) + 0.05)
        auth.valid_token()
        deadline = time.monotonic() + 5
        while auth.token == token and time.monotonic() < deadline:
            time.sleep(0.02)
        # Token endpoint failures.
        failing(lambda: ResharmonicsAuth(fake.client_id, "wrong", fake.token_url).fetch_token())
        for fault in ("html", "malformed-json", "missing-access-token", "cut-off"):
            fake.fail_token_requests(fault)
            failing(fake.auth(token_retries=0).fetch_token)
        fake.hang_seconds = 2
        fake.fail_token_requests("hang")
        failing(fake.auth(timeout=0.2, token_retries=0).fetch_token)
        failing(lambda: requests.get("http://api.example.com/x", auth=fake.auth(), timeout=1))
        failing(lambda: ResharmonicsAuth(fake.client_id, SECRET, "http://auth.example.com/t"))
        failing(lambda: ResharmonicsSession(fake.client_id, None, token_url=fake.token_url))
        # The session: requests, pages, retries, the token dict, copies.
        session = fake.session()
        look(session)
        list(session.paginate("/api/v3/bookings", page_size=30))
        fake.throttle(1, retry_after=0)
        session.get("/api/v3/units")
        session.fetch_token()
        look(session, pickle.loads(pickle.dumps(session)), copy.deepcopy(session))
        failing(lambda: list(session.paginate("/api/v3/units/1001")))
        session.close()
        # Shared caches.
        file_cache = FileTokenCache(tmp_path / "tokens.json")
        redis_cache = RedisTokenCache(redis_server.url, prefix="leak-scan:")
        for cache in (file_cache, redis_cache):
            cached = fake.auth(cache=cache)
            requests.get(api + "/units", auth=cached, timeout=10)
            fake.expire_all_tokens()
            requests.get(api + "/units", auth=cached, timeout=10)
            look(cache, cached._manager.cache)
        seen.append((tmp_path / "tokens.json").read_text())
        import redis

        client = redis.Redis.from_url(redis_server.url)
        seen.extend(repr(client.get(key)) for key in client.keys("leak-scan:*"))
        # The command line, except the token command's stdout; it caches tokens in a file.
        cli_cache = tmp_path / "cli-cache"
        environ = {**fake.environ(), "XDG_CACHE_HOME": str(cli_cache)}
        for command, keep_stdout in (
            (["token"], False),
            (["get", "/api/v3/bookings", "-p", "size=2"], True),
            (["get", "/api/v3/units", "--all"], True),
            (["get", "/api/v3/nothing"], True),
        ):
            result = run_cli(command, environ)
            seen.append(result.stderr)
            if keep_stdout:
                seen.append(result.stdout)
        wrong = run_cli(["token"], {**environ, "RESHARMONICS_CLIENT_SECRET": SECRET + "x"})
        seen.extend([wrong.stdout, wrong.stderr])
        demo = run_cli(["demo", "--lifetime", "1"], {})
        seen.extend([demo.stdout, demo.stderr])
        cli_files = [path for path in cli_cache.rglob("*") if path.is_file()]
        assert cli_files  # the command line did cache its token
        seen.extend(path.read_text(errors="replace") for path in cli_files)
        forbidden = secrets_of(fake) + fake.issued_tokens

    assert len(fake.issued_tokens) >= 10
    texts = seen + everything_at_debug.texts
    assert any("requests_resharmonics" in text for text in everything_at_debug.texts)
    for text in texts:
        for secret in forbidden:
            assert secret not in text


def secrets_of(fake: FakeResharmonics) -> list[str]:
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    return [fake.client_secret, basic, quote(fake.client_secret), quote_plus(fake.client_secret)]


def run_cli(args: list[str], environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}
    return subprocess.run(
        [sys.executable, "-m", "requests_resharmonics", *args],
        capture_output=True,
        text=True,
        env={**env, **environ},
        timeout=60,
        check=False,
    )


def test_config_errors_name_variables_not_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESHARMONICS_CLIENT_SECRET", SECRET)
    monkeypatch.delenv("RESHARMONICS_CLIENT_ID", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        ResharmonicsAuth.from_env()
    buffer = io.StringIO()
    traceback.print_exception(caught.type, caught.value, caught.tb, file=buffer)
    assert SECRET not in buffer.getvalue()
    with pytest.raises(TokenRequestError):
        raise TokenRequestError("x")
