"""The competition results sheet (竞赛成绩表) through the upload pipeline.

`POST /api/v1/imports/competition-results`. Each row names its competition by id (竞赛编号);
the uploading provider must be the competition's issuer (a bureau key names it with the
form field `provider`). The person must already be registered (found through the keyed
index; name and birth date must agree). Natural key: (competition, person, occupation
code, event). Re-uploading an identical row is `unchanged`; a pending result with a new
rank, award or honours is updated (audited); a confirmed one is never rewritten.
Confirming stays a separate step (`POST /api/v1/competitions/{id}/confirm`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..audit import services as audit
from ..awarding import person_for_row
from ..errors import FieldError
from ..imports.spec import STORED, UNCHANGED, Column, ImportContext, ImportKind, Outcome, Row
from ..occupations import parse_occupation_code
from ..trainees.people import PersonInput, check_person
from ..trainees.services import link
from .schemas import HONOURS_EXAMPLES, MAX_RANK, ResultCreate
from .services import check_result_occupation, find_result, insert_result
from .tables import Competition, CompetitionResult

RESULT_COLUMNS: tuple[Column, ...] = (
    Column("competition", "竞赛编号", example="1", note="竞赛登记后的编号 / the competition's id"),
    Column("name", "姓名", example="陈志明"),
    Column("id_type", "证件类型", example="居民身份证"),
    Column(
        "id_number", "证件号码", text=True, note="请把本列设为“文本”格式 / keep this column as Text"
    ),
    Column("nationality", "国籍", required=False, note="护照必填 / for passports"),
    Column("occupation_code", "职业编码", example="6-31-01-03"),
    Column("event", "项目", required=False, example="电工"),
    Column("rank", "名次", required=False, example="1"),
    Column("award", "奖项", required=False, example="一等奖"),
    Column(
        "honours",
        "荣誉称号",
        required=False,
        note="多个用“、”分隔，如 " + "、".join(HONOURS_EXAMPLES[:2]),
    ),
)


@dataclass(frozen=True)
class ResultRow:
    person: PersonInput
    index: str
    competition: dict[str, Any]
    data: ResultCreate


def _honours(text: str) -> list[str]:
    return [h.strip() for h in re.split(r"[、,;；，]", text) if h.strip()]


class ResultRows:
    def __init__(self, ictx: ImportContext, competitions: dict[int, dict[str, Any]]) -> None:
        self.ictx = ictx
        self.competitions = competitions
        self.today = ictx.ctx.today()

    def check(self, row: Row) -> tuple[ResultRow | None, list[FieldError]]:
        person, errors = check_person(
            name=row.text("name"),
            id_type=row.text("id_type"),
            id_number=row.text("id_number"),
            nationality=row.text("nationality") or None,
            today=self.today,
        )
        competition: dict[str, Any] | None = None
        raw = row.text("competition").removesuffix(".0")
        if not raw.isdigit() or int(raw) not in self.competitions:
            errors.append(
                FieldError(
                    "competition",
                    f"竞赛编号“{raw}”不存在或不由 {self.ictx.provider['code']} 颁证"
                    " / unknown competition, or not one the uploader issues for",
                )
            )
        else:
            competition = self.competitions[int(raw)]
        code: str | None = None
        try:
            code = parse_occupation_code(row.text("occupation_code"))
        except ValueError as exc:
            errors.append(FieldError("occupation_code", str(exc)))
        if (
            competition is not None
            and code is not None
            and (problem := check_result_occupation(competition, code)) is not None
        ):
            errors.append(problem)
        rank: int | None = None
        rank_text = row.text("rank").removesuffix(".0")
        if rank_text:
            if rank_text.isdigit() and 1 <= int(rank_text) <= MAX_RANK:
                rank = int(rank_text)
            else:
                errors.append(
                    FieldError(
                        "rank",
                        f"名次“{rank_text}”应为 1 至 {MAX_RANK} 的整数"
                        f" / rank is a whole number from 1 to {MAX_RANK}",
                    )
                )
        event, award = row.text("event"), row.text("award")
        if len(event) > 200 or len(award) > 50:
            errors.append(FieldError("event", "项目或奖项过长 / event or award too long"))
        if errors or person is None or competition is None or code is None:
            return None, errors
        data = ResultCreate(
            occupation_code=code,
            event=event,
            rank=rank,
            award=award,
            honours=_honours(row.text("honours")),
        )
        index = self.ictx.ctx.secrets.id_number_index(person.document.index_material)
        return ResultRow(person, index, competition, data), []

    def key(self, value: ResultRow) -> Hashable:
        return (
            value.competition["id"],
            value.index,
            value.data.occupation_code,
            value.data.event,
        )

    def warnings(self) -> list[str]:
        return []

    async def store(self, rows: Sequence[tuple[int, ResultRow]]) -> list[Outcome]:
        ctx = self.ictx.ctx
        actor = ctx.principal
        now = datetime.now(UTC)
        outcomes: list[Outcome] = []
        for _, value in rows:
            trainee_id, problem = await person_for_row(value.person, ctx, create=False)
            if problem is not None or trainee_id is None:
                outcomes.append(Outcome("rejected", [problem] if problem else []))
                continue
            data, competition = value.data, value.competition
            existing = await find_result(
                competition["id"], trainee_id, data.occupation_code, data.event
            )
            await link(competition["issuer"], trainee_id, now)
            if existing is None:
                result_id = await insert_result(
                    competition, trainee_id, data, actor, batch=self.ictx.batch_id
                )
                await audit.record(
                    actor,
                    "competition_result.create",
                    "competition_result",
                    result_id,
                    {
                        "competition": competition["id"],
                        "trainee": str(trainee_id),
                        **data.model_dump(include={"occupation_code", "event", "rank", "award"}),
                        "honours": data.honours,
                        "import_batch": str(self.ictx.batch_id),
                    },
                    provider_code=self.ictx.provider["code"],
                )
                outcomes.append(Outcome("stored", detail={"result_id": result_id}))
                continue
            before = {
                "rank": existing["rank"],
                "award": existing["award"],
                "honours": json.loads(existing["honours"])
                if isinstance(existing["honours"], str)
                else existing["honours"],
            }
            after = {"rank": data.rank, "award": data.award, "honours": data.honours}
            changes = audit.diff(before, after)
            if not changes:
                outcomes.append(UNCHANGED)
                continue
            if existing["status"] != "pending":
                outcomes.append(
                    Outcome.rejected(
                        "rank",
                        f"成绩 {existing['id']} 已确认，不能修改 / result {existing['id']} is confirmed",
                    )
                )
                continue
            await CompetitionResult.update(
                {
                    CompetitionResult.rank: data.rank,
                    CompetitionResult.award: data.award,
                    CompetitionResult.honours: json.dumps(data.honours, ensure_ascii=False),
                    CompetitionResult.import_batch: self.ictx.batch_id,
                    CompetitionResult.updated_at: now,
                }
            ).where(CompetitionResult.id == existing["id"])
            await audit.record(
                actor,
                "competition_result.update",
                "competition_result",
                existing["id"],
                {**changes, "import_batch": str(self.ictx.batch_id)},
                provider_code=self.ictx.provider["code"],
            )
            outcomes.append(STORED)
        return outcomes


async def open_result_rows(ictx: ImportContext) -> ResultRows:
    rows = await Competition.select(
        Competition.id, Competition.name, Competition.occupations, Competition.issuer
    ).where(Competition.issuer == ictx.provider["id"])
    competitions = {}
    for row in rows:
        occupations = row["occupations"]
        row["occupations"] = (
            json.loads(occupations) if isinstance(occupations, str) else occupations
        )
        competitions[int(row["id"])] = row
    return ResultRows(ictx, competitions)


RESULT_IMPORT = ImportKind(
    name="competition-results",
    title="竞赛成绩表 / competition results sheet",
    columns=RESULT_COLUMNS,
    open=open_result_rows,
    details_key="results",
)
