"""A PostgreSQL server of the tests' own: initdb into a temporary folder, a free port.

The binaries come from Debian's packages (``/usr/lib/postgresql/<version>/bin``), which
``.ci/run`` installs. PostgreSQL refuses to run as root, so under root the server runs as
the ``postgres`` user the package creates (or ``nobody``), in a folder given to that user.
The benchmarks start theirs with it too (pytest is imported only to skip a test).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

#: The superuser's password, so that URLs carry one (and tests can look for it).
PASSWORD = "pg-Secret-7w9!"
#: A role that may connect and use tables others made, but not create any (PostgreSQL 15
#: gives PUBLIC no CREATE on schema public).
LIMITED_ROLE = "resharmonics_limited"
LIMITED_PASSWORD = "limited-Secret-3k8"


def find_binaries() -> Path | None:
    """Return the folder of the newest installed PostgreSQL's binaries, if there is one."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.split(".")[0]),
    )
    return Path(found[-1]).parent if found else None


def binaries() -> Path:
    """Return the folder of PostgreSQL's binaries; skip the test without them (fail in CI)."""
    import pytest

    found = find_binaries()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing in CI: .ci/run must install it")
        pytest.skip(
            "PostgreSQL is not installed (apt-get install postgresql; the tests look in "
            "/usr/lib/postgresql/*/bin); CI runs these"
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PostgresServer:
    """One PostgreSQL cluster on 127.0.0.1, started by `start` and removed by `stop`."""

    def __init__(self, bin: Path | None = None) -> None:
        self.bin = bin or binaries()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="resharmonics-pg-"))
        self.data = self.folder / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self._run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd  # Unix only, as is running a server as another user

            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def url(self, database: str = "postgres") -> str:
        """The superuser's URL, password included."""
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def limited_url(self) -> str:
        """The URL of a role that cannot create tables."""
        return f"postgresql://{LIMITED_ROLE}:{LIMITED_PASSWORD}@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        password_file = self.folder / "password"
        password_file.write_text(PASSWORD)
        if self._run_as:
            os.chown(password_file, self._run_as["user"], self._run_as["group"])
        self._call(
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--pwfile",
            str(password_file),
            "--auth-host",
            "scram-sha-256",
            "--auth-local",
            "trust",
            "--no-sync",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
        )
        self.process = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.folder),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=60",
                "-c",
                "shared_buffers=16MB",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "server.log").open("wb"),
            cwd=self.folder,
            **self._run_as,
        )
        self._wait_until_ready()
        self.execute(
            f"CREATE ROLE {LIMITED_ROLE} LOGIN PASSWORD '{LIMITED_PASSWORD}'",
        )

    def _call(self, *command: str) -> None:
        result = subprocess.run(
            command, capture_output=True, cwd=self.folder, check=False, timeout=120, **self._run_as
        )
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {result.stderr.decode(errors='replace')}")

    def _wait_until_ready(self, seconds: float = 60) -> None:
        import psycopg

        deadline = time.monotonic() + seconds
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                log = (self.folder / "server.log").read_text(errors="replace")
                raise RuntimeError(f"postgres exited: {log[-2000:]}")
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as the superuser; return its rows (none for a command)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            cursor = connection.execute(sql, parameters)
            return list(cursor.fetchall()) if cursor.description else []

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)  # a fast shutdown: clients are cut off
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
        shutil.rmtree(self.folder, ignore_errors=True)
