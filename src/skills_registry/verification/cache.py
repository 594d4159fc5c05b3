"""A short-lived, per-process cache of what the database says about a certificate.

A QR scan is a hot read: the signature check is local, the status read is not. Caching
the status for `seconds` lets a server answer scans without a database round trip; the
price is that a revocation reaches every server within that time (`0` turns it off).
Only what the database said is cached — never a verdict on a token, which is always
checked against its signature first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 50_000


class TimedCache(Generic[T]):
    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, T]] = OrderedDict()

    async def get_or_load(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        if self.seconds <= 0:
            return await load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        value = await load()
        self._entries[key] = (now + self.seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value
