"""职业技能竞赛: competitions, results, and confirming them into promotion certificates.

A competition names the provider that issues its promotion certificates (`issuer`) and
carries its promotion table (data: rank ranges → rule, see `schemas.PromotionRow`;
Xiamen's municipal tables by default). Results name a registered person ("results for a
person not entered" are refused: register them first).

Confirming applies the table to each result against the person's current highest valid
certificate level in the result's occupation (职业技能等级证书 or 职业资格证书) and issues
each promotion as a 职业技能等级证书 from the issuer (source "competition", `source_ref`
the result's id; the result keeps the number). All or nothing: when any promotion is
refused — a level the occupation's standard lacks, a second promotion for the person in
the same calendar year (the competition's year; the refusal names the earlier one), the
issuer's scope — nothing is confirmed and every refusal is listed (422). A result whose
placing earns nothing under the table is confirmed with a note saying why.

A provider key sees and works on the competitions it issues for; others are 404.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from ..audit import services as audit
from ..awarding import award, level_error, load_issuer, pdf_url, provider_by_code, resolve_holder
from ..certificates.schemas import QUALIFICATION, SKILL_LEVEL
from ..certificates.services import Signing
from ..certificates.tables import Certificate
from ..context import Context
from ..database import write_transaction
from ..errors import ConflictError, FieldError, NotFoundError, PermissionDeniedError, RuleViolation
from ..occupations import catalogue, catalogue_warning, level_name
from ..principal import Principal, Role
from .schemas import (
    DEFAULT_TABLES,
    LEVEL_NAMES,
    CompetitionCreate,
    CompetitionOut,
    ConfirmRequest,
    PromotionRow,
    ResultCreate,
    ResultOut,
)
from .tables import Competition, CompetitionResult


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _require_writer(actor: Principal) -> None:
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError(
            "只读密钥不能修改竞赛记录 / read-only keys cannot change competitions"
        )


# --- competitions --------------------------------------------------------------------------


async def create_competition(data: CompetitionCreate, ctx: Context) -> CompetitionOut:
    actor = ctx.principal
    _require_writer(actor)
    issuer_row = await provider_by_code(data.issuer, "issuer")
    if actor.role is Role.PROVIDER and actor.provider_id != issuer_row["id"]:
        raise PermissionDeniedError(
            "机构密钥只能登记本机构颁证的竞赛 / a provider key registers only its own competitions"
        )
    table = (
        data.promotion_table
        if data.promotion_table is not None
        else [PromotionRow(**row) for row in DEFAULT_TABLES.get(data.level, [])]
    )
    issuer = await load_issuer(issuer_row["id"])
    warnings = [w for code in data.occupations if (w := catalogue_warning(code))]
    for code in data.occupations:
        if code not in issuer.scope:
            warnings.append(
                f"颁证机构 {issuer.code} 的评价范围不含职业 {code}，确认成绩时将无法颁证"
                f" / {code} is outside {issuer.code}'s scope: promotions cannot be issued yet"
            )
    now = datetime.now(UTC)
    async with write_transaction():
        inserted = await Competition.insert(
            Competition(
                name=data.name,
                year=data.year,
                level=data.level,
                organiser=data.organiser,
                issuer=issuer_row["id"],
                occupations=_dump(data.occupations),
                promotion_table=_dump([row.model_dump(exclude_none=True) for row in table]),
                created_by=actor.audit_label[:200],
                created_at=now,
                updated_at=now,
            )
        )
        competition_id = int(inserted[0]["id"])
        await audit.record(
            actor,
            "competition.create",
            "competition",
            competition_id,
            {
                **data.model_dump(mode="json", exclude={"promotion_table"}),
                "promotion_table": [row.model_dump(exclude_none=True) for row in table],
            },
            provider_code=issuer.code,
        )
    out = await get_competition(competition_id, actor)
    out.warnings.extend(warnings)
    return out


def _competition_select() -> Any:
    return Competition.select(
        *Competition.all_columns(),
        Competition.issuer.code.as_alias("issuer_code"),
        Competition.issuer.name.as_alias("issuer_name"),
    )


async def _competition_row(competition_id: int, viewer: Principal) -> dict[str, Any]:
    query = _competition_select().where(Competition.id == competition_id)
    if not viewer.is_bureau:
        query = query.where(Competition.issuer == viewer.provider_id)
    row = await query.first()
    if row is None:
        raise NotFoundError(f"找不到竞赛 {competition_id} / competition {competition_id} not found")
    row["occupations"] = _json(row["occupations"]) or []
    row["promotion_table"] = [PromotionRow(**r) for r in _json(row["promotion_table"]) or []]
    return row  # type: ignore[no-any-return]


async def _to_competition_out(row: dict[str, Any]) -> CompetitionOut:
    total = await CompetitionResult.count().where(CompetitionResult.competition == row["id"])
    pending = await CompetitionResult.count().where(
        (CompetitionResult.competition == row["id"]) & (CompetitionResult.status == "pending")
    )
    table: list[PromotionRow] = row["promotion_table"]
    return CompetitionOut(
        id=row["id"],
        name=row["name"],
        year=row["year"],
        level=row["level"],
        level_name=LEVEL_NAMES[row["level"]],
        organiser=row["organiser"],
        issuer=row["issuer_code"],
        issuer_name=row["issuer_name"],
        occupations=row["occupations"],
        promotion_table=table,
        promotion_rules=[r.describe() for r in table],
        results=total,
        pending=pending,
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def get_competition(competition_id: int, viewer: Principal) -> CompetitionOut:
    return await _to_competition_out(await _competition_row(competition_id, viewer))


async def list_competitions(
    viewer: Principal, *, year: int | None, level: str | None, limit: int, offset: int
) -> list[CompetitionOut]:
    query = _competition_select().order_by(Competition.id, ascending=False)
    if year is not None:
        query = query.where(Competition.year == year)
    if level:
        query = query.where(Competition.level == level)
    if not viewer.is_bureau:
        query = query.where(Competition.issuer == viewer.provider_id)
    rows = await query.limit(limit).offset(offset)
    out = []
    for row in rows:
        row["occupations"] = _json(row["occupations"]) or []
        row["promotion_table"] = [PromotionRow(**r) for r in _json(row["promotion_table"]) or []]
        out.append(await _to_competition_out(row))
    return out


# --- results -------------------------------------------------------------------------------


def check_result_occupation(competition: dict[str, Any], code: str) -> FieldError | None:
    if code in competition["occupations"]:
        return None
    return FieldError(
        "occupation_code",
        f"竞赛“{competition['name']}”不含职业 {code}（含 {'、'.join(competition['occupations'])}）"
        f" / {code} is not an occupation of this competition",
    )


def occupation_name(code: str) -> str:
    known = catalogue().get(code)
    return known.name if known else ""


async def insert_result(
    competition: dict[str, Any],
    trainee_id: UUID,
    data: ResultCreate,
    actor: Principal,
    *,
    batch: UUID | None = None,
) -> int:
    now = datetime.now(UTC)
    inserted = await CompetitionResult.insert(
        CompetitionResult(
            competition=competition["id"],
            trainee=trainee_id,
            occupation_code=data.occupation_code,
            occupation_name=occupation_name(data.occupation_code),
            event=data.event,
            rank=data.rank,
            award=data.award,
            honours=_dump(data.honours),
            status="pending",
            promotion_note="",
            import_batch=batch,
            created_by=actor.audit_label[:200],
            created_at=now,
            updated_at=now,
        )
    )
    return int(inserted[0]["id"])


async def find_result(
    competition_id: int, trainee_id: UUID, occupation_code: str, event: str
) -> dict[str, Any] | None:
    return await (  # type: ignore[no-any-return]
        CompetitionResult.select()
        .where(
            (CompetitionResult.competition == competition_id)
            & (CompetitionResult.trainee == trainee_id)
            & (CompetitionResult.occupation_code == occupation_code)
            & (CompetitionResult.event == event)
        )
        .first()
    )


async def add_result(competition_id: int, data: ResultCreate, ctx: Context) -> ResultOut:
    actor = ctx.principal
    _require_writer(actor)
    async with write_transaction():
        competition = await _competition_row(competition_id, actor)
        if (problem := check_result_occupation(competition, data.occupation_code)) is not None:
            raise RuleViolation(errors=[problem], detail=problem.message)
        trainee_id = await resolve_holder(data, ctx, create=False, link_to=(competition["issuer"],))
        if same := await find_result(competition_id, trainee_id, data.occupation_code, data.event):
            raise ConflictError(
                f"该人员在此项目的成绩已登记（成绩 {same['id']}）"
                f" / this person's result in the event is already entered: {same['id']}"
            )
        result_id = await insert_result(competition, trainee_id, data, actor)
        await audit.record(
            actor,
            "competition_result.create",
            "competition_result",
            result_id,
            {
                "competition": competition_id,
                "trainee": str(trainee_id),
                "occupation_code": data.occupation_code,
                "event": data.event,
                "rank": data.rank,
                "award": data.award,
                "honours": data.honours,
            },
            provider_code=competition["issuer_code"],
        )
    return await get_result(competition_id, result_id, actor)


def _result_select() -> Any:
    return CompetitionResult.select(
        *CompetitionResult.all_columns(),
        CompetitionResult.trainee.name.as_alias("holder_name"),
        CompetitionResult.trainee.id_number_masked.as_alias("holder_masked"),
    )


def _to_result_out(row: dict[str, Any]) -> ResultOut:
    return ResultOut(
        id=row["id"],
        competition_id=row["competition"],
        trainee_id=row["trainee"],
        name=row["holder_name"],
        id_number_masked=row["holder_masked"],
        occupation_code=row["occupation_code"],
        occupation_name=row["occupation_name"],
        event=row["event"],
        rank=row["rank"],
        award=row["award"],
        honours=_json(row["honours"]) or [],
        status=row["status"],
        previous_level=row["previous_level"],
        promoted_level=row["promoted_level"],
        promoted_level_name=level_name(row["promoted_level"]) or None,
        promotion_note=row["promotion_note"],
        certificate_number=row["certificate_number"],
        certificate_url=pdf_url(row["certificate_number"]),
        confirmed_by=row["confirmed_by"],
        confirmed_at=row["confirmed_at"],
        created_at=row["created_at"],
    )


async def get_result(competition_id: int, result_id: int, viewer: Principal) -> ResultOut:
    await _competition_row(competition_id, viewer)
    row = (
        await _result_select()
        .where(
            (CompetitionResult.id == result_id) & (CompetitionResult.competition == competition_id)
        )
        .first()
    )
    if row is None:
        raise NotFoundError(f"找不到成绩 {result_id} / result {result_id} not found")
    return _to_result_out(row)


async def list_results(competition_id: int, viewer: Principal) -> list[ResultOut]:
    await _competition_row(competition_id, viewer)
    rows = (
        await _result_select()
        .where(CompetitionResult.competition == competition_id)
        .order_by(CompetitionResult.occupation_code)
        .order_by(CompetitionResult.rank)
        .order_by(CompetitionResult.id)
    )
    return [_to_result_out(row) for row in rows]


# --- confirming ----------------------------------------------------------------------------


async def current_level(trainee_id: UUID, occupation_code: str) -> int | None:
    """The highest level (smallest number) of the person's valid certificates in the occupation."""
    rows = await Certificate.select(Certificate.level).where(
        (Certificate.trainee == trainee_id)
        & (Certificate.occupation_code == occupation_code)
        & (Certificate.status == "valid")
        & Certificate.kind.is_in([SKILL_LEVEL, QUALIFICATION])
        & Certificate.level.is_not_null()
    )
    levels = [int(r["level"]) for r in rows]
    return min(levels) if levels else None


def apply_table(
    table: list[PromotionRow], rank: int | None, current: int | None
) -> tuple[int | None, str]:
    """(the level the placing earns or None, a note saying why)."""
    held = level_name(current) if current is not None else "无该职业证书"
    row = next((r for r in table if rank is not None and r.rank_from <= rank <= r.rank_to), None)
    if row is None:
        return None, (
            f"第{rank}名不在晋升表内 / the placing earns no promotion"
            if rank is not None
            else "无名次，不晋升 / no rank, no promotion"
        )
    if row.rule == "fixed":
        assert row.level is not None
        if current is None or current > row.level:
            return row.level, f"{row.describe()}（原{held}）"
        return None, f"已持有{held}，不低于{level_name(row.level)}，不晋升 / already at that level"
    if row.rule == "fixed_or_up_one":
        assert row.level is not None
        if current is None or current > row.level:
            return row.level, f"{row.describe()}（原{held}）"
        return current - 1, f"{row.describe()}（原{held}，晋升一级）"
    if row.rule == "up_one":
        if current is None:
            return None, "无该职业证书，不适用晋升一级 / no certificate to promote from"
        return current - 1, f"{row.describe()}（原{held}）"
    assert row.level is not None and row.from_level is not None
    if current == row.from_level:
        return row.level, f"{row.describe()}"
    return None, (
        f"须持有{level_name(row.from_level)}方可晋升为{level_name(row.level)}（现{held}），不晋升"
        f" / only holders of level {row.from_level} move up"
    )


async def _earlier_promotion(
    trainee_id: UUID, year: int, exclude: set[int]
) -> dict[str, Any] | None:
    return await (  # type: ignore[no-any-return]
        CompetitionResult.select(
            CompetitionResult.id,
            CompetitionResult.certificate_number,
            CompetitionResult.competition.name.as_alias("competition_name"),
        )
        .where(
            (CompetitionResult.trainee == trainee_id)
            & (CompetitionResult.promotion_year == year)
            & CompetitionResult.id.not_in(list(exclude) or [0])
        )
        .first()
    )


async def confirm(
    competition_id: int, data: ConfirmRequest, ctx: Context, signing: Signing
) -> list[ResultOut]:
    actor = ctx.principal
    _require_writer(actor)
    issued_on: date = data.issued_on or ctx.today()
    async with write_transaction():
        competition = await _competition_row(competition_id, actor)
        query = _result_select().where(CompetitionResult.competition == competition_id)
        if data.result_ids is not None:
            query = query.where(CompetitionResult.id.is_in(data.result_ids or [0]))
        else:
            query = query.where(CompetitionResult.status == "pending")
        rows = await query.order_by(CompetitionResult.rank).order_by(CompetitionResult.id)
        if data.result_ids is not None:
            found = {r["id"] for r in rows}
            missing = [i for i in data.result_ids if i not in found]
            if missing:
                raise NotFoundError(
                    f"竞赛 {competition_id} 没有成绩 {missing[0]} / result {missing[0]} not found"
                )
            done = [r["id"] for r in rows if r["status"] != "pending"]
            if done:
                raise ConflictError(
                    f"成绩 {done[0]} 已确认，不能再次确认 / result {done[0]} is already confirmed"
                )
        if not rows:
            raise ConflictError("没有待确认的成绩 / no results are waiting for confirmation")

        table: list[PromotionRow] = competition["promotion_table"]
        year = competition["year"]
        errors: list[FieldError] = []
        plans: list[tuple[dict[str, Any], int | None, int | None, str]] = []
        promoted_in_batch: dict[str, int] = {}
        for row in rows:
            current = await current_level(row["trainee"], row["occupation_code"])
            target, note = apply_table(table, row["rank"], current)
            prefix = f"results.{row['id']}."
            if target is not None:
                if (problem := level_error(row["occupation_code"], target, "level")) is not None:
                    errors.append(
                        FieldError(
                            prefix + "level",
                            f"{row['holder_name']}（成绩 {row['id']}）应晋升的等级不存在："
                            + problem.message,
                        )
                    )
                    continue
                person = str(row["trainee"])
                earlier = await _earlier_promotion(row["trainee"], year, {row["id"]})
                if earlier is not None:
                    errors.append(
                        FieldError(
                            prefix + "trainee_id",
                            f"{row['holder_name']} 已因“{earlier['competition_name']}”（成绩"
                            f" {earlier['id']}，证书 {earlier['certificate_number']}）在{year}年晋升，"
                            f"每人每年至多晋升一次 / already promoted in {year} by result"
                            f" {earlier['id']} ({earlier['certificate_number']}): one promotion a year",
                        )
                    )
                    continue
                if person in promoted_in_batch:
                    errors.append(
                        FieldError(
                            prefix + "trainee_id",
                            f"{row['holder_name']} 在本次确认中已因成绩 {promoted_in_batch[person]}"
                            f" 晋升，每人每年至多晋升一次 / already promoted in {year} by result"
                            f" {promoted_in_batch[person]}: one promotion a year",
                        )
                    )
                    continue
                promoted_in_batch[person] = row["id"]
            plans.append((row, current, target, note))
        if errors:
            raise RuleViolation(errors=errors, detail=errors[0].message)

        issuer = await load_issuer(competition["issuer"])
        now = datetime.now(UTC)
        for row, current, target, note in plans:
            number: str | None = None
            if target is not None:
                number = await award(
                    issuer,
                    ctx=ctx,
                    signing=signing,
                    trainee_id=row["trainee"],
                    occupation_code=row["occupation_code"],
                    occupation_name=row["occupation_name"],
                    trade="",
                    level=target,
                    issued_on=issued_on,
                    source="competition",
                    source_ref=str(row["id"]),
                    prefix=f"results.{row['id']}.",
                )
            await CompetitionResult.update(
                {
                    CompetitionResult.status: "confirmed",
                    CompetitionResult.previous_level: current,
                    CompetitionResult.promoted_level: target,
                    CompetitionResult.promotion_year: year if target is not None else None,
                    CompetitionResult.promotion_note: note,
                    CompetitionResult.certificate_number: number,
                    CompetitionResult.confirmed_by: actor.audit_label[:200],
                    CompetitionResult.confirmed_at: now,
                    CompetitionResult.updated_at: now,
                }
            ).where(CompetitionResult.id == row["id"])
            await audit.record(
                actor,
                "competition_result.confirm",
                "competition_result",
                row["id"],
                {
                    "competition": competition_id,
                    "status": {"from": "pending", "to": "confirmed"},
                    "previous_level": current,
                    "promoted_level": target,
                    "certificate_number": number,
                    "note": note,
                },
                provider_code=competition["issuer_code"],
            )
    ids = [row["id"] for row, *_ in plans]
    return [r for r in await list_results(competition_id, actor) if r.id in ids]
