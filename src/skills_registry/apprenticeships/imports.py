"""The apprentice sheet (学徒名册): bulk registration through the upload pipeline.

`POST /api/v1/imports/apprentices`. The uploading provider is one party: a blank
企业代码 / 培训机构代码 cell means the uploader, and a row where it is neither party is
refused. Each row follows the rules of `services.check_terms` and `services.check_parties`;
the apprentice is created or linked exactly as `POST /api/v1/trainees` does and linked to
both parties. Natural key: (enterprise, institution, person, occupation code, start date);
re-uploading the same row is `unchanged`, the same key with other details is refused (the
stored apprenticeship is not rewritten by an upload).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..audit import services as audit
from ..awarding import person_for_row
from ..errors import FieldError
from ..imports.spec import UNCHANGED, Column, ImportContext, ImportKind, Outcome, Row
from ..occupations import parse_level, parse_occupation_code
from ..providers.tables import Provider
from ..trainees.people import PersonInput, check_person
from ..trainees.services import link
from .services import Terms, check_parties, check_terms, insert, subsidy_rate
from .tables import Apprenticeship

APPRENTICE_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", example="林晓东"),
    Column("id_type", "证件类型", example="居民身份证"),
    Column(
        "id_number", "证件号码", text=True, note="请把本列设为“文本”格式 / keep this column as Text"
    ),
    Column("nationality", "国籍", required=False, note="护照必填 / for passports"),
    Column("enterprise", "企业代码", required=False, note="留空为上传机构 / blank: the uploader"),
    Column(
        "institution", "培训机构代码", required=False, note="留空为上传机构 / blank: the uploader"
    ),
    Column("occupation_code", "职业编码", example="6-31-01-03"),
    Column("occupation_name", "职业名称", required=False, example="电工"),
    Column("trade", "工种", required=False),
    Column("target_level", "目标等级", example="四级/中级工"),
    Column("start_date", "开始日期", example="2025-03-01"),
    Column("end_date", "结束日期", example="2026-02-28", note="1至3年 / 1 to 3 years"),
    Column(
        "contract_end_date",
        "劳动合同截止日期",
        example="2027-02-28",
        note="至少为开始日期后1年 / at least 1 year after the start",
    ),
    Column("enterprise_mentor", "企业导师", example="王师傅"),
    Column("school_mentor", "院校导师", example="李老师"),
)


@dataclass(frozen=True)
class ApprenticeRow:
    person: PersonInput
    index: str
    enterprise: dict[str, Any]
    institution: dict[str, Any]
    terms: Terms


class ApprenticeRows:
    def __init__(
        self, ictx: ImportContext, providers: dict[str, dict[str, Any]], rates: dict[int, int]
    ) -> None:
        self.ictx = ictx
        self.providers = providers
        self.rates = rates
        self.today = ictx.ctx.today()

    def _party(self, row: Row, key: str, errors: list[FieldError]) -> dict[str, Any] | None:
        code = row.text(key) or str(self.ictx.provider["code"])
        provider = self.providers.get(code)
        if provider is None:
            errors.append(FieldError(key, f"找不到机构 {code} / unknown provider {code}"))
        return provider

    def _date(self, row: Row, key: str, errors: list[FieldError]) -> date | None:
        try:
            value = row.date(key)
        except ValueError as exc:
            errors.append(FieldError(key, str(exc)))
            return None
        if value is None:
            errors.append(FieldError(key, "请填写日期 / the date is required"))
        return value

    def check(self, row: Row) -> tuple[ApprenticeRow | None, list[FieldError]]:
        person, errors = check_person(
            name=row.text("name"),
            id_type=row.text("id_type"),
            id_number=row.text("id_number"),
            nationality=row.text("nationality") or None,
            today=self.today,
        )
        enterprise = self._party(row, "enterprise", errors)
        institution = self._party(row, "institution", errors)
        if enterprise is not None and institution is not None:
            errors.extend(check_parties(enterprise, institution))
            if self.ictx.provider["id"] not in (enterprise["id"], institution["id"]):
                errors.append(
                    FieldError(
                        "enterprise",
                        "上传机构须为该学徒的企业或培训机构 / the uploader must be a party",
                    )
                )
        code: str | None = None
        try:
            code = parse_occupation_code(row.text("occupation_code"))
        except ValueError as exc:
            errors.append(FieldError("occupation_code", str(exc)))
        level: int | None = None
        try:
            level = parse_level(row.text("target_level"))
        except ValueError as exc:
            errors.append(FieldError("target_level", str(exc)))
        start = self._date(row, "start_date", errors)
        end = self._date(row, "end_date", errors)
        contract = self._date(row, "contract_end_date", errors)
        terms: Terms | None = None
        if code and level is not None and start and end and contract:
            terms, term_errors, _ = check_terms(
                occupation_code=code,
                occupation_name=row.text("occupation_name") or None,
                trade=row.text("trade") or None,
                target_level=level,
                start_date=start,
                end_date=end,
                contract_end_date=contract,
                enterprise_mentor=row.text("enterprise_mentor"),
                school_mentor=row.text("school_mentor"),
            )
            errors.extend(term_errors)
        if errors or person is None or terms is None or enterprise is None or institution is None:
            return None, errors
        index = self.ictx.ctx.secrets.id_number_index(person.document.index_material)
        return ApprenticeRow(person, index, enterprise, institution, terms), []

    def key(self, value: ApprenticeRow) -> Hashable:
        return (
            value.index,
            value.enterprise["id"],
            value.institution["id"],
            value.terms.occupation_code,
            value.terms.start_date,
        )

    def warnings(self) -> list[str]:
        return []

    async def store(self, rows: Sequence[tuple[int, ApprenticeRow]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        ctx = self.ictx.ctx
        now = datetime.now(UTC)
        for _, value in rows:
            trainee_id, problem = await person_for_row(value.person, ctx, create=True)
            if problem is not None or trainee_id is None:
                outcomes.append(Outcome("rejected", [problem] if problem else []))
                continue
            terms = value.terms
            existing = (
                await Apprenticeship.select()
                .where(
                    (Apprenticeship.enterprise == value.enterprise["id"])
                    & (Apprenticeship.institution == value.institution["id"])
                    & (Apprenticeship.trainee == trainee_id)
                    & (Apprenticeship.occupation_code == terms.occupation_code)
                    & (Apprenticeship.start_date == terms.start_date)
                )
                .first()
            )
            if existing is not None:
                wanted = asdict(terms)
                if {k: existing[k] for k in wanted} == wanted:
                    outcomes.append(UNCHANGED)
                else:
                    outcomes.append(
                        Outcome.rejected(
                            "",
                            f"该学徒记录已登记（编号 {existing['id']}），内容与本行不同"
                            f" / already registered as {existing['id']} with other details",
                        )
                    )
                continue
            for party in (value.enterprise, value.institution):
                await link(party["id"], trainee_id, now)
            rate = subsidy_rate(self.rates, terms.target_level)
            new_id = await insert(
                value.enterprise["id"],
                value.institution["id"],
                trainee_id,
                terms,
                rate,
                ctx.principal,
                batch=self.ictx.batch_id,
            )
            await audit.record(
                ctx.principal,
                "apprenticeship.create",
                "apprenticeship",
                new_id,
                {
                    "enterprise": value.enterprise["code"],
                    "institution": value.institution["code"],
                    "trainee": str(trainee_id),
                    "occupation_code": terms.occupation_code,
                    "target_level": terms.target_level,
                    "start_date": terms.start_date,
                    "end_date": terms.end_date,
                    "subsidy_rate": rate,
                    "import_batch": str(self.ictx.batch_id),
                },
                provider_code=self.ictx.provider["code"],
            )
            outcomes.append(Outcome("stored", detail={"apprenticeship_id": new_id}))
        return outcomes


def apprentice_import(rates: dict[int, int]) -> ImportKind:
    """The sheet kind, with the subsidy rates of the running settings."""

    async def open_rows(ictx: ImportContext) -> ApprenticeRows:
        providers = {
            row["code"]: row
            for row in await Provider.select(Provider.id, Provider.code, Provider.kind)
        }
        return ApprenticeRows(ictx, providers, dict(rates))

    return ImportKind(
        name="apprentices",
        title="学徒名册 / apprentice sheet",
        columns=APPRENTICE_COLUMNS,
        open=open_rows,
        details_key="apprenticeships",
    )
