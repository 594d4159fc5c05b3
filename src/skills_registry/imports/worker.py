"""Checking a large upload's rows in a second process while this one stores them.

Checking a row (ID checksum, keyed hash, encryption, dates, scope) is pure Python and holds
the GIL; storing waits on the database. In one process they take turns; with the checks in
a worker process they overlap, and a 100,000-row upload takes about as long as storing it.

The parent starts `python -m skills_registry.imports.worker`, sends it the RowChecker and the
header's column positions, then chunks of (row number, cells); the worker answers each
chunk, in order, with (row number, value, errors) per row and the checker's warnings so far.
Messages are length-prefixed pickles over the worker's stdin/stdout: the worker is our own
child and trusts only its parent. It exits when its stdin closes (the parent ended the
upload, or died), so a killed server leaves no worker behind.

This module is imported by the worker: keep its imports (and the checkers') light.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import pickle
import struct
import sys
import traceback
from collections.abc import AsyncIterator, Hashable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import IO, Any

from ..errors import FieldError
from .spec import RowChecker, duplicate_row, row_maker

Checked = tuple[int, Any, list[FieldError]]

_LENGTH = struct.Struct(">I")
_STREAM_LIMIT = 64 << 20  # the parent reads answers as they come: never blocks the worker
_AHEAD = 3  # chunks sent and not yet answered: the worker keeps busy while a store waits
_EXIT_WAIT_S = 10.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerFailed(RuntimeError):
    """The worker stopped or raised; the upload's transaction is rolled back."""


class CheckWorker:
    """The parent's handle on one worker process (one upload attempt)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.warnings: list[str] = []

    @classmethod
    async def start(cls) -> CheckWorker:
        """Starts the process; it imports while the caller opens its transaction."""
        env = dict(os.environ)
        # The worker must import this very copy of the package (tests and tools may put it
        # on sys.path by hand).
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            __name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=_STREAM_LIMIT,
        )
        return cls(process)

    async def checked_chunks(
        self,
        checker: RowChecker[Any],
        positions: Sequence[tuple[int, str]],
        numbered: Iterator[tuple[int, list[Any]]],
        chunk_rows: int,
    ) -> AsyncIterator[list[Checked]]:
        """Sends the rows as they are read and yields their checks in file order.

        Reading stays here (row counting, size limits, blank rows are the caller's
        generator); at most `_AHEAD` chunks wait in the worker.
        """
        self._send((checker, list(positions)))
        waiting = 0
        more = True
        while True:
            while more and waiting < _AHEAD:
                chunk = list(islice(numbered, chunk_rows))
                if not chunk:
                    more = False
                    break
                self._send(chunk)
                waiting += 1
            if not waiting:
                return
            checked, self.warnings = await self._receive()
            waiting -= 1
            yield checked

    async def close(self, *, finished: bool) -> None:
        """Ends the worker: by closing its input after a complete run, else by force."""
        process = self._process
        if not finished:
            self.kill()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), _EXIT_WAIT_S)
        except TimeoutError:  # its work is done and used: a stuck worker is only ended
            self.kill()
            await process.wait()
        except asyncio.CancelledError:
            self.kill()
            raise

    @property
    def returncode(self) -> int | None:
        """None while the process runs."""
        return self._process.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()

    def _send(self, message: Any) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            raise WorkerFailed("the row-checking worker has stopped")
        # Rows of cells share no objects: no memo is faster (3x on a chunk of CSV rows).
        buffer = io.BytesIO()
        buffer.write(_LENGTH.pack(0))
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True
        pickler.dump(message)
        data = buffer.getbuffer()
        _LENGTH.pack_into(data, 0, len(data) - _LENGTH.size)
        stdin.write(data)

    async def _receive(self) -> tuple[list[Checked], list[str]]:
        stdout = self._process.stdout
        if stdout is None:
            raise WorkerFailed("the row-checking worker has no output")
        try:
            (length,) = _LENGTH.unpack(await stdout.readexactly(_LENGTH.size))
            status, *payload = pickle.loads(await stdout.readexactly(length))  # noqa: S301 - our own child
        except asyncio.IncompleteReadError as exc:
            code = await self._process.wait()
            raise WorkerFailed(f"the row-checking worker stopped (exit code {code})") from exc
        if status != "ok":
            raise WorkerFailed(f"the row-checking worker failed:\n{payload[0]}")
        checked, warnings = payload
        return checked, warnings


# --- the worker's side ---------------------------------------------------------------------


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None  # the parent closed the pipe: the upload is over
    (length,) = _LENGTH.unpack(header)
    return pickle.loads(stream.read(length))  # noqa: S301 - from the parent that started us


def _write(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    setup = _read(requests)
    if setup is None:
        return
    checker, positions = setup
    make_row = row_maker(positions)
    check, key = checker.check, checker.key
    seen: dict[Hashable, int] = {}  # the file's rows so far, by natural key
    while (chunk := _read(requests)) is not None:
        try:
            checked: list[Checked] = []
            for number, cells in chunk:
                value, errors = check(make_row(number, cells))
                if value is not None and not errors:
                    first = seen.setdefault(key(value), number)
                    if first != number:
                        value, errors = None, [duplicate_row(first)]
                checked.append((number, value, errors))
            answer: tuple[Any, ...] = ("ok", checked, checker.warnings())
        except Exception:  # reported to the parent, which fails the upload
            _write(answers, ("error", traceback.format_exc()))
            return
        _write(answers, answer)


def main() -> None:
    # The answers get their own descriptor; anything printed by mistake goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
