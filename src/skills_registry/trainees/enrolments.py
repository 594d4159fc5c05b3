"""Enrolments (培训报名) and their upload: the enrolment sheet plugged into the import pipeline.

A row is a person (created or linked exactly as `services.register` does) plus an
enrolment at the uploading provider. Natural key: (provider, person, occupation code, 工种,
level, start date). A stored row with a new status, end date, occupation name or category
is updated and audited; an identical one is `unchanged`.

Scope: an enrolment is training toward a level the provider may evaluate, so the provider's
scope applies as for certificates: the occupation must be in its scope and the level no
higher than its `max_level`. A provider with no scope can upload no enrolments (each row
says so and tells the clerk to ask the bureau).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ..audit import services as audit
from ..errors import FieldError
from ..identity import collapse_spaces, normalise_text
from ..imports.bulk import LOOKUP_CHUNK, chunks, fetch, in_list, insert_rows, new_uuids
from ..imports.reader import cell_text
from ..imports.spec import STORED, UNCHANGED, Column, ImportContext, ImportKind, Outcome, Row
from ..occupations import catalogue, level_name, parse_level, parse_occupation_code
from ..providers.tables import ProviderScope
from .people import PersonInput, check_person
from .schemas import CATEGORIES
from .services import MISMATCH_MESSAGE, agrees
from .tables import Enrolment, ProviderLink, Trainee

STATUSES: tuple[str, ...] = ("在训", "结业", "退出")
_STATUS_ALIASES = {
    "在训": "在训",
    "培训中": "在训",
    "intraining": "在训",
    "training": "在训",
    "active": "在训",
    "结业": "结业",
    "已结业": "结业",
    "completed": "结业",
    "退出": "退出",
    "已退出": "退出",
    "withdrawn": "退出",
}
_CATEGORY_ALIASES = {c: c for c in CATEGORIES} | {
    "migrantworker": "农民工",
    "unemployed": "就业困难人员",
    "graduate": "高校毕业生",
    "employee": "企业职工",
    "other": "其他",
}

ENROLMENT_COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", example="陈志明"),
    Column(
        "id_type",
        "证件类型",
        example="居民身份证",
        note="居民身份证、港澳台居民居住证、台湾居民来往大陆通行证、外国人永久居留身份证、护照",
    ),
    Column(
        "id_number", "证件号码", text=True, note="请把本列设为“文本”格式 / keep this column as Text"
    ),
    Column(
        "gender", "性别", example="男", note="男/女；身份证可留空 / may be blank for resident IDs"
    ),
    Column("phone", "手机号码", text=True, example="13800000001"),
    Column("nationality", "国籍", required=False, example="BRA", note="护照必填 / for passports"),
    Column("district", "所在区", example="思明区"),
    Column("category", "人员类别", example="农民工", note="、".join(CATEGORIES)),
    Column("occupation_code", "职业编码", example="6-31-01-03"),
    Column("occupation_name", "职业名称", example="电工"),
    Column("trade", "工种", required=False),
    Column("level", "申报等级", example="三级/高级工", note="1-5、三级、高级工 或 三级/高级工"),
    Column("start_date", "培训开始日期", example="2024-05-01"),
    Column(
        "end_date",
        "培训结束日期",
        example="2024-07-31",
        note="结业、退出必填 / required for 结业 and 退出",
    ),
    Column("status", "培训状态", example="结业", note="在训、结业、退出"),
)

_ENROLMENT_KEYS = (
    "category",
    "occupation_code",
    "occupation_name",
    "trade",
    "level",
    "start_date",
    "end_date",
    "status",
)
_PART_CACHE_SIZE = 50_000

_ENROLMENT_COLUMNS_SQL = (
    "provider",
    "trainee",
    "occupation_code",
    "occupation_name",
    "trade",
    "level",
    "start_date",
    "end_date",
    "status",
    "category",
    "import_batch",
    "created_at",
    "updated_at",
)
_TRAINEE_COLUMNS_SQL = (
    "id",
    "id_type",
    "nationality",
    "id_index",
    "id_number_encrypted",
    "id_number_masked",
    "name",
    "gender",
    "birth_date",
    "district",
    "category",
    "phone",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class EnrolmentRow:
    person: PersonInput
    index: str  # the person's keyed index
    category: str
    occupation_code: str
    occupation_name: str
    trade: str
    level: int
    start_date: date
    end_date: date | None
    status: str


def parse_status(value: str) -> str:
    key = re.sub(r"[\s_\-]+", "", normalise_text(value)).casefold()
    status = _STATUS_ALIASES.get(key)
    if status is None:
        raise ValueError(
            f"培训状态“{value}”应为 在训、结业 或 退出 / status must be 在训, 结业 or 退出"
        )
    return status


def parse_category(value: str) -> str:
    key = re.sub(r"[\s_\-]+", "", normalise_text(value)).casefold()
    category = _CATEGORY_ALIASES.get(key)
    if category is None:
        raise ValueError(
            f"人员类别“{value}”应为 {'、'.join(CATEGORIES)} 之一 / unknown category: use one of {', '.join(CATEGORIES)}"
        )
    return category


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return cell_text(value)


class EnrolmentRows:
    """The enrolment sheet's RowHandler for one upload (see `skills_registry.imports`)."""

    def __init__(self, ictx: ImportContext, scope: dict[str, int]) -> None:
        self.ictx = ictx
        self.provider_id: int = ictx.provider["id"]
        self.scope = scope
        self.today = ictx.ctx.today()
        self.secrets = ictx.ctx.secrets
        self.now = datetime.now(UTC)
        self._unknown_codes: dict[str, None] = {}
        self._catalogue = catalogue()
        self._parts: dict[tuple[Any, ...], tuple[tuple[Any, ...] | None, list[FieldError]]] = {}

    # -- checks without the database --------------------------------------------------

    def check(self, row: Row) -> tuple[EnrolmentRow | None, list[FieldError]]:
        cells = row.cells
        # A class list repeats its occupation, level, dates, status and categories: the
        # enrolment half of a row is checked once per distinct combination.
        key = tuple(map(cells.get, _ENROLMENT_KEYS))
        part = self._parts.get(key)
        if part is None:
            part = self._check_enrolment(row)
            if len(self._parts) < _PART_CACHE_SIZE:
                self._parts[key] = part
        fields, errors = part
        # check_person normalises (NFKC, spaces) by itself: hand it the cells as written.
        person, person_errors = check_person(
            name=_plain(cells.get("name")),
            id_type=_plain(cells.get("id_type")),
            id_number=_plain(cells.get("id_number")),
            nationality=_plain(cells.get("nationality")) or None,
            gender=_plain(cells.get("gender")) or None,
            district=_plain(cells.get("district")) or None,
            category=fields[0] if fields else None,
            phone=_plain(cells.get("phone")) or None,
            today=self.today,
        )
        if person_errors:
            errors = person_errors + errors
        if errors or person is None or fields is None:
            return None, errors
        index = self.secrets.id_number_index(person.document.index_material)
        return EnrolmentRow(person, index, *fields), []

    def _check_enrolment(self, row: Row) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
        """(category, code, name, trade, level, start, end, status) or the errors."""
        text = row.text
        errors: list[FieldError] = []
        category = text("category")
        clean_category: str | None = None
        if not category:
            errors.append(FieldError("category", "人员类别不能为空 / category is required"))
        else:
            try:
                clean_category = parse_category(category)
            except ValueError as exc:
                errors.append(FieldError("category", str(exc)))
        code = self._occupation(text, errors)
        occupation_name = collapse_spaces(text("occupation_name"))
        if not occupation_name:
            errors.append(
                FieldError("occupation_name", "职业名称不能为空 / occupation name is required")
            )
        elif len(occupation_name) > 100:
            errors.append(FieldError("occupation_name", "职业名称过长 / occupation name too long"))
        trade = collapse_spaces(text("trade"))
        if len(trade) > 100:
            errors.append(FieldError("trade", "工种名称过长 / trade too long"))
        level = self._level(text("level"), code, errors)
        start, end, status = self._dates_and_status(row, errors)
        if errors or code is None or level is None or start is None or status is None:
            return None, errors
        return (clean_category, code, occupation_name, trade, level, start, end, status), []

    def _occupation(self, text: Any, errors: list[FieldError]) -> str | None:
        raw = text("occupation_code")
        if not raw:
            errors.append(
                FieldError("occupation_code", "职业编码不能为空 / occupation code is required")
            )
            return None
        try:
            code = parse_occupation_code(raw)
        except ValueError as exc:
            errors.append(FieldError("occupation_code", str(exc)))
            return None
        if code not in self._catalogue:
            self._unknown_codes[code] = None
        if not self.scope:
            errors.append(
                FieldError(
                    "occupation_code",
                    "本机构尚未登记培训/评价职业范围，不能上传培训名单，请联系人社局登记范围"
                    " / the provider has no occupation scope yet: ask the bureau to register it",
                )
            )
            return None
        if code not in self.scope:
            allowed = "、".join(sorted(self.scope))
            errors.append(
                FieldError(
                    "occupation_code",
                    f"职业 {code} 不在本机构的职业范围内（范围：{allowed}）"
                    f" / occupation {code} is outside the provider's scope",
                )
            )
            return None
        return code

    def _level(self, raw: str, code: str | None, errors: list[FieldError]) -> int | None:
        if not raw:
            errors.append(FieldError("level", "申报等级不能为空 / level is required"))
            return None
        try:
            level = parse_level(raw)
        except ValueError as exc:
            errors.append(FieldError("level", str(exc)))
            return None
        if code is None:
            return level
        max_level = self.scope.get(code)
        if max_level is not None and level < max_level:
            errors.append(
                FieldError(
                    "level",
                    f"本机构在职业 {code} 最高只能培训到{level_name(max_level)}，不能申报{level_name(level)}"
                    f" / the provider's scope for {code} stops at level {max_level}",
                )
            )
            return None
        known = self._catalogue.get(code)
        if known is not None and level not in known.levels:
            errors.append(
                FieldError(
                    "level",
                    f"职业 {code}（{known.name}）的国家标准没有{level_name(level)}"
                    f" / occupation {code} has no level {level}",
                )
            )
            return None
        return level

    def _dates_and_status(
        self, row: Row, errors: list[FieldError]
    ) -> tuple[date | None, date | None, str | None]:
        status: str | None = None
        raw_status = row.text("status")
        if not raw_status:
            errors.append(FieldError("status", "培训状态不能为空 / status is required"))
        else:
            try:
                status = parse_status(raw_status)
            except ValueError as exc:
                errors.append(FieldError("status", str(exc)))
        start = end = None
        try:
            start = row.date("start_date")
            if start is None:
                errors.append(
                    FieldError("start_date", "培训开始日期不能为空 / start date is required")
                )
        except ValueError as exc:
            errors.append(FieldError("start_date", str(exc)))
        try:
            end = row.date("end_date")
        except ValueError as exc:
            errors.append(FieldError("end_date", str(exc)))
            return start, None, status
        if start is not None and start.year < 1950:
            errors.append(FieldError("start_date", "培训开始日期不合理 / impossible start date"))
        if end is None and status in ("结业", "退出"):
            errors.append(
                FieldError(
                    "end_date",
                    f"培训状态为{status}时须填写培训结束日期 / an end date is required when the status is {status}",
                )
            )
        if start is not None and end is not None and end < start:
            errors.append(
                FieldError(
                    "end_date",
                    "培训结束日期早于开始日期 / the end date is before the start date",
                )
            )
        if status == "结业" and end is not None and end > self.today:
            errors.append(
                FieldError(
                    "end_date",
                    "已结业的培训，结束日期不能晚于今天 / a completed training cannot end in the future",
                )
            )
        if status in ("结业", "退出") and start is not None and start > self.today:
            errors.append(
                FieldError(
                    "start_date",
                    "尚未开始的培训不能是结业或退出状态 / a training that has not started cannot be completed or withdrawn",
                )
            )
        return start, end, status

    def key(self, value: EnrolmentRow) -> Hashable:
        return (value.index, value.occupation_code, value.trade, value.level, value.start_date)

    def warnings(self) -> list[str]:
        return [
            f"职业编码 {code} 不在本系统的职业目录中，请核对 / occupation {code} is not in the catalogue"
            for code in self._unknown_codes
        ]

    # -- storing, inside the upload's transaction ----------------------------------------

    async def store(self, rows: Sequence[tuple[int, EnrolmentRow]]) -> list[Outcome]:
        people = await self._people({value.index for _, value in rows})
        existed = {index: person["id"] for index, person in people.items()}
        outcomes: list[Outcome | None] = [None] * len(rows)
        new_people: list[tuple[Any, ...]] = []
        # Every id here is text: new ones from new_uuids, known ones read back and turned
        # into text by _people and _enrolments, so any two compare as the database would.
        accepted: list[tuple[int, str, EnrolmentRow]] = []
        fresh_ids = iter(new_uuids(len(rows)))
        for position, (_, value) in enumerate(rows):
            person = value.person
            known = people.get(value.index)
            if known is not None:
                if not agrees(known, person):
                    outcomes[position] = Outcome.rejected("name", MISMATCH_MESSAGE)
                    continue
                accepted.append((position, known["id"], value))
                continue
            new_id = next(fresh_ids)
            people[value.index] = {
                "id": new_id,
                "name": person.name,
                "birth_date": person.birth_date,
            }
            new_people.append(self._trainee_values(new_id, value))
            accepted.append((position, new_id, value))

        await insert_rows(Trainee, _TRAINEE_COLUMNS_SQL, new_people)
        links = list(dict.fromkeys(trainee_id for _, trainee_id, _ in accepted))
        await insert_rows(
            ProviderLink,
            ("id", "provider", "trainee", "created_at"),
            [
                (link_id, self.provider_id, t, self.now)
                for link_id, t in zip(new_uuids(len(links)), links, strict=True)
            ],
            on_conflict_do_nothing=("provider", "trainee"),
        )

        existed_ids = set(existed.values())
        stored = await self._enrolments([t for t in links if t in existed_ids])
        inserts: list[tuple[Any, ...]] = []
        events = []
        for position, trainee_id, value in accepted:
            key = (
                trainee_id,
                value.occupation_code,
                value.trade,
                value.level,
                value.start_date,
            )
            current = stored.get(key)
            if current is None:
                inserts.append(self._enrolment_values(trainee_id, value))
                outcomes[position] = STORED
                continue
            after: dict[str, Any] = {
                "status": value.status,
                "end_date": value.end_date,
                "occupation_name": value.occupation_name,
                "category": value.category,
            }
            changes = audit.diff(current, after)
            if not changes:
                outcomes[position] = UNCHANGED
                continue
            values: dict[Any, Any] = {
                **after,
                "import_batch": self.ictx.batch_id,
                "updated_at": self.now,
            }
            await Enrolment.update(values).where(Enrolment.id == current["id"])
            events.append(
                audit.event(
                    self.ictx.ctx.principal,
                    "enrolment.update",
                    "enrolment",
                    current["id"],
                    {**changes, "import_batch": str(self.ictx.batch_id)},
                    provider_code=self.ictx.provider["code"],
                )
            )
            outcomes[position] = STORED
        await insert_rows(Enrolment, _ENROLMENT_COLUMNS_SQL, inserts)
        if events:
            await audit.AuditEvent.insert(*events)
        return [o if o is not None else UNCHANGED for o in outcomes]

    async def _people(self, indexes: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(sorted(indexes), LOOKUP_CHUNK):
            rows = await fetch(
                "SELECT id, id_index, name, birth_date FROM trainee WHERE id_index IN "  # noqa: S608 - placeholders only
                + in_list(len(part)),
                part,
            )
            for row in rows:
                found[row["id_index"]] = {**row, "id": str(row["id"])}
        return found

    async def _enrolments(self, trainee_ids: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
        stored: dict[tuple[Any, ...], dict[str, Any]] = {}
        for part in chunks(trainee_ids, LOOKUP_CHUNK):
            rows = await fetch(
                "SELECT id, trainee, occupation_code, trade, level, start_date, end_date, "  # noqa: S608
                "status, occupation_name, category FROM enrolment "
                "WHERE provider = {} AND trainee IN " + in_list(len(part)),
                [self.provider_id, *part],
            )
            for row in rows:
                key = (
                    str(row["trainee"]),
                    row["occupation_code"],
                    row["trade"],
                    row["level"],
                    row["start_date"],
                )
                stored[key] = row
        return stored

    def _trainee_values(self, trainee_id: str, value: EnrolmentRow) -> tuple[Any, ...]:
        person = value.person
        document = person.document
        return (
            trainee_id,
            document.id_type.value,
            document.nationality,
            value.index,
            self.secrets.encrypt_id_number(document.number, value.index),
            document.masked,
            person.name,
            person.gender,
            person.birth_date,
            person.district,
            value.category,
            person.phone,
            self.now,
            self.now,
        )

    def _enrolment_values(self, trainee_id: str, value: EnrolmentRow) -> tuple[Any, ...]:
        return (
            self.provider_id,
            trainee_id,
            value.occupation_code,
            value.occupation_name,
            value.trade,
            value.level,
            value.start_date,
            value.end_date,
            value.status,
            value.category,
            self.ictx.batch_id,
            self.now,
            self.now,
        )


async def open_enrolment_rows(ictx: ImportContext) -> EnrolmentRows:
    scope_rows = await ProviderScope.select(
        ProviderScope.occupation_code, ProviderScope.max_level
    ).where(ProviderScope.provider == ictx.provider["id"])
    scope = {row["occupation_code"]: int(row["max_level"]) for row in scope_rows}
    return EnrolmentRows(ictx, scope)


ENROLMENT_IMPORT = ImportKind(
    name="enrolments",
    title="培训报名表 / enrolment sheet",
    columns=ENROLMENT_COLUMNS,
    open=open_enrolment_rows,
)
