from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from ..awarding import HolderFields
from ..occupations import parse_level, parse_occupation_code
from ..schema_base import Schema

Status = Literal["active", "completed", "terminated"]
STATUSES: tuple[str, ...] = ("active", "completed", "terminated")
STATUS_NAMES = {"active": "在训", "completed": "已结业", "terminated": "已终止"}
Result = Literal["passed", "failed"]


class ApprenticeshipCreate(HolderFields):
    """One apprenticeship; the apprentice by `trainee_id` or the person's fields
    (create-or-link, as `POST /api/v1/trainees`)."""

    enterprise: str = Field(description="code of the enterprise (a provider of kind 企业)")
    institution: str = Field(
        description="code of the training institution (技工院校, 职业培训机构 or 评价机构)"
    )
    occupation_code: str = Field(examples=["6-31-01-03"])
    occupation_name: str | None = Field(
        default=None, max_length=100, description="defaults to the catalogue's name"
    )
    trade: str | None = Field(default=None, max_length=100, description="工种 (optional)")
    target_level: int = Field(
        description="1-5, 四级, 中级工 or 四级/中级工 (usually 中级工 to 高级技师)", examples=[4]
    )
    start_date: dt.date
    end_date: dt.date = Field(description="1 to 3 years after the start")
    contract_end_date: dt.date = Field(
        description="labour contract end: at least 1 year after the start"
    )
    enterprise_mentor: str = Field(min_length=1, max_length=100, description="企业导师")
    school_mentor: str = Field(min_length=1, max_length=100, description="院校导师")

    @field_validator("occupation_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return parse_occupation_code(value)

    @field_validator("target_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int:
        return parse_level(str(value))


class ApprenticeshipComplete(Schema):
    """The evaluation result that ends an apprenticeship."""

    completed_on: dt.date
    result: Result = Field(description="passed: a certificate is issued; failed: none")
    level: int | None = Field(
        default=None,
        description="level achieved (default: the target level); 1-5 or its Chinese name",
    )
    issued_on: dt.date | None = Field(
        default=None, description="the certificate's issue date (default: completed_on)"
    )

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int | None:
        return None if value is None else parse_level(str(value))


class ApprenticeshipTerminate(Schema):
    terminated_on: dt.date
    reason: str = Field(min_length=2, max_length=500)


class ApprenticeshipOut(Schema):
    id: int
    enterprise: str
    enterprise_name: str
    institution: str
    institution_name: str
    trainee_id: UUID
    apprentice_name: str
    apprentice_id_number_masked: str
    occupation_code: str
    occupation_name: str
    trade: str | None
    target_level: int
    target_level_name: str
    start_date: dt.date
    end_date: dt.date
    contract_end_date: dt.date
    enterprise_mentor: str
    school_mentor: str
    subsidy_rate: int = Field(description="yuan per person per year")
    status: Status
    status_name: str
    completed_on: dt.date | None
    result: Result | None
    achieved_level: int | None
    certificate_number: str | None
    certificate_url: str | None
    terminated_on: dt.date | None
    termination_reason: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    warnings: list[str] = Field(default_factory=list)


class ApprenticeshipPage(Schema):
    items: list[ApprenticeshipOut]
    total: int
    limit: int
    offset: int


class LevelSubsidy(Schema):
    target_level: int
    target_level_name: str
    apprentices: int = Field(description="apprenticeships in training during the year")
    subsidy_due: int = Field(description="yuan")


class ApprenticeshipFigures(Schema):
    """One calendar year (Asia/Shanghai dates)."""

    year: int
    active: int = Field(
        description="in training during the year (started by its end, not ended before it)"
    )
    started: int = Field(description="start date in the year")
    completed: int = Field(description="completed in the year")
    passed: int = Field(description="completed in the year with a certificate")
    terminated: int = Field(description="terminated in the year")
    completion_rate: float | None = Field(
        description="completed / (completed + terminated) in the year; null when none ended"
    )
    subsidy_due: int = Field(
        description="yuan: each apprenticeship's yearly rate × the share of the year it was in "
        "training (start to end date, or to the termination date), rounded to the yuan"
    )
    by_target_level: list[LevelSubsidy]
