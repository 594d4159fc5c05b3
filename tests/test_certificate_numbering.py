"""Numbers: the 22-character scheme, permissive checks, gap-free allocation under concurrency,
and the batch interface the certificate upload plugs into (validate_row + issue_many)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from skills_registry.audit.services import event as audit_event
from skills_registry.audit.tables import AuditEvent
from skills_registry.certificates import numbering
from skills_registry.certificates.schemas import CertificateCreate
from skills_registry.certificates.services import (
    CertificateRow,
    Signing,
    issue,
    issue_many,
    resolve_issuer,
    validate_row,
)
from skills_registry.certificates.signing import KeyStore
from skills_registry.certificates.tables import Certificate
from skills_registry.context import Context
from skills_registry.crypto import Secrets
from skills_registry.database import write_transaction
from skills_registry.principal import CLI_PRINCIPAL
from skills_registry.settings import Settings
from skills_registry.trainees.tables import Trainee
from tests.conftest import add_provider
from tests.factories import nth_resident_id

ELECTRICIAN = "6-31-01-03"


def test_prefix_letter_codes_year_and_level() -> None:
    common = {"evaluator_code": "0000", "site_code": "020001", "issued_on": dt.date(2025, 3, 1)}
    school = numbering.number_prefix(provider_kind="技工院校", level=5, **common)  # type: ignore[arg-type]
    assert school == "S000035020001255"
    enterprise = numbering.number_prefix(provider_kind="企业", level=1, **common)  # type: ignore[arg-type]
    assert enterprise == "Y000035020001251"
    assert numbering.format_number(school, 123) == "S000035020001255000123"
    for level in (1, 2, 3, 4, 5):
        prefix = numbering.number_prefix(provider_kind="评价机构", level=level, **common)  # type: ignore[arg-type]
        number = numbering.format_number(prefix, 1)
        assert len(number) == 22 and number[15] == str(level)
        assert numbering.check_number(number, level=level) == number
    with pytest.raises(ValueError):
        numbering.number_prefix(provider_kind="企业", level=0, **common)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        numbering.format_number(school, 1_000_000)


@pytest.mark.parametrize(
    ("number", "level", "ok"),
    [
        ("S000035020001255000123", 5, True),
        ("s000035020001255000123", 5, True),  # normalised, not rewritten otherwise
        ("Ｓ０００035020001255000123", 5, True),  # full-width digits (NFKC)
        ("S000035020001255000123", 4, False),  # level digit disagrees
        ("Y123444020001253000001", 3, True),  # another province: permissive
        ("X000035020001255000123", 5, False),
        ("S00003502000125500012", 5, False),  # 21 characters
        ("1535020100400017", 4, True),  # old 16-digit 职业资格证书
        ("1535020100400017", 3, False),
        ("153502010040001", 4, False),
        ("S000035020001259000123", None, True),  # 专项职业能力: no level to compare
        ("S000035020001251000123", 0, True),  # 特级技师: no level digit of its own
    ],
)
def test_check_number(number: str, level: int | None, ok: bool) -> None:
    if ok:
        assert len(numbering.check_number(number, level=level)) in (16, 22)
    else:
        with pytest.raises(ValueError):
            numbering.check_number(number, level=level)


def _ctx(settings: Settings) -> Context:
    return Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)


def _signing(settings: Settings) -> Signing:
    return Signing(keys=KeyStore(settings.keys_dir), public_base_url=settings.public_base_url)


async def test_fifty_concurrent_issuances_get_fifty_consecutive_serials(
    two_providers: tuple[str, str], settings: Settings
) -> None:
    ctx, signing = _ctx(settings), _signing(settings)

    async def one(n: int) -> str:
        data = CertificateCreate(
            provider="PA",
            name=f"学员{n}",
            id_type="居民身份证",
            id_number=nth_resident_id(100 + n),
            kind="职业技能等级证书",
            occupation_code=ELECTRICIAN,
            level=4,
            issued_on=dt.date(2025, 7, 1),
        )
        return (await issue(data, ctx, signing)).certificate.number

    numbers = await asyncio.gather(*(one(n) for n in range(50)))
    assert len(set(numbers)) == 50
    prefixes = {n[:16] for n in numbers}
    assert len(prefixes) == 1 and next(iter(prefixes))[15] == "4"
    assert sorted(int(n[16:]) for n in numbers) == list(range(1, 51))
    assert await Certificate.count() == 50


def _row(issuer: Any, n: int, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": f"学员{n}",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(300 + n),
        "kind": "职业技能等级证书",
        "occupation_code": ELECTRICIAN,
        "level": "四级",
        "issued_on": dt.date(2025, 7, 1),
        "source": "import",
    }
    values.update(overrides)
    return values


async def test_validate_row_reports_every_field_at_once(
    two_providers: tuple[str, str], settings: Settings
) -> None:
    issuer = await resolve_issuer("PA", CLI_PRINCIPAL)
    today = dt.date(2025, 8, 1)
    row, errors = validate_row(issuer, today=today, **_row(issuer, 0))
    assert errors == [] and isinstance(row, CertificateRow)
    assert row.level == 4 and row.number is None and row.occupation_name == "电工"
    row, errors = validate_row(
        issuer,
        today=today,
        **_row(
            issuer,
            0,
            id_number="3.50203E+17",
            kind="资格",
            occupation_code="6311",
            level="一级",
            issued_on=dt.date(2025, 9, 1),
            number="S000035020001253000001",
            district="北京",
        ),
    )
    assert row is None
    assert {e.field for e in errors} >= {
        "id_number",
        "kind",
        "occupation_code",
        "issued_on",
        "district",
    }


async def test_issue_many_is_all_or_nothing_gap_free_and_idempotent(
    two_providers: tuple[str, str], settings: Settings
) -> None:
    ctx, signing = _ctx(settings), _signing(settings)
    issuer = await resolve_issuer("PA", CLI_PRINCIPAL)
    today = ctx.today()

    def rows(*values: dict[str, Any]) -> list[CertificateRow]:
        out = []
        for v in values:
            row, errors = validate_row(issuer, today=today, **v)
            assert not errors, errors
            assert row is not None
            out.append(row)
        return out

    # Register person 1 under another name: the batch learns it only at store time.
    clash = rows(_row(issuer, 1, name="别人"))
    assert (await issue_many(issuer, clash, ctx, signing))[0].status == "stored"
    await Certificate.delete(force=True)  # (tests only) keep the person, drop the certificate
    counter_before = await Trainee.count()

    batch = rows(_row(issuer, 0), _row(issuer, 1), _row(issuer, 2))
    outcomes = await issue_many(issuer, batch, ctx, signing)
    assert [o.status for o in outcomes] == ["not_stored", "rejected", "not_stored"]
    assert outcomes[1].errors[0].field == "name"
    assert await Certificate.count() == 0 and await Trainee.count() == counter_before

    # Inside a caller's transaction, all-or-nothing undoes just these rows (a savepoint):
    # the caller's own write stays.
    async with write_transaction():
        await AuditEvent.insert(audit_event(CLI_PRINCIPAL, "test.outer", "test", "1"))
        outcomes = await issue_many(issuer, batch, ctx, signing)
    assert [o.status for o in outcomes] == ["not_stored", "rejected", "not_stored"]
    assert await Certificate.count() == 0 and await Trainee.count() == counter_before
    assert await AuditEvent.count().where(AuditEvent.action == "test.outer") == 1

    # valid_only stores the others; the serials continue without a gap after the rollback.
    outcomes = await issue_many(issuer, batch, ctx, signing, valid_only=True)
    assert [o.status for o in outcomes] == ["stored", "rejected", "stored"]
    serials = [int(o.number[16:]) for o in outcomes if o.number]
    assert serials == [2, 3]  # 1 went to the certificate dropped above, never reused

    # Re-running (and a duplicate inside one batch) changes nothing.
    again = await issue_many(issuer, [*batch[::2], batch[0]], ctx, signing)
    assert [o.status for o in again] == ["unchanged", "unchanged", "unchanged"]
    assert [o.number for o in again] == [outcomes[0].number, outcomes[2].number, outcomes[0].number]
    assert await Certificate.count() == 2


async def test_titles_arrive_with_their_number_from_an_enterprise(
    two_providers: tuple[str, str], settings: Settings
) -> None:
    await add_provider("EN", kind="企业", scope=[(ELECTRICIAN, 1)])
    ctx, signing = _ctx(settings), _signing(settings)
    school = await resolve_issuer("PA", CLI_PRINCIPAL)
    enterprise = await resolve_issuer("EN", CLI_PRINCIPAL)
    today = ctx.today()
    values = _row(enterprise, 9, level="特级技师", source="evaluation")
    _, errors = validate_row(enterprise, today=today, **values)
    assert [e.field for e in errors] == ["number"]
    _, errors = validate_row(school, today=today, **{**values, "number": "Y000035020001251000001"})
    assert [e.field for e in errors] == ["level"]
    row, errors = validate_row(
        enterprise, today=today, **{**values, "number": "Y000035020001251000001"}
    )
    assert not errors and row is not None and row.level == 0
    outcomes = await issue_many(enterprise, [row], ctx, signing)
    assert outcomes[0].status == "stored" and outcomes[0].number == "Y000035020001251000001"
