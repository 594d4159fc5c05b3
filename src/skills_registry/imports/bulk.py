"""Bulk statements for a domain's `store()`: on SQLite multi-row INSERTs under its 32,766
variables (asyncpg's limit is 32,767 arguments); on PostgreSQL asyncpg's pipelined
executemany of one prepared INSERT, which PostgreSQL runs faster than huge statements.

Inside the upload's transaction these talk to the transaction's own driver connection
(aiosqlite or asyncpg): building Piccolo query objects for 30,000 arguments costs more than
the insert itself. SQLite values go through the adapters and converters Piccolo registers
(UUID, date, datetime), so rows read back have the same Python types as Piccolo's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import lru_cache
from itertools import chain
from typing import Any, TypeVar
from uuid import UUID

from piccolo.engine.sqlite import convert_datetime_in
from piccolo.table import Table

from ..database import current_engine

MAX_ARGUMENTS = 32_000
LOOKUP_CHUNK = 2_000  # an upload chunk's people in one look-up
PG_EXECUTEMANY_ROWS = 10_000

T = TypeVar("T")


_VARIANT = "89ab89ab89ab89ab"  # RFC 4122 variant: the top two bits of the 17th digit are 10


def new_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, from one call to the OS's random source.

    Text is what SQLite stores and asyncpg takes for a uuid column; building UUID objects
    and turning each back into text for every table it goes into cost ~1 s an upload of
    100,000 rows.
    """
    digits = os.urandom(16 * count).hex()
    return [
        f"{digits[i : i + 8]}-{digits[i + 8 : i + 12]}-4{digits[i + 13 : i + 16]}-"
        f"{_VARIANT[int(digits[i + 16], 16)]}{digits[i + 17 : i + 20]}-{digits[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _transaction_connection() -> tuple[str, Any]:
    engine = current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk statements run inside write_transaction()")
    return engine.engine_type, transaction.connection


def _placeholders(engine_type: str, start: int, count: int) -> list[str]:
    if engine_type == "sqlite":
        return ["?"] * count
    return [f"${n}" for n in range(start + 1, start + count + 1)]


async def execute(sql_template: str, arguments: Sequence[Any]) -> None:
    """Run one statement whose `{}` marks stand for the arguments (in the transaction)."""
    engine_type, connection = _transaction_connection()
    sql = sql_template.format(*_placeholders(engine_type, 0, len(arguments)))
    if engine_type == "sqlite":
        cursor = await connection.execute(sql, list(arguments))
        await cursor.close()
    else:
        await connection.execute(sql, *arguments)


async def fetch(sql_template: str, arguments: Sequence[Any]) -> list[dict[str, Any]]:
    """A SELECT with `{}` marks for the arguments, rows as dicts (in the transaction)."""
    engine_type, connection = _transaction_connection()
    sql = sql_template.format(*_placeholders(engine_type, 0, len(arguments)))
    if engine_type == "sqlite":
        cursor = await connection.execute(sql, list(arguments))
        try:
            rows = await cursor.fetchall()
        finally:
            await cursor.close()
        return [row if isinstance(row, dict) else dict(row) for row in rows]
    return [dict(record) for record in await connection.fetch(sql, *arguments)]


async def _insert_postgres(
    table: type[Table],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    on_conflict_do_nothing: Sequence[str] | None,
) -> None:
    """PostgreSQL: one prepared single-row INSERT, pipelined by asyncpg's executemany.

    Measured on 100,000 people: 2.1 s, against 5.9 s for multi-row statements of 32,000
    arguments (PostgreSQL plans each huge statement afresh) and 3.1 s for 100-row ones.
    """
    _, connection = _transaction_connection()
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    suffix = ""
    if on_conflict_do_nothing:
        suffix = f" ON CONFLICT ({', '.join(on_conflict_do_nothing)}) DO NOTHING"
    sql = f'INSERT INTO "{table._meta.tablename}" ({names}) VALUES ({marks}){suffix}'  # noqa: S608
    for part in chunks(rows, PG_EXECUTEMANY_ROWS):
        await connection.executemany(sql, part)


def _for_sqlite(rows: Sequence[Sequence[Any]]) -> list[Any]:
    """The statement's arguments, with UUIDs, dates and datetimes converted here as Piccolo's
    adapters would: sqlite3 calls adapters while holding the GIL, which would keep the next
    chunk's checking from running while SQLite writes this one. Flattened first, then
    converted column by column through strided slices, each distinct value once."""
    width = len(rows[0])
    if any(len(row) != width for row in rows):  # the strided columns would silently shift
        raise ValueError("every row of one INSERT needs the same number of values")
    flat = list(chain.from_iterable(rows))
    for j in range(width):
        sample = rows[0][j]
        if sample is None:
            sample = next((v for v in flat[j::width] if v is not None), None)
        if isinstance(sample, UUID):
            texts: dict[Any, str] = {}
            flat[j::width] = [
                None if v is None else texts.get(v) or _uuid_text(v, texts) for v in flat[j::width]
            ]
        elif isinstance(sample, date):
            seen: dict[Any, str] = {}
            flat[j::width] = [
                None if v is None else seen.get(v) or _date_text(v, seen) for v in flat[j::width]
            ]
    return flat


def _uuid_text(value: Any, seen: dict[Any, str]) -> str:
    text = str(value)
    seen[value] = text
    return text


def _date_text(value: date, seen: dict[Any, str]) -> str:
    text = convert_datetime_in(value) if isinstance(value, datetime) else value.isoformat()
    seen[value] = text
    return text


def in_list(count: int) -> str:
    """`({}, {}, …)` for an IN clause of `count` arguments."""
    return "(" + ", ".join(["{}"] * count) + ")"


async def insert_rows(
    table: type[Table],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    on_conflict_do_nothing: Sequence[str] | None = None,
) -> None:
    """INSERT many rows of plain Python values (UUID, date, datetime, str, int) at once.

    `on_conflict_do_nothing` names the columns of a unique index (PostgreSQL and
    SQLite ≥ 3.24 both speak ON CONFLICT … DO NOTHING).
    """
    if not rows:
        return
    engine_type = current_engine().engine_type
    if engine_type != "sqlite":
        await _insert_postgres(table, columns, rows, on_conflict_do_nothing)
        return
    _, connection = _transaction_connection()
    conflict = tuple(on_conflict_do_nothing) if on_conflict_do_nothing else None
    for part in chunks(rows, max(1, MAX_ARGUMENTS // len(columns))):
        sql = _sqlite_insert(table._meta.tablename, tuple(columns), len(part), conflict)
        cursor = await connection.execute(sql, _for_sqlite(part))
        await cursor.close()


@lru_cache(maxsize=64)
def _sqlite_insert(
    table: str, columns: tuple[str, ...], count: int, on_conflict_do_nothing: tuple[str, ...] | None
) -> str:
    """A multi-row INSERT of `count` rows; an upload repeats a few shapes many times."""
    names = ", ".join(f'"{c}"' for c in columns)
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    suffix = ""
    if on_conflict_do_nothing:
        suffix = f" ON CONFLICT ({', '.join(on_conflict_do_nothing)}) DO NOTHING"
    return f'INSERT INTO "{table}" ({names}) VALUES ' + ", ".join([one] * count) + suffix  # noqa: S608
