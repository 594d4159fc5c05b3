"""Gap-free counters: call inside the caller's write transaction so a rollback returns the value."""

from __future__ import annotations

from .tables import Counter


async def next_value(name: str, *, start_after: int = 0) -> int:
    """Increment and return the counter `name` (the row lock serialises concurrent callers)."""
    rows = await Counter.raw(
        "INSERT INTO counter (name, value) VALUES ({}, {}) "
        "ON CONFLICT (name) DO UPDATE SET value = counter.value + 1 RETURNING value",
        name,
        start_after + 1,
    )
    return int(rows[0]["value"])


async def raise_to_at_least(name: str, value: int) -> None:
    """Make sure the counter will never hand out `value` or anything below it."""
    await Counter.raw(
        "INSERT INTO counter (name, value) VALUES ({}, {}) "
        "ON CONFLICT (name) DO UPDATE SET value = "
        "CASE WHEN counter.value < excluded.value THEN excluded.value ELSE counter.value END",
        name,
        value,
    )
