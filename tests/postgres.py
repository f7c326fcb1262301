"""A throwaway PostgreSQL cluster on 127.0.0.1 for the store's tests on PostgreSQL.

Why a real server: what the PostgreSQL backend must get right (the SQL it
translates, advisory locks between processes, two processes migrating at once)
is exactly what a fake would get wrong. One cluster per test session, made by
`initdb` in a temporary folder and started by `pg_ctl` with fsync off; each
test gets a database of its own (`Cluster.new_database`).

Where the programs are: on PATH, else Debian's `/usr/lib/postgresql/<version>/bin`
(the `postgresql` package, which `make test` installs as root like graphviz).
PostgreSQL refuses to run as root, so as root the cluster runs as the
`postgres` user the package creates (or `nobody`), through `runuser`.
If PostgreSQL is missing the tests fail with instructions rather than skip:
CI installs it, so a skip would hide a broken install step.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

SUPERUSER = "wegwijzer"


def pg_bin() -> Path:
    """The folder holding initdb and pg_ctl, or a failure that says how to get them."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)] or [0])
    if debian:
        return debian[-1].parent
    pytest.fail("PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin. "
                "Install Debian's `postgresql` package (`make test` does so as root) to run the store's "
                "tests on PostgreSQL.")


def _runner() -> list[str]:
    """How to run PostgreSQL's programs: as ourselves, or (as root) as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    pytest.fail("running as root without a `postgres` or `nobody` user to run PostgreSQL as")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """One running PostgreSQL on 127.0.0.1 (trust authentication: it listens only there)."""

    #: server options beyond where it listens: fsync off, as the tests need no power-cut safety
    #: (the benchmark's cluster keeps PostgreSQL's defaults, bench/postgres.py)
    SERVER_OPTIONS = "-F -c max_connections=200"

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.run_as = _runner()
        self.dir = Path(tempfile.mkdtemp(prefix="wegwijzer-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        if self.run_as:
            user = pwd.getpwnam(self.run_as[2])
            os.chown(self.dir, user.pw_uid, user.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run([*self.run_as, str(self.bin / program), *args], capture_output=True, text=True,
                                timeout=120, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stdout}\n{result.stderr}")

    def start(self) -> Cluster:
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server (again) on its data folder and port, as after a crash: it recovers first."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} {self.SERVER_OPTIONS}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "-o", options, "start")

    def kill(self) -> None:
        """Stop the server as a crash would (`-m immediate`: no checkpoint, every connection cut); data kept."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def read(url: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Rows as plain psycopg reads them (not through the store), `?` placeholders as in SQLite."""
    import psycopg

    with psycopg.connect(url) as conn:
        return [tuple(row) for row in conn.execute(sql.replace("?", "%s"), args).fetchall()]  # type: ignore[call-overload]


def tables(url: str) -> set[str]:
    return {name for (name,) in read(url, "SELECT table_name FROM information_schema.tables "
                                          "WHERE table_schema = 'public'")}


def columns(url: str, table: str) -> Sequence[str]:
    return [c for (c,) in read(url, "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                    "ORDER BY ordinal_position", table)]


class Database:
    """Where a store test's database is, on either backend, and how to read it without the store."""

    @classmethod
    def at(cls, location: Path | str) -> Database:
        return cls("postgresql" if isinstance(location, str) else "sqlite", location)

    def __init__(self, kind: str, location: Path | str) -> None:
        self.kind = kind
        #: what Store.open and Settings(db=...) take: the SQLite file or the PostgreSQL URL
        self.location = location

    def read(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        if isinstance(self.location, str):
            return read(self.location, sql, *args)
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.location)) as conn:
            return conn.execute(sql, args).fetchall()

    def tables(self) -> set[str]:
        if isinstance(self.location, str):
            return tables(self.location)
        return {name for (name,) in self.read("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def version(self) -> int:
        """The number of the last migration applied."""
        sql = "SELECT version FROM schema_version" if isinstance(self.location, str) else "PRAGMA user_version"
        [(number,)] = self.read(sql)
        return int(number)


#: Set to "postgresql" to run the desk, check-in and timer tests (tests/desk_harness.World) on a
#: real PostgreSQL: `make test` runs those files a second time so, with it. Any other value: SQLite.
BACKEND_ENV = "WEGWIJZER_TEST_BACKEND"
_SHARED: list[Cluster] = []


def world_database(tmp: Path) -> Database:
    """A fresh database for one World on the backend `BACKEND_ENV` names.

    Why one cluster per process, stopped at exit, and not a fixture: World is built by the tests
    themselves (with their own settings), not by pytest, and most runs never need PostgreSQL.
    """
    if os.environ.get(BACKEND_ENV, "sqlite") != "postgresql":
        return Database("sqlite", tmp / "wegwijzer.sqlite3")
    if not _SHARED:
        _SHARED.append(Cluster().start())
        atexit.register(_SHARED[0].stop)
    return Database("postgresql", _SHARED[0].new_database())
