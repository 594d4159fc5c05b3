"""Engines, activation, transactions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from . import piccolo_conf
from .settings import Settings

_PICCOLO_CONF_MODULE = "skills_registry.piccolo_conf"


def build_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        _enable_wal(str(path))
        return SQLiteEngine(path=str(path), timeout=settings.sqlite_busy_timeout_seconds)
    dsn = settings.database_url.replace("postgres://", "postgresql://", 1)
    return PostgresEngine(config={"dsn": dsn})


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
    try:
        await current_engine().run_ddl("SELECT 1")
    except Exception:
        return False
    return True


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
