"""``resharmonics fake-server`` in a terminal: a clear refusal, an access log, pasted commands."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests

CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("RESHARMONICS_")}
COMMAND = [sys.executable, "-m", "requests_resharmonics", "fake-server"]
BANNER_LINES = 15


class Server:
    """A ``fake-server`` process whose output is read line by line, killed if it hangs."""

    def __init__(self, *flags: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, *flags], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env or CLEAN_ENV,
        )  # fmt: skip
        self._watchdog = threading.Timer(120, self.process.kill)
        self._watchdog.start()
        self.banner = [self.line() for _ in range(BANNER_LINES)]

    def line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().rstrip("\n")

    def value(self, label: str) -> str:
        return next(line.split(": ", 1)[1].strip() for line in self.banner if label in line)

    def stop(self) -> None:
        self.process.terminate()
        try:
            assert self.process.wait(timeout=10) == 0
        finally:
            self._watchdog.cancel()


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_is_one_line_of_error(busy_port: int) -> None:
    result = subprocess.run([*COMMAND, "--port", str(busy_port)], capture_output=True,
                            text=True, env=CLEAN_ENV, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("resharmonics: error: cannot listen on 127.0.0.1:")
    assert f"port {busy_port} is already in use" in line and "--port" in line
    assert "Traceback" not in result.stderr


def test_the_access_log_prints_a_line_per_request() -> None:
    server = Server("--access-log", "--client-secret", "chosen-secret")
    try:
        base, token_url = server.value("base URL"), server.value("token URL")
        answer = requests.post(token_url, data={"grant_type": "client_credentials"},
                               auth=("fake-client-id", "chosen-secret"), timeout=30)  # fmt: skip
        headers = {"Authorization": "Bearer " + answer.json()["access_token"]}
        requests.get(base + "/api/v3/units", params={"size": 5}, headers=headers, timeout=30)
        requests.get(base + "/api/v3/nothing", params={"client_secret": "x"}, timeout=30)
        lines = [server.line() for _ in range(3)]
    finally:
        server.stop()
    token, units, unknown = (line.split() for line in lines)
    assert token[1:4] == ["POST", "/oauth2/token", "200"]
    assert units[1:4] == ["GET", "/api/v3/units?size=5", "200"]
    assert unknown[1:4] == ["GET", "/api/v3/nothing?client_secret=***", "401"]
    assert all(words[-1] == "ms" and words[0].endswith("Z") for words in (token, units))
    text = "\n".join(lines)
    assert "chosen-secret" not in text and answer.json()["access_token"] not in text


@pytest.mark.skipif(shutil.which("curl") is None, reason="the banner's commands use curl")
def test_a_secret_given_as_a_flag_is_a_placeholder_to_fill_in() -> None:
    server = Server("--client-secret", "it's my $ecret")
    try:
        text = "\n".join(server.banner)
        assert "$ecret" not in text and "<your --client-secret>" in text
        exports = [line.strip() for line in server.banner if line.strip().startswith("export ")]
        commands = [line.strip() for line in server.banner
                    if line.strip().startswith(("TOKEN=", "curl "))]  # fmt: skip
        filled = [line.replace("'<your --client-secret>'", "'it'\\''s my $ecret'")
                  for line in exports]  # fmt: skip
        shell = shutil.which("sh") or "/bin/sh"
        as_printed = subprocess.run([shell, "-euc", "\n".join(exports)], capture_output=True,
                                    text=True, env=CLEAN_ENV, timeout=60)  # fmt: skip
        assert as_printed.returncode == 0, as_printed.stderr  # pastes, placeholder and all
        script = "\n".join([*filled, *commands])
        result = subprocess.run([shell, "-euc", script], capture_output=True, text=True,
                                env=CLEAN_ENV, timeout=60)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert '"openapi"' in result.stdout
    finally:
        server.stop()
