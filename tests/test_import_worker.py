"""Large uploads are checked in a worker process (`imports.worker`) while the server stores.

The worker must change nothing a clerk sees: the same answer, errors, row numbers, warnings
and stored records as checking in the server process, in both modes. A worker that fails
fails the upload cleanly (nothing stored, no process left behind).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from skills_registry.context import Context
from skills_registry.crypto import Secrets
from skills_registry.imports import pipeline
from skills_registry.imports.spec import ImportContext
from skills_registry.imports.tables import ImportBatch
from skills_registry.imports.worker import CheckWorker
from skills_registry.principal import CLI_PRINCIPAL
from skills_registry.settings import Settings
from skills_registry.trainees.enrolments import ENROLMENT_IMPORT, open_enrolment_rows
from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee
from tests.conftest import add_provider
from tests.import_worker_faults import (
    FAILING_ROW,
    DyingChecker,
    EnvironmentChecker,
    RaisingChecker,
)
from tests.upload_files import csv_bytes, row, xlsx_bytes

IN_WORKER = pipeline.Limits(max_bytes=10**7, max_rows=10**5, worker_min_rows=1)
IN_SERVER = pipeline.Limits(max_bytes=10**7, max_rows=10**5, worker_min_rows=10**9)
SCOPE = [("6-31-01-03", 2), ("6-99-99-99", 2)]  # the second code is not in the catalogue


def _line(n: int, **changes: Any) -> list[Any]:
    return row(n, phone=f"1380000{n:04d}", **changes)


def _sheet() -> bytes:
    """A GBK class list with a bit of everything a clerk gets wrong (header = row 1)."""
    rows: list[list[Any]] = [_line(n) for n in range(40)]
    number = row(2)[2]
    rows[2] = _line(2, id_number=number[:-1] + ("1" if number[-1] == "0" else "0"))
    rows[4] = _line(4, start="2024-13-01")
    rows[6] = _line(1)  # the same enrolment as the row of person 1
    rows[8] = _line(8, code="6-99-99-99")  # stored, with a warning
    rows[10] = _line(10, end="")  # 结业 without an end date
    rows[12] = _line(12, level="1")  # above the provider's scope
    rows[14] = _line(14, start="2024年6月3日", level="三级/高级工")
    rows[20:20] = [[""] * 14]  # a blank line still counts in Excel's numbering
    return csv_bytes(rows, encoding="gbk")


def _workbook() -> bytes:
    """The same kind of list from Excel: date cells, numbers, a title row above the header."""
    rows: list[list[Any]] = [
        _line(n, start=date(2024, 5, 1 + n % 20), end=date(2024, 7, 31), level=3) for n in range(30)
    ]
    rows[3] = _line(3, start=date(2024, 8, 1), end=date(2024, 7, 31))  # ends before it starts
    rows[5] = _line(4, start=date(2024, 5, 5), end=date(2024, 7, 31), level=3)  # row 6 again
    rows[9] = [None] * 14
    return xlsx_bytes(rows, above=[["2024年第二期培训名单"]])


def _context(settings: Settings) -> Context:
    return Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)


async def _upload(
    settings: Settings,
    path: Path,
    provider: str,
    mode: pipeline.Mode,
    limits: pipeline.Limits,
    kind: Any = ENROLMENT_IMPORT,
) -> pipeline.ImportResult:
    with path.open("rb") as file:
        return await pipeline.run_import(
            kind,
            file,
            file_name=path.name,
            ctx=_context(settings),
            provider_code=provider,
            mode=mode,
            limits=limits,
        )


def _answer(result: pipeline.ImportResult) -> dict[str, Any]:
    return {k: v for k, v in result.as_json().items() if k != "batch_id"}


async def _enrolments(provider: str) -> list[tuple[Any, ...]]:
    rows = await Enrolment.select(
        Enrolment.trainee.id_index,
        Enrolment.occupation_code,
        Enrolment.occupation_name,
        Enrolment.trade,
        Enrolment.level,
        Enrolment.start_date,
        Enrolment.end_date,
        Enrolment.status,
        Enrolment.category,
    ).where(Enrolment.provider.code == provider)
    return sorted(tuple(r.values()) for r in rows)


@pytest.fixture
async def providers(app: Litestar) -> None:
    await add_provider("PA", scope=SCOPE)
    await add_provider("PC", scope=SCOPE)


@pytest.fixture
def counted_workers(monkeypatch: pytest.MonkeyPatch) -> list[CheckWorker]:
    started: list[CheckWorker] = []
    real_start = CheckWorker.start

    async def start() -> CheckWorker:
        worker = await real_start()
        started.append(worker)
        return worker

    monkeypatch.setattr(pipeline.CheckWorker, "start", start)
    return started


async def test_the_worker_answers_and_stores_as_the_server_process_does(
    settings: Settings,
    providers: None,
    tmp_path: Path,
    counted_workers: list[CheckWorker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chunks of 7 rows: answers stream back in many messages, a duplicate spans two.
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)
    path = tmp_path / "名单.csv"
    path.write_bytes(_sheet())

    # All or nothing: rejected alike, nothing stored either way.
    rejected = await _upload(settings, path, "PA", "all", IN_WORKER)
    assert len(counted_workers) == 1
    assert _answer(rejected) == _answer(await _upload(settings, path, "PA", "all", IN_SERVER))
    assert len(counted_workers) == 1
    assert rejected.status == "rejected"
    assert [(e.row, e.column) for e in rejected.errors] == [
        (4, "证件号码"),
        (6, "培训开始日期"),
        (8, None),
        (12, "培训结束日期"),
        (14, "申报等级"),
    ]
    assert "duplicates row 3" in rejected.errors[2].message
    assert any("6-99-99-99" in w for w in rejected.warnings)
    assert await Trainee.count() == 0

    # Valid rows only: the worker's upload creates the people, the other links to them.
    in_worker = await _upload(settings, path, "PA", "valid_only", IN_WORKER)
    in_server = await _upload(settings, path, "PC", "valid_only", IN_SERVER)
    assert len(counted_workers) == 2
    assert (in_worker.status, in_worker.rows, in_worker.stored, in_worker.rejected) == (
        "stored",
        40,
        35,
        5,
    )
    assert _answer(in_worker) == _answer(in_server)
    assert await _enrolments("PA") == await _enrolments("PC")
    assert len(await _enrolments("PA")) == 35
    assert await Trainee.count() == 35
    assert await ProviderLink.count() == 70

    # The worker encrypted each ID number for its own row (AES-GCM bound to the index).
    secrets = Secrets(settings.secret_key)
    people = await Trainee.select(
        Trainee.id_index, Trainee.id_number_encrypted, Trainee.name, Trainee.phone
    )
    numbers = {row(n)[2]: (f"学员{n}", f"1380000{n:04d}") for n in range(40)}
    for person in people:
        number = secrets.decrypt_id_number(person["id_number_encrypted"], person["id_index"])
        assert numbers[number] == (person["name"], person["phone"])
    for worker in counted_workers:
        assert worker.returncode is not None  # every worker has ended


async def test_a_workbook_is_read_and_checked_by_the_worker_as_by_the_server(
    settings: Settings, providers: None, tmp_path: Path, counted_workers: list[CheckWorker]
) -> None:
    path = tmp_path / "名单.xlsx"
    path.write_bytes(_workbook())
    in_worker = await _upload(settings, path, "PA", "valid_only", IN_WORKER)
    assert len(counted_workers) == 1
    in_server = await _upload(settings, path, "PC", "valid_only", IN_SERVER)
    assert len(counted_workers) == 1
    assert _answer(in_worker) == _answer(in_server)
    assert (in_worker.rows, in_worker.stored) == (29, 27)
    # Title row 1, header row 2: the list's 4th and 6th rows are Excel rows 6 and 8.
    assert [(e.row, e.column) for e in in_worker.errors] == [(6, "培训结束日期"), (8, None)]
    assert "duplicates row 7" in in_worker.errors[1].message
    assert await _enrolments("PA") == await _enrolments("PC")


@pytest.mark.parametrize("limits", [IN_WORKER, IN_SERVER], ids=["worker", "server"])
async def test_row_limit_and_a_file_broken_half_way_store_nothing(
    settings: Settings, providers: None, tmp_path: Path, limits: pipeline.Limits
) -> None:
    path = tmp_path / "名单.csv"
    path.write_bytes(csv_bytes([_line(n) for n in range(30)]))
    with pytest.raises(pipeline.UploadTooLarge, match="MAX_UPLOAD_ROWS = 25"):
        await _upload(settings, path, "PA", "valid_only", replace(limits, max_rows=25))

    # A cell far beyond any real one (the csv module's field limit) 20 rows down.
    rows = [_line(n) for n in range(30)]
    rows[20] = _line(20, name="陈" * 200_000)
    path.write_bytes(csv_bytes(rows))
    broken = await _upload(settings, path, "PA", "valid_only", limits)
    assert broken.status == "rejected"
    assert [(e.row, e.column) for e in broken.errors] == [(None, None)]
    assert "CSV格式有误" in broken.errors[0].message
    assert await Trainee.count() == 0
    assert await Enrolment.count() == 0
    assert [b["status"] for b in await ImportBatch.select(ImportBatch.status)] == [
        "rejected",
        "rejected",
    ]


def _kind_checked_by(checker: Any) -> Any:
    async def open_with_checker(ictx: ImportContext) -> Any:
        handler = await open_enrolment_rows(ictx)
        handler.worker_checker = lambda: checker  # type: ignore[method-assign]
        return handler

    return replace(ENROLMENT_IMPORT, open=open_with_checker)


@pytest.fixture
def faults_importable(monkeypatch: pytest.MonkeyPatch, repo_root: Path) -> None:
    """The worker imports tests.import_worker_faults by name: put the repository on its path."""
    monkeypatch.setenv("PYTHONPATH", str(repo_root))


@pytest.mark.parametrize(
    ("checker", "logged"),
    [
        (RaisingChecker(), f"RuntimeError: checker bug on row {FAILING_ROW}"),
        (DyingChecker(), "the row-checking worker stopped (exit code 9)"),
    ],
    ids=["raises", "dies"],
)
async def test_a_failing_worker_fails_the_upload_and_leaves_nothing(
    settings: Settings,
    providers: None,
    faults_importable: None,
    tmp_path: Path,
    counted_workers: list[CheckWorker],
    caplog: pytest.LogCaptureFixture,
    checker: Any,
    logged: str,
) -> None:
    path = tmp_path / "名单.csv"
    path.write_bytes(csv_bytes([row(n) for n in range(20)]))
    with pytest.raises(pipeline.ImportFailed) as failed:
        await _upload(settings, path, "PA", "all", IN_WORKER, kind=_kind_checked_by(checker))
    assert failed.value.detail == pipeline.WORKER_FAILED_MESSAGE  # 503: try again, or split it
    assert logged in caplog.text
    assert [w.returncode is not None for w in counted_workers] == [True]
    assert await Trainee.count() == 0
    assert await Enrolment.count() == 0
    batches = await ImportBatch.select(
        ImportBatch.status, ImportBatch.rows, ImportBatch.errors
    ).output(load_json=True)
    assert batches == [
        {
            "status": "rejected",
            "rows": 0,
            "errors": [{"row": None, "column": None, "message": pipeline.WORKER_FAILED_MESSAGE}],
        }
    ]


async def test_the_worker_sees_none_of_the_server_settings(
    settings: Settings,
    providers: None,
    faults_importable: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKILLS_REGISTRY_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("SKILLS_REGISTRY_DATABASE_URL", settings.database_url)
    path = tmp_path / "名单.csv"
    path.write_bytes(csv_bytes([row(n) for n in range(3)]))
    answer = await _upload(
        settings, path, "PA", "all", IN_WORKER, kind=_kind_checked_by(EnvironmentChecker())
    )
    assert {e.message for e in answer.errors} == {"environment: "}
