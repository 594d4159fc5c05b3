"""Crash safety: the real server killed (SIGKILL) in the middle of a large upload.

An upload is stored in ONE write transaction together with its batch record and its audit
event, so a process that dies half-way leaves nothing behind: no people, no enrolments, no
batch claiming anything (not even one "in progress" — there is no such state to clean up).
The clerk's retry, on a server started again on the same database, stores every row.

PostgreSQL restarted under a running server (pool on, as in production), on a throwaway
cluster of the test's own: readiness and every API call answer 503 (with Retry-After)
promptly while it is down, and both recover without restarting the app.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from bench.data import write_csv
from skills_registry import database
from skills_registry.audit.tables import AuditEvent
from skills_registry.imports.tables import ImportBatch
from skills_registry.principal import Role
from skills_registry.settings import Settings
from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee
from tests import pg
from tests.conftest import Keys, add_provider, make_settings
from tests.factories import credit_code
from tests.servers import cli, start_server

WRITE_WAIT_S = 30.0
WORKER_EXIT_S = 10.0
# SQLite shows no uncommitted writes to another connection, only its write lock: the kill
# lands this long after the upload's transaction has been seen holding it, in a file big
# enough (about 5 s here, 2,000-row chunks) for that to be well inside the writing.
SQLITE_ROWS = 60_000
SQLITE_KILL_DELAY_S = 0.5
# PostgreSQL: once this much of the enrolment table is written, none of it committed.
PG_ROWS = 30_000
PG_WRITTEN_BYTES = 512 * 1024


async def _counts() -> dict[str, int]:
    return {
        "trainees": await Trainee.count(),
        "enrolments": await Enrolment.count(),
        "links": await ProviderLink.count(),
        "batches": await ImportBatch.count(),
        "import_events": await AuditEvent.count().where(AuditEvent.action == "import.enrolments"),
    }


def _sqlite_write_lock_held(path: Path) -> bool:
    """True while another connection holds SQLite's write lock (a write transaction is open)."""
    connection = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            return True
        raise
    else:
        connection.execute("ROLLBACK")
        return False
    finally:
        connection.close()


def _sqlite_integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


async def _uncommitted_enrolment_bytes() -> int:
    """PostgreSQL: bytes of the enrolment table while no row of it is visible (committed)."""
    rows = await Enrolment.raw(
        "SELECT pg_relation_size('enrolment') AS size, "
        "(SELECT count(*) FROM enrolment) AS visible, "
        "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        " AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()) AS writers"
    )
    row = rows[0]
    assert row["visible"] == 0, "the upload committed before the kill"
    return int(row["size"]) if row["writers"] else 0


async def _wait_until_mid_write(settings: Settings, upload: asyncio.Task[httpx.Response]) -> str:
    """Wait (bounded) until the upload's transaction is demonstrably writing; say how we know."""
    deadline = time.monotonic() + WRITE_WAIT_S
    while time.monotonic() < deadline:
        if upload.done():
            pytest.fail(f"the upload finished before the kill: {upload.result().text[:300]}")
        if settings.is_sqlite:
            if _sqlite_write_lock_held(settings.sqlite_path):
                await asyncio.sleep(SQLITE_KILL_DELAY_S)
                assert _sqlite_write_lock_held(settings.sqlite_path)
                return f"write lock held for {SQLITE_KILL_DELAY_S} s"
        else:
            written = await _uncommitted_enrolment_bytes()
            if written >= PG_WRITTEN_BYTES:
                return f"{written} bytes of enrolments written, none committed"
        await asyncio.sleep(0.02)
    pytest.fail(f"the upload's write transaction was not seen within {WRITE_WAIT_S:.0f} s")


def _import_workers(parent: int) -> list[int]:
    """The row-checking worker processes (imports.worker) started by `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if ppid == parent and b"skills_registry.imports.worker" in command:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited (whoever adopted it reaps it)


def _all_ended(pids: list[int]) -> bool:
    deadline = time.monotonic() + WORKER_EXIT_S
    while any(_running(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _sheet(directory: Path, rows: int) -> bytes:
    """A school's enrolment export of `rows` people (bench.data: title row, Chinese headers)."""
    return write_csv(directory / "enrolments.csv", rows).read_bytes()


async def _upload(base: str, key: str, sheet: bytes) -> httpx.Response:
    async with httpx.AsyncClient(timeout=120) as http:
        return await http.post(
            f"{base}/api/v1/imports/enrolments",
            files={"file": ("enrolments.csv", sheet, "text/csv")},
            headers=Keys.auth(key),
        )


async def test_sigkill_mid_upload_leaves_nothing_and_the_retry_stores_every_row(
    settings: Settings, keys: Keys, tmp_path: Path
) -> None:
    await add_provider("PA", scope=[("6-31-01-03", 1)])
    key = await keys.make(Role.PROVIDER, "PA")
    rows = SQLITE_ROWS if settings.is_sqlite else PG_ROWS
    sheet = _sheet(tmp_path, rows)

    server = start_server(settings)
    try:
        upload = asyncio.create_task(_upload(server.base, key, sheet))
        started = time.monotonic()
        evidence = await _wait_until_mid_write(settings, upload)
        workers = _import_workers(server.process.pid)
        killed_after = time.monotonic() - started
        server.kill()
        with pytest.raises(httpx.TransportError):
            await asyncio.wait_for(upload, timeout=10)
    finally:
        server.kill()
    print(f"killed {killed_after:.2f} s into the upload ({evidence})")
    # A file this large is checked in a worker process, which must not outlive the server.
    assert len(workers) == 1
    assert await asyncio.to_thread(_all_ended, workers), "the import worker outlived the server"
    if settings.is_sqlite:
        assert _sqlite_integrity(settings.sqlite_path) == "ok"

    assert await _counts() == {
        "trainees": 0,
        "enrolments": 0,
        "links": 0,
        "batches": 0,
        "import_events": 0,
    }

    server = start_server(settings)
    try:
        started = time.monotonic()
        retried = await _upload(server.base, key, sheet)
        took = time.monotonic() - started
        assert retried.status_code == 200, retried.text[:500]
        body = retried.json()
        assert (body["status"], body["rows"], body["stored"]) == ("stored", rows, rows)
        async with httpx.AsyncClient(timeout=10) as http:
            listed = await http.get(f"{server.base}/api/v1/imports", headers=Keys.auth(key))
        assert [b["batch_id"] for b in listed.json()] == [body["batch_id"]]
    finally:
        server.stop()
    print(f"the retry stored {rows} rows in {took:.2f} s")
    # The kill landed well inside the transaction: a whole upload takes far longer.
    assert killed_after < took
    assert await _counts() == {
        "trainees": rows,
        "enrolments": rows,
        "links": rows,
        "batches": 1,
        "import_events": 1,
    }


# --- PostgreSQL restarted under a running server -------------------------------------------

DOWN_ANSWER_S = 5.0  # "promptly": a refused connection must not wait for a pool or a timeout
RECOVERY_WAIT_S = 20.0
RESTART_ROWS = 20_000


@pytest.fixture
def throwaway_postgres() -> Iterator[pg.ThrowawayCluster]:
    """A cluster of this test's own: stopping it never disturbs the shared one on 5432."""
    try:
        cluster = pg.throwaway_cluster()
    except (subprocess.SubprocessError, OSError) as exc:
        cluster, reason = None, f"could not start a throwaway PostgreSQL cluster: {exc}"
    else:
        reason = "no Debian PostgreSQL binaries (or not root) to start a throwaway cluster"
    if cluster is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    try:
        yield cluster
    finally:
        cluster.destroy()


async def _timed_get(
    http: httpx.AsyncClient, path: str, key: str | None = None
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await http.get(path, headers=Keys.auth(key) if key else None)
    return response, time.monotonic() - started


def _assert_unavailable(response: httpx.Response, took: float) -> None:
    assert response.status_code == 503, response.text[:500]
    assert took < DOWN_ANSWER_S, f"answered after {took:.1f} s"
    assert int(response.headers["retry-after"]) > 0
    if response.request.url.path.startswith("/api/"):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 503


async def _wait_for_writer(server: pg.PostgresServer, database_name: str) -> None:
    """Until a session of the app has a write transaction open in `database_name`."""
    connection = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, database="postgres"
    )
    try:
        deadline = time.monotonic() + WRITE_WAIT_S
        while not await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL",
            database_name,
        ):
            assert time.monotonic() < deadline, "the upload's transaction never started"
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


async def test_postgres_restart_under_a_running_server_answers_503_then_recovers(
    throwaway_postgres: pg.ThrowawayCluster, tmp_path: Path
) -> None:
    cluster = throwaway_postgres.server
    name = pg.create_database(cluster)
    settings = make_settings(cluster.url(name))
    await asyncio.to_thread(cli, settings, "migrate")
    created = await asyncio.to_thread(cli, settings, "keys", "create", "--role", "bureau-admin")
    admin = created.strip().splitlines()[-1]
    sheet = _sheet(tmp_path, RESTART_ROWS)

    server = start_server(settings, SKILLS_REGISTRY_DATABASE_POOL="true")
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=DOWN_ANSWER_S * 3) as http:
            ready, _ = await _timed_get(http, "/health/ready")
            assert ready.status_code == 200
            provider = await http.post(
                "/api/v1/providers",
                json={
                    "code": "PR",
                    "name": "重启测试学校",
                    "kind": "技工院校",
                    "district": "思明",
                    "credit_code": credit_code("PR"),
                    "scope": [{"occupation_code": "6-31-01-03", "max_level": 1}],
                },
                headers=Keys.auth(admin),
            )
            assert provider.status_code == 201, provider.text[:500]
            made = await http.post(
                "/api/v1/keys",
                json={"role": "provider", "provider": "PR", "label": "clerk"},
                headers=Keys.auth(admin),
            )
            key = made.json()["api_key"]

            # An upload in flight when PostgreSQL goes away: 503, and nothing of it is kept.
            upload = asyncio.create_task(_upload(server.base, key, sheet))
            await _wait_for_writer(cluster, name)
            await asyncio.to_thread(throwaway_postgres.stop, "fast")
            interrupted = await asyncio.wait_for(upload, timeout=DOWN_ANSWER_S * 3)
            assert interrupted.status_code == 503, interrupted.text[:500]
            assert int(interrupted.headers["retry-after"]) > 0

            _assert_unavailable(*await _timed_get(http, "/health/ready"))
            for path in ("/api/v1/providers", "/api/v1/me", "/api/v1/progress", "/api/v1/imports"):
                _assert_unavailable(*await _timed_get(http, path, admin))
            started = time.monotonic()
            refused = await http.post(
                "/api/v1/providers", json={"code": "X1"}, headers=Keys.auth(admin)
            )
            _assert_unavailable(refused, time.monotonic() - started)
            assert (await http.get("/health/live")).status_code == 200

            await asyncio.to_thread(throwaway_postgres.start)
            deadline = time.monotonic() + RECOVERY_WAIT_S
            while (await _timed_get(http, "/health/ready"))[0].status_code != 200:
                assert time.monotonic() < deadline, "not ready again after PostgreSQL came back"
                await asyncio.sleep(0.2)
            listed = await http.get("/api/v1/imports", headers=Keys.auth(key))
            assert listed.status_code == 200, listed.text[:500]
            assert listed.json() == []  # the interrupted upload left no batch behind
            retried = await _upload(server.base, key, sheet)
            assert retried.status_code == 200, retried.text[:500]
            assert retried.json()["stored"] == RESTART_ROWS
        assert server.process.poll() is None  # the same server process throughout
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.exceptions.LockNotAvailableError("lock timeout"), True),
        (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), True),
        (asyncpg.exceptions.InterfaceError("connection is closed"), True),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), True),
        (OSError("Multiple exceptions: [Errno 111] Connect call failed"), True),
        (TimeoutError(), True),
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("unable to open database file"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (asyncpg.exceptions.UndefinedTableError('relation "x" does not exist'), False),
        (asyncpg.exceptions.InterfaceError("another operation is in progress"), False),
        (sqlite3.OperationalError("no such table: x"), False),
        (FileNotFoundError(errno.ENOENT, "keys"), False),
        (ValueError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_which_database_errors_mean_try_again(error: Exception, unavailable: bool) -> None:
    """503 + Retry-After for a database that is down, restarting or busy; a bug stays a 500."""
    assert database.is_unavailable_error(error) is unavailable
