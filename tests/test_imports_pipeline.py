"""The pipeline itself: an interrupted import keeps nothing; the command line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from skills_registry.cli import main
from skills_registry.context import Context
from skills_registry.crypto import Secrets
from skills_registry.imports import bulk, pipeline
from skills_registry.imports.spec import ImportContext, Outcome, parse_date
from skills_registry.imports.tables import ImportBatch
from skills_registry.principal import CLI_PRINCIPAL
from skills_registry.settings import Settings
from skills_registry.trainees.enrolments import ENROLMENT_IMPORT, open_enrolment_rows
from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee
from tests.conftest import KEYS_DIR, TEST_SECRET
from tests.upload_files import csv_bytes, row


class Interrupted(RuntimeError):
    pass


async def test_an_import_interrupted_midway_leaves_nothing(
    settings: Settings,
    two_providers: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 2)
    calls = 0

    async def open_then_fail(ictx: ImportContext) -> Any:
        handler = await open_enrolment_rows(ictx)
        real_store = handler.store

        async def store(rows: Sequence[tuple[int, Any]]) -> Sequence[Outcome]:
            nonlocal calls
            calls += 1
            if calls == 3:  # two chunks already written in the transaction
                raise Interrupted("power cut")
            return await real_store(rows)

        handler.store = store  # type: ignore[method-assign]
        return handler

    kind = replace(ENROLMENT_IMPORT, open=open_then_fail)
    path = tmp_path / "class.csv"
    path.write_bytes(csv_bytes([row(i) for i in range(7)]))
    ctx = Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)
    with path.open("rb") as file, pytest.raises(Interrupted):
        await pipeline.run_import(
            kind,
            file,
            file_name="class.csv",
            ctx=ctx,
            provider_code="PA",
            mode="valid_only",
            limits=pipeline.Limits(max_bytes=10**6, max_rows=100),
        )
    assert calls == 3
    assert await Enrolment.count() == 0
    assert await Trainee.count() == 0
    assert await ProviderLink.count() == 0
    assert await ImportBatch.count() == 0


def _env(settings: Settings) -> dict[str, str]:
    return {
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": settings.database_url,
        "SKILLS_REGISTRY_SECRET_KEY": TEST_SECRET,
        "SKILLS_REGISTRY_KEYS_DIR": str(KEYS_DIR),
    }


def test_cli_import_enrolments(
    settings: Settings, two_providers: tuple[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([row(1), row(2)], encoding="gbk"))
    runner = CliRunner()
    result = runner.invoke(
        main, ["import", "enrolments", str(good), "--provider", "PA"], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert "stored 2" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([row(3), row(4, category="学生")]))
    result = runner.invoke(
        main, ["import", "enrolments", str(bad), "--provider", "PA"], env=_env(settings)
    )
    assert result.exit_code == 1
    assert "row 3 [人员类别]" in result.output
    result = runner.invoke(
        main,
        ["import", "enrolments", str(bad), "--provider", "PA", "--mode", "valid_only"],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "stored 1" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", "2024-05-01"),
        ("2024/5/1", "2024-05-01"),
        ("2024年5月1日", "2024-05-01"),
        ("２０２４年５月１日", "2024-05-01"),
        ("2024.5.1", "2024-05-01"),
        ("20240501", "2024-05-01"),
        ("2024/5/1 0:00", "2024-05-01"),
        (45413, "2024-05-01"),
    ],
)
def test_date_spellings(text: Any, expected: str) -> None:
    parsed = parse_date(text)
    assert parsed is not None and parsed.isoformat() == expected


def test_bad_dates() -> None:
    for text in ("2024-02-30", "May 1", "12345"):
        with pytest.raises(ValueError, match="2024年5月1日"):
            parse_date(text)


def test_bulk_arguments_refuse_rows_of_different_widths() -> None:
    with pytest.raises(ValueError, match="same number of values"):
        bulk._for_sqlite([(1, 2, 3), (4, 5), (6, 7, 8, 9)])
    day = date(2024, 5, 1)
    assert bulk._for_sqlite([(None, day), (day, None)]) == [None, "2024-05-01", "2024-05-01", None]
