"""Find a PostgreSQL for the tests: 127.0.0.1:5432, else a throwaway cluster, else a reason."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from tests.ports import spare_port


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    stop: object = None

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"


async def _answers(host: str, port: int, user: str) -> bool:
    try:
        connection = await asyncpg.connect(
            host=host, port=port, user=user, database="postgres", timeout=3
        )
    except Exception:
        return False
    await connection.close()
    return True


def _run(coro: Any) -> Any:
    """asyncio.run in a thread: fixtures call this while pytest-asyncio's loop is running."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


PG_CTL_TIMEOUT_S = 30


@dataclass
class ThrowawayCluster:
    """A PostgreSQL cluster of our own (Debian's initdb/pg_ctl, run as user postgres) on a
    spare port: tests may stop and start it under a running app without touching 5432."""

    bindir: str
    datadir: str
    port: int

    @property
    def server(self) -> PostgresServer:
        return PostgresServer("127.0.0.1", self.port, "postgres", self.destroy)

    def _pg_ctl(self, *args: str) -> None:
        _as_postgres(f"{self.bindir}/pg_ctl", "-D", self.datadir, *args)

    def start(self) -> None:
        self._pg_ctl(
            "-o",
            f"-p {self.port} -k {self.datadir} -h 127.0.0.1",
            "-w",
            "-t",
            str(PG_CTL_TIMEOUT_S),
            "start",
            "-l",
            f"{self.datadir}/log",
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (as a restart does); `immediate` is a crash."""
        self._pg_ctl("-m", mode, "-w", "-t", str(PG_CTL_TIMEOUT_S), "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


def _as_postgres(*args: str) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *args],
        check=True,
        capture_output=True,
        timeout=PG_CTL_TIMEOUT_S + 10,
    )


def postgres_binaries() -> str | None:
    """Debian's newest PostgreSQL bindir, when we may run it as user postgres (root)."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs or os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    return os.path.dirname(initdbs[-1])


def throwaway_cluster() -> ThrowawayCluster | None:
    """initdb + start on a spare port; None without Debian's binaries (or not as root)."""
    bindir = postgres_binaries()
    if bindir is None:
        return None
    datadir = tempfile.mkdtemp(prefix="sr-pg-")
    shutil.chown(datadir, user="postgres")
    cluster = ThrowawayCluster(bindir, datadir, spare_port())
    try:
        _as_postgres(f"{bindir}/initdb", "-D", datadir, "-A", "trust", "-U", "postgres")
        cluster.start()
    except (subprocess.SubprocessError, OSError):
        shutil.rmtree(datadir, ignore_errors=True)
        raise
    return cluster


def find_server() -> PostgresServer | None:
    for user in ("postgres", os.environ.get("USER", "root")):
        if _run(_answers("127.0.0.1", 5432, user)):
            return PostgresServer("127.0.0.1", 5432, user)
    try:
        cluster = throwaway_cluster()
    except (subprocess.SubprocessError, OSError):
        return None
    return None if cluster is None else cluster.server


async def _admin(server: PostgresServer, sql: str) -> None:
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, database="postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database(server: PostgresServer) -> str:
    """A database of its own for this test run, so runs never collide."""
    name = f"sr_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _run(_admin(server, f'CREATE DATABASE "{name}"'))
    return name


def drop_database(server: PostgresServer, name: str) -> None:
    _run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
