"""Concurrency on the real server (uvicorn; on PostgreSQL with the pool on, as in
production), on SQLite and PostgreSQL.

Many clients at once must get what one client alone gets: certificate numbers without gaps
or duplicates, one person per ID number and one enrolment per natural key however many
overlapping sheets arrive together, and never a 500.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from skills_registry import database
from skills_registry.certificates.tables import Certificate
from skills_registry.context import Context
from skills_registry.crypto import Secrets
from skills_registry.errors import ServiceUnavailableError
from skills_registry.imports import pipeline
from skills_registry.imports.spec import ImportContext, Outcome
from skills_registry.imports.tables import ImportBatch
from skills_registry.principal import CLI_PRINCIPAL, Role
from skills_registry.settings import Settings
from skills_registry.trainees.enrolments import ENROLMENT_IMPORT, open_enrolment_rows
from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id
from tests.servers import start_server
from tests.upload_files import csv_bytes, row

ELECTRICIAN = "6-31-01-03"
ISSUANCES = 50
UPLOADS = 10
REQUEST_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
async def live(backend_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A live server on the test database (tables are emptied between tests under it), and a
    client that may open many connections."""
    process = start_server(backend_settings)
    try:
        limits = httpx.Limits(max_connections=ISSUANCES * 2)
        async with httpx.AsyncClient(
            base_url=process.base, timeout=REQUEST_TIMEOUT_S, limits=limits
        ) as http:
            yield http
    finally:
        process.stop()


@pytest.fixture
def server(live: httpx.AsyncClient, app: Litestar) -> httpx.AsyncClient:
    return live  # `app` empties the tables first


def certificate(n: int) -> dict[str, Any]:
    return {
        "name": f"学员{n}",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(n),
        "kind": "职业技能等级证书",
        "occupation_code": ELECTRICIAN,
        "level": 3,
        "issued_on": "2025-05-01",
    }


async def _all_at_once(
    http: httpx.AsyncClient, key: str, bodies: Sequence[dict[str, Any]]
) -> list[httpx.Response]:
    return await asyncio.gather(
        *(http.post("/api/v1/certificates", json=body, headers=Keys.auth(key)) for body in bodies)
    )


async def _prefix(http: httpx.AsyncClient, admin: str) -> str:
    site = (await http.get("/api/v1/providers/PA", headers=Keys.auth(admin))).json()["site_code"]
    return f"S000035{site}253"  # S, evaluator 0000, Fujian, site, 2025, level 3


async def test_simultaneous_issuances_get_consecutive_distinct_numbers(
    server: httpx.AsyncClient, keys: Keys
) -> None:
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    admin = await keys.make(Role.BUREAU_ADMIN)
    key = await keys.make(Role.PROVIDER, "PA")

    answers = await _all_at_once(server, key, [certificate(n) for n in range(ISSUANCES)])

    assert [a.status_code for a in answers] == [201] * ISSUANCES, [
        a.text[:300] for a in answers if a.status_code != 201
    ]
    numbers = [a.json()["certificate"]["number"] for a in answers]
    prefix = await _prefix(server, admin)
    # Serials 1..50 under one prefix: nothing skipped, nothing handed out twice.
    assert sorted(numbers) == [f"{prefix}{serial:06d}" for serial in range(1, ISSUANCES + 1)]
    assert await Certificate.count() == ISSUANCES
    assert await Trainee.count() == ISSUANCES


async def test_the_same_issuance_sent_many_times_at_once_is_issued_once(
    server: httpx.AsyncClient, keys: Keys
) -> None:
    """A client retrying (or a double click) must get the certificate, not a 409."""
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    admin = await keys.make(Role.BUREAU_ADMIN)
    key = await keys.make(Role.PROVIDER, "PA")
    copies = 8

    answers = await _all_at_once(server, key, [certificate(0)] * copies)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * (copies - 1) + [201], [a.text[:300] for a in answers]
    prefix = await _prefix(server, admin)
    assert {a.json()["certificate"]["number"] for a in answers} == {f"{prefix}000001"}
    assert [a.json()["created"] for a in answers].count(True) == 1
    assert await Certificate.count() == 1
    assert await Trainee.count() == 1

    # The losers' rolled-back allocations left no gap: the next certificate is serial 2.
    (after,) = await _all_at_once(server, key, [certificate(1)])
    assert after.status_code == 201
    assert after.json()["certificate"]["number"] == f"{prefix}000002"

    # A person already registered: the copies now race on the serial counter and on the
    # certificate's natural key; the losers' serials return to the counter.
    again = {**certificate(0), "issued_on": "2025-06-01"}
    answers = await _all_at_once(server, key, [again] * copies)
    assert sorted(a.status_code for a in answers) == [200] * (copies - 1) + [201]
    assert {a.json()["certificate"]["number"] for a in answers} == {f"{prefix}000003"}
    (last,) = await _all_at_once(server, key, [certificate(2)])
    assert last.json()["certificate"]["number"] == f"{prefix}000004"
    assert await Certificate.count() == 4


async def test_one_new_person_registered_by_many_at_once_is_one_person(
    server: httpx.AsyncClient, keys: Keys
) -> None:
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    await add_provider("PB", scope=[(ELECTRICIAN, 1)])
    senders = [await keys.make(Role.PROVIDER, code) for code in ("PA", "PB")] * 4
    person = {"name": "林小红", "id_type": "居民身份证", "id_number": nth_resident_id(7)}

    answers = await asyncio.gather(
        *(server.post("/api/v1/trainees", json=person, headers=Keys.auth(k)) for k in senders)
    )

    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [
        a.text[:300] for a in answers
    ]
    assert len({a.json()["trainee"]["id"] for a in answers}) == 1
    assert await Trainee.count() == 1
    assert await ProviderLink.count() == 2


def _sheet_people(upload: int) -> range:
    """Upload i covers people 20i .. 20i+99: each person is in up to five sheets."""
    return range(upload * 20, upload * 20 + 100)


async def test_simultaneous_overlapping_uploads_store_the_union_once(
    server: httpx.AsyncClient, keys: Keys
) -> None:
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    await add_provider("PB", scope=[(ELECTRICIAN, 1)])
    provider_keys = {
        "PA": await keys.make(Role.PROVIDER, "PA"),
        "PB": await keys.make(Role.PROVIDER, "PB"),
    }
    # Even uploads from PA, odd from PB: the same people in both providers' sheets, and
    # the same enrolments in several sheets of one provider.
    plan = [("PA" if i % 2 == 0 else "PB", _sheet_people(i)) for i in range(UPLOADS)]

    async def upload(provider: str, people: range) -> httpx.Response:
        content = csv_bytes([row(n) for n in people])
        return await server.post(
            "/api/v1/imports/enrolments",
            files={"file": (f"{provider}.csv", content, "text/csv")},
            headers=Keys.auth(provider_keys[provider]),
        )

    answers = await asyncio.gather(*(upload(p, people) for p, people in plan))

    for answer, (_, people) in zip(answers, plan, strict=True):
        assert answer.status_code == 200, answer.text[:500]
        body = answer.json()
        assert body["status"] == "stored"
        assert body["stored"] + body["unchanged"] == len(people), body
    everyone = {n for _, people in plan for n in people}
    enrolled = {(p, n) for p, people in plan for n in people}
    assert await Trainee.count() == len(everyone)
    assert await ProviderLink.count() == len(enrolled)
    assert await Enrolment.count() == len(enrolled)
    assert sum(a.json()["stored"] for a in answers) == len(enrolled)


@pytest.mark.parametrize("worker_min_rows", [1, 10**9], ids=["checked-in-worker", "in-server"])
async def test_an_upload_that_loses_a_race_is_run_again_from_the_top(
    app: Litestar, settings: Settings, tmp_path: Path, worker_min_rows: int
) -> None:
    """A unique violation half-way (a person registered by another request a moment ago)
    rolls the attempt back and runs the whole file again, counting from zero (with a new
    worker process when the file is checked in one)."""
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    stores = 0

    async def open_then_lose_once(ictx: ImportContext) -> Any:
        handler = await open_enrolment_rows(ictx)
        real_store = handler.store

        async def store(rows: Sequence[tuple[int, Any]]) -> Sequence[Outcome]:
            nonlocal stores
            stores += 1
            outcomes = await real_store(rows)  # written, then the race is lost
            if stores == 2:
                raise asyncpg.exceptions.UniqueViolationError("duplicate key value (id_index)")
            return outcomes

        handler.store = store  # type: ignore[method-assign]
        return handler

    people = pipeline.CHUNK_ROWS + 500  # two chunks: the second one loses
    path = tmp_path / "class.csv"
    path.write_bytes(csv_bytes([row(n) for n in range(people)]))
    ctx = Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)
    with path.open("rb") as file:
        result = await pipeline.run_import(
            replace(ENROLMENT_IMPORT, open=open_then_lose_once),
            file,
            file_name="class.csv",
            ctx=ctx,
            provider_code="PA",
            mode="all",
            limits=pipeline.Limits(
                max_bytes=10**7, max_rows=10**5, worker_min_rows=worker_min_rows
            ),
        )
    assert stores == 4  # two chunks lost, two stored
    assert (result.status, result.rows, result.stored, result.unchanged) == (
        "stored",
        people,
        people,
        0,
    )
    assert await Trainee.count() == people
    assert await Enrolment.count() == people
    assert await ImportBatch.count() == 1


async def test_an_upload_waits_its_turn_then_answers_503(app: Litestar) -> None:
    """Uploads take turns; one that waits beyond its bound is told to try again (503)."""
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with database.bulk_write_transaction("test-bulk"):
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await asyncio.wait_for(held.wait(), timeout=10)
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            async with database.bulk_write_transaction("test-bulk", wait_s=0.3):
                pytest.fail("ran beside the upload holding the turn")
        assert time.monotonic() - started < 5
    finally:
        release.set()
        await asyncio.wait_for(holder, timeout=10)
    async with database.bulk_write_transaction("test-bulk", wait_s=5):
        pass  # free again


@pytest.mark.parametrize("backend_settings", ["postgres"], indirect=True)
async def test_uploads_on_another_app_server_wait_on_the_advisory_lock(
    app: Litestar, settings: Settings
) -> None:
    """Across app servers the turn is a PostgreSQL advisory lock (here held by a bare session)."""
    other_server = await asyncpg.connect(settings.database_url)
    try:
        transaction = other_server.transaction()
        await transaction.start()
        await other_server.execute(
            "SELECT pg_advisory_xact_lock($1)", database._advisory_key("test-bulk")
        )
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError):
            async with database.bulk_write_transaction("test-bulk", wait_s=0.5):
                pytest.fail("ran beside another server's upload")
        assert 0.4 < time.monotonic() - started < 5
        await transaction.rollback()
    finally:
        await other_server.close()
    async with database.bulk_write_transaction("test-bulk", wait_s=5):
        lock_timeout = await Trainee.raw("SELECT current_setting('lock_timeout') AS value")
    assert lock_timeout[0]["value"] == "0"  # the bound applied to the turn only
