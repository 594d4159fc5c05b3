"""互认: agreements with their level mapping, recognition records, and decisions.

An agreement (or batch document) names the partner — a BRICS member abroad by ISO alpha-3,
or TWN, the Taiwan region (中国台湾地区, never a country) —, the bureau-designated provider
that issues the mainland certificates (`issuer`), and its mapping table (foreign level →
mainland level) which suggests the level of each recognition. A foreign level the table
does not map is refused, as is a partner that is not one.

Deciding is the bureau's (bureau-admin): `recognised` issues a 职业技能等级证书 from the
agreement's issuer (source "recognition", `source_ref` the record's id; the record keeps
the number and asks for the bilingual PDF, `?lang=zh-en`); `refused` needs the reason.
Who decided and when are kept. The issuer's key may enter records under its agreements
and sees them; other providers see nothing (404).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..audit import services as audit
from ..awarding import (
    award,
    level_error,
    load_issuer,
    occupation_name_of,
    pdf_url,
    provider_by_code,
    resolve_holder,
)
from ..certificates.services import Signing, clean_trade
from ..context import Context
from ..database import write_transaction
from ..errors import ConflictError, FieldError, NotFoundError, PermissionDeniedError, RuleViolation
from ..identity import ID_TYPE_NAMES, IdType
from ..occupations import catalogue_warning, level_name
from ..principal import Principal, Role
from .schemas import (
    PARTNERS,
    AgreementCreate,
    AgreementOut,
    DecisionRequest,
    MappingRow,
    RecognitionCreate,
    RecognitionOut,
    normalise_foreign_level,
    parse_partner,
)
from .tables import Recognition, RecognitionAgreement

BILINGUAL = "zh-en"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _require_admin(actor: Principal) -> None:
    if actor.role is not Role.BUREAU_ADMIN:
        raise PermissionDeniedError(
            "只有人社局管理员可以登记互认协议或作出认定 / only bureau admins do this"
        )


# --- agreements ----------------------------------------------------------------------------


async def create_agreement(data: AgreementCreate, actor: Principal) -> AgreementOut:
    _require_admin(actor)
    issuer = await provider_by_code(data.issuer, "issuer")
    mapping = [row.model_dump() for row in data.mapping]
    now = datetime.now(UTC)
    async with write_transaction():
        if await RecognitionAgreement.exists().where(RecognitionAgreement.code == data.code):
            raise ConflictError(f"协议代码 {data.code} 已存在 / agreement code already exists")
        await RecognitionAgreement.insert(
            RecognitionAgreement(
                code=data.code,
                name=data.name,
                partner=data.partner,
                document=data.document,
                issuer=issuer["id"],
                mapping=json.dumps(mapping, ensure_ascii=False),
                created_by=actor.audit_label[:200],
                created_at=now,
                updated_at=now,
            )
        )
        await audit.record(
            actor,
            "recognition_agreement.create",
            "recognition_agreement",
            data.code,
            data.model_dump(mode="json"),
            provider_code=issuer["code"],
        )
    return await get_agreement(data.code, actor)


def _agreement_select() -> Any:
    return RecognitionAgreement.select(
        *RecognitionAgreement.all_columns(),
        RecognitionAgreement.issuer.code.as_alias("issuer_code"),
        RecognitionAgreement.issuer.name.as_alias("issuer_name"),
    )


def _agreement_out(row: dict[str, Any]) -> AgreementOut:
    partner = PARTNERS[row["partner"]]
    return AgreementOut(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        partner=partner.code,
        partner_name=partner.name,
        partner_kind=partner.kind,
        document=row["document"],
        issuer=row["issuer_code"],
        issuer_name=row["issuer_name"],
        mapping=[MappingRow(**m) for m in _json(row["mapping"]) or []],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def _agreement_row(code: str, viewer: Principal, field: str | None = None) -> dict[str, Any]:
    query = _agreement_select().where(RecognitionAgreement.code == code)
    if not viewer.is_bureau:
        query = query.where(RecognitionAgreement.issuer == viewer.provider_id)
    row = await query.first()
    if row is None:
        message = f"找不到互认协议 {code} / recognition agreement {code} not found"
        if field:
            raise RuleViolation.single(field, message)
        raise NotFoundError(message)
    return row  # type: ignore[no-any-return]


async def get_agreement(code: str, viewer: Principal) -> AgreementOut:
    return _agreement_out(await _agreement_row(code, viewer))


async def list_agreements(viewer: Principal) -> list[AgreementOut]:
    query = _agreement_select().order_by(RecognitionAgreement.code)
    if not viewer.is_bureau:
        query = query.where(RecognitionAgreement.issuer == viewer.provider_id)
    return [_agreement_out(row) for row in await query]


def suggest_level(mapping: list[dict[str, Any]], foreign_level: str) -> int | None:
    wanted = normalise_foreign_level(foreign_level)
    for row in mapping:
        if normalise_foreign_level(row["foreign_level"]) == wanted:
            return int(row["level"])
    return None


# --- recognitions --------------------------------------------------------------------------


async def create(data: RecognitionCreate, ctx: Context) -> RecognitionOut:
    actor = ctx.principal
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError("只读密钥不能登记互认 / read-only keys cannot do this")
    agreement = await _agreement_row(data.agreement, actor, field="agreement")
    errors: list[FieldError] = []
    if data.partner is not None:
        try:
            partner = parse_partner(data.partner)
        except ValueError as exc:
            errors.append(FieldError("partner", str(exc)))
        else:
            if partner != agreement["partner"]:
                errors.append(
                    FieldError(
                        "partner",
                        f"协议 {agreement['code']} 的合作方是{PARTNERS[agreement['partner']].name}，"
                        f"不是{PARTNERS[partner].name} / the agreement's partner is"
                        f" {agreement['partner']}",
                    )
                )
    mapping = _json(agreement["mapping"]) or []
    suggested = suggest_level(mapping, data.foreign_level)
    if suggested is None:
        table = "、".join(f"{m['foreign_level']} → {level_name(m['level'])}" for m in mapping)
        errors.append(
            FieldError(
                "foreign_level",
                f"协议 {agreement['code']} 的对照表没有“{data.foreign_level}”（可对照：{table}）"
                f" / the agreement does not map foreign level {data.foreign_level}",
            )
        )
    elif (problem := level_error(data.occupation_code, suggested, "foreign_level")) is not None:
        errors.append(problem)
    name = occupation_name_of(data.occupation_code, (data.occupation_name or "").strip())
    if not name:
        errors.append(
            FieldError(
                "occupation_name",
                f"职业编码 {data.occupation_code} 不在职业目录中，请填写职业名称"
                " / name the occupation (code not in the catalogue)",
            )
        )
    if errors or suggested is None:
        raise RuleViolation(errors=errors, detail=errors[0].message)
    warnings = [w for w in (catalogue_warning(data.occupation_code),) if w]
    now = datetime.now(UTC)
    async with write_transaction():
        trainee_id = await resolve_holder(data, ctx, create=True, link_to=(agreement["issuer"],))
        same = (
            await Recognition.select(Recognition.id)
            .where(
                (Recognition.agreement == agreement["id"])
                & (Recognition.foreign_number == data.foreign_number)
            )
            .first()
        )
        if same is not None:
            raise ConflictError(
                f"证书 {data.foreign_number} 已在协议 {agreement['code']} 下登记（互认记录 {same['id']}）"
                f" / already registered under this agreement: {same['id']}"
            )
        inserted = await Recognition.insert(
            Recognition(
                agreement=agreement["id"],
                trainee=trainee_id,
                partner=agreement["partner"],
                issuing_body=data.issuing_body,
                foreign_title=data.foreign_title,
                foreign_number=data.foreign_number,
                foreign_level=data.foreign_level,
                occupation_code=data.occupation_code,
                occupation_name=name,
                trade=clean_trade(data.trade),
                suggested_level=suggested,
                status="pending",
                pdf_lang=BILINGUAL,
                created_by=actor.audit_label[:200],
                created_at=now,
                updated_at=now,
            )
        )
        recognition_id = int(inserted[0]["id"])
        await audit.record(
            actor,
            "recognition.create",
            "recognition",
            recognition_id,
            {
                "agreement": agreement["code"],
                "partner": agreement["partner"],
                "trainee": str(trainee_id),
                "issuing_body": data.issuing_body,
                "foreign_title": data.foreign_title,
                "foreign_number": data.foreign_number,
                "foreign_level": data.foreign_level,
                "occupation_code": data.occupation_code,
                "suggested_level": suggested,
            },
            provider_code=agreement["issuer_code"],
        )
    out = await get(recognition_id, actor)
    out.warnings.extend(warnings)
    return out


def _select() -> Any:
    return Recognition.select(
        *Recognition.all_columns(),
        Recognition.agreement.code.as_alias("agreement_code"),
        Recognition.agreement.name.as_alias("agreement_name"),
        Recognition.agreement.document.as_alias("agreement_document"),
        Recognition.agreement.issuer.as_alias("issuer_id"),
        Recognition.agreement._.issuer._.code.as_alias("issuer_code"),
        Recognition.trainee.name.as_alias("holder_name"),
        Recognition.trainee.id_type.as_alias("holder_id_type"),
        Recognition.trainee.id_number_masked.as_alias("holder_masked"),
        Recognition.trainee.nationality.as_alias("holder_nationality"),
    )


def _to_out(row: dict[str, Any]) -> RecognitionOut:
    partner = PARTNERS[row["partner"]]
    return RecognitionOut(
        id=row["id"],
        agreement=row["agreement_code"],
        agreement_name=row["agreement_name"],
        document=row["agreement_document"],
        partner=partner.code,
        partner_name=partner.name,
        partner_kind=partner.kind,
        trainee_id=row["trainee"],
        holder_name=row["holder_name"],
        holder_id_type=ID_TYPE_NAMES[IdType(row["holder_id_type"])],
        holder_id_number_masked=row["holder_masked"],
        holder_nationality=row["holder_nationality"] or "",
        issuing_body=row["issuing_body"],
        foreign_title=row["foreign_title"],
        foreign_number=row["foreign_number"],
        foreign_level=row["foreign_level"],
        occupation_code=row["occupation_code"],
        occupation_name=row["occupation_name"],
        trade=row["trade"] or None,
        suggested_level=row["suggested_level"],
        suggested_level_name=level_name(row["suggested_level"]),
        level=row["level"],
        level_name=level_name(row["level"]) or None,
        status=row["status"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        decision_reason=row["decision_reason"],
        issued_on=row["issued_on"],
        certificate_number=row["certificate_number"],
        pdf_lang=row["pdf_lang"],
        pdf_url=pdf_url(row["certificate_number"], bilingual=row["pdf_lang"] == BILINGUAL),
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def _row(recognition_id: int, viewer: Principal) -> dict[str, Any]:
    query = _select().where(Recognition.id == recognition_id)
    if not viewer.is_bureau:
        query = query.where(Recognition.agreement.issuer == viewer.provider_id)
    row = await query.first()
    if row is None:
        raise NotFoundError(
            f"找不到互认记录 {recognition_id} / recognition {recognition_id} not found"
        )
    return row  # type: ignore[no-any-return]


async def get(recognition_id: int, viewer: Principal) -> RecognitionOut:
    return _to_out(await _row(recognition_id, viewer))


async def list_recognitions(
    viewer: Principal,
    *,
    status: str | None,
    partner: str | None,
    agreement: str | None,
    limit: int,
    offset: int,
) -> list[RecognitionOut]:
    query = _select().order_by(Recognition.id, ascending=False)
    if status:
        query = query.where(Recognition.status == status)
    if partner:
        try:
            query = query.where(Recognition.partner == parse_partner(partner))
        except ValueError as exc:
            raise RuleViolation.single("partner", str(exc)) from None
    if agreement:
        query = query.where(Recognition.agreement.code == agreement)
    if not viewer.is_bureau:
        query = query.where(Recognition.agreement.issuer == viewer.provider_id)
    return [_to_out(row) for row in await query.limit(limit).offset(offset)]


async def decide(
    recognition_id: int, data: DecisionRequest, ctx: Context, signing: Signing
) -> RecognitionOut:
    actor = ctx.principal
    _require_admin(actor)
    async with write_transaction():
        row = await _row(recognition_id, actor)
        if row["status"] != "pending":
            raise ConflictError(
                f"互认记录 {recognition_id} 已于 {row['decided_at']:%Y-%m-%d} 由 {row['decided_by']}"
                f" 认定为 {row['status']} / recognition {recognition_id} was already decided"
            )
        now = datetime.now(UTC)
        number: str | None = None
        level: int | None = None
        issued_on = None
        if data.decision == "refused":
            if not (data.reason or "").strip():
                raise RuleViolation.single(
                    "reason", "不予认定须说明理由 / a refusal needs the reason"
                )
        else:
            level = data.level if data.level is not None else row["suggested_level"]
            if (problem := level_error(row["occupation_code"], level, "level")) is not None:
                raise RuleViolation(errors=[problem], detail=problem.message)
            issued_on = data.issued_on or ctx.today()
        await Recognition.update(
            {
                Recognition.status: data.decision,
                Recognition.level: level,
                Recognition.decided_by: actor.audit_label[:200],
                Recognition.decided_at: now,
                Recognition.decision_reason: (data.reason or "").strip() or None,
                Recognition.issued_on: issued_on,
                Recognition.updated_at: now,
            }
        ).where(Recognition.id == row["id"])
        if level is not None and issued_on is not None:
            issuer = await load_issuer(row["issuer_id"])
            number = await award(
                issuer,
                ctx=ctx,
                signing=signing,
                trainee_id=row["trainee"],
                occupation_code=row["occupation_code"],
                occupation_name=row["occupation_name"],
                trade=row["trade"],
                level=level,
                issued_on=issued_on,
                source="recognition",
                source_ref=str(row["id"]),
            )
            await Recognition.update({Recognition.certificate_number: number}).where(
                Recognition.id == row["id"]
            )
        await audit.record(
            actor,
            "recognition.decide",
            "recognition",
            row["id"],
            {
                "status": {"from": "pending", "to": data.decision},
                "level": level,
                "suggested_level": row["suggested_level"],
                "reason": data.reason,
                "certificate_number": number,
            },
            provider_code=row["issuer_code"],
        )
    return await get(row["id"], actor)
