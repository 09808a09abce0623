from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from requests_resharmonics._tokens import process
from requests_resharmonics.testing import ApiRequest, FakeResharmonics
from requests_resharmonics.testing._http import Answer, FakeHTTPServer, Incoming

from .postgres_server import PostgresServer

ECHO_PATH = "/api/v3/echo"

# dlt reports anonymous usage to dlthub.com unless told not to; tests talk to 127.0.0.1 only.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def add_echo(fake: FakeResharmonics) -> str:
    """Serve an echo route of the tests' own (the real API has none); return its URL.

    It answers what it received, behind the same token check as the API, for tests of
    replayed bodies.
    """

    def echo(request: ApiRequest) -> dict[str, object]:
        incoming = request.incoming
        return {
            "method": incoming.method,
            "query": incoming.query,
            "contentType": incoming.headers.get("content-type"),
            "body": incoming.body.decode("utf-8", "replace"),
        }

    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        fake.add_route(method, ECHO_PATH, echo)
    return fake.base_url + ECHO_PATH


#: Test modules whose outcome does not depend on the Python or the dependency versions that
#: run them (the fake's data and routes, notebooks, documents, property tests of parsers, the
#: leak scan): tox runs them once, in the dist environment on the installed wheel, and the
#: other environments set REQUESTS_RESHARMONICS_RUN_ONCE_ELSEWHERE=1 to leave them out. A
#: plain ``pytest`` runs everything.
RUN_ONCE = frozenset(
    {
        "test_docs_examples",
        "test_fake",
        "test_fake_accounting",
        "test_fake_api",
        "test_fake_controls",
        "test_fake_groups",
        "test_fake_hardening",
        "test_fake_integrations",
        "test_fake_portfolio",
        "test_fake_rates",
        "test_fake_settings",
        "test_fake_contract",
        "test_fake_command",
        "test_fake_activities",
        "test_fake_booking_flow",
        "test_fake_operator",
        "test_fake_fuzz",
        "test_fake_validation",
        "test_fake_records",
        "test_leak_scan",
        "test_notebook",
        "test_project_config",
        "test_properties",
        "test_readme_claims",
        "test_readme_examples",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave the run-once modules to the dist environment when tox says so."""
    if os.environ.get("REQUESTS_RESHARMONICS_RUN_ONCE_ELSEWHERE") != "1":
        return
    elsewhere = pytest.mark.skip(reason="run once, by tox -e dist (independent of the Python)")
    for item in items:
        if item.path.stem in RUN_ONCE:
            item.add_marker(elsewhere)


def pytest_configure(config: pytest.Config) -> None:
    """Under scripts/check_distribution.py, prove the tests run on the installed wheel."""
    if os.environ.get("REQUESTS_RESHARMONICS_TEST_INSTALLED"):
        import requests_resharmonics

        location = Path(requests_resharmonics.__file__).resolve()
        if "site-packages" not in location.parts:
            raise pytest.UsageError(f"testing {location}, not the installed wheel")


#: How long a test's end waits for the background renewals still running to finish.
RENEWALS_END_WITHIN = 10.0


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[process.ProcessState]:
    """Start each test from a process-wide state of its own, and close it at its end.

    No renewal, token connection, rejection pause, calendar booking or memory-cached token
    of one test runs into the next; within a test, auth objects share them as in any
    process. The test's end drops its queued renewals and waits for the running ones.
    """
    state = process.start_afresh()
    yield state
    state.close(wait=RENEWALS_END_WITHIN)


class FakeClock:
    """A clock the test moves by hand, for expiry tests that must not sleep."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class OtherHost:
    """A second local server that records what it receives, for host-scoping tests."""

    def __init__(self, answer: Callable[[Incoming], Answer]) -> None:
        self.seen: list[Incoming] = []
        self._answer = answer
        self._server = FakeHTTPServer(("127.0.0.1", 0), self._record)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _record(self, incoming: Incoming) -> Answer:
        self.seen.append(incoming)
        return self._answer(incoming)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def close(self) -> None:
        self._server.close()
        self._thread.join(5)


StartHost = Callable[[Callable[[Incoming], Answer]], OtherHost]


@pytest.fixture
def other_host() -> Iterator[StartHost]:
    started: list[OtherHost] = []

    def start(answer: Callable[[Incoming], Answer]) -> OtherHost:
        host = OtherHost(answer)
        started.append(host)
        return host

    yield start
    for host in started:
        host.close()


class RedisServer:
    """A redis-server of the tests' own, on a free port, that can be stopped and restarted."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing in CI: .ci/run must install it")
        pytest.skip("redis-server is not installed (apt-get install redis-server); CI runs these")
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(redis_binary())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the tests' own (tests/postgres_server.py), for the session."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_server() -> Iterator[RedisServer]:
    """A Redis server for one test only, which the test may stop and restart."""
    server = RedisServer(redis_binary())
    server.start()
    yield server
    server.stop()


class RawServer:
    """A TCP server on 127.0.0.1 whose connections a test answers byte by byte (hostile
    answers: trickles, endless bodies). Each connection is served by ``answer(conn)`` in a
    thread; everything stops at ``close``, and every loop is bounded by the caller."""

    def __init__(self, answer: Callable[[socket.socket, threading.Event], None]) -> None:
        self._answer = answer
        self.stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                read_request(connection)
                self._answer(connection, self.stopping)
            except OSError:
                pass  # the client hung up: what the hostile answer was waiting for

    def close(self) -> None:
        self.stopping.set()
        self._listener.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(10)


def read_request(connection: socket.socket) -> bytes:
    """Read one request's head and body (by Content-Length) from a raw connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            while len(body) < int(value):
                body += connection.recv(65536)
    return head


@pytest.fixture
def raw_server() -> Iterator[
    Callable[[Callable[[socket.socket, threading.Event], None]], RawServer]
]:
    started: list[RawServer] = []

    def start(answer: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


class RedisClusterNodes:
    """Three redis-server nodes in cluster mode on free ports, joined by redis-cli, that a
    test may stop and restart one at a time (each keeps its node id and slots on disk)."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.ports = [free_cluster_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.fail("redis-cli is missing (apt-get install redis-tools)")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.wait_until_healthy()

    def start_node(self, port: int) -> None:
        self.processes[port] = subprocess.Popen(
            [
                self.binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--cluster-enabled", "yes",
                "--cluster-config-file", str(self.folder / f"nodes-{port}.conf"),
                "--cluster-node-timeout", "2000",
                "--dir", str(self.folder),
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(port)

    def stop_node(self, port: int) -> None:
        process = self.processes.pop(port)
        process.terminate()
        process.wait(10)

    def wait_until_healthy(self, seconds: float = 30) -> None:
        import redis

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                states = [
                    redis.Redis(port=port, socket_timeout=1).cluster("info")["cluster_state"]
                    for port in self.ports
                ]
            except (redis.RedisError, KeyError):
                states = []
            if states and all(state == "ok" for state in states):
                return
            time.sleep(0.1)
        raise RuntimeError("the Redis Cluster did not become healthy")

    def stop(self) -> None:
        for port in list(self.processes):
            self.stop_node(port)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (10,000 above it) is free as well."""
    generator = random.Random()
    for _ in range(200):
        port = generator.randrange(20000, 50000)
        try:
            with socket.socket() as first, socket.socket() as bus:
                first.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def wait_for_port(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    pytest.importorskip("redis", reason="install the 'redis' extra")
    nodes = RedisClusterNodes(redis_binary(), tmp_path_factory.mktemp("redis-cluster"))
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()
