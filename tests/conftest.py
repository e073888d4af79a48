"""Shared fixtures: a throwaway PostgreSQL server, database URLs for both backends, an isolated environment.

PostgreSQL is tested for real: when its server binaries are installed the suite starts a private server in a
temporary directory (initdb + pg_ctl, on 127.0.0.1 and a free port) and drops it at the end. Without the
binaries the PostgreSQL tests skip on a developer's machine, but fail in CI (`CI=true`), where `.ci/run`
installs them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _pg_bindir() -> Path | None:
    for candidate in [os.environ.get("WETWACHT_TEST_PG_BINDIR", ""),
                      *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A private PostgreSQL server. As root (CI) it runs as the `postgres` system user, since PostgreSQL
    refuses to run as root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="wetwacht-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            pw = pwd.getpwnam(self.user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "wetwacht", "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts, "-w", "-t", "60", "-l", str(self.root / "log"),
                  "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "wetwacht", name)
        return f"postgresql+psycopg://wetwacht@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries are not installed; .ci/run must install them")
        pytest.skip("PostgreSQL server binaries are not installed (CI installs them; here the tests skip)")
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend: the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wetwacht.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's WETWACHT_* variables or .env file."""
    for name in list(os.environ):
        if name.startswith("WETWACHT_") and name != "WETWACHT_TEST_PG_BINDIR":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
