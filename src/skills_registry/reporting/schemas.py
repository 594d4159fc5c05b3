"""Plan periods, targets and the progress answer (DESIGN §4 "Progress")."""

from __future__ import annotations

from datetime import date

from pydantic import Field, ValidationInfo, field_validator

from ..schema_base import MAX_INT4, Schema

IndicatorCode = str


class IndicatorTarget(Schema):
    code: str = Field(
        description="certified_persons | advanced_certified_persons | trainings | migrant_worker_trainings",
        examples=["certified_persons"],
    )
    target: int = Field(gt=0, le=MAX_INT4, examples=[80000])
    name: str | None = Field(
        default=None, max_length=200, description="default: the plan's wording"
    )
    unit: str | None = Field(default=None, max_length=20, description="default: 人 or 人次")
    number: int | None = Field(default=None, description="the plan's own numbering, e.g. 10")


class PeriodCreate(Schema):
    code: str = Field(
        min_length=1, max_length=20, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", examples=["15th"]
    )
    name: str = Field(min_length=1, max_length=100, examples=["“十五五”规划（2026—2030年）"])
    start: date = Field(examples=["2026-01-01"])
    end: date = Field(examples=["2030-12-31"])
    indicators: list[IndicatorTarget] = Field(default_factory=list)

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("结束日期应晚于开始日期 / end must be after start")
        return value


class IndicatorOut(Schema):
    code: str
    number: int | None
    name: str
    unit: str
    target: int


class PeriodOut(Schema):
    code: str
    name: str
    start: date
    end: date


class PeriodDetail(PeriodOut):
    indicators: list[IndicatorOut]


class IndicatorProgress(Schema):
    code: str
    number: int | None
    name: str
    unit: str
    target: int
    value: int
    ratio: float = Field(description="value / target, unrounded")


class Figures(Schema):
    certified_persons: int = 0
    advanced_certified_persons: int = 0
    trainings: int = 0
    migrant_worker_trainings: int = 0


class BreakdownRow(Figures):
    key: str
    name: str


class ProgressOut(Schema):
    period: PeriodOut
    as_of: date
    elapsed: float = Field(description="share of the period's days elapsed on as_of (0..1)")
    provider: str | None = Field(
        default=None, description="set for a provider key: the figures count its own records only"
    )
    indicators: list[IndicatorProgress]
    totals: Figures = Field(description="all four counts, whether or not the period has a target")
    by_year: dict[str, Figures]
    by_district: list[BreakdownRow]
    by_occupation: list[BreakdownRow]
    by_level: list[BreakdownRow]
    by_provider: list[BreakdownRow]
    by_source: list[BreakdownRow]
