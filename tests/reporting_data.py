"""Rows for the reporting tests, written straight into the tables (not through the services
of the certificates and enrolments domains, so these tests don't depend on their details)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from skills_registry.certificates.tables import Certificate
from skills_registry.providers.tables import Provider
from skills_registry.trainees.tables import Enrolment, Trainee

_serial = itertools.count(1)

SKILL = "职业技能等级证书"
QUALIFICATION = "职业资格证书"
SPECIFIC = "专项职业能力证书"


async def provider_id(code: str) -> int:
    row = await Provider.select(Provider.id).where(Provider.code == code).first()
    assert row is not None
    return int(row["id"])


async def person(name: str = "陈志明", district: str | None = None) -> UUID:
    n = next(_serial)
    now = datetime.now(UTC)
    trainee_id = uuid4()
    await Trainee.insert(
        Trainee(
            id=trainee_id,
            id_type="resident_id",
            nationality="",
            id_index=f"test-index-{uuid4().hex}",
            id_number_encrypted="not-a-real-ciphertext",
            id_number_masked=f"3502**********{n % 1000:03d}X",
            name=name,
            district=district,
            created_at=now,
            updated_at=now,
        )
    )
    return trainee_id


async def certificate(
    trainee: UUID,
    provider: int,
    issued_on: date,
    *,
    level: int | None = 4,
    kind: str = SKILL,
    status: str = "valid",
    district: str | None = None,
    source: str = "evaluation",
    occupation_code: str = "6-31-01-03",
    occupation_name: str = "电工",
    holder_name: str = "陈志明",
) -> int:
    n = next(_serial)
    now = datetime.now(UTC)
    rows = await Certificate.insert(
        Certificate(
            number=f"T{n:021d}",
            number_allocated=False,
            kind=kind,
            trainee=trainee,
            holder_name=holder_name,
            occupation_code=occupation_code,
            occupation_name=occupation_name,
            trade="",
            level=level,
            provider=provider,
            issued_on=issued_on,
            district=district,
            source=source,
            status=status,
            token="test",
            kid="test",
            created_by="test",
            created_at=now,
            updated_at=now,
        )
    )
    return int(rows[0]["id"])


async def enrolment(
    trainee: UUID,
    provider: int,
    end_date: date | None,
    *,
    status: str = "结业",
    category: str = "企业职工",
    level: int = 4,
    start_date: date | None = None,
    occupation_code: str = "6-31-01-03",
) -> int:
    now = datetime.now(UTC)
    rows = await Enrolment.insert(
        Enrolment(
            provider=provider,
            trainee=trainee,
            occupation_code=occupation_code,
            occupation_name="电工",
            trade="",
            level=level,
            start_date=start_date or date(2000, 1, 1) + timedelta(days=next(_serial)),
            end_date=end_date,
            status=status,
            category=category,
            created_at=now,
            updated_at=now,
        )
    )
    return int(rows[0]["id"])


async def set_certificate(certificate_id: int, **changes: Any) -> None:
    await Certificate.update(changes).where(Certificate.id == certificate_id)
