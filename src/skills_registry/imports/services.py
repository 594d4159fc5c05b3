"""Recorded batches: listing, one batch, and its error sheet (scoped to the batch's provider)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from ..crypto import Secrets
from ..errors import NotFoundError
from ..principal import Principal
from ..providers.tables import Provider
from .schemas import ImportBatchOut, ImportError_
from .tables import ImportBatch

_LIST_COLUMNS = (
    ImportBatch.id,
    ImportBatch.kind,
    ImportBatch.provider.code,
    ImportBatch.provider,
    ImportBatch.actor,
    ImportBatch.file_name,
    ImportBatch.sha256,
    ImportBatch.size_bytes,
    ImportBatch.mode,
    ImportBatch.status,
    ImportBatch.rows,
    ImportBatch.stored,
    ImportBatch.unchanged,
    ImportBatch.rejected,
    ImportBatch.errors,
    ImportBatch.errors_truncated,
    ImportBatch.warnings,
    ImportBatch.has_error_sheet,
    ImportBatch.created_at,
)

NOT_FOUND = "找不到该上传批次 / import batch not found"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _out(row: dict[str, Any]) -> ImportBatchOut:
    return ImportBatchOut(
        batch_id=row["id"],
        kind=row["kind"],
        provider=row["provider.code"],
        actor=row["actor"],
        file_name=row["file_name"],
        sha256=row["sha256"],
        size_bytes=row["size_bytes"],
        mode=row["mode"],
        status=row["status"],
        rows=row["rows"],
        stored=row["stored"],
        unchanged=row["unchanged"],
        rejected=row["rejected"],
        errors=[ImportError_(**e) for e in _json(row["errors"]) or []],
        errors_truncated=bool(row["errors_truncated"]),
        warnings=_json(row["warnings"]) or [],
        has_error_sheet=bool(row["has_error_sheet"]),
        created_at=row["created_at"],
    )


def _scoped(query: Any, viewer: Principal) -> Any:
    if viewer.is_bureau:
        return query
    return query.where(ImportBatch.provider == viewer.provider_id)


async def list_batches(
    viewer: Principal,
    *,
    kind: str | None = None,
    provider: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ImportBatchOut]:
    query = _scoped(ImportBatch.select(*_LIST_COLUMNS), viewer)
    if kind:
        query = query.where(ImportBatch.kind == kind)
    if provider:
        ids = Provider.select(Provider.id).where(Provider.code == provider)
        query = query.where(ImportBatch.provider.is_in(ids))
    rows = await query.order_by(ImportBatch.created_at, ascending=False).limit(limit).offset(offset)
    return [_out(row) for row in rows]


async def get_batch(batch_id: UUID, viewer: Principal) -> ImportBatchOut:
    query = _scoped(
        ImportBatch.select(*_LIST_COLUMNS),
        viewer,
    ).where(ImportBatch.id == batch_id)
    row = await query.first()
    if row is None:
        raise NotFoundError(NOT_FOUND)
    return _out(row)


async def error_sheet(batch_id: UUID, viewer: Principal, secrets: Secrets) -> tuple[str, bytes]:
    """(kind, decrypted sheet payload) for the batch's provider and the bureau only."""
    row = (
        await _scoped(ImportBatch.select(ImportBatch.kind, ImportBatch.error_sheet), viewer)
        .where(ImportBatch.id == batch_id)
        .first()
    )
    if row is None:
        raise NotFoundError(NOT_FOUND)
    if not row["error_sheet"]:
        raise NotFoundError("该批次没有行错误，无错误表可下载 / this batch has no row errors")
    return row["kind"], secrets.decrypt_blob(bytes(row["error_sheet"]), str(batch_id))
