"""Reading and checking a large upload's rows in a second process while this one stores them.

Checking a row (ID checksum, keyed hash, encryption, dates, scope) and parsing the file are
pure Python and hold the GIL; storing waits on the database. In one process they take
turns; with the reading and checks in a worker process they overlap, and a 100,000-row
upload takes little longer than storing it.

The parent starts `python -m skills_registry.imports.worker`, sends it the RowChecker, the
header's place and column positions and the file's bytes; the worker reads the rows below
the header (skipping blank ones, numbering them as Excel does, stopping at MAX_UPLOAD_ROWS),
checks them, finds duplicates, and answers chunk by chunk, in file order: (row number,
value, errors) per row, then the row count and the checker's warnings. Messages are
length-prefixed pickles over the worker's stdin/stdout: the worker is our own child and
trusts only its parent. It is given the two ID-number keys it needs (crypto.IdNumberKeys),
never SECRET_KEY, and a bare environment. It ends when the parent closes its stdin (the
upload is over), when its stdin or stdout breaks (the parent died), or when the parent
kills it (the upload failed); it ignores SIGINT and SIGTERM, which are the server's to
act on, in its own session.

This module is imported by the worker: keep its imports (and the checkers') light.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import struct
import sys
import tempfile
import traceback
from collections.abc import AsyncGenerator, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import FieldError
from .reader import FileError, FileFormat, numbered_rows, rows_after
from .spec import RowChecker, duplicate_row, row_maker

Checked = tuple[int, Any, list[FieldError]]

_LENGTH = struct.Struct(">I")
# Answers waiting to be stored: past about twice this the worker is made to wait.
_STREAM_LIMIT = 2 << 20
_FILE_BLOCK = 1 << 20
_SPOOL_BYTES = 16 << 20  # the worker keeps a file up to this size in memory, larger on disk
_EXIT_WAIT_S = 10.0
# Longest wait for one answer (2,000 rows take well under a second) before the worker is
# taken for stuck: killed, and the upload fails instead of holding the write lock.
ANSWER_TIMEOUT_S = 120.0
_END_OF_FILE = "end of file"
# What the worker may see of the server's environment (not its secrets or database URL).
_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "PYTHONPATH")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class TooManyRows(Exception):
    """More data rows than MAX_UPLOAD_ROWS (the pipeline answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class WorkerFailed(RuntimeError):
    """The worker stopped or raised; the upload's transaction is rolled back."""


@dataclass(frozen=True)
class Job:
    """What the worker is told before the file's bytes: how to read the rows and check them."""

    checker: RowChecker[Any]
    positions: Sequence[tuple[int, str]]  # the header's (cell index, column key)
    file_format: FileFormat
    header_row: int
    max_rows: int
    chunk_rows: int  # rows per answer


class CheckWorker:
    """The parent's handle on one worker process (one upload attempt)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.rows = 0
        self.warnings: list[str] = []

    @classmethod
    async def start(cls) -> CheckWorker:
        """Starts the process; it imports while the caller opens its transaction."""
        env = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
        # The worker must import this very copy of the package (tests and tools may put it
        # on sys.path by hand); -P keeps the server's working directory off its sys.path.
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            "-m",
            __name__,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            limit=_STREAM_LIMIT,
            start_new_session=True,
        )
        return cls(process)

    async def checked_chunks(
        self, job: Job, file: IO[bytes]
    ) -> AsyncGenerator[list[Checked], None]:
        """Hands the worker the job and the file, and yields its checks in file order; `rows`
        counts the data rows read so far. Raises TooManyRows, FileError (a file that breaks
        half-way) and WorkerFailed."""
        self._send(job)
        await self._send_file(file)
        while True:
            message = await self._receive()
            kind = message[0]
            if kind == "rows":
                _, checked, self.rows = message
                yield checked
            elif kind == "done":
                _, self.rows, self.warnings = message
                return
            elif kind == "too_many_rows":
                raise TooManyRows(job.max_rows)
            elif kind == "file_error":
                raise FileError(message[1])
            else:
                raise WorkerFailed(f"the row-checking worker failed:\n{message[1]}")

    async def close(self, *, succeeded: bool) -> None:
        """Ends the worker: by closing its input after a complete run, else by force."""
        process = self._process
        if not succeeded:
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
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.write(_LENGTH.pack(len(data)) + data)

    async def _send_file(self, file: IO[bytes]) -> None:
        stdin = self._process.stdin
        file.seek(0)
        try:
            while block := file.read(_FILE_BLOCK):
                self._send(block)
                if stdin is not None:
                    await stdin.drain()  # the worker keeps the file as it comes: no pile-up here
            self._send(_END_OF_FILE)
        except ConnectionError as exc:
            code = await self._process.wait()
            raise WorkerFailed(f"the row-checking worker stopped (exit code {code})") from exc

    async def _receive(self) -> tuple[Any, ...]:
        stdout = self._process.stdout
        if stdout is None:
            raise WorkerFailed("the row-checking worker has no output")
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                (length,) = _LENGTH.unpack(await stdout.readexactly(_LENGTH.size))
                data = await stdout.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            code = await self._process.wait()
            raise WorkerFailed(f"the row-checking worker stopped (exit code {code})") from exc
        except TimeoutError:
            self.kill()
            await self._process.wait()
            raise WorkerFailed(
                f"the row-checking worker gave no answer for {ANSWER_TIMEOUT_S:.0f} s"
            ) from None
        message: tuple[Any, ...] = pickle.loads(data)  # noqa: S301 - our own child
        return message


# --- the worker's side ---------------------------------------------------------------------


class _Closed(Exception):
    """The parent closed the pipe, or died in the middle of a message."""


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise _Closed
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        raise _Closed
    return pickle.loads(data)  # noqa: S301 - from the parent that started us


def _write(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    try:
        job: Job = _read(requests)
        with tempfile.SpooledTemporaryFile(_SPOOL_BYTES) as file:
            while (block := _read(requests)) != _END_OF_FILE:
                file.write(block)
            try:
                _check_file(job, file, answers)
            except TooManyRows:
                _write(answers, ("too_many_rows",))
            except FileError as exc:
                _write(answers, ("file_error", exc.message))
            except Exception:  # reported to the parent, which fails the upload
                _write(answers, ("error", traceback.format_exc()))
    except _Closed:
        return  # nobody is waiting for an answer


def _check_file(job: Job, file: IO[bytes], answers: IO[bytes]) -> None:
    make_row = row_maker(job.positions)
    check, key = job.checker.check, job.checker.key
    seen: dict[Hashable, int] = {}  # the file's rows so far, by natural key
    count = 0
    checked: list[Checked] = []
    rows = rows_after(file, job.file_format, job.header_row)
    for number, cells in numbered_rows(rows, job.header_row):
        count += 1
        if count > job.max_rows:
            raise TooManyRows(job.max_rows)
        value, errors = check(make_row(number, cells))
        if value is not None and not errors:
            first = seen.setdefault(key(value), number)
            if first != number:
                value, errors = None, [duplicate_row(first)]
        checked.append((number, value, errors))
        if len(checked) >= job.chunk_rows:
            _write(answers, ("rows", checked, count))
            checked = []
    if checked:
        _write(answers, ("rows", checked, count))
    _write(answers, ("done", count, job.checker.warnings()))


def main() -> None:
    # Stopping is the server's decision: it ends this process with the upload.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # The answers get their own descriptor; anything printed by mistake goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with contextlib.suppress(BrokenPipeError):  # the parent died: nobody to answer
        serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
