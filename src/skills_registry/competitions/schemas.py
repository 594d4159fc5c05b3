from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from ..awarding import HolderFields
from ..identity import normalise_text
from ..occupations import level_name, parse_level, parse_occupation_code
from ..schema_base import RecordId, Schema

CompetitionLevel = Literal[
    "national_1",
    "national_2",
    "provincial_1",
    "provincial_2",
    "municipal_1",
    "municipal_2",
    "brics",
]
LEVEL_NAMES: dict[str, str] = {
    "national_1": "国家级一类",
    "national_2": "国家级二类",
    "provincial_1": "省级一类",
    "provincial_2": "省级二类",
    "municipal_1": "市级一类",
    "municipal_2": "市级二类",
    "brics": "金砖国家职业技能大赛",
}
_LEVEL_SPELLINGS = {name: code for code, name in LEVEL_NAMES.items()} | {
    "金砖": "brics",
    "金砖国家": "brics",
    "国家一类": "national_1",
    "国家二类": "national_2",
    "省一类": "provincial_1",
    "省二类": "provincial_2",
    "市一类": "municipal_1",
    "市二类": "municipal_2",
}

Rule = Literal["fixed", "fixed_or_up_one", "up_one", "from_to"]
RULE_NAMES: dict[str, str] = {
    "fixed": "认定为 level（已持有该等级或更高者不晋升）",
    "fixed_or_up_one": "认定为 level；已持有该等级或更高者晋升一级",
    "up_one": "在现有最高等级上晋升一级（无该职业证书者不晋升）",
    "from_to": "持有 from_level 者晋升为 level",
}
# No event has more entrants; the column is an int4.
MAX_RANK = 100_000
HONOURS_EXAMPLES = ("中华技能大奖", "全国技术能手", "福建省技术能手", "厦门市技术能手")


def parse_competition_level(value: object) -> object:
    if isinstance(value, str):
        text = normalise_text(value)
        return _LEVEL_SPELLINGS.get(text, text.lower())
    return value


class PromotionRow(Schema):
    """One row of a promotion table: the ranks it covers and what they earn.

    Rules (levels as stored: 3 = 高级工, 2 = 技师, 1 = 高级技师): `fixed` — recognised as
    `level` unless already holding it or higher; `fixed_or_up_one` — recognised as `level`,
    or one level up from the current highest when already holding `level` or higher;
    `up_one` — one level up from the current highest (none held: no promotion);
    `from_to` — holders of exactly `from_level` move to `level`.
    """

    rank_from: int = Field(ge=1, examples=[1])
    rank_to: int = Field(ge=1, examples=[1])
    rule: Rule
    level: int | None = Field(default=None, description="target level (all rules but up_one)")
    from_level: int | None = Field(default=None, description="for from_to: the level held")

    @field_validator("level", "from_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int | None:
        return None if value is None else parse_level(str(value))

    @model_validator(mode="after")
    def _consistent(self) -> PromotionRow:
        if self.rank_to < self.rank_from:
            raise ValueError("rank_to 不能小于 rank_from / rank_to must not precede rank_from")
        if self.rule != "up_one" and self.level is None:
            raise ValueError(f"规则 {self.rule} 须给出 level / rule {self.rule} needs a level")
        if self.rule == "from_to":
            if self.from_level is None or self.level is None or self.from_level <= self.level:
                raise ValueError(
                    "from_to 须给出低于 level 的 from_level（如 3 → 2）"
                    " / from_to needs from_level below level, e.g. 3 → 2"
                )
        elif self.from_level is not None:
            raise ValueError("只有 from_to 规则使用 from_level / only from_to uses from_level")
        return self

    def describe(self) -> str:
        ranks = (
            f"第{self.rank_from}名"
            if self.rank_from == self.rank_to
            else f"第{self.rank_from}-{self.rank_to}名"
        )
        if self.rule == "fixed":
            return f"{ranks}：认定为{level_name(self.level)}"
        if self.rule == "fixed_or_up_one":
            return f"{ranks}：认定为{level_name(self.level)}，已具备该等级者晋升一级"
        if self.rule == "up_one":
            return f"{ranks}：晋升一级"
        return f"{ranks}：{level_name(self.from_level)} → {level_name(self.level)}"


# Xiamen's rules (DESIGN §3), used when a municipal competition is created without a table.
DEFAULT_TABLES: dict[str, list[dict[str, Any]]] = {
    "municipal_1": [
        {"rank_from": 1, "rank_to": 1, "rule": "fixed_or_up_one", "level": 2},
        {"rank_from": 2, "rank_to": 3, "rule": "from_to", "from_level": 3, "level": 2},
    ],
    "municipal_2": [{"rank_from": 1, "rank_to": 1, "rule": "fixed", "level": 3}],
}


class CompetitionCreate(Schema):
    name: str = Field(min_length=2, max_length=200, examples=["2025年厦门市职业技能大赛"])
    year: int = Field(ge=2000, le=2100, examples=[2025])
    level: CompetitionLevel = Field(
        description="national_1 | national_2 | provincial_1 | provincial_2 | municipal_1 | "
        "municipal_2 | brics (or the Chinese names: 国家级一类 … 市级二类, 金砖国家职业技能大赛)"
    )
    organiser: str = Field(min_length=2, max_length=200, examples=["厦门市人力资源和社会保障局"])
    issuer: str = Field(
        description="code of the provider that issues the promotion certificates (e.g. the "
        "organiser registered as an 评价机构 or 行业协会); its scope must cover the occupations"
    )
    occupations: list[str] = Field(min_length=1, examples=[["6-31-01-03"]])
    promotion_table: list[PromotionRow] | None = Field(
        default=None,
        description="rank ranges → rule; omitted: Xiamen's table for municipal_1/municipal_2 "
        "(1st → 技师 or one level up; 2nd-3rd 高级工 → 技师 / 1st → 高级工), none for the others",
    )

    @field_validator("level", mode="before")
    @classmethod
    def _competition_level(cls, value: object) -> object:
        return parse_competition_level(value)

    @field_validator("occupations")
    @classmethod
    def _occupations(cls, value: list[str]) -> list[str]:
        codes = [parse_occupation_code(v) for v in value]
        if len(set(codes)) != len(codes):
            raise ValueError("职业编码重复 / an occupation is listed twice")
        return codes

    @field_validator("promotion_table")
    @classmethod
    def _no_overlap(cls, value: list[PromotionRow] | None) -> list[PromotionRow] | None:
        rows = sorted(value or [], key=lambda r: r.rank_from)
        for before, after in itertools.pairwise(rows):
            if after.rank_from <= before.rank_to:
                raise ValueError(
                    f"名次范围重叠：第{after.rank_from}名出现在两行 / rank ranges overlap"
                )
        return value


class CompetitionOut(Schema):
    id: int
    name: str
    year: int
    level: CompetitionLevel
    level_name: str
    organiser: str
    issuer: str
    issuer_name: str
    occupations: list[str]
    promotion_table: list[PromotionRow]
    promotion_rules: list[str] = Field(description="the table in words")
    results: int
    pending: int
    created_by: str
    created_at: dt.datetime
    warnings: list[str] = Field(default_factory=list)


class ResultCreate(HolderFields):
    """One placing; the person must already be registered (by `trainee_id` or ID number)."""

    occupation_code: str = Field(examples=["6-31-01-03"])
    event: str = Field(default="", max_length=200, description="项目 (event)")
    rank: int | None = Field(default=None, ge=1, le=MAX_RANK, description="名次")
    award: str = Field(default="", max_length=50, description="奖项, e.g. 一等奖, 金牌")
    honours: list[str] = Field(
        default_factory=list, description="荣誉, e.g. " + "、".join(HONOURS_EXAMPLES)
    )

    @field_validator("occupation_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return parse_occupation_code(value)

    @field_validator("honours")
    @classmethod
    def _honours(cls, value: list[str]) -> list[str]:
        return [h.strip() for h in value if h.strip()]


class ResultOut(Schema):
    id: int
    competition_id: int
    trainee_id: UUID
    name: str
    id_number_masked: str
    occupation_code: str
    occupation_name: str
    event: str
    rank: int | None
    award: str
    honours: list[str]
    status: Literal["pending", "confirmed"]
    previous_level: int | None = Field(description="highest valid level held when confirmed")
    promoted_level: int | None
    promoted_level_name: str | None
    promotion_note: str
    certificate_number: str | None
    certificate_url: str | None
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    created_at: dt.datetime


class ConfirmRequest(Schema):
    result_ids: list[RecordId] | None = Field(
        default=None, description="the results to confirm; default every pending one"
    )
    issued_on: dt.date | None = Field(
        default=None, description="issue date of the promotion certificates (default today)"
    )
