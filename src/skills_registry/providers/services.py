"""Providers and their evaluation scope: rules and transactions (no HTTP here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..audit import services as audit
from ..database import write_transaction
from ..errors import ConflictError, NotFoundError, PermissionDeniedError
from ..occupations import catalogue_warning
from ..principal import Principal, Role
from ..sequences.services import next_value
from .schemas import ProviderCreate, ProviderOut, ProviderUpdate, ScopeItem
from .tables import Provider, ProviderScope

SITE_CODE_COUNTER = "provider_site_code"


def _require_admin(actor: Principal) -> None:
    if actor.role is not Role.BUREAU_ADMIN:
        raise PermissionDeniedError(
            "只有人社局管理员可以修改机构 / only bureau admins change providers"
        )


async def _scope_of(provider_id: int) -> list[ScopeItem]:
    rows = (
        await ProviderScope.select(ProviderScope.occupation_code, ProviderScope.max_level)
        .where(ProviderScope.provider == provider_id)
        .order_by(ProviderScope.occupation_code)
    )
    return [ScopeItem(**row) for row in rows]


async def _to_out(row: dict[str, Any]) -> ProviderOut:
    scope = await _scope_of(row["id"])
    warnings = [w for item in scope if (w := catalogue_warning(item.occupation_code))]
    return ProviderOut(
        code=row["code"],
        name=row["name"],
        kind=row["kind"],
        district=row["district"],
        district_name=ProviderOut.district_name_of(row["district"]),
        credit_code=row["credit_code"],
        evaluator_code=row["evaluator_code"],
        site_code=row["site_code"],
        status=row["status"],
        scope=scope,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        warnings=warnings,
    )


async def _allocate_site_code() -> str:
    while True:
        candidate = f"{await next_value(SITE_CODE_COUNTER):06d}"
        if not await Provider.exists().where(Provider.site_code == candidate):
            return candidate


async def _replace_scope(provider_id: int, scope: list[ScopeItem]) -> None:
    await ProviderScope.delete().where(ProviderScope.provider == provider_id)
    if scope:
        await ProviderScope.insert(
            *[
                ProviderScope(
                    provider=provider_id,
                    occupation_code=item.occupation_code,
                    max_level=item.max_level,
                )
                for item in scope
            ]
        )


async def create_provider(data: ProviderCreate, actor: Principal) -> ProviderOut:
    _require_admin(actor)
    async with write_transaction():
        if await Provider.exists().where(Provider.code == data.code):
            raise ConflictError(f"机构代码 {data.code} 已存在 / provider code already exists")
        if await Provider.exists().where(Provider.credit_code == data.credit_code):
            raise ConflictError(
                "该统一社会信用代码已登记为另一家机构 / credit code already registered"
            )
        if data.site_code and await Provider.exists().where(Provider.site_code == data.site_code):
            raise ConflictError(f"站点代码 {data.site_code} 已被占用 / site code already in use")
        now = datetime.now(UTC)
        site_code = data.site_code or await _allocate_site_code()
        inserted = await Provider.insert(
            Provider(
                code=data.code,
                name=data.name,
                kind=data.kind,
                district=data.district,
                credit_code=data.credit_code,
                evaluator_code=data.evaluator_code or "0000",
                site_code=site_code,
                status="active",
                created_at=now,
                updated_at=now,
            )
        )
        provider_id = inserted[0]["id"]
        await _replace_scope(provider_id, data.scope)
        await audit.record(
            actor,
            "provider.create",
            "provider",
            data.code,
            {**data.model_dump(mode="json"), "site_code": site_code},
            provider_code=data.code,
        )
    return await get_provider(data.code, actor)


async def _row(code: str, viewer: Principal) -> dict[str, Any]:
    row = await Provider.select().where(Provider.code == code).first()
    if row is None or not viewer.may_see_provider(row["id"]):
        raise NotFoundError(f"找不到机构 {code} / provider not found")
    return row


async def get_provider(code: str, viewer: Principal) -> ProviderOut:
    return await _to_out(await _row(code, viewer))


async def list_providers(viewer: Principal) -> list[ProviderOut]:
    query = Provider.select().order_by(Provider.code)
    if not viewer.is_bureau:
        query = query.where(Provider.id == viewer.provider_id)
    return [await _to_out(row) for row in await query]


async def update_provider(code: str, patch: ProviderUpdate, actor: Principal) -> ProviderOut:
    _require_admin(actor)
    async with write_transaction():
        row = await _row(code, actor)
        changes = patch.model_dump(exclude_unset=True, exclude={"scope"})
        if "site_code" in changes and changes["site_code"] != row["site_code"]:
            taken = await Provider.exists().where(
                (Provider.site_code == changes["site_code"]) & (Provider.id != row["id"])
            )
            if taken:
                raise ConflictError(
                    f"站点代码 {changes['site_code']} 已被占用 / site code already in use"
                )
        recorded = audit.diff(row, changes)
        if changes:
            await Provider.update(
                {**changes, Provider.updated_at: datetime.now(UTC)}  # type: ignore[dict-item]
            ).where(Provider.id == row["id"])
        if patch.scope is not None:
            before = [item.model_dump() for item in await _scope_of(row["id"])]
            after = [item.model_dump() for item in patch.scope]
            if before != after:
                recorded["scope"] = {"from": before, "to": after}
                await _replace_scope(row["id"], patch.scope)
        if recorded:
            await audit.record(actor, "provider.update", "provider", code, recorded, code)
    return await get_provider(code, actor)


async def scope_max_level(provider_id: int, occupation_code: str) -> int | None:
    """The highest level (smallest number) the provider may certify in the occupation, if any."""
    row = (
        await ProviderScope.select(ProviderScope.max_level)
        .where(
            (ProviderScope.provider == provider_id)
            & (ProviderScope.occupation_code == occupation_code)
        )
        .first()
    )
    return None if row is None else int(row["max_level"])


async def provider_by_code(code: str) -> dict[str, Any] | None:
    return await Provider.select().where(Provider.code == code).first()
