from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

from pydantic import Field

from ..schema_base import Schema

KIND_NAMES: tuple[str, ...] = ("职业技能等级证书", "职业资格证书", "专项职业能力证书")
SKILL_LEVEL = "职业技能等级证书"
QUALIFICATION = "职业资格证书"
SPECIFIC = "专项职业能力证书"
# The short codes partners read in the token's `k` claim (DESIGN §4).
KIND_CODES: dict[str, str] = {SKILL_LEVEL: "SL", QUALIFICATION: "VQ", SPECIFIC: "SC"}

Source = Literal["evaluation", "competition", "apprenticeship", "recognition", "import"]
SOURCES: tuple[str, ...] = ("evaluation", "competition", "apprenticeship", "recognition", "import")
Status = Literal["valid", "revoked", "superseded"]


class CertificateCreate(Schema):
    """One certificate to issue: the holder by `trainee_id`, or by the person's fields."""

    provider: str | None = Field(
        default=None,
        description="issuing provider's code; a provider key issues for itself (may omit it), "
        "a bureau-admin key must name it",
    )
    trainee_id: UUID | None = Field(default=None, description="a registered person; or give:")
    name: str | None = Field(default=None, max_length=100)
    id_type: str | None = Field(default=None, examples=["居民身份证"])
    id_number: str | None = Field(default=None, max_length=40)
    nationality: str | None = Field(default=None, description="ISO alpha-3, for passports")
    kind: str = Field(
        description="职业技能等级证书 | 职业资格证书 | 专项职业能力证书 (or SL, VQ, SC)",
        examples=["职业技能等级证书"],
    )
    occupation_code: str = Field(examples=["6-31-01-03"])
    occupation_name: str | None = Field(
        default=None, max_length=100, description="defaults to the catalogue's name"
    )
    trade: str | None = Field(default=None, max_length=100, description="工种 (optional)")
    level: str | int | None = Field(
        default=None,
        description="1-5, 三级, 高级工 or 三级/高级工; 特级技师 or 首席技师; none for 专项职业能力证书",
        examples=[3],
    )
    number: str | None = Field(
        default=None,
        description="blank: the registry allocates one (职业技能等级证书 levels 1-5 only); "
        "otherwise the number as issued, kept as it is",
    )
    issued_on: dt.date
    district: str | None = Field(
        default=None,
        description="district code or name; defaults to the holder's, else the provider's",
    )
    source: Source = "evaluation"
    source_ref: str | None = Field(
        default=None, max_length=100, description="what produced it, e.g. competition:42"
    )


class CertificateCorrection(Schema):
    """The fields that change; the replacement keeps the holder, provider and issue date."""

    reason: str = Field(min_length=2, max_length=500)
    kind: str | None = None
    occupation_code: str | None = None
    occupation_name: str | None = Field(default=None, max_length=100)
    trade: str | None = Field(default=None, max_length=100)
    level: str | int | None = None
    number: str | None = Field(
        default=None, description="required when the new certificate is not numbered by us"
    )
    district: str | None = None


class RevokeRequest(Schema):
    reason: str = Field(min_length=2, max_length=500)


class HolderOut(Schema):
    trainee_id: UUID
    name: str
    id_type: str
    id_type_name: str
    id_number_masked: str


class CertificateOut(Schema):
    number: str
    number_allocated: bool
    kind: str
    kind_code: str
    holder: HolderOut
    occupation_code: str
    occupation_name: str
    trade: str | None
    level: int | None
    level_name: str
    provider: str
    issuer_name: str
    issued_on: dt.date
    district: str | None
    source: str
    source_ref: str | None
    status: Status
    revoked_on: dt.date | None
    revoked_reason: str | None
    revoked_by: str | None
    superseded_by: str | None
    supersedes: str | None
    token: str
    verify_url: str
    created_at: dt.datetime
    verification_count: int = Field(default=0, description="times its QR code was checked")
    last_verified_at: dt.datetime | None = None
    warnings: list[str] = Field(default_factory=list)


class CertificateIssued(Schema):
    created: bool = Field(description="false when the same certificate was already issued")
    certificate: CertificateOut


class CertificatePage(Schema):
    items: list[CertificateOut]
    total: int
    limit: int
    offset: int


class PrintedCertificate(Schema):
    """Every field printed on the certificate (so an edited PDF is caught), and its status.

    Never the full ID number. `revoked_on`/`reason` are set when revoked, `superseded_by`
    when superseded; null otherwise.
    """

    number: str
    kind: str = Field(description="职业技能等级证书 | 职业资格证书 | 专项职业能力证书")
    holder_name: str
    id_type_name: str = Field(description="证件类型")
    id_number_masked: str
    occupation_code: str
    occupation_name: str
    trade: str | None = Field(description="工种")
    level: int | None
    level_name: str = Field(examples=["三级/高级工"])
    issuer_name: str = Field(description="颁证机构")
    issued_on: dt.date
    status: Status
    revoked_on: dt.date | None = None
    reason: str | None = None
    superseded_by: str | None = None
