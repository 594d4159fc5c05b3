"""企业新型学徒制 over the API: registration rules, completion to a certificate, figures."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.apprenticeships.tables import Apprenticeship
from skills_registry.audit.tables import AuditEvent
from skills_registry.certificates.tables import Certificate
from skills_registry.principal import Role
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id

ELECTRICIAN = "6-31-01-03"
NURSERY = "4-10-01-02"  # 育婴员: levels 5, 4, 3 only


def apprenticeship(n: int = 0, **overrides: Any) -> dict[str, Any]:
    return {
        "enterprise": "ENT",
        "institution": "SCH",
        "name": "林晓东",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(n),
        "occupation_code": ELECTRICIAN,
        "target_level": "四级/中级工",
        "start_date": "2024-03-01",
        "end_date": "2025-08-31",
        "contract_end_date": "2026-02-28",
        "enterprise_mentor": "王师傅",
        "school_mentor": "李老师",
        **overrides,
    }


async def parties() -> None:
    await add_provider("ENT", kind="企业", scope=[])
    await add_provider("SCH", kind="技工院校", scope=[(ELECTRICIAN, 2)])
    await add_provider("OTHER", kind="技工院校", scope=[(ELECTRICIAN, 3)])


async def test_apprenticeship_completes_to_a_certificate_linked_both_ways(
    client: AsyncTestClient, keys: Keys
) -> None:
    await parties()
    ent = keys.auth(await keys.make(Role.PROVIDER, "ENT"))
    sch = keys.auth(await keys.make(Role.PROVIDER, "SCH"))
    other = keys.auth(await keys.make(Role.PROVIDER, "OTHER"))
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))

    created = await client.post("/api/v1/apprenticeships", json=apprenticeship(), headers=ent)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "active" and body["target_level"] == 4
    assert body["subsidy_rate"] == 5000
    assert body["enterprise"] == "ENT" and body["institution"] == "SCH"
    assert body["occupation_name"] == "电工"
    assert nth_resident_id(0) not in created.text
    a_id = body["id"]

    # Both parties see it; another provider does not.
    assert (await client.get(f"/api/v1/apprenticeships/{a_id}", headers=sch)).status_code == 200
    assert (await client.get(f"/api/v1/apprenticeships/{a_id}", headers=other)).status_code == 404
    assert (await client.get("/api/v1/apprenticeships", headers=other)).json()["total"] == 0
    # The apprentice is linked to the institution too.
    holder = body["trainee_id"]
    assert (await client.get(f"/api/v1/trainees/{holder}", headers=sch)).status_code == 200

    # The same apprenticeship twice is a 409.
    again = await client.post("/api/v1/apprenticeships", json=apprenticeship(), headers=sch)
    assert again.status_code == 409

    # The enterprise may not enter a pass the school certifies.
    result = {"completed_on": "2025-02-20", "result": "passed"}
    refused = await client.post(
        f"/api/v1/apprenticeships/{a_id}/complete", json=result, headers=ent
    )
    assert refused.status_code == 403
    other_done = await client.post(
        f"/api/v1/apprenticeships/{a_id}/complete", json=result, headers=other
    )
    assert other_done.status_code == 404

    done = await client.post(f"/api/v1/apprenticeships/{a_id}/complete", json=result, headers=sch)
    assert done.status_code == 200, done.text
    finished = done.json()
    assert finished["status"] == "completed" and finished["result"] == "passed"
    assert finished["achieved_level"] == 4
    number = finished["certificate_number"]
    assert number and len(number) == 22 and number[0] == "S" and number[15] == "4"
    assert finished["certificate_url"] == f"/api/v1/certificates/{number}/pdf"

    cert = (await client.get(f"/api/v1/certificates/{number}", headers=admin)).json()
    assert cert["source"] == "apprenticeship" and cert["source_ref"] == str(a_id)
    assert cert["provider"] == "SCH" and cert["level"] == 4
    assert cert["issued_on"] == "2025-02-20" and cert["holder"]["trainee_id"] == holder

    # Completed: neither completed again nor terminated.
    twice = await client.post(f"/api/v1/apprenticeships/{a_id}/complete", json=result, headers=sch)
    assert twice.status_code == 409
    stop = {"terminated_on": "2025-02-21", "reason": "离职"}
    assert (
        await client.post(f"/api/v1/apprenticeships/{a_id}/terminate", json=stop, headers=ent)
    ).status_code == 409

    actions = {e["action"] for e in await AuditEvent.select(AuditEvent.action)}
    assert {"apprenticeship.create", "apprenticeship.complete", "certificate.issue"} <= actions


async def test_enterprise_certifies_when_the_school_may_not(
    client: AsyncTestClient, keys: Keys
) -> None:
    await add_provider("ENT", kind="企业", scope=[(ELECTRICIAN, 1)], evaluator_code="1234")
    await add_provider("SCH", kind="职业培训机构", scope=[])
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    created = await client.post(
        "/api/v1/apprenticeships",
        json=apprenticeship(target_level=2, end_date="2026-02-28", contract_end_date="2027-01-01"),
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["subsidy_rate"] == 6000
    a_id = created.json()["id"]
    done = await client.post(
        f"/api/v1/apprenticeships/{a_id}/complete",
        json={"completed_on": "2025-12-01", "result": "passed", "level": "三级"},
        headers=admin,
    )
    assert done.status_code == 200, done.text
    number = done.json()["certificate_number"]
    assert number.startswith("Y1234") and number[15] == "3"
    cert = await Certificate.select().where(Certificate.number == number).first()
    assert cert is not None and cert["source"] == "apprenticeship"
    assert cert["source_ref"] == str(a_id)


async def test_failed_result_and_termination_issue_nothing(
    client: AsyncTestClient, keys: Keys
) -> None:
    await parties()
    sch = keys.auth(await keys.make(Role.PROVIDER, "SCH"))
    first = (
        await client.post("/api/v1/apprenticeships", json=apprenticeship(0), headers=sch)
    ).json()
    second = (
        await client.post("/api/v1/apprenticeships", json=apprenticeship(1), headers=sch)
    ).json()
    failed = await client.post(
        f"/api/v1/apprenticeships/{first['id']}/complete",
        json={"completed_on": "2025-02-01", "result": "failed"},
        headers=sch,
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["certificate_number"] is None
    stopped = await client.post(
        f"/api/v1/apprenticeships/{second['id']}/terminate",
        json={"terminated_on": "2024-09-01", "reason": "学徒解除劳动合同"},
        headers=sch,
    )
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "terminated"
    assert stopped.json()["termination_reason"] == "学徒解除劳动合同"
    assert await Certificate.count() == 0


async def test_bad_apprenticeships_are_refused_with_the_reason(
    client: AsyncTestClient, keys: Keys
) -> None:
    await parties()
    await add_provider("NUR", kind="技工院校", scope=[(NURSERY, 3)])
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    other = keys.auth(await keys.make(Role.PROVIDER, "OTHER"))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))

    async def errors(body: dict[str, Any]) -> dict[str, str]:
        response = await client.post("/api/v1/apprenticeships", json=body, headers=admin)
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    too_long = await errors(apprenticeship(end_date="2027-03-02"))
    assert "最长3年" in too_long["end_date"] and "2027-02-28" in too_long["end_date"]
    assert "1至3年" in (await errors(apprenticeship(end_date="2025-02-27")))["end_date"]
    short_contract = await errors(apprenticeship(contract_end_date="2025-01-31"))
    assert "不少于1年" in short_contract["contract_end_date"]
    assert "不是企业" in (await errors(apprenticeship(enterprise="SCH")))["enterprise"]
    assert "unknown provider" in (await errors(apprenticeship(institution="NOPE")))["institution"]
    lacking = await errors(apprenticeship(occupation_code=NURSERY, target_level=2))
    assert "没有二级/技师" in lacking["target_level"]
    many = await errors(apprenticeship(end_date="2030-01-01", contract_end_date="2024-06-01"))
    assert {"end_date", "contract_end_date"} <= many.keys()

    not_a_party = await client.post("/api/v1/apprenticeships", json=apprenticeship(), headers=other)
    assert not_a_party.status_code == 403
    read_only = await client.post("/api/v1/apprenticeships", json=apprenticeship(), headers=viewer)
    assert read_only.status_code == 403
    assert await Apprenticeship.count() == 0

    # A pass at a level neither party may certify is refused, and nothing changes.
    created = await client.post("/api/v1/apprenticeships", json=apprenticeship(), headers=admin)
    a_id = created.json()["id"]
    too_high = await client.post(
        f"/api/v1/apprenticeships/{a_id}/complete",
        json={"completed_on": "2025-02-01", "result": "passed", "level": 1},
        headers=admin,
    )
    assert too_high.status_code == 422
    assert "均无" in too_high.json()["errors"][0]["message"]
    future = await client.post(
        f"/api/v1/apprenticeships/{a_id}/complete",
        json={"completed_on": "2099-02-01", "result": "passed"},
        headers=admin,
    )
    assert future.status_code == 422
    row = await Apprenticeship.select().where(Apprenticeship.id == a_id).first()
    assert row is not None and row["status"] == "active" and await Certificate.count() == 0


async def test_figures_count_the_year_and_the_subsidy_due(
    client: AsyncTestClient, keys: Keys
) -> None:
    await parties()
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    ent = keys.auth(await keys.make(Role.PROVIDER, "ENT"))
    other = keys.auth(await keys.make(Role.PROVIDER, "OTHER"))
    # Whole of 2025, 中级工: 5,000 due in 2025.
    a = await client.post(
        "/api/v1/apprenticeships",
        json=apprenticeship(
            0, start_date="2025-01-01", end_date="2026-01-01", contract_end_date="2026-01-01"
        ),
        headers=admin,
    )
    # 高级工 from 2024-07-01 to 2026-06-30: 6,000 for 2025; completed 2025-06-30 → half.
    b = await client.post(
        "/api/v1/apprenticeships",
        json=apprenticeship(
            1,
            target_level=3,
            start_date="2024-07-01",
            end_date="2026-06-30",
            contract_end_date="2027-01-01",
        ),
        headers=admin,
    )
    # Terminated in 2025.
    c = await client.post(
        "/api/v1/apprenticeships",
        json=apprenticeship(2, start_date="2025-01-01", end_date="2026-01-01"),
        headers=admin,
    )
    for response in (a, b, c):
        assert response.status_code == 201, response.text
    done = await client.post(
        f"/api/v1/apprenticeships/{b.json()['id']}/complete",
        json={"completed_on": "2025-07-01", "result": "passed"},
        headers=admin,
    )
    assert done.status_code == 200, done.text
    stop = await client.post(
        f"/api/v1/apprenticeships/{c.json()['id']}/terminate",
        json={"terminated_on": "2025-01-31", "reason": "学徒离职"},
        headers=admin,
    )
    assert stop.status_code == 200

    figures = (await client.get("/api/v1/apprenticeships/figures?year=2025", headers=admin)).json()
    assert figures["year"] == 2025
    assert figures["active"] == 3 and figures["started"] == 2
    assert figures["completed"] == 1 and figures["passed"] == 1 and figures["terminated"] == 1
    assert figures["completion_rate"] == 0.5
    by_level = {item["target_level"]: item for item in figures["by_target_level"]}
    assert by_level[4]["subsidy_due"] == 5000 + round(5000 * 31 / 365)
    assert by_level[3]["subsidy_due"] == round(6000 * 182 / 365)
    assert figures["subsidy_due"] == by_level[4]["subsidy_due"] + by_level[3]["subsidy_due"]

    earlier = (await client.get("/api/v1/apprenticeships/figures?year=2024", headers=admin)).json()
    assert earlier["active"] == 1 and earlier["completion_rate"] is None
    assert earlier["subsidy_due"] == round(6000 * 184 / 366)

    assert (await client.get("/api/v1/apprenticeships/figures?year=2025", headers=ent)).json()[
        "active"
    ] == 3
    assert (await client.get("/api/v1/apprenticeships/figures?year=2025", headers=other)).json()[
        "active"
    ] == 0


async def test_openapi_lists_the_three_routes(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        "/api/v1/apprenticeships": {"get", "post"},
        "/api/v1/apprenticeships/figures": {"get"},
        "/api/v1/apprenticeships/{apprenticeship_id}": {"get"},
        "/api/v1/apprenticeships/{apprenticeship_id}/complete": {"post"},
        "/api/v1/apprenticeships/{apprenticeship_id}/terminate": {"post"},
        "/api/v1/competitions": {"get", "post"},
        "/api/v1/competitions/{competition_id}": {"get"},
        "/api/v1/competitions/{competition_id}/results": {"get", "post"},
        "/api/v1/competitions/{competition_id}/results/{result_id}": {"get"},
        "/api/v1/competitions/{competition_id}/confirm": {"post"},
        "/api/v1/recognitions": {"get", "post"},
        "/api/v1/recognitions/partners": {"get"},
        "/api/v1/recognitions/agreements": {"get", "post"},
        "/api/v1/recognitions/agreements/{code}": {"get"},
        "/api/v1/recognitions/{recognition_id}": {"get"},
        "/api/v1/recognitions/{recognition_id}/decision": {"post"},
        "/api/v1/imports/apprentices": {"post"},
        "/api/v1/imports/competition-results": {"post"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        for method in methods:
            assert paths[path][method].get("summary"), (path, method)
