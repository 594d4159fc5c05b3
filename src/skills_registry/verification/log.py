"""The verification log, written in batches.

A verification is a read on the hot path (a QR scan); writing a row and bumping the
certificate's counter for each would serialise scans behind the database's write lock.
Events are buffered per process and flushed every `flush_seconds` (0: at once) in one
transaction. A crash loses at most that window of counts; verdicts are never affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..certificates.services import record_verifications
from ..database import write_transaction
from ..imports.bulk import insert_rows
from .tables import VerificationEvent

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    at: datetime
    number: str | None
    result: str
    channel: str


class VerificationLog:
    def __init__(self, flush_seconds: float) -> None:
        self.flush_seconds = flush_seconds
        self._pending: list[Event] = []
        self._lock = asyncio.Lock()

    async def record(self, number: str | None, result: str, channel: str) -> None:
        self._pending.append(Event(datetime.now(UTC), number, result, channel))
        if self.flush_seconds <= 0:
            await self.flush()

    async def flush(self) -> None:
        async with self._lock:
            events, self._pending = self._pending, []
            if not events:
                return
            counts: dict[str, tuple[int, datetime]] = {}
            for event in events:
                if event.number and event.result != "invalid":
                    count, _ = counts.get(event.number, (0, event.at))
                    counts[event.number] = (count + 1, event.at)
            try:
                async with write_transaction():
                    # Driver-level bulk insert: building thousands of Piccolo objects
                    # a second would stall the event loop that answers the scans.
                    await insert_rows(
                        VerificationEvent,
                        ("at", "number", "result", "channel"),
                        [(e.at, e.number, e.result, e.channel) for e in events],
                    )
                    await record_verifications(counts)
            except Exception:
                # Counting must never break verifying: keep the events for the next flush.
                logger.warning("verification log flush failed; will retry", exc_info=True)
                self._pending = events + self._pending

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Flush periodically while the app runs, and once more at shutdown."""
        task = None
        if self.flush_seconds > 0:
            task = asyncio.create_task(self._flush_forever())
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()
