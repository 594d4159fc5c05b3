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

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..audit import services as audit
from ..errors import FieldError
from ..imports.bulk import LOOKUP_CHUNK, chunks, fetch, in_list, insert_rows, new_uuids
from ..imports.spec import STORED, UNCHANGED, Column, ImportContext, ImportKind, Outcome, Row
from ..providers.tables import ProviderScope
from .enrolment_check import EnrolmentChecker, EnrolmentRow
from .people import CATEGORIES
from .services import MISMATCH_MESSAGE, agrees
from .tables import Enrolment, ProviderLink, Trainee

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


class EnrolmentRows:
    """The enrolment sheet's RowHandler for one upload (see `skills_registry.imports`)."""

    def __init__(self, ictx: ImportContext, scope: dict[str, int]) -> None:
        self.ictx = ictx
        self.provider_id: int = ictx.provider["id"]
        self.now = datetime.now(UTC)
        self.checker = EnrolmentChecker(scope, ictx.ctx.today(), ictx.ctx.secrets.id_number_keys)

    # -- checks without the database (enrolment_check.py) -------------------------------

    def check(self, row: Row) -> tuple[EnrolmentRow | None, list[FieldError]]:
        return self.checker.check(row)

    def worker_checker(self) -> EnrolmentChecker:
        return self.checker

    def key(self, value: EnrolmentRow) -> Hashable:
        return self.checker.key(value)

    def warnings(self) -> list[str]:
        return self.checker.warnings()

    # -- storing, inside the upload's transaction ----------------------------------------

    async def store(self, rows: Sequence[tuple[int, EnrolmentRow]]) -> list[Outcome]:
        people = await self._people({value.id_index for _, value in rows})
        existed = {index: person["id"] for index, person in people.items()}
        outcomes: list[Outcome | None] = [None] * len(rows)
        new_people: list[tuple[Any, ...]] = []
        # Every id here is text: new ones from new_uuids, known ones read back and turned
        # into text by _people and _enrolments, so any two compare as the database would.
        accepted: list[tuple[int, str, EnrolmentRow]] = []
        fresh_ids = iter(new_uuids(len(rows)))
        for position, (_, value) in enumerate(rows):
            known = people.get(value.id_index)
            if known is not None:
                if not agrees(known, value.name, value.birth_date):
                    outcomes[position] = Outcome.rejected("name", MISMATCH_MESSAGE)
                    continue
                accepted.append((position, known["id"], value))
                continue
            new_id = next(fresh_ids)
            people[value.id_index] = {
                "id": new_id,
                "name": value.name,
                "birth_date": value.birth_date,
            }
            new_people.append(self._trainee_values(new_id, value))
            accepted.append((position, new_id, value))

        links = list(dict.fromkeys(trainee_id for _, trainee_id, _ in accepted))
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
        await insert_rows(Trainee, _TRAINEE_COLUMNS_SQL, new_people)
        await insert_rows(
            ProviderLink,
            ("id", "provider", "trainee", "created_at"),
            [
                (link_id, self.provider_id, t, self.now)
                for link_id, t in zip(new_uuids(len(links)), links, strict=True)
            ],
            on_conflict_do_nothing=("provider", "trainee"),
        )
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
        return (
            trainee_id,
            value.id_type,
            value.nationality,
            value.id_index,
            value.id_number_encrypted,
            value.id_number_masked,
            value.name,
            value.gender,
            value.birth_date,
            value.district,
            value.category,
            value.phone,
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
