from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from ..districts import DISTRICTS, parse_district
from ..occupations import parse_level, parse_occupation_code
from ..schema_base import Schema
from .credit_code import parse_credit_code

ProviderKind = Literal["技工院校", "职业培训机构", "评价机构", "企业", "行业协会"]
ProviderStatus = Literal["active", "suspended"]


class ScopeItem(Schema):
    occupation_code: str = Field(examples=["6-31-01-03"])
    max_level: int = Field(
        description="highest level it may certify, 1-5: 3 allows levels 5, 4 and 3", examples=[3]
    )

    @field_validator("occupation_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return parse_occupation_code(value)

    @field_validator("max_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int:
        return parse_level(str(value))


def _digits(value: str | None, length: int, label: str) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(rf"\d{{{length}}}", value):
        raise ValueError(f"{label}应为{length}位数字 / {label} must be {length} digits")
    return value


def _unique_scope(scope: list[ScopeItem] | None) -> list[ScopeItem] | None:
    if scope is None:
        return None
    seen: set[str] = set()
    for item in scope:
        if item.occupation_code in seen:
            raise ValueError(
                f"职业编码 {item.occupation_code} 在范围中出现了两次 / occupation listed twice"
            )
        seen.add(item.occupation_code)
    return scope


class ProviderCreate(Schema):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: ProviderKind
    district: str = Field(description="district code or name, e.g. 350203 or 思明区")
    credit_code: str = Field(description="统一社会信用代码", examples=["91350200MA2Y0A1B5C"])
    evaluator_code: str | None = Field(default=None, description="4 digits, default 0000")
    site_code: str | None = Field(default=None, description="6 digits; allocated when absent")
    scope: list[ScopeItem] = Field(default_factory=list)

    @field_validator("district")
    @classmethod
    def _district(cls, value: str) -> str:
        return parse_district(value)

    @field_validator("credit_code")
    @classmethod
    def _credit(cls, value: str) -> str:
        return parse_credit_code(value)

    @field_validator("evaluator_code")
    @classmethod
    def _evaluator(cls, value: str | None) -> str | None:
        return _digits(value, 4, "评价机构代码")

    @field_validator("site_code")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        return _digits(value, 6, "站点代码")

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: list[ScopeItem]) -> list[ScopeItem]:
        return _unique_scope(value) or []


class ProviderUpdate(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: ProviderKind | None = None
    district: str | None = None
    status: ProviderStatus | None = None
    evaluator_code: str | None = None
    site_code: str | None = None
    scope: list[ScopeItem] | None = None

    @field_validator("district")
    @classmethod
    def _district(cls, value: str | None) -> str | None:
        return None if value is None else parse_district(value)

    @field_validator("evaluator_code")
    @classmethod
    def _evaluator(cls, value: str | None) -> str | None:
        return _digits(value, 4, "评价机构代码")

    @field_validator("site_code")
    @classmethod
    def _site(cls, value: str | None) -> str | None:
        return _digits(value, 6, "站点代码")

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: list[ScopeItem] | None) -> list[ScopeItem] | None:
        return _unique_scope(value)


class ProviderOut(Schema):
    code: str
    name: str
    kind: str
    district: str
    district_name: str
    credit_code: str
    evaluator_code: str
    site_code: str
    status: str
    scope: list[ScopeItem]
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(default_factory=list)

    @staticmethod
    def district_name_of(code: str) -> str:
        return DISTRICTS.get(code, code)
