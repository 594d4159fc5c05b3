"""企业新型学徒制: registering, completing (with a certificate) and terminating apprenticeships.

Rules (DESIGN §3 "New apprenticeship"):
- the enterprise is a provider of kind 企业; the institution a 技工院校, 职业培训机构 or
  评价机构; they are different providers;
- the apprenticeship lasts 1 to 3 years, both ends counted (from 2025-03-01 it ends between
  2026-02-28 and 2028-02-29); the labour contract runs at least 1 year from the start (to
  2026-02-28 or later);
- the target level is a certificate level (1-5) the occupation's standard has;
- the subsidy rate (yuan per person per year) is the setting `apprentice_subsidy_by_level`
  for the target level, fixed when the apprenticeship is registered.

Completing with a passed evaluation issues a 职业技能等级证书 (source "apprenticeship",
`source_ref` the apprenticeship's id; the apprenticeship keeps the number). The issuer is
the training institution when its scope covers the occupation at the level achieved, else
the enterprise when its scope does (the enterprise evaluating its own employee: a `Y`
number); when neither may certify it, completion is refused. The result is entered by the
bureau or by that issuing party.

A provider key sees and changes only apprenticeships where its provider is the enterprise
or the institution (others are 404).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from ..audit import services as audit
from ..awarding import (
    award,
    level_error,
    load_issuer,
    may_certify,
    occupation_name_of,
    pdf_url,
    provider_by_code,
    resolve_holder,
)
from ..certificates.services import Issuer, Signing, clean_trade
from ..context import Context
from ..database import write_transaction
from ..errors import (
    ConflictError,
    FieldError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
)
from ..occupations import catalogue_warning, level_name
from ..principal import Principal, Role
from .schemas import (
    STATUS_NAMES,
    ApprenticeshipComplete,
    ApprenticeshipCreate,
    ApprenticeshipFigures,
    ApprenticeshipOut,
    ApprenticeshipPage,
    ApprenticeshipTerminate,
    LevelSubsidy,
)
from .tables import Apprenticeship

ENTERPRISE = "企业"
INSTITUTION_KINDS = ("技工院校", "职业培训机构", "评价机构")
MIN_YEARS, MAX_YEARS, MIN_CONTRACT_YEARS = 1, 3, 1


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def last_day_of(start: date, years: int) -> date:
    """The last day of a period of `years` starting on `start` (both days count):
    a year from 2025-03-01 ends on 2026-02-28."""
    return add_years(start, years) - timedelta(days=1)


def subsidy_rate(rates: dict[int, int], level: int) -> int:
    return int(rates.get(level, 0))


@dataclass(frozen=True)
class Terms:
    """The checked fields of one apprenticeship (the API and the upload share the rules)."""

    occupation_code: str
    occupation_name: str
    trade: str
    target_level: int
    start_date: date
    end_date: date
    contract_end_date: date
    enterprise_mentor: str
    school_mentor: str


def check_terms(
    *,
    occupation_code: str,
    occupation_name: str | None,
    trade: str | None,
    target_level: int,
    start_date: date,
    end_date: date,
    contract_end_date: date,
    enterprise_mentor: str,
    school_mentor: str,
) -> tuple[Terms | None, list[FieldError], list[str]]:
    """Every rule the fields break, at once; and warnings (an occupation not in the catalogue)."""
    errors: list[FieldError] = []
    warnings: list[str] = []
    if (problem := level_error(occupation_code, target_level, "target_level")) is not None:
        errors.append(problem)
    name = occupation_name_of(occupation_code, (occupation_name or "").strip())
    if not name:
        errors.append(
            FieldError(
                "occupation_name",
                f"职业编码 {occupation_code} 不在职业目录中，请填写职业名称"
                " / name the occupation (code not in the catalogue)",
            )
        )
    elif (warning := catalogue_warning(occupation_code)) is not None:
        warnings.append(warning)
    if end_date <= start_date:
        errors.append(
            FieldError("end_date", "结束日期须晚于开始日期 / the end date must follow the start")
        )
    elif end_date > last_day_of(start_date, MAX_YEARS):
        errors.append(
            FieldError(
                "end_date",
                f"学徒培养期最长{MAX_YEARS}年，{start_date.isoformat()} 开始的最迟于"
                f" {last_day_of(start_date, MAX_YEARS).isoformat()} 结束"
                f" / an apprenticeship lasts at most {MAX_YEARS} years",
            )
        )
    elif end_date < last_day_of(start_date, MIN_YEARS):
        errors.append(
            FieldError(
                "end_date",
                f"学徒培养期为{MIN_YEARS}至{MAX_YEARS}年，{start_date.isoformat()} 开始的最早于"
                f" {last_day_of(start_date, MIN_YEARS).isoformat()} 结束"
                f" / an apprenticeship lasts {MIN_YEARS} to {MAX_YEARS} years",
            )
        )
    if contract_end_date < last_day_of(start_date, MIN_CONTRACT_YEARS):
        errors.append(
            FieldError(
                "contract_end_date",
                f"劳动合同期限须不少于{MIN_CONTRACT_YEARS}年（至少到"
                f" {last_day_of(start_date, MIN_CONTRACT_YEARS).isoformat()}）"
                f" / the labour contract must run at least {MIN_CONTRACT_YEARS} year from the start",
            )
        )
    for field_name, value in (
        ("enterprise_mentor", enterprise_mentor),
        ("school_mentor", school_mentor),
    ):
        if not value.strip():
            errors.append(FieldError(field_name, "请填写导师姓名 / name the mentor"))
    if errors:
        return None, errors, warnings
    return (
        Terms(
            occupation_code=occupation_code,
            occupation_name=name,
            trade=clean_trade(trade),
            target_level=target_level,
            start_date=start_date,
            end_date=end_date,
            contract_end_date=contract_end_date,
            enterprise_mentor=enterprise_mentor.strip(),
            school_mentor=school_mentor.strip(),
        ),
        [],
        warnings,
    )


def check_parties(enterprise: dict[str, Any], institution: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    if enterprise["kind"] != ENTERPRISE:
        errors.append(
            FieldError(
                "enterprise",
                f"{enterprise['code']} 是{enterprise['kind']}，不是企业"
                " / the enterprise must be a provider of kind 企业",
            )
        )
    if institution["kind"] not in INSTITUTION_KINDS:
        errors.append(
            FieldError(
                "institution",
                f"{institution['code']} 是{institution['kind']}，培训机构应为"
                f"{'、'.join(INSTITUTION_KINDS)} / the institution must be a training institution",
            )
        )
    if enterprise["id"] == institution["id"]:
        errors.append(
            FieldError(
                "institution",
                "企业与培训机构须为不同机构 / enterprise and institution must differ",
            )
        )
    return errors


def scope_warning(terms: Terms, enterprise: Issuer, institution: Issuer) -> str | None:
    level = terms.target_level
    if may_certify(institution, terms.occupation_code, level) or may_certify(
        enterprise, terms.occupation_code, level
    ):
        return None
    return (
        f"{institution.code} 与 {enterprise.code} 均无 {terms.occupation_code}"
        f" {level_name(level)} 的评价资格，结业时将无法颁证"
        f" / neither party may certify {terms.occupation_code} level {level} yet"
    )


def _require_writer(actor: Principal) -> None:
    if actor.role is Role.BUREAU_VIEWER:
        raise PermissionDeniedError(
            "只读密钥不能修改学徒记录 / read-only keys cannot change apprenticeships"
        )


async def create(
    data: ApprenticeshipCreate, ctx: Context, rates: dict[int, int]
) -> ApprenticeshipOut:
    actor = ctx.principal
    _require_writer(actor)
    terms, errors, warnings = check_terms(
        occupation_code=data.occupation_code,
        occupation_name=data.occupation_name,
        trade=data.trade,
        target_level=data.target_level,
        start_date=data.start_date,
        end_date=data.end_date,
        contract_end_date=data.contract_end_date,
        enterprise_mentor=data.enterprise_mentor,
        school_mentor=data.school_mentor,
    )
    enterprise = await provider_by_code(data.enterprise, "enterprise")
    institution = await provider_by_code(data.institution, "institution")
    errors = check_parties(enterprise, institution) + errors
    if actor.role is Role.PROVIDER and actor.provider_id not in (
        enterprise["id"],
        institution["id"],
    ):
        raise PermissionDeniedError(
            "机构密钥只能登记本机构参与的学徒 / a provider key registers only its own apprenticeships"
        )
    if errors or terms is None:
        raise RuleViolation(errors=errors, detail=errors[0].message)
    enterprise_issuer = await load_issuer(enterprise["id"])
    institution_issuer = await load_issuer(institution["id"])
    if (warning := scope_warning(terms, enterprise_issuer, institution_issuer)) is not None:
        warnings.append(warning)
    rate = subsidy_rate(rates, terms.target_level)
    if rate == 0:
        warnings.append(
            f"未设定{level_name(terms.target_level)}的学徒补贴标准，按0元计"
            " / no subsidy rate is set for this target level"
        )
    async with write_transaction():
        trainee_id = await resolve_holder(
            data, ctx, create=True, link_to=(enterprise["id"], institution["id"])
        )
        existing = await _find_same(enterprise["id"], institution["id"], trainee_id, terms)
        if existing is not None:
            raise ConflictError(
                f"该学徒记录已登记（编号 {existing}）/ this apprenticeship is already registered: {existing}"
            )
        new_id = await insert(
            enterprise["id"], institution["id"], trainee_id, terms, rate, actor, batch=None
        )
        await audit.record(
            actor,
            "apprenticeship.create",
            "apprenticeship",
            new_id,
            {
                "enterprise": enterprise["code"],
                "institution": institution["code"],
                "trainee": str(trainee_id),
                "occupation_code": terms.occupation_code,
                "target_level": terms.target_level,
                "start_date": terms.start_date,
                "end_date": terms.end_date,
                "subsidy_rate": rate,
            },
            provider_code=actor.provider_code or institution["code"],
        )
    out = await get(new_id, actor)
    out.warnings.extend(warnings)
    return out


async def _find_same(
    enterprise_id: int, institution_id: int, trainee_id: UUID, terms: Terms
) -> int | None:
    row = (
        await Apprenticeship.select(Apprenticeship.id)
        .where(
            (Apprenticeship.enterprise == enterprise_id)
            & (Apprenticeship.institution == institution_id)
            & (Apprenticeship.trainee == trainee_id)
            & (Apprenticeship.occupation_code == terms.occupation_code)
            & (Apprenticeship.start_date == terms.start_date)
        )
        .first()
    )
    return None if row is None else int(row["id"])


async def insert(
    enterprise_id: int,
    institution_id: int,
    trainee_id: UUID,
    terms: Terms,
    rate: int,
    actor: Principal,
    *,
    batch: UUID | None,
) -> int:
    now = datetime.now(UTC)
    inserted = await Apprenticeship.insert(
        Apprenticeship(
            enterprise=enterprise_id,
            institution=institution_id,
            trainee=trainee_id,
            occupation_code=terms.occupation_code,
            occupation_name=terms.occupation_name,
            trade=terms.trade,
            target_level=terms.target_level,
            start_date=terms.start_date,
            end_date=terms.end_date,
            contract_end_date=terms.contract_end_date,
            enterprise_mentor=terms.enterprise_mentor,
            school_mentor=terms.school_mentor,
            subsidy_rate=rate,
            status="active",
            import_batch=batch,
            created_by=actor.audit_label[:200],
            created_at=now,
            updated_at=now,
        )
    )
    return int(inserted[0]["id"])


# --- reading -----------------------------------------------------------------------------


def _select() -> Any:
    return Apprenticeship.select(
        *Apprenticeship.all_columns(),
        Apprenticeship.enterprise.code.as_alias("enterprise_code"),
        Apprenticeship.enterprise.name.as_alias("enterprise_name"),
        Apprenticeship.institution.code.as_alias("institution_code"),
        Apprenticeship.institution.name.as_alias("institution_name"),
        Apprenticeship.trainee.name.as_alias("apprentice_name"),
        Apprenticeship.trainee.id_number_masked.as_alias("apprentice_masked"),
    )


def _party(viewer: Principal) -> Any:
    return (Apprenticeship.enterprise == viewer.provider_id) | (
        Apprenticeship.institution == viewer.provider_id
    )


def _to_out(row: dict[str, Any]) -> ApprenticeshipOut:
    return ApprenticeshipOut(
        id=row["id"],
        enterprise=row["enterprise_code"],
        enterprise_name=row["enterprise_name"],
        institution=row["institution_code"],
        institution_name=row["institution_name"],
        trainee_id=row["trainee"],
        apprentice_name=row["apprentice_name"],
        apprentice_id_number_masked=row["apprentice_masked"],
        occupation_code=row["occupation_code"],
        occupation_name=row["occupation_name"],
        trade=row["trade"] or None,
        target_level=row["target_level"],
        target_level_name=level_name(row["target_level"]),
        start_date=row["start_date"],
        end_date=row["end_date"],
        contract_end_date=row["contract_end_date"],
        enterprise_mentor=row["enterprise_mentor"],
        school_mentor=row["school_mentor"],
        subsidy_rate=row["subsidy_rate"],
        status=row["status"],
        status_name=STATUS_NAMES[row["status"]],
        completed_on=row["completed_on"],
        result=row["result"],
        achieved_level=row["achieved_level"],
        certificate_number=row["certificate_number"],
        certificate_url=pdf_url(row["certificate_number"]),
        terminated_on=row["terminated_on"],
        termination_reason=row["termination_reason"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _row(apprenticeship_id: int, viewer: Principal) -> dict[str, Any]:
    query = _select().where(Apprenticeship.id == apprenticeship_id)
    if not viewer.is_bureau:
        query = query.where(_party(viewer))
    row = await query.first()
    if row is None:
        raise NotFoundError(
            f"找不到学徒记录 {apprenticeship_id} / apprenticeship {apprenticeship_id} not found"
        )
    return row  # type: ignore[no-any-return]


async def get(apprenticeship_id: int, viewer: Principal) -> ApprenticeshipOut:
    return _to_out(await _row(apprenticeship_id, viewer))


@dataclass(frozen=True)
class ApprenticeshipFilter:
    status: str | None = None
    enterprise: str | None = None
    institution: str | None = None
    trainee_id: UUID | None = None
    occupation_code: str | None = None


async def list_apprenticeships(
    viewer: Principal, filters: ApprenticeshipFilter, *, limit: int, offset: int
) -> ApprenticeshipPage:
    conditions: list[Any] = []
    if filters.status:
        conditions.append(Apprenticeship.status == filters.status)
    if filters.enterprise:
        conditions.append(Apprenticeship.enterprise.code == filters.enterprise)
    if filters.institution:
        conditions.append(Apprenticeship.institution.code == filters.institution)
    if filters.trainee_id:
        conditions.append(Apprenticeship.trainee == filters.trainee_id)
    if filters.occupation_code:
        conditions.append(Apprenticeship.occupation_code == filters.occupation_code)
    if not viewer.is_bureau:
        conditions.append(_party(viewer))
    query = _select().order_by(Apprenticeship.id, ascending=False)
    count = Apprenticeship.count()
    for condition in conditions:
        query = query.where(condition)
        count = count.where(condition)
    rows = await query.limit(limit).offset(offset)
    return ApprenticeshipPage(
        items=[_to_out(r) for r in rows], total=await count, limit=limit, offset=offset
    )


# --- completing and terminating ------------------------------------------------------------


def _require_active(row: dict[str, Any]) -> None:
    if row["status"] != "active":
        raise ConflictError(
            f"学徒记录 {row['id']} 已{STATUS_NAMES[row['status']]}，不能再结业或终止"
            f" / apprenticeship {row['id']} is already {row['status']}"
        )


def _check_end_date(row: dict[str, Any], day: date, field_name: str, today: date) -> None:
    if day < row["start_date"]:
        raise RuleViolation.single(
            field_name,
            f"日期早于学徒开始日期 {row['start_date'].isoformat()} / the date precedes the start",
        )
    if day > today:
        raise RuleViolation.single(field_name, "日期晚于今天 / the date is in the future")


async def complete(
    apprenticeship_id: int, data: ApprenticeshipComplete, ctx: Context, signing: Signing
) -> ApprenticeshipOut:
    """Record the evaluation result; a pass issues the certificate in the same transaction."""
    actor = ctx.principal
    _require_writer(actor)
    async with write_transaction():
        row = await _row(apprenticeship_id, actor)
        _require_active(row)
        _check_end_date(row, data.completed_on, "completed_on", ctx.today())
        level = data.level if data.level is not None else row["target_level"]
        number: str | None = None
        issuer: Issuer | None = None
        if data.result == "passed":
            if (problem := level_error(row["occupation_code"], level, "level")) is not None:
                raise RuleViolation(errors=[problem], detail=problem.message)
            issuer = await _issuer_for(row, level)
            if actor.role is Role.PROVIDER and actor.provider_id != issuer.id:
                raise PermissionDeniedError(
                    f"评价结果须由颁证机构 {issuer.code} 或人社局录入"
                    f" / the result is entered by the certifying body {issuer.code} or the bureau"
                )
        now = datetime.now(UTC)
        await Apprenticeship.update(
            {
                Apprenticeship.status: "completed",
                Apprenticeship.completed_on: data.completed_on,
                Apprenticeship.result: data.result,
                Apprenticeship.achieved_level: level if data.result == "passed" else None,
                Apprenticeship.updated_at: now,
            }
        ).where(Apprenticeship.id == row["id"])
        if issuer is not None:
            number = await award(
                issuer,
                ctx=ctx,
                signing=signing,
                trainee_id=row["trainee"],
                occupation_code=row["occupation_code"],
                occupation_name=row["occupation_name"],
                trade=row["trade"],
                level=level,
                issued_on=data.issued_on or data.completed_on,
                source="apprenticeship",
                source_ref=str(row["id"]),
            )
            await Apprenticeship.update({Apprenticeship.certificate_number: number}).where(
                Apprenticeship.id == row["id"]
            )
        await audit.record(
            actor,
            "apprenticeship.complete",
            "apprenticeship",
            row["id"],
            {
                "status": {"from": "active", "to": "completed"},
                "completed_on": data.completed_on,
                "result": data.result,
                "achieved_level": level if data.result == "passed" else None,
                "certificate_number": number,
                "issuer": issuer.code if issuer else None,
            },
            provider_code=row["institution_code"],
        )
    return await get(row["id"], actor)


async def _issuer_for(row: dict[str, Any], level: int) -> Issuer:
    institution = await load_issuer(row["institution"])
    if may_certify(institution, row["occupation_code"], level):
        return institution
    enterprise = await load_issuer(row["enterprise"])
    if may_certify(enterprise, row["occupation_code"], level):
        return enterprise
    raise RuleViolation.single(
        "level",
        f"培训机构 {institution.code} 与企业 {enterprise.code} 均无职业 {row['occupation_code']}"
        f" {level_name(level)}的评价资格（或已暂停），不能颁证，请联系人社局"
        f" / neither {institution.code} nor {enterprise.code} may certify"
        f" {row['occupation_code']} at level {level}",
    )


async def terminate(
    apprenticeship_id: int, data: ApprenticeshipTerminate, ctx: Context
) -> ApprenticeshipOut:
    actor = ctx.principal
    _require_writer(actor)
    async with write_transaction():
        row = await _row(apprenticeship_id, actor)
        _require_active(row)
        _check_end_date(row, data.terminated_on, "terminated_on", ctx.today())
        await Apprenticeship.update(
            {
                Apprenticeship.status: "terminated",
                Apprenticeship.terminated_on: data.terminated_on,
                Apprenticeship.termination_reason: data.reason,
                Apprenticeship.updated_at: datetime.now(UTC),
            }
        ).where(Apprenticeship.id == row["id"])
        await audit.record(
            actor,
            "apprenticeship.terminate",
            "apprenticeship",
            row["id"],
            {
                "status": {"from": "active", "to": "terminated"},
                "terminated_on": data.terminated_on,
                "reason": data.reason,
            },
            provider_code=row["institution_code"],
        )
    return await get(row["id"], actor)


# --- figures -----------------------------------------------------------------------------


def _training_span(row: dict[str, Any]) -> tuple[date, date]:
    end = row["end_date"]
    if row["status"] == "completed" and row["completed_on"] is not None:
        end = min(end, row["completed_on"])
    elif row["status"] == "terminated" and row["terminated_on"] is not None:
        end = min(end, row["terminated_on"])
    return row["start_date"], end


async def figures(year: int, viewer: Principal) -> ApprenticeshipFigures:
    first, last = date(year, 1, 1), date(year, 12, 31)
    days_in_year = 366 if calendar.isleap(year) else 365

    def scoped(query: Any) -> Any:
        return query if viewer.is_bureau else query.where(_party(viewer))

    rows = await scoped(
        Apprenticeship.select(
            Apprenticeship.status,
            Apprenticeship.start_date,
            Apprenticeship.end_date,
            Apprenticeship.completed_on,
            Apprenticeship.terminated_on,
            Apprenticeship.target_level,
            Apprenticeship.subsidy_rate,
            Apprenticeship.result,
        ).where((Apprenticeship.start_date <= last) & (Apprenticeship.end_date >= first))
    )
    active = 0
    due: dict[int, float] = {}
    counted: dict[int, int] = {}
    for row in rows:
        start, end = _training_span(row)
        overlap = (min(end, last) - max(start, first)).days + 1
        if overlap <= 0:
            continue
        active += 1
        level = row["target_level"]
        counted[level] = counted.get(level, 0) + 1
        due[level] = due.get(level, 0.0) + row["subsidy_rate"] * overlap / days_in_year

    def in_year(column: Any) -> Any:
        return (column >= first) & (column <= last)

    completed = await scoped(Apprenticeship.count().where(in_year(Apprenticeship.completed_on)))
    passed = await scoped(
        Apprenticeship.count().where(
            in_year(Apprenticeship.completed_on) & (Apprenticeship.result == "passed")
        )
    )
    terminated = await scoped(Apprenticeship.count().where(in_year(Apprenticeship.terminated_on)))
    started = await scoped(Apprenticeship.count().where(in_year(Apprenticeship.start_date)))
    ended = completed + terminated
    by_level = [
        LevelSubsidy(
            target_level=level,
            target_level_name=level_name(level),
            apprentices=counted[level],
            subsidy_due=round(due[level]),
        )
        for level in sorted(counted, reverse=True)
    ]
    return ApprenticeshipFigures(
        year=year,
        active=active,
        started=started,
        completed=completed,
        passed=passed,
        terminated=terminated,
        completion_rate=completed / ended if ended else None,
        subsidy_due=sum(item.subsidy_due for item in by_level),
        by_target_level=by_level,
    )
