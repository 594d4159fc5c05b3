"""Certificates over the API: numbering, scope, bad input, idempotency, revoke, correct, list."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from litestar.testing import AsyncTestClient

from skills_registry.audit.tables import AuditEvent
from skills_registry.certificates.tables import Certificate
from skills_registry.principal import Role
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id

ELECTRICIAN = "6-31-01-03"
COOK = "4-03-02-01"
BASE = "https://verify.example.gov.cn"


def person(n: int = 0, name: str = "陈志明") -> dict[str, str]:
    return {"name": name, "id_type": "居民身份证", "id_number": nth_resident_id(n)}


def cert(n: int = 0, **overrides: Any) -> dict[str, Any]:
    return {
        **person(n),
        "kind": "职业技能等级证书",
        "occupation_code": ELECTRICIAN,
        "level": "三级/高级工",
        "issued_on": "2025-05-01",
        **overrides,
    }


async def site_code(client: AsyncTestClient, admin: dict[str, str], code: str) -> str:
    return (await client.get(f"/api/v1/providers/{code}", headers=admin)).json()["site_code"]


async def test_issue_allocates_a_22_character_number(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    response = await client.post("/api/v1/certificates", json=cert(), headers=pa)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    c = body["certificate"]
    site = await site_code(client, admin, "PA")
    assert c["number"] == f"S000035{site}253000001"
    assert len(c["number"]) == 22 and c["number_allocated"] is True
    assert c["level"] == 3 and c["level_name"] == "三级/高级工"
    assert c["occupation_name"] == "电工" and c["issuer_name"] == "测试机构PA"
    assert c["status"] == "valid" and c["source"] == "evaluation"
    assert c["holder"]["name"] == "陈志明" and c["holder"]["id_type_name"] == "居民身份证"
    assert nth_resident_id(0) not in response.text
    assert c["verify_url"] == f"{BASE}/v/{c['token']}"
    assert len(c["verify_url"]) <= 300
    header = jwt.get_unverified_header(c["token"])
    assert header == {"alg": "EdDSA", "kid": header["kid"]}
    claims = jwt.decode(c["token"], options={"verify_signature": False})
    assert claims == {
        "n": c["number"],
        "k": "SL",
        "o": ELECTRICIAN,
        "l": 3,
        "d": "2025-05-01",
        "m": "陈*",
    }

    # The same certificate twice is one.
    again = await client.post("/api/v1/certificates", json=cert(), headers=pa)
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["certificate"]["number"] == c["number"]
    assert await Certificate.count() == 1

    fetched = await client.get(f"/api/v1/certificates/{c['number']}", headers=pa)
    assert fetched.status_code == 200 and fetched.json()["token"] == c["token"]
    # Issuing linked the person to the provider.
    holder = c["holder"]["trainee_id"]
    assert (await client.get(f"/api/v1/trainees/{holder}", headers=pa)).status_code == 200


async def test_serials_count_per_prefix_with_letter_and_level_digit(
    client: AsyncTestClient, keys: Keys, app: Any
) -> None:
    await add_provider(
        "EN", kind="企业", scope=[(ELECTRICIAN, 1)], evaluator_code="1234", site_code="020001"
    )
    en = keys.auth(await keys.make(Role.PROVIDER, "EN"))
    numbers = []
    for n, (level, year) in enumerate([(3, 2025), (3, 2025), (4, 2025), (1, 2024), (3, 2024)]):
        response = await client.post(
            "/api/v1/certificates",
            json=cert(n, level=level, issued_on=f"{year}-03-01"),
            headers=en,
        )
        assert response.status_code == 201, response.text
        numbers.append(response.json()["certificate"]["number"])
    assert numbers == [
        "Y123435020001253000001",
        "Y123435020001253000002",
        "Y123435020001254000001",
        "Y123435020001241000001",
        "Y123435020001243000001",
    ]
    for number in numbers:
        assert number[15] in "12345"


async def test_scope_and_level_refusals_say_why(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))

    too_high = await client.post("/api/v1/certificates", json=cert(level=1), headers=pa)
    assert too_high.status_code == 422
    assert too_high.json()["errors"][0]["field"] == "level"
    assert "最高只能认定到二级/技师" in too_high.json()["errors"][0]["message"]

    outside = await client.post("/api/v1/certificates", json=cert(occupation_code=COOK), headers=pa)
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "occupation_code"
    assert "评价范围" in outside.json()["errors"][0]["message"]

    await add_provider("NU", scope=[("4-10-01-02", 1)])  # 育婴员: levels 5, 4, 3 only
    nursery = await client.post(
        "/api/v1/certificates",
        json=cert(occupation_code="4-10-01-02", level=2, provider="NU"),
        headers=admin,
    )
    assert nursery.status_code == 422
    assert "没有二级/技师" in nursery.json()["errors"][0]["message"]

    other = await client.post("/api/v1/certificates", json=cert(provider="PB"), headers=pa)
    assert other.status_code == 403
    no_provider = await client.post("/api/v1/certificates", json=cert(), headers=admin)
    assert no_provider.status_code == 422
    assert no_provider.json()["errors"][0]["field"] == "provider"
    assert (
        await client.post("/api/v1/certificates", json=cert(provider="PA"), headers=viewer)
    ).status_code == 403

    suspend = await client.patch(
        "/api/v1/providers/PA", json={"status": "suspended"}, headers=admin
    )
    assert suspend.status_code == 200
    suspended = await client.post("/api/v1/certificates", json=cert(), headers=pa)
    assert suspended.status_code == 422
    assert suspended.json()["errors"][0]["field"] == "provider"
    assert "暂停" in suspended.json()["errors"][0]["message"]
    assert await Certificate.count() == 0


async def test_bad_input_is_a_clear_422(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))

    async def errors(body: dict[str, Any]) -> dict[str, str]:
        response = await client.post("/api/v1/certificates", json=body, headers=pa)
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    wrong_digit = await errors(cert(number="S000035020001254000123"))
    assert "等级位" in wrong_digit["number"] and "4" in wrong_digit["number"]
    assert "格式" in (await errors(cert(number="ABC123")))["number"]
    assert (
        "大类-中类-小类-细类" in (await errors(cert(occupation_code="6-31-1-3")))["occupation_code"]
    )
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert "晚于今天" in (await errors(cert(issued_on=tomorrow)))["issued_on"]
    assert "number" in await errors(cert(kind="职业资格证书"))
    assert "level" in await errors(cert(kind="专项职业能力证书", number="S000035020001253000001"))
    assert "kind" in await errors(cert(kind="毕业证"))
    many = await errors(cert(id_number="123", level="九级", issued_on=tomorrow))
    assert {"id_number", "level", "issued_on"} <= many.keys()
    assert await Certificate.count() == 0


async def test_supplied_numbers_are_kept_and_idempotent(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    # yy 15, province 35, city 02, institution type 0, institution 100, level 4, serial 00017
    old_style = cert(kind="职业资格证书", level=4, number="1535020100400017")
    response = await client.post("/api/v1/certificates", json=old_style, headers=pa)
    assert response.status_code == 201, response.text
    c = response.json()["certificate"]
    assert c["number"] == old_style["number"] and c["number_allocated"] is False
    assert c["kind_code"] == "VQ"
    again = await client.post("/api/v1/certificates", json=old_style, headers=pa)
    assert again.status_code == 200 and again.json()["created"] is False

    imported = cert(1, number="s 0000 35 999999 24 3 000777", source="import")
    response = await client.post("/api/v1/certificates", json=imported, headers=pa)
    assert response.status_code == 201, response.text
    assert response.json()["certificate"]["number"] == "S000035999999243000777"

    taken = await client.post(
        "/api/v1/certificates", json={**imported, **person(2, "王芳")}, headers=pa
    )
    assert taken.status_code == 409
    assert "另一张证书" in taken.json()["detail"]

    specific = cert(3, kind="专项职业能力证书", level=None, number="S000035020001250000009")
    response = await client.post("/api/v1/certificates", json=specific, headers=pa)
    assert response.status_code == 201, response.text
    assert response.json()["certificate"]["level"] is None


async def test_holder_by_trainee_id_and_name_mismatch(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    registered = await client.post(
        "/api/v1/trainees", json={**person(5), "district": "湖里"}, headers=pa
    )
    trainee_id = registered.json()["trainee"]["id"]
    body = {k: v for k, v in cert().items() if k not in {"name", "id_type", "id_number"}}
    response = await client.post(
        "/api/v1/certificates", json={**body, "trainee_id": trainee_id}, headers=pa
    )
    assert response.status_code == 201, response.text
    assert response.json()["certificate"]["holder"]["trainee_id"] == trainee_id
    assert response.json()["certificate"]["district"] == "350206"
    # PB has not entered this person: it cannot name them by id.
    hidden = await client.post(
        "/api/v1/certificates",
        json={**body, "occupation_code": COOK, "trainee_id": trainee_id},
        headers=pb,
    )
    assert hidden.status_code == 422 and hidden.json()["errors"][0]["field"] == "trainee_id"
    # Same ID number, another name: refused without revealing the stored one.
    mismatch = await client.post(
        "/api/v1/certificates", json={**cert(5), "name": "陈志强", "level": 4}, headers=pa
    )
    assert mismatch.status_code == 409
    assert "陈志明" not in mismatch.text
    # Same person by fields links to the same trainee (no duplicate person).
    linked = await client.post(
        "/api/v1/certificates", json={**cert(5), "occupation_code": COOK}, headers=pb
    )
    assert linked.status_code == 201
    assert linked.json()["certificate"]["holder"]["trainee_id"] == trainee_id


async def test_revoke_once_by_the_issuer_or_the_bureau(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN, label="李处长"))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    first = (await client.post("/api/v1/certificates", json=cert(), headers=pa)).json()
    second = (await client.post("/api/v1/certificates", json=cert(1), headers=pa)).json()
    number = first["certificate"]["number"]
    url = f"/api/v1/certificates/{number}/revoke"

    assert (await client.post(url, json={"reason": "冒名顶替"}, headers=pb)).status_code == 404
    assert (await client.post(url, json={"reason": "冒名顶替"}, headers=viewer)).status_code == 403
    assert (await client.post(url, json={}, headers=pa)).status_code == 422
    revoked = await client.post(url, json={"reason": "考试作弊"}, headers=pa)
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["status"] == "revoked" and body["revoked_reason"] == "考试作弊"
    assert body["revoked_on"] is not None and "key:" in body["revoked_by"]
    twice = await client.post(url, json={"reason": "again"}, headers=admin)
    assert twice.status_code == 409
    assert "已于" in twice.json()["detail"]

    other = second["certificate"]["number"]
    by_bureau = await client.post(
        f"/api/v1/certificates/{other}/revoke", json={"reason": "材料造假"}, headers=admin
    )
    assert by_bureau.status_code == 200
    assert "李处长" in by_bureau.json()["revoked_by"]
    # Nothing is deleted; every step is in the audit trail.
    assert await Certificate.count() == 2
    actions = await AuditEvent.select(AuditEvent.action, AuditEvent.entity_id).where(
        AuditEvent.entity_type == "certificate"
    )
    assert {(a["action"], a["entity_id"]) for a in actions} >= {
        ("certificate.issue", number),
        ("certificate.revoke", number),
        ("certificate.revoke", other),
    }
    # Re-sending the revoked certificate does not bring it back.
    again = await client.post("/api/v1/certificates", json=cert(), headers=pa)
    assert again.status_code == 200
    assert again.json()["certificate"]["status"] == "revoked"


async def test_correction_supersedes_with_a_new_certificate(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    original = (
        await client.post("/api/v1/certificates", json=cert(issued_on="2024-06-30"), headers=pa)
    ).json()["certificate"]
    url = f"/api/v1/certificates/{original['number']}/correct"

    unchanged = await client.post(url, json={"reason": "核对", "level": 3}, headers=admin)
    assert unchanged.status_code == 422
    out_of_scope = await client.post(url, json={"reason": "更正等级", "level": 1}, headers=pa)
    assert out_of_scope.status_code == 422

    corrected = await client.post(
        url, json={"reason": "等级录入错误", "level": 2, "trade": "维修电工"}, headers=admin
    )
    assert corrected.status_code == 201, corrected.text
    new = corrected.json()
    assert new["number"] != original["number"] and new["number"][15] == "2"
    assert new["supersedes"] == original["number"]
    assert new["issued_on"] == "2024-06-30"  # the replacement keeps the original date
    assert new["number"][13:15] == "24"
    assert new["trade"] == "维修电工" and new["status"] == "valid"
    assert new["holder"] == original["holder"]

    old = (await client.get(f"/api/v1/certificates/{original['number']}", headers=pa)).json()
    assert old["status"] == "superseded" and old["superseded_by"] == new["number"]
    assert (
        await client.post(url, json={"reason": "再改", "level": 4}, headers=pa)
    ).status_code == 409
    revoke_old = await client.post(
        f"/api/v1/certificates/{original['number']}/revoke", json={"reason": "x1"}, headers=pa
    )
    assert revoke_old.status_code == 409

    # The old row's natural key went to the replacement: re-sending the original row is new.
    assert await Certificate.count() == 2
    audit = await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity_id == original["number"]
    )
    assert {"certificate.issue", "certificate.supersede"} <= {a["action"] for a in audit}


async def test_list_filters_paginates_and_scopes(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    issued = []
    for n, (level, day) in enumerate([(3, "2024-01-10"), (4, "2024-06-01"), (2, "2025-02-02")]):
        response = await client.post(
            "/api/v1/certificates", json=cert(n, level=level, issued_on=day), headers=pa
        )
        issued.append(response.json()["certificate"])
    cook = await client.post(
        "/api/v1/certificates", json=cert(0, occupation_code=COOK, level=4), headers=pb
    )
    assert cook.status_code == 201

    async def page(params: dict[str, Any], headers: dict[str, str] = viewer) -> dict[str, Any]:
        response = await client.get("/api/v1/certificates", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    everything = await page({})
    assert everything["total"] == 4
    assert [c["issued_on"] for c in everything["items"]][:2] == ["2025-05-01", "2025-02-02"]
    assert (await page({"provider": "PA"}))["total"] == 3
    assert (await page({"level": 4}))["total"] == 2
    assert (await page({"occupation_code": COOK}))["total"] == 1
    assert (await page({"issued_from": "2024-01-01", "issued_to": "2024-12-31"}))["total"] == 2
    person0 = issued[0]["holder"]["trainee_id"]
    assert (await page({"trainee_id": person0}))["total"] == 2
    paged = await page({"limit": 2, "offset": 2})
    assert paged["total"] == 4 and len(paged["items"]) == 2
    await client.post(
        f"/api/v1/certificates/{issued[1]['number']}/revoke", json={"reason": "作废"}, headers=pa
    )
    assert [c["number"] for c in (await page({"status": "revoked"}))["items"]] == [
        issued[1]["number"]
    ]
    # A provider sees only its own; another's certificate is a 404.
    assert (await page({}, pb))["total"] == 1
    assert (await page({"provider": "PA"}, pb))["total"] == 0
    hidden = await client.get(f"/api/v1/certificates/{issued[0]['number']}", headers=pb)
    assert hidden.status_code == 404
    assert (await client.get("/api/v1/certificates", headers={})).status_code == 401


async def test_correcting_a_supplied_number_needs_a_new_number(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    imported = cert(number="S000035999999243000777", source="import", issued_on="2024-02-02")
    original = (await client.post("/api/v1/certificates", json=imported, headers=pa)).json()
    number = original["certificate"]["number"]
    url = f"/api/v1/certificates/{number}/correct"
    missing = await client.post(url, json={"reason": "工种", "trade": "高压电工"}, headers=pa)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "number"
    same = await client.post(
        url, json={"reason": "工种", "trade": "高压电工", "number": number}, headers=pa
    )
    assert same.status_code == 422
    fixed = await client.post(
        url,
        json={"reason": "工种", "trade": "高压电工", "number": "S000035999999243000778"},
        headers=pa,
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["number_allocated"] is False
    assert fixed.json()["source"] == "import" and fixed.json()["issued_on"] == "2024-02-02"
