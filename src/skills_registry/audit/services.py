"""The audit trail: every change records who, when, which entity and what changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..principal import Principal
from .tables import AuditEvent


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def event(
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    changes: dict[str, Any] | None = None,
    provider_code: str | None = None,
) -> AuditEvent:
    """Build (not save) an event, so callers can insert it inside their own transaction."""
    return AuditEvent(
        at=datetime.now(UTC),
        actor=actor.audit_label[:200],
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        provider_code=provider_code or actor.provider_code,
        changes=_jsonable(changes or {}),
    )


async def record(
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    changes: dict[str, Any] | None = None,
    provider_code: str | None = None,
) -> None:
    await AuditEvent.insert(
        event(actor, action, entity_type, entity_id, changes, provider_code)
    ).run()


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{"field": {"from": old, "to": new}} for the fields that changed."""
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }


async def list_events(
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    query = AuditEvent.select().order_by(AuditEvent.id, ascending=False).limit(limit).offset(offset)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(AuditEvent.action == action)
    rows = await query
    for row in rows:
        if isinstance(row["changes"], str):
            row["changes"] = json.loads(row["changes"])
    return rows
