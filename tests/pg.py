"""Find a PostgreSQL for the tests: 127.0.0.1:5432, else a throwaway cluster, else a reason."""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg


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


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _throwaway_cluster() -> PostgresServer | None:
    """initdb + pg_ctl as user postgres on a spare port, when Debian's binaries exist."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs or os.geteuid() != 0 or shutil.which("runuser") is None:
        return None
    bindir = os.path.dirname(initdbs[-1])
    datadir = tempfile.mkdtemp(prefix="sr-pg-")
    shutil.chown(datadir, user="postgres")
    port = _spare_port()

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    as_postgres(f"{bindir}/initdb", "-D", datadir, "-A", "trust", "-U", "postgres")
    as_postgres(
        f"{bindir}/pg_ctl",
        "-D",
        datadir,
        "-o",
        f"-p {port} -k {datadir} -h 127.0.0.1",
        "-w",
        "start",
        "-l",
        f"{datadir}/log",
    )

    def stop() -> None:
        as_postgres(f"{bindir}/pg_ctl", "-D", datadir, "-m", "immediate", "stop")
        shutil.rmtree(datadir, ignore_errors=True)

    return PostgresServer("127.0.0.1", port, "postgres", stop)


def find_server() -> PostgresServer | None:
    for user in ("postgres", os.environ.get("USER", "root")):
        if _run(_answers("127.0.0.1", 5432, user)):
            return PostgresServer("127.0.0.1", 5432, user)
    try:
        return _throwaway_cluster()
    except (subprocess.CalledProcessError, OSError):
        return None


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
