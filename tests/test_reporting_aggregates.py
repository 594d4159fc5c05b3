"""The maintained aggregates equal a full recount after every kind of change.

Changes are made straight in the tables (as any service, upload or hand-made SQL would);
database triggers mark the people concerned and `refresh()` recounts them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from litestar import Litestar

from skills_registry.certificates.tables import Certificate
from skills_registry.principal import CLI_PRINCIPAL
from skills_registry.providers.tables import Provider
from skills_registry.reporting import services
from skills_registry.reporting.schemas import PeriodCreate
from skills_registry.reporting.tables import ProgressBucket, ProgressDirty
from skills_registry.trainees.tables import Enrolment, Trainee
from tests import reporting_data as data
from tests.conftest import add_provider

AS_OF = [
    date(2020, 6, 1),
    date(2021, 1, 1),
    date(2021, 1, 31),
    date(2022, 6, 15),
    date(2023, 12, 31),
    date(2024, 2, 29),
    date(2025, 11, 30),
    date(2025, 12, 31),
    date(2027, 3, 9),
    date(2031, 1, 1),
]
DISTRICTS = ["350203", "350205", "350206", "350211", "350212", "350213", None]
KINDS = [data.SKILL, data.SKILL, data.QUALIFICATION, data.SPECIFIC]
SOURCES = ["evaluation", "competition", "apprenticeship", "recognition", "import"]


def _day(rng: random.Random) -> date:
    return date(2020, 6, 1) + timedelta(days=rng.randrange(0, 365 * 7))


async def _assert_equal_to_recount() -> None:
    await services.refresh()
    assert not await ProgressDirty.exists()
    for period in await services._load_periods():
        for as_of in AS_OF:
            maintained = (await services.aggregated(period, as_of)).normalised()
            recounted = (await services.recount(period, as_of)).normalised()
            assert maintained == recounted, (period.code, as_of)


async def _buckets() -> set[tuple[Any, ...]]:
    rows = await ProgressBucket.select().where(ProgressBucket.n != 0)
    return {
        (r["period"], r["indicator"], r["dimension"], r["bucket_key"], r["month"], r["n"])
        for r in rows
    }


@pytest.mark.parametrize("inline", [500, 0], ids=["few-changed", "many-changed"])
async def test_aggregates_equal_a_full_recount_after_every_kind_of_change(
    app: Litestar, inline: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few changed people are named in the statements, many are joined: test both paths.
    monkeypatch.setattr(services, "_INLINE_PEOPLE", inline)
    rng = random.Random(20211231)
    for code in ("PA", "PB", "PC"):
        await add_provider(code)
    providers = [await data.provider_id(code) for code in ("PA", "PB", "PC")]
    await Provider.update({Provider.district: "350206"}).where(Provider.id == providers[1])
    people = [await data.person(district=rng.choice(DISTRICTS)) for _ in range(25)]
    certificates: list[int] = []
    enrolments: list[Any] = []

    async def new_certificate(**fixed: Any) -> int:
        values: dict[str, Any] = {
            "level": rng.choice([5, 4, 3, 2, 1, 0, -1]),
            "kind": rng.choice(KINDS),
            "status": rng.choice(["valid"] * 6 + ["revoked", "superseded"]),
            "district": rng.choice(DISTRICTS),
            "source": rng.choice(SOURCES),
            "occupation_code": rng.choice(["6-31-01-03", "4-03-02-01", "6-20-99-00"]),
        }
        values.update(fixed)
        if values["kind"] == data.SPECIFIC:
            values["level"] = None
        trainee = values.pop("trainee", rng.choice(people))
        provider = values.pop("provider", rng.choice(providers))
        issued = values.pop("issued_on", _day(rng))
        certificate_id = await data.certificate(trainee, provider, issued, **values)
        certificates.append(certificate_id)
        return certificate_id

    async def new_enrolment() -> None:
        status = rng.choice(["结业", "结业", "在训", "退出"])
        enrolments.append(
            await data.enrolment(
                rng.choice(people),
                rng.choice(providers),
                None if status == "在训" else _day(rng),
                status=status,
                category=rng.choice(["农民工", "企业职工", "高校毕业生"]),
                level=rng.choice([5, 4, 3]),
            )
        )

    for _ in range(60):
        await new_certificate()
    for _ in range(30):
        await new_enrolment()
    await _assert_equal_to_recount()

    async def certificate_change(**changes: Any) -> None:
        target = rng.choice(certificates)
        await Certificate.update(changes).where(Certificate.id == target)
        await _assert_equal_to_recount()

    # Inserts, one by one and in bulk.
    await new_certificate()
    await _assert_equal_to_recount()
    for _ in range(10):
        await new_certificate(trainee=people[0])
    await _assert_equal_to_recount()
    # Revoke, supersede and reissue with the original date.
    for _ in range(3):
        await certificate_change(status="revoked")
    original = await new_certificate(status="valid", kind=data.SKILL, level=3)
    row = await Certificate.select().where(Certificate.id == original).first()
    await Certificate.update({Certificate.status: "superseded"}).where(Certificate.id == original)
    await new_certificate(
        trainee=row["trainee"],
        provider=row["provider"],
        issued_on=row["issued_on"],
        status="valid",
        kind=data.SKILL,
        level=3,
    )
    await _assert_equal_to_recount()
    await certificate_change(status="valid")
    # Every counted column.
    for _ in range(4):
        await certificate_change(issued_on=_day(rng))
        await certificate_change(level=rng.choice([5, 4, 3, 2, 1, 0, -1]))
        await certificate_change(kind=rng.choice(KINDS[:3]))
        await certificate_change(district=rng.choice(DISTRICTS))
        await certificate_change(source=rng.choice(SOURCES))
        await certificate_change(occupation_code="2-02-07-04")
        await certificate_change(provider=rng.choice(providers))
        await certificate_change(trainee=rng.choice(people))
    # Columns that don't count change nothing and mark nobody.
    await Certificate.update({Certificate.holder_name: "改名"}).where(
        Certificate.id == certificates[0]
    )
    assert not await ProgressDirty.exists()
    # Deletes (certificates are never deleted by the registry, but the aggregates cope).
    for _ in range(3):
        victim = certificates.pop(rng.randrange(len(certificates)))
        await Certificate.delete().where(Certificate.id == victim)
    await _assert_equal_to_recount()
    # A person's district and a provider's district.
    await Trainee.update({Trainee.district: "350213"}).where(Trainee.id == people[1])
    await _assert_equal_to_recount()
    await Provider.update({Provider.district: "350212"}).where(Provider.id == providers[0])
    await _assert_equal_to_recount()
    # Enrolments: insert, status, end date, category, reassignment, delete.
    for _ in range(5):
        await new_enrolment()
    await _assert_equal_to_recount()
    for changes in (
        {Enrolment.status: "结业", Enrolment.end_date: date(2023, 3, 3)},
        {Enrolment.status: "退出"},
        {Enrolment.end_date: date(2025, 12, 31)},
        {Enrolment.category: "农民工"},
        {Enrolment.trainee: people[2]},
        {Enrolment.provider: providers[2]},
        {Enrolment.level: 2},
    ):
        await Enrolment.update(changes).where(Enrolment.id == rng.choice(enrolments))
        await _assert_equal_to_recount()
    await Enrolment.delete().where(Enrolment.id == enrolments.pop())
    await _assert_equal_to_recount()
    # Periods: a new one after data exists, and an overlapping one.
    await services.create_period(
        PeriodCreate.model_validate(
            {
                "code": "15th",
                "name": "“十五五”规划（2026—2030年）",
                "start": "2026-01-01",
                "end": "2030-12-31",
                "indicators": [{"code": "certified_persons", "target": 90000}],
            }
        ),
        CLI_PRINCIPAL,
    )
    await services.create_period(
        PeriodCreate(code="mid", name="中期", start=date(2023, 7, 1), end=date(2026, 6, 30)),
        CLI_PRINCIPAL,
    )
    await _assert_equal_to_recount()
    for _ in range(5):
        await new_certificate()
        await certificate_change(issued_on=_day(rng))
    # A full rebuild finds exactly the buckets that incremental maintenance kept.
    before = await _buckets()
    await services.rebuild()
    assert await _buckets() == before
    await _assert_equal_to_recount()


async def test_refresh_leaves_changes_made_after_its_claim_pending(app: Litestar) -> None:
    await add_provider("PA")
    pa = await data.provider_id("PA")
    p = await data.person()
    await data.certificate(p, pa, date(2022, 2, 2))
    assert await services.refresh() is True
    assert await services.refresh() is False
    await data.certificate(p, pa, date(2021, 2, 2))
    assert await ProgressDirty.exists().where(ProgressDirty.batch == 0)
    await _assert_equal_to_recount()


def test_cli_checks_and_rebuilds(
    app: Litestar, settings: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    from click.testing import CliRunner

    from skills_registry.cli import main

    monkeypatch.setenv("SKILLS_REGISTRY_ENVIRONMENT", "development")
    monkeypatch.setenv("SKILLS_REGISTRY_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SKILLS_REGISTRY_SECRET_KEY", settings.secret_key)
    runner = CliRunner()
    for command in (["progress", "rebuild"], ["progress", "refresh"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["progress", "check", "--as-of", "2024-06-15"])
    assert result.exit_code == 0, result.output
    assert "aggregates equal a full recount as of 2024-06-15" in result.output
