from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, create_model

from ..schema_base import Schema


class ImportError_(Schema):
    row: int | None = Field(description="the row number as Excel shows it; null for the whole file")
    column: str | None = Field(description="the header as written in the file; null when no column")
    message: str


class ImportResultOut(Schema):
    """The answer to an upload: 200 when stored, 422 when rejected."""

    batch_id: UUID
    status: Literal["stored", "rejected"]
    rows: int = Field(description="data rows in the file (not the header, not blank rows)")
    stored: int = Field(description="rows created or updated")
    unchanged: int = Field(description="rows already stored as they are")
    rejected: int = Field(description="bad rows (all rows when the whole file is refused)")
    errors: list[ImportError_]
    errors_truncated: bool = Field(
        description="true when more than 1,000 errors: all are in GET /imports/{batch_id}/errors.xlsx"
    )
    warnings: list[str]


class RowDetail(Schema):
    row: int
    number: str | None = None


def result_model(kind_name: str, details_key: str | None) -> type[ImportResultOut]:
    """The answer's schema for one sheet (a sheet with `details_key` lists per-row details)."""
    if not details_key:
        return ImportResultOut
    fields: dict[str, Any] = {details_key: (list[dict[str, Any]], Field(default_factory=list))}
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{kind_name.title()}ImportResult", __base__=ImportResultOut, **fields
    )


class ImportBatchOut(Schema):
    batch_id: UUID
    kind: str
    provider: str
    actor: str
    file_name: str
    sha256: str
    size_bytes: int
    mode: Literal["all", "valid_only"]
    status: Literal["stored", "rejected"]
    rows: int
    stored: int
    unchanged: int
    rejected: int
    errors: list[ImportError_]
    errors_truncated: bool
    warnings: list[str]
    has_error_sheet: bool
    created_at: dt.datetime
