"""Engines, activation, transactions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import io
import os
import random
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from . import piccolo_conf
from .errors import ServiceUnavailableError
from .settings import Settings

_PICCOLO_CONF_MODULE = "skills_registry.piccolo_conf"
# A PostgreSQL that does not answer must not hold a request (or the readiness probe) for
# asyncpg's default of 60 s: a refused connection fails at once, an unreachable host here.
CONNECT_TIMEOUT_S = 10.0
PING_TIMEOUT_S = 2.0


def build_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(str(path))
        return SQLiteEngine(path=str(path), timeout=settings.sqlite_busy_timeout_seconds)
    dsn = settings.database_url.replace("postgres://", "postgresql://", 1)
    return PostgresEngine(config={"dsn": dsn, "timeout": CONNECT_TIMEOUT_S})


def _enable_wal(path: str) -> None:
    # WAL is a property of the file: set once, every later connection inherits it.
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def all_tables() -> list[type[Table]]:
    tables: list[type[Table]] = [Migration]
    for app_config in piccolo_conf.APP_REGISTRY.app_configs.values():
        tables.extend(app_config.table_classes)
    return tables


def activate(engine: Engine) -> None:
    """Point Piccolo's finder and every table at `engine` (tests switch engines in one process)."""
    os.environ["PICCOLO_CONF"] = _PICCOLO_CONF_MODULE
    piccolo_conf.DB = engine
    for table in all_tables():
        table._meta.db = engine


def current_engine() -> Engine:
    return piccolo_conf.DB


def is_sqlite() -> bool:
    return current_engine().engine_type == "sqlite"


def write_transaction() -> Any:
    """A transaction that takes the write lock up front on SQLite, so writers queue, not fail."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def migrate(*, quiet: bool = False) -> None:
    """Apply every app's migrations to the active engine."""
    out = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(out) if out else contextlib.nullcontext():
        result = await run_forwards(app_name="all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")


async def ping() -> bool:
    """The database answers a query within PING_TIMEOUT_S (through the pool when there is one)."""
    try:
        async with asyncio.timeout(PING_TIMEOUT_S):
            await current_engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


# SQLSTATEs meaning "not now": the same request may well work in a moment. 08 connection
# exception; 53 insufficient resources (too many connections); 57 operator intervention
# (shutdown, restart, statement timeout); 55P03 lock wait timed out; 40001/40P01
# serialization failure and deadlock (left over after the services' own retries).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "55P03", "40001", "40P01")
_UNAVAILABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}
_SQLITE_UNAVAILABLE = (
    "unable to open database",
    "disk i/o error",
    "database is locked",
    "closed database",
)


def is_unavailable_error(exc: BaseException) -> bool:
    """The database is down, restarting, unreachable or too busy: answer 503, not 500."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return any(marker in str(exc).lower() for marker in _SQLITE_UNAVAILABLE)
    if isinstance(exc, OSError):
        # asyncio reports a failed connect to several addresses as a bare OSError.
        return exc.errno in _UNAVAILABLE_ERRNOS or str(exc).startswith(
            ("Multiple exceptions", "Connect call failed")
        )
    module = type(exc).__module__
    if not module.startswith("asyncpg"):
        return False
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    # Client-side: "connection is closed", "pool is closing" (not the misuse errors).
    return type(exc).__name__ == "InterfaceError" and (
        "closed" in str(exc) or "closing" in str(exc)
    )


@contextlib.asynccontextmanager
async def connection_pool(settings: Settings) -> AsyncIterator[None]:
    engine = current_engine()
    if isinstance(engine, PostgresEngine) and settings.database_pool:
        await engine.start_connection_pool(max_size=settings.database_pool_max_size)
        try:
            yield
        finally:
            await engine.close_connection_pool()
    else:
        yield


# --- concurrent writers ---------------------------------------------------------------------

RETRY_ATTEMPTS = 4
# Another transaction got there first: a unique key it committed a moment ago (23505), a
# serialization failure (40001) or a deadlock (40P01). SQLite's writers take turns instead.
_CONFLICT_SQLSTATES = {"23505", "40001", "40P01"}
BULK_WRITE_WAIT_S = 30.0

_T = TypeVar("_T")


def is_concurrent_conflict(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("asyncpg") and (
        getattr(exc, "sqlstate", None) in _CONFLICT_SQLSTATES
    )


async def retry_on_conflict(
    operation: Callable[[], Awaitable[_T]], *, attempts: int = RETRY_ATTEMPTS
) -> _T:
    """Run `operation` — one whole write transaction that reads before it writes — again when
    it lost a race to a concurrent one. The retry reads what the winner committed, so it
    answers as if it had come second (e.g. "already issued" instead of a unique violation).
    Inside a caller's transaction nothing is retried: the caller's transaction is the unit.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except Exception as exc:
            nested = current_engine().current_transaction.get() is not None
            if attempt == attempts or nested or not is_concurrent_conflict(exc):
                raise
            # A little jitter, so the losers of one race do not meet again in the next.
            await asyncio.sleep(random.uniform(0, 0.02 * attempt))  # noqa: S311 - not a secret
    raise AssertionError("unreachable")


_bulk_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)

BUSY_MESSAGE = (
    "另一份上传正在写入数据库，请稍后重试 / another upload is being stored: try again in a moment"
)


def _process_lock(name: str) -> asyncio.Lock:
    locks = _bulk_locks.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(name, asyncio.Lock())


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.asynccontextmanager
async def bulk_write_transaction(
    name: str, *, wait_s: float = BULK_WRITE_WAIT_S
) -> AsyncIterator[None]:
    """A write transaction that no other `bulk_write_transaction(name)` runs beside.

    Uploads create people and enrolments by the thousand: two at once over the same people
    would race on the same unique keys (and deadlock) on PostgreSQL, as they cannot on
    SQLite. In this process they queue on an asyncio lock (a queued upload holds no pooled
    connection), across app servers on a PostgreSQL advisory lock held to the transaction's
    end. Waiting longer than `wait_s` raises ServiceUnavailableError (503, try again).
    """
    started = time.monotonic()
    lock = _process_lock(name)
    try:
        async with asyncio.timeout(wait_s):
            await lock.acquire()
    except TimeoutError:
        raise ServiceUnavailableError(BUSY_MESSAGE) from None
    try:
        async with write_transaction():
            engine = current_engine()
            if isinstance(engine, PostgresEngine):
                remaining = max(wait_s - (time.monotonic() - started), 0.001)
                await _advisory_lock(engine, name, remaining)
            yield
    finally:
        lock.release()


async def _advisory_lock(engine: PostgresEngine, name: str, wait_s: float) -> None:
    transaction = engine.current_transaction.get()
    assert transaction is not None
    connection = transaction.connection
    previous = await connection.fetchval("SELECT current_setting('lock_timeout')")
    await connection.execute(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'")
    try:
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _advisory_key(name))
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "55P03":  # lock_not_available
            raise ServiceUnavailableError(BUSY_MESSAGE) from None
        raise
    await connection.execute("SELECT set_config('lock_timeout', $1, true)", previous)
