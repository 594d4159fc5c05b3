from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator

from ..awarding import HolderFields
from ..identity import normalise_text
from ..occupations import parse_level, parse_occupation_code
from ..schema_base import Schema

PartnerKind = Literal["brics", "cross_strait"]


class Partner(Schema):
    code: str = Field(description="ISO 3166 alpha-3; TWN for the Taiwan region")
    name: str
    name_en: str
    kind: PartnerKind


# BRICS members abroad (ISO alpha-3, as DESIGN §3 lists them) and the Taiwan region, which is
# shown as 中国台湾地区 and never as a country. Saudi Arabia is left out until its membership
# is settled; adding a partner is adding a line here.
PARTNERS: dict[str, Partner] = {
    p.code: p
    for p in (
        Partner(code="BRA", name="巴西", name_en="Brazil", kind="brics"),
        Partner(code="RUS", name="俄罗斯", name_en="Russia", kind="brics"),
        Partner(code="IND", name="印度", name_en="India", kind="brics"),
        Partner(code="ZAF", name="南非", name_en="South Africa", kind="brics"),
        Partner(code="EGY", name="埃及", name_en="Egypt", kind="brics"),
        Partner(code="ETH", name="埃塞俄比亚", name_en="Ethiopia", kind="brics"),
        Partner(code="IRN", name="伊朗", name_en="Iran", kind="brics"),
        Partner(code="ARE", name="阿联酋", name_en="United Arab Emirates", kind="brics"),
        Partner(code="IDN", name="印度尼西亚", name_en="Indonesia", kind="brics"),
        Partner(
            code="TWN", name="中国台湾地区", name_en="Taiwan region of China", kind="cross_strait"
        ),
    )
}
_PARTNER_SPELLINGS: dict[str, str] = {
    **{code: code for code in PARTNERS},
    **{p.name: p.code for p in PARTNERS.values()},
    **{p.name_en.upper(): p.code for p in PARTNERS.values()},
    "台湾": "TWN",
    "台湾地区": "TWN",
    "中国台湾": "TWN",
    "阿拉伯联合酋长国": "ARE",
    "俄罗斯联邦": "RUS",
}


def parse_partner(value: str) -> str:
    """A partner code; ValueError (clear, bilingual) for anything else."""
    text = normalise_text(value)
    code = _PARTNER_SPELLINGS.get(text.upper()) or _PARTNER_SPELLINGS.get(text)
    if code is None:
        known = "、".join(f"{p.code} {p.name}" for p in PARTNERS.values())
        raise ValueError(
            f"“{value}”不是互认合作方；可选：{known}"
            f" / unknown partner: a BRICS member (ISO alpha-3) or TWN"
        )
    return code


def normalise_foreign_level(value: str) -> str:
    return normalise_text(value).upper()


class MappingRow(Schema):
    foreign_level: str = Field(min_length=1, max_length=50, examples=["乙级"])
    level: int = Field(description="mainland level 1-5 (or its Chinese name)", examples=[2])

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int:
        return parse_level(str(value))


class AgreementCreate(Schema):
    code: str = Field(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$", examples=["FJ-TW-JSS"]
    )
    name: str = Field(
        min_length=2, max_length=200, examples=["福建省台湾地区技术士证直接采认（示例）"]
    )
    partner: str = Field(description="ISO alpha-3 of a BRICS member abroad, or TWN")
    document: str = Field(
        min_length=2, max_length=300, description="the agreement or batch document it rests on"
    )
    issuer: str = Field(
        description="code of the bureau-designated provider that issues the mainland certificates"
    )
    mapping: list[MappingRow] = Field(
        min_length=1,
        description="foreign level → mainland level, e.g. Taiwan 技术士 乙级 → 2, 丙级 → 3",
        examples=[[{"foreign_level": "乙级", "level": 2}, {"foreign_level": "丙级", "level": 3}]],
    )

    @field_validator("partner")
    @classmethod
    def _partner(cls, value: str) -> str:
        return parse_partner(value)

    @field_validator("mapping")
    @classmethod
    def _unique(cls, value: list[MappingRow]) -> list[MappingRow]:
        seen = [normalise_foreign_level(row.foreign_level) for row in value]
        if len(set(seen)) != len(seen):
            raise ValueError("对照表中外方等级重复 / a foreign level is mapped twice")
        return value


class AgreementOut(Schema):
    id: int
    code: str
    name: str
    partner: str
    partner_name: str
    partner_kind: PartnerKind
    document: str
    issuer: str
    issuer_name: str
    mapping: list[MappingRow]
    created_by: str
    created_at: dt.datetime


class RecognitionCreate(HolderFields):
    """A qualification issued elsewhere; the holder by `trainee_id` or the person's fields
    (create-or-link; foreign passports need `nationality`)."""

    agreement: str = Field(description="the agreement's code")
    partner: str | None = Field(
        default=None, description="optional check: must be the agreement's partner"
    )
    issuing_body: str = Field(min_length=1, max_length=200, examples=["劳动部劳动力发展署"])
    foreign_title: str = Field(min_length=1, max_length=200, examples=["技术士证 工业配线"])
    foreign_number: str = Field(min_length=1, max_length=100)
    foreign_level: str = Field(min_length=1, max_length=50, examples=["乙级"])
    occupation_code: str = Field(examples=["6-31-01-03"])
    occupation_name: str | None = Field(default=None, max_length=100)
    trade: str | None = Field(default=None, max_length=100)

    @field_validator("occupation_code")
    @classmethod
    def _code(cls, value: str) -> str:
        return parse_occupation_code(value)


class DecisionRequest(Schema):
    decision: Literal["recognised", "refused"]
    level: int | None = Field(
        default=None, description="mainland level when recognising (default: the suggested one)"
    )
    reason: str | None = Field(default=None, max_length=500, description="required when refusing")
    issued_on: dt.date | None = Field(
        default=None, description="issue date of the mainland certificate (default today)"
    )

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: object) -> int | None:
        return None if value is None else parse_level(str(value))


class RecognitionOut(Schema):
    id: int
    agreement: str
    agreement_name: str
    document: str
    partner: str
    partner_name: str
    partner_kind: PartnerKind
    trainee_id: UUID
    holder_name: str
    holder_id_type: str
    holder_id_number_masked: str
    holder_nationality: str
    issuing_body: str
    foreign_title: str
    foreign_number: str
    foreign_level: str
    occupation_code: str
    occupation_name: str
    trade: str | None
    suggested_level: int
    suggested_level_name: str
    level: int | None
    level_name: str | None
    status: Literal["pending", "recognised", "refused"]
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
    issued_on: dt.date | None
    certificate_number: str | None
    pdf_lang: str = Field(description="the certificate is shown bilingually (zh-en)")
    pdf_url: str | None = Field(description="the bilingual PDF of the mainland certificate")
    created_by: str
    created_at: dt.datetime
    warnings: list[str] = Field(default_factory=list)
