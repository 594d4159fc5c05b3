from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import get
from litestar.params import QueryParameter

from ..schema_base import Schema
from ..web import BUREAU, Offset, require
from . import services


class AuditEventOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    provider_code: str | None
    changes: dict[str, Any]


@get("/audit", guards=[require(*BUREAU)], tags=["audit"], summary="The audit trail, newest first")
async def list_audit_events(
    entity_type: Annotated[str | None, QueryParameter()] = None,
    entity_id: Annotated[str | None, QueryParameter()] = None,
    action: Annotated[str | None, QueryParameter()] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[AuditEventOut]:
    rows = await services.list_events(
        entity_type=entity_type, entity_id=entity_id, action=action, limit=limit, offset=offset
    )
    return [AuditEventOut(**row) for row in rows]
