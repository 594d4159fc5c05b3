"""Recorded batches: listing, one batch, and its error sheet (scoped to the batch's provider)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from ..audit import services as audit
from ..crypto import Secrets
from ..errors import NotFoundError
from ..identity import mask_id_number, normalise_text
from ..principal import Principal, Role
from ..providers.tables import Provider
from .pipeline import mask_numbers
from .schemas import ImportBatchOut, ImportError_
from .sheets import read_sheet_payload, write_sheet_payload
from .spec import normalise_header
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
    """(kind, sheet payload) for the batch's provider and the bureau only.

    The rows come back as the clerk wrote them (fix them, upload again) to the batch's own
    provider and to a bureau-admin — an unmasking, so each download is audited. A
    bureau-viewer reads and reports: its copy has ID numbers and phones masked.
    """
    row = (
        await _scoped(
            ImportBatch.select(
                ImportBatch.kind, ImportBatch.error_sheet, ImportBatch.provider.code
            ),
            viewer,
        )
        .where(ImportBatch.id == batch_id)
        .first()
    )
    if row is None:
        raise NotFoundError(NOT_FOUND)
    if not row["error_sheet"]:
        raise NotFoundError("该批次没有行错误，无错误表可下载 / this batch has no row errors")
    plain = secrets.decrypt_blob(bytes(row["error_sheet"]), str(batch_id))
    if viewer.role is not Role.BUREAU_ADMIN and viewer.provider_code != row["provider.code"]:
        return row["kind"], masked_sheet_payload(plain)
    await audit.record(
        viewer,
        "import.error_sheet",
        "import_batch",
        batch_id,
        {"id_numbers": "shown"},
        provider_code=row["provider.code"],
    )
    return row["kind"], plain


_SENSITIVE_HEADERS = {normalise_header(h) for h in ("证件号码", "id_number", "手机号码", "phone")}


def masked_sheet_payload(plain: bytes) -> bytes:
    """The same rows with the sensitive cells masked and numbers in the messages masked."""
    items = read_sheet_payload(plain)
    head = next(items)
    sensitive = head.get("sensitive")
    if sensitive is None:  # sheets recorded before the payload named its sensitive columns
        sensitive = [
            i for i, h in enumerate(head["header"]) if normalise_header(h) in _SENSITIVE_HEADERS
        ]
    lines = [head]
    for item in items:
        cells = list(item["cells"])
        for index in sensitive:
            if index < len(cells) and cells[index]:
                cells[index] = mask_id_number(normalise_text(str(cells[index])))
        lines.append({**item, "cells": cells, "error": mask_numbers(item["error"] or "")})
    return write_sheet_payload(lines)
