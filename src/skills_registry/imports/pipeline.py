"""The upload pipeline: file → header → rows → checks → one transaction → a recorded batch."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sys
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, cast
from uuid import UUID, uuid4

from ..audit import services as audit
from ..context import Context
from ..database import bulk_write_transaction, is_sqlite, retry_on_conflict, write_transaction
from ..errors import (
    DomainError,
    FieldError,
    PermissionDeniedError,
    RuleViolation,
    ServiceUnavailableError,
)
from ..metrics import count_import
from ..principal import Role
from ..providers.tables import Provider
from ..settings import IMPORT_WORKER_MIN_ROWS, Settings
from .bulk import execute
from .reader import (
    Cell,
    FileError,
    FileFormat,
    cell_text,
    is_blank,
    numbered_rows,
    open_rows,
    rows_after,
    scan,
    sniff,
)
from .spec import (
    ImportContext,
    ImportKind,
    Mode,
    Outcome,
    RowHandler,
    WorkerRowHandler,
    duplicate_row,
    normalise_header,
    row_maker,
)
from .tables import ImportBatch
from .worker import CheckWorker, Job, TooManyRows, WorkerFailed

logger = logging.getLogger(__name__)

MAX_LISTED_ERRORS = 1000
CHUNK_ROWS = 2000
YIELD_EVERY = 25
SWITCH_INTERVAL_S = 0.0005
HEADER_SCAN_ROWS = 50
MIN_HEADER_MATCHES = 3
SQLITE_CACHE_KIB = 128 * 1024
BULK_WRITER = "imports"

Progress = Callable[[int, int | None], None]


class UploadTooLarge(DomainError):
    """Beyond MAX_UPLOAD_BYTES or MAX_UPLOAD_ROWS (answered 413, naming the limit)."""


class ImportFailed(ServiceUnavailableError):
    """The server could not check the file (its row-checking worker failed): 503."""


WORKER_FAILED_MESSAGE = (
    "服务器检查该文件时出错，未保存任何数据。请稍后重新上传；如仍失败，请把文件分成几个较小的文件"
    " / the server failed while checking the file and stored nothing: upload it again later,"
    " or split it into smaller files"
)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    # Files expected to hold at least this many rows are read and checked in a worker
    # process (handlers with `worker_checker`): below it, starting one costs more than it saves.
    worker_min_rows: int = IMPORT_WORKER_MIN_ROWS

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_rows=settings.max_upload_rows,
            worker_min_rows=settings.import_worker_min_rows,
        )


@dataclass
class RowError:
    row: int | None
    column: str | None  # the header as written in the file
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    batch_id: UUID
    kind: str
    status: str  # "stored" | "rejected"
    rows: int = 0
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
    details_key: str | None = None

    def restart(self, warnings: list[str]) -> None:
        """Back to nothing counted, for another attempt at the same file."""
        self.status = "rejected"
        self.rows = self.stored = self.unchanged = self.rejected = 0
        self.errors, self.details, self.warnings = [], [], list(warnings)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "batch_id": str(self.batch_id),
            "status": self.status,
            "rows": self.rows,
            "stored": self.stored,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.as_json() for e in self.errors],
            "errors_truncated": self.errors_truncated,
            "warnings": self.warnings,
        }
        if self.details_key:
            body[self.details_key] = self.details
        return body


# --- who uploads for which provider ---------------------------------------------------


async def resolve_provider(ctx: Context, provider_code: str | None) -> dict[str, Any]:
    """A provider key uploads for itself; a bureau-admin key names the provider."""
    principal = ctx.principal
    code = (provider_code or "").strip()
    if principal.role is Role.PROVIDER:
        if code and code != principal.provider_code:
            raise PermissionDeniedError(
                "机构密钥只能为本机构上传 / a provider key uploads only for its own provider"
            )
        row = await Provider.select().where(Provider.id == principal.provider_id).first()
        if row is None:  # the key's provider vanished: treat as not allowed
            raise PermissionDeniedError("该密钥未绑定有效机构 / the key has no provider")
        return row
    if principal.role is not Role.BUREAU_ADMIN:
        raise PermissionDeniedError("只读密钥不能上传 / read-only keys cannot upload")
    if not code:
        raise RuleViolation.single(
            "provider",
            "人社局密钥上传时须用表单字段 provider 指明机构代码 / bureau keys name the provider in form field `provider`",
        )
    row = await Provider.select().where(Provider.code == code).first()
    if row is None:
        raise RuleViolation.single("provider", f"找不到机构 {code} / unknown provider {code}")
    return row


# --- header ----------------------------------------------------------------------------


@dataclass
class Header:
    row: int  # Excel row number of the header
    positions: list[tuple[int, str]]  # (cell index, column key)
    written: dict[str, str]  # column key → header as written
    cells: list[str]  # the header row as written, trailing blanks dropped
    warnings: list[str]


def _lookup(kind: ImportKind) -> dict[str, str]:
    names: dict[str, str] = {}
    for column in kind.columns:
        for spelling in (column.title, column.key, *column.aliases):
            names[normalise_header(spelling)] = column.key
    return names


def find_header(kind: ImportKind, rows: Iterator[list[Cell]]) -> Header:
    names = _lookup(kind)
    seen_any = False
    for number, cells in enumerate(rows, start=1):
        if not is_blank(cells):
            seen_any = True
        keys = [names.get(normalise_header(c)) for c in cells]
        if sum(1 for k in set(keys) if k) >= MIN_HEADER_MATCHES:
            return _header(kind, number, cells, keys)
        if number >= HEADER_SCAN_ROWS:
            break
    if not seen_any:
        raise FileError("文件是空的，请选择填好的表格 / the file is empty")
    titles = "、".join(c.title for c in kind.columns if c.required)
    raise FileError(
        f"找不到表头：前{HEADER_SCAN_ROWS}行中没有一行包含至少{MIN_HEADER_MATCHES}个可识别的列名（应有：{titles}），"
        "请下载模板对照 / no header row found: download the template and use its column names"
    )


def _header(kind: ImportKind, number: int, cells: list[Cell], keys: list[str | None]) -> Header:
    written_cells = [cell_text(c) for c in cells]
    while written_cells and not written_cells[-1]:
        written_cells.pop()
    positions: list[tuple[int, str]] = []
    written: dict[str, str] = {}
    unknown: list[str] = []
    duplicated: list[str] = []
    for index, key in enumerate(keys):
        title = written_cells[index] if index < len(written_cells) else ""
        if key is None:
            if title:
                unknown.append(title)
            continue
        if key in written:
            duplicated.append(title)
            continue
        positions.append((index, key))
        written[key] = title
    if duplicated:
        raise FileError(
            f"表头中有重复的列：{'、'.join(duplicated)}，请删除多余的列 / duplicate columns: {', '.join(duplicated)}"
        )
    missing = [c for c in kind.columns if c.required and c.key not in written]
    if missing:
        zh = "、".join(c.title for c in missing)
        en = ", ".join(c.key for c in missing)
        raise FileError(f"缺少必需的列：{zh}，请下载模板对照 / missing required columns: {en}")
    warnings = []
    if unknown:
        warnings.append(
            f"以下列无法识别，已忽略：{'、'.join(unknown)} / unknown columns ignored: {', '.join(unknown)}"
        )
    return Header(number, positions, written, written_cells, warnings)


# --- masking what is kept ------------------------------------------------------------

# Columns a bureau-viewer's copy of an error sheet shows masked (see services.error_sheet).
SENSITIVE_COLUMNS = frozenset({"id_number", "phone"})

_LONG_NUMBER = re.compile(r"[0-9A-Za-z]{0,3}\d{11,}[\dXx]?")


def mask_numbers(message: str) -> str:
    """Errors are kept and shown: never with a full ID number (or phone) in them."""

    def mask(match: re.Match[str]) -> str:
        text = match.group(0)
        keep = 4 if len(text) >= 15 else 3
        return text[:keep] + "*" * (len(text) - 2 * keep) + text[-keep:]

    return _LONG_NUMBER.sub(mask, message)


# --- the run -------------------------------------------------------------------------


class _Rollback(Exception):
    pass


@dataclass
class _Run:
    kind: ImportKind
    header: Header
    mode: Mode
    result: ImportResult
    row_errors: dict[int, list[RowError]] = field(default_factory=dict)
    # Natural key → first row, when the checks run here (a worker keeps its own).
    seen: dict[Any, int] = field(default_factory=dict)

    def reject(self, number: int, errors: Sequence[FieldError]) -> None:
        if number not in self.row_errors:
            self.result.rejected += 1
            self.row_errors[number] = []
        for error in errors:
            column = self.header.written.get(error.field) if error.field else None
            self.row_errors[number].append(RowError(number, column, error.message))

    def apply(self, chunk: Sequence[tuple[int, Any]], outcomes: Sequence[Outcome]) -> None:
        if len(outcomes) != len(chunk):
            raise RuntimeError("store() must answer one Outcome per row")
        for (number, _), outcome in zip(chunk, outcomes, strict=True):
            if outcome.status == "rejected":
                self.reject(
                    number,
                    outcome.errors
                    or [FieldError("", "该行无法保存 / the row could not be stored")],
                )
                continue
            if outcome.status == "stored":
                self.result.stored += 1
            else:
                self.result.unchanged += 1
            if outcome.detail is not None:
                self.result.details.append({"row": number, **outcome.detail})


async def run_import(
    kind: ImportKind,
    upload: IO[bytes],
    *,
    file_name: str,
    ctx: Context,
    provider_code: str | None,
    mode: Mode,
    limits: Limits,
    progress: Progress | None = None,
) -> ImportResult:
    """Check and store one upload; always records the batch. Raises UploadTooLarge (413),
    PermissionDeniedError (403) and RuleViolation (422, a bureau key without `provider`)."""
    try:
        result = await _run_import(
            kind,
            upload,
            file_name=file_name,
            ctx=ctx,
            provider_code=provider_code,
            mode=mode,
            limits=limits,
            progress=progress,
        )
    except UploadTooLarge:
        count_import(kind.name, "too_large", stored=0, unchanged=0, rejected=0)
        raise
    except ImportFailed:
        count_import(kind.name, "failed", stored=0, unchanged=0, rejected=0)
        raise
    # Counted once the batch is committed (or rolled back), whichever way it went.
    count_import(
        kind.name,
        result.status,
        stored=result.stored,
        unchanged=result.unchanged,
        rejected=result.rejected,
    )
    return result


async def _run_import(
    kind: ImportKind,
    upload: IO[bytes],
    *,
    file_name: str,
    ctx: Context,
    provider_code: str | None,
    mode: Mode,
    limits: Limits,
    progress: Progress | None = None,
) -> ImportResult:
    provider = await resolve_provider(ctx, provider_code)
    batch_id = uuid4()
    facts = scan(upload)
    result = ImportResult(batch_id=batch_id, kind=kind.name, status="rejected")
    result.details_key = kind.details_key
    record = _BatchRecord(
        batch_id, kind, provider, ctx, file_name, facts.sha256, facts.size, mode, result
    )
    if facts.size > limits.max_bytes:
        message = _too_many_bytes(limits.max_bytes)
        result.errors = [RowError(None, None, message)]
        await record.save()
        raise UploadTooLarge(message)

    try:
        file_format = sniff(upload, file_name)
        rows, estimate = open_rows(upload, file_format)
        header = find_header(kind, rows)
    except FileError as exc:
        result.errors = [RowError(None, None, exc.message)]
        await record.save()
        return result

    total_hint = _total_hint(file_format, facts.lines, estimate, header.row)
    run = _Run(kind, header, mode, result)
    result.warnings = list(header.warnings)
    attempts = 0
    large = (total_hint or 0) >= limits.worker_min_rows

    async def store_in_one_transaction() -> None:
        nonlocal run, rows, attempts
        attempts += 1
        if attempts > 1:  # lost a race to another writer: read the file again from the top
            rows = rows_after(upload, file_format, header.row)
            result.restart(header.warnings)
            run = _Run(kind, header, mode, result)
        # One upload at a time (across app servers too): uploads over the same people
        # would otherwise race on the same unique keys.
        async with bulk_write_transaction(BULK_WRITER):
            await _tune_connection()
            handler = await kind.open(ImportContext(ctx, provider, batch_id, mode))
            # Started once this upload has its turn: uploads queued behind it hold no worker.
            async with _check_worker(handler, large) as worker:
                source = _Upload(upload, file_format, rows)
                await _check_and_store(run, handler, source, limits, progress, total_hint, worker)
            result.warnings.extend(w for w in handler.warnings() if w not in result.warnings)
            result.errors = _sorted_errors(run)
            if result.rejected and (mode == "all" or not (result.stored or result.unchanged)):
                raise _Rollback
            result.status = "stored"
            await _attach_sheet(record, run, upload, file_format)
            await record.save()
            await audit.record(
                ctx.principal,
                f"import.{kind.name}",
                "import_batch",
                batch_id,
                {
                    "file": file_name,
                    "rows": result.rows,
                    "stored": result.stored,
                    "unchanged": result.unchanged,
                    "rejected": result.rejected,
                },
                provider_code=provider["code"],
            )

    try:
        # Uploads take turns (bulk_write_transaction), so one lost race is all there can be:
        # a second conflict is the same error again, not worth re-reading the whole file for.
        await retry_on_conflict(store_in_one_transaction, attempts=2)
    except _Rollback:
        result.status = "rejected"
        result.stored = result.unchanged = 0
        result.details = []
        await _attach_sheet(record, run, upload, file_format)
        async with write_transaction():
            await record.save()
    except UploadTooLarge as exc:
        await _reject_whole_file(record, exc.detail)
        raise
    except FileError as exc:  # e.g. a CSV that breaks half-way: nothing was kept
        await _reject_whole_file(record, exc.message)
    except WorkerFailed as exc:
        # The worker's traceback may quote a row: logged with long numbers masked.
        logger.error("upload %s: %s", batch_id, mask_numbers(str(exc)))
        await _reject_whole_file(record, WORKER_FAILED_MESSAGE)
        raise ImportFailed(WORKER_FAILED_MESSAGE) from None
    if len(result.errors) > MAX_LISTED_ERRORS:
        result.errors = result.errors[:MAX_LISTED_ERRORS]
        result.errors_truncated = True
    return result


async def _reject_whole_file(record: _BatchRecord, message: str) -> None:
    """Nothing was kept: the batch records the one reason, no partial counts."""
    result = record.result
    result.status = "rejected"
    result.rows = result.stored = result.unchanged = result.rejected = 0
    result.details = []
    result.errors = [RowError(None, None, message)]
    await record.save()


@contextlib.asynccontextmanager
async def _check_worker(handler: RowHandler[Any], large: bool) -> AsyncIterator[CheckWorker | None]:
    """A worker process for a large file, when its rows can be checked there."""
    if not (large and hasattr(handler, "worker_checker")):
        yield None
        return
    worker = await CheckWorker.start()
    succeeded = False
    try:
        yield worker
        succeeded = True
    finally:
        await worker.close(succeeded=succeeded)


async def _tune_connection() -> None:
    """SQLite: a page cache big enough for a large upload's index pages (per connection;
    the connection is closed with the transaction). Random keys (UUIDs, keyed hashes) thrash
    the default 2 MB cache and a 100,000-row upload then spends most of its time on I/O."""
    if is_sqlite():
        await execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}", [])


def _too_many_bytes(limit: int) -> str:
    return (
        f"文件超过上传上限 {human_size(limit)}（MAX_UPLOAD_BYTES = {limit} 字节），请分成几个文件上传"
        f" / the file is larger than the upload limit of {human_size(limit)} (MAX_UPLOAD_BYTES = {limit} bytes): split it"
    )


def too_many_bytes_message(limit: int) -> str:
    return _too_many_bytes(limit)


def _too_many_rows(limit: int) -> str:
    return (
        f"数据行超过上传上限 {limit} 行（MAX_UPLOAD_ROWS），请分成几个文件上传"
        f" / more than {limit} data rows (MAX_UPLOAD_ROWS = {limit}): split the file"
    )


def human_size(size: int) -> str:
    """A limit as the clerk's page states it (`64 MB`, `3.90625 KB`), never `0 MB`."""
    if size >= 1 << 20:
        return f"{size / (1 << 20):g} MB"
    if size >= 1 << 10:
        return f"{size / (1 << 10):g} KB"
    return f"{size} B"


def _total_hint(file_format: str, lines: int, estimate: int | None, header_row: int) -> int | None:
    if file_format == "csv":
        return max(lines - header_row + 1, 0)
    return None if estimate is None else max(estimate - header_row, 0)


@dataclass(frozen=True)
class _Upload:
    file: IO[bytes]
    file_format: FileFormat
    rows: Iterator[list[Cell]]  # below the header


async def _check_and_store(
    run: _Run,
    handler: RowHandler[Any],
    upload: _Upload,
    limits: Limits,
    progress: Progress | None,
    total_hint: int | None,
    worker: CheckWorker | None = None,
) -> None:
    """Check rows and store them in chunks, one chunk in flight while the next is checked.

    Storing waits on the database (asyncpg's socket, aiosqlite's thread, both without the
    GIL), so checking chunk n+1 overlaps storing chunk n; chunks are still stored one after
    another, in file order, so a chunk sees everything stored before it. With a `worker`,
    that process reads the file and checks its rows (finding duplicates too); this one only
    stores.
    """
    result = run.result
    # The database driver's thread needs the GIL for a moment around each statement; with
    # the default 5 ms switch interval it waits behind the checking loop for most of that.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL_S))
    pending: list[tuple[int, Any]] = []
    in_flight: tuple[list[tuple[int, Any]], asyncio.Future[Sequence[Outcome]]] | None = None

    async def settle() -> None:
        nonlocal in_flight
        if in_flight is not None:
            chunk, future = in_flight
            in_flight = None
            run.apply(chunk, await future)
            if progress:
                progress(result.rows, total_hint)

    async def store_pending() -> None:
        nonlocal in_flight, pending
        await settle()
        in_flight = (pending, asyncio.ensure_future(handler.store(pending)))
        pending = []

    try:
        if worker is not None:
            job = Job(
                checker=cast(WorkerRowHandler[Any], handler).worker_checker(),
                positions=run.header.positions,
                file_format=upload.file_format,
                header_row=run.header.row,
                max_rows=limits.max_rows,
                chunk_rows=CHUNK_ROWS,
            )
            answers = worker.checked_chunks(job, upload.file)
            try:
                async with contextlib.aclosing(answers):
                    async for checked in answers:
                        result.rows = worker.rows
                        for number, value, errors in checked:
                            if errors or value is None:
                                run.reject(number, errors)
                                continue
                            pending.append((number, value))
                            if len(pending) >= CHUNK_ROWS:
                                await store_pending()
            except TooManyRows as exc:
                raise UploadTooLarge(_too_many_rows(exc.limit)) from None
            result.rows = worker.rows
            result.warnings.extend(w for w in worker.warnings if w not in result.warnings)
        else:
            make_row = row_maker(run.header.positions)
            check, key, seen = handler.check, handler.key, run.seen
            since_yield = 0
            for number, cells in numbered_rows(upload.rows, run.header.row):
                result.rows += 1
                if result.rows > limits.max_rows:
                    raise UploadTooLarge(_too_many_rows(limits.max_rows))
                value, errors = check(make_row(number, cells))
                if errors or value is None:
                    run.reject(number, errors)
                elif (first := seen.setdefault(key(value), number)) != number:
                    run.reject(number, [duplicate_row(first)])
                else:
                    pending.append((number, value))
                    if len(pending) >= CHUNK_ROWS:
                        await store_pending()
                since_yield += 1
                if in_flight is not None and since_yield >= YIELD_EVERY:
                    since_yield = 0
                    await asyncio.sleep(0)  # let the chunk in flight take its next step
        await settle()
        if pending:
            run.apply(pending, await handler.store(pending))
    finally:
        sys.setswitchinterval(switch_interval)
        if in_flight is not None and not in_flight[1].done():
            in_flight[1].cancel()
            with contextlib.suppress(BaseException):
                await in_flight[1]
    if progress:
        progress(result.rows, result.rows)
    if result.rows == 0:
        raise FileError(
            "文件只有表头，没有数据行，请填写后再上传 / the file has a header but no data rows"
        )


def _sorted_errors(run: _Run) -> list[RowError]:
    errors: list[RowError] = []
    for number in sorted(run.row_errors):
        errors.extend(run.row_errors[number])
    return errors


# --- the record and its error sheet --------------------------------------------------


@dataclass
class _BatchRecord:
    batch_id: UUID
    kind: ImportKind
    provider: dict[str, Any]
    ctx: Context
    file_name: str
    sha256: str
    size: int
    mode: Mode
    result: ImportResult
    sheet: bytes | None = None

    async def save(self) -> None:
        result = self.result
        kept = [
            {**e.as_json(), "message": mask_numbers(e.message)}
            for e in result.errors[:MAX_LISTED_ERRORS]
        ]
        await ImportBatch.insert(
            ImportBatch(
                id=self.batch_id,
                kind=self.kind.name,
                provider=self.provider["id"],
                actor=self.ctx.principal.audit_label[:200],
                file_name=(self.file_name or "upload")[:255],
                sha256=self.sha256,
                size_bytes=self.size,
                mode=self.mode,
                status=result.status,
                rows=result.rows,
                stored=result.stored,
                unchanged=result.unchanged,
                rejected=result.rejected,
                errors=kept,
                errors_truncated=len(result.errors) > MAX_LISTED_ERRORS,
                warnings=result.warnings,
                has_error_sheet=self.sheet is not None,
                error_sheet=self.sheet,
                created_at=datetime.now(UTC),
            )
        )


async def _attach_sheet(
    record: _BatchRecord, run: _Run, upload: IO[bytes], file_format: Any
) -> None:
    """The rows to fix, as written, plus their errors: compressed, then encrypted at rest.

    All-or-nothing rejections keep every row (the whole file goes back up); otherwise only
    the rejected rows (the others are stored). Built by reading the file a second time.
    """
    if not run.row_errors:
        return
    keep_all = record.result.status == "rejected"
    compressor = zlib.compressobj(6)
    parts: list[bytes] = []

    def put(item: Any) -> None:
        parts.append(compressor.compress(json.dumps(item, ensure_ascii=False).encode() + b"\n"))

    sensitive = [index for index, key in run.header.positions if key in SENSITIVE_COLUMNS]
    put({"header": run.header.cells, "header_row": run.header.row, "sensitive": sensitive})
    rows, _ = open_rows(upload, file_format)
    width = len(run.header.cells)
    for number, cells in enumerate(rows, start=1):
        if number <= run.header.row or is_blank(cells):
            continue
        errors = run.row_errors.get(number)
        if errors is None and not keep_all:
            continue
        texts = [cell_text(c) for c in cells[: max(width, len(cells))]]
        while len(texts) > width and not texts[-1]:
            texts.pop()
        message = "；".join(
            f"{e.column}：{e.message}" if e.column else e.message for e in errors or []
        )
        put({"row": number, "cells": texts, "error": message})
    parts.append(compressor.flush())
    record.sheet = record.ctx.secrets.encrypt_blob(b"".join(parts), str(record.batch_id))
