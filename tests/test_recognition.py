"""互认 over the API: agreements and mapping, BRICS and cross-strait records, decisions."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.certificates.tables import Certificate
from skills_registry.principal import Role
from skills_registry.recognition.tables import Recognition
from tests.conftest import Keys, add_provider

ELECTRICIAN = "6-31-01-03"
NURSERY = "4-10-01-02"  # 育婴员: levels 5, 4, 3 only


def taiwan_agreement(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "FJ-TW-JSS",
        "name": "福建省台湾地区技术士证直接采认（示例）",
        "partner": "TWN",
        "document": "示例批次文件（测试用）",
        "issuer": "DES",
        "mapping": [
            {"foreign_level": "乙级", "level": 2},
            {"foreign_level": "丙级", "level": "三级"},
        ],
        **overrides,
    }


def taiwan_holder(**overrides: Any) -> dict[str, Any]:
    return {
        "agreement": "FJ-TW-JSS",
        "name": "陈建宏",
        "id_type": "台湾居民来往大陆通行证",
        "id_number": "12345678",
        "issuing_body": "劳动部劳动力发展署技能检定中心",
        "foreign_title": "技术士证 室内配线",
        "foreign_number": "TW-110-000123",
        "foreign_level": "乙级",
        "occupation_code": ELECTRICIAN,
        **overrides,
    }


async def setup(keys: Keys) -> dict[str, dict[str, str]]:
    await add_provider("DES", kind="评价机构", scope=[(ELECTRICIAN, 1), (NURSERY, 3)])
    await add_provider("PA", scope=[(ELECTRICIAN, 2)])
    return {
        "admin": keys.auth(await keys.make(Role.BUREAU_ADMIN)),
        "viewer": keys.auth(await keys.make(Role.BUREAU_VIEWER)),
        "des": keys.auth(await keys.make(Role.PROVIDER, "DES")),
        "pa": keys.auth(await keys.make(Role.PROVIDER, "PA")),
    }


async def test_taiwan_licence_recognised_as_a_mainland_certificate(
    client: AsyncTestClient, keys: Keys
) -> None:
    auth = await setup(keys)
    created = await client.post(
        "/api/v1/recognitions/agreements", json=taiwan_agreement(), headers=auth["admin"]
    )
    assert created.status_code == 201, created.text
    agreement = created.json()
    assert agreement["partner"] == "TWN" and agreement["partner_name"] == "中国台湾地区"
    assert agreement["partner_kind"] == "cross_strait"
    assert agreement["mapping"][1] == {"foreign_level": "丙级", "level": 3}

    record = await client.post("/api/v1/recognitions", json=taiwan_holder(), headers=auth["des"])
    assert record.status_code == 201, record.text
    body = record.json()
    assert body["status"] == "pending" and body["suggested_level"] == 2
    assert body["partner_name"] == "中国台湾地区" and body["holder_id_number_masked"] != "12345678"
    assert body["certificate_number"] is None and body["pdf_url"] is None
    r_id = body["id"]

    # Only the bureau decides; other providers see nothing.
    assert (
        await client.post(
            f"/api/v1/recognitions/{r_id}/decision",
            json={"decision": "recognised"},
            headers=auth["des"],
        )
    ).status_code == 403
    assert (await client.get(f"/api/v1/recognitions/{r_id}", headers=auth["pa"])).status_code == 404
    assert (await client.get("/api/v1/recognitions", headers=auth["pa"])).json() == []

    decided = await client.post(
        f"/api/v1/recognitions/{r_id}/decision",
        json={"decision": "recognised", "issued_on": "2025-10-01"},
        headers=auth["admin"],
    )
    assert decided.status_code == 200, decided.text
    result = decided.json()
    assert result["status"] == "recognised" and result["level"] == 2
    assert result["decided_by"].endswith("tester") and result["decided_at"]
    number = result["certificate_number"]
    assert result["pdf_url"] == f"/api/v1/certificates/{number}/pdf?lang=zh-en"
    cert = (await client.get(f"/api/v1/certificates/{number}", headers=auth["admin"])).json()
    assert cert["source"] == "recognition" and cert["source_ref"] == str(r_id)
    assert cert["provider"] == "DES" and cert["level"] == 2 and cert["issued_on"] == "2025-10-01"
    assert cert["holder"]["id_type"] == "tw_travel_permit"

    again = await client.post(
        f"/api/v1/recognitions/{r_id}/decision",
        json={"decision": "refused", "reason": "重复"},
        headers=auth["admin"],
    )
    assert again.status_code == 409


async def test_brics_passport_holder_and_refusal(client: AsyncTestClient, keys: Keys) -> None:
    auth = await setup(keys)
    created = await client.post(
        "/api/v1/recognitions/agreements",
        json=taiwan_agreement(
            code="BRICS-RUS-1",
            name="金砖国家职业资格互认试点（示例）",
            partner="俄罗斯",
            document="示例互认批次（测试用）",
            mapping=[
                {"foreign_level": "Level 4", "level": 3},
                {"foreign_level": "Level 5", "level": 2},
            ],
        ),
        headers=auth["admin"],
    )
    assert created.status_code == 201, created.text
    assert created.json()["partner"] == "RUS" and created.json()["partner_kind"] == "brics"

    holder = {
        "agreement": "BRICS-RUS-1",
        "partner": "RUS",
        "name": "Ivan Petrov",
        "id_type": "护照",
        "id_number": "753123456",
        "nationality": "RUS",
        "issuing_body": "National Agency for Qualifications Development",
        "foreign_title": "Electrician",
        "foreign_number": "RU-2024-0001",
        "foreign_level": "level 4",
        "occupation_code": ELECTRICIAN,
    }
    record = await client.post("/api/v1/recognitions", json=holder, headers=auth["admin"])
    assert record.status_code == 201, record.text
    assert record.json()["suggested_level"] == 3
    assert record.json()["holder_nationality"] == "RUS"
    r_id = record.json()["id"]
    no_reason = await client.post(
        f"/api/v1/recognitions/{r_id}/decision", json={"decision": "refused"}, headers=auth["admin"]
    )
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    refused = await client.post(
        f"/api/v1/recognitions/{r_id}/decision",
        json={"decision": "refused", "reason": "证书真实性无法核验"},
        headers=auth["admin"],
    )
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused" and refused.json()["certificate_number"] is None
    assert refused.json()["decision_reason"] == "证书真实性无法核验"
    assert await Certificate.count() == 0

    # A second holder, recognised one level lower than suggested.
    second = await client.post(
        "/api/v1/recognitions",
        json={**holder, "id_number": "753999999", "name": "Olga Ivanova", "foreign_number": "RU-2"},
        headers=auth["admin"],
    )
    lower = await client.post(
        f"/api/v1/recognitions/{second.json()['id']}/decision",
        json={"decision": "recognised", "level": 4},
        headers=auth["admin"],
    )
    assert lower.status_code == 200, lower.text
    cert = (
        await client.get(
            f"/api/v1/certificates/{lower.json()['certificate_number']}", headers=auth["admin"]
        )
    ).json()
    assert cert["level"] == 4 and cert["source"] == "recognition"
    assert cert["holder"]["id_type"] == "passport"


async def test_bad_recognitions_are_refused(client: AsyncTestClient, keys: Keys) -> None:
    auth = await setup(keys)
    unknown = await client.post(
        "/api/v1/recognitions/agreements",
        json=taiwan_agreement(partner="USA"),
        headers=auth["admin"],
    )
    assert unknown.status_code == 422
    assert "不是互认合作方" in unknown.json()["errors"][0]["message"]
    mainland = await client.post(
        "/api/v1/recognitions/agreements",
        json=taiwan_agreement(partner="CHN"),
        headers=auth["admin"],
    )
    assert mainland.status_code == 422
    assert (
        await client.post(
            "/api/v1/recognitions/agreements", json=taiwan_agreement(), headers=auth["des"]
        )
    ).status_code == 403
    assert (
        await client.post(
            "/api/v1/recognitions/agreements", json=taiwan_agreement(), headers=auth["admin"]
        )
    ).status_code == 201

    async def errors(body: dict[str, Any]) -> dict[str, str]:
        response = await client.post("/api/v1/recognitions", json=body, headers=auth["admin"])
        assert response.status_code == 422, response.text
        return {e["field"]: e["message"] for e in response.json()["errors"]}

    unmapped = await errors(taiwan_holder(foreign_level="甲级"))
    assert (
        "对照表没有“甲级”" in unmapped["foreign_level"]
        and "乙级 → 二级/技师" in unmapped["foreign_level"]
    )
    assert "不是互认合作方" in (await errors(taiwan_holder(partner="XYZ")))["partner"]
    assert "合作方是中国台湾地区" in (await errors(taiwan_holder(partner="BRA")))["partner"]
    assert (
        "没有二级/技师" in (await errors(taiwan_holder(occupation_code=NURSERY)))["foreign_level"]
    )
    assert "找不到互认协议" in (await errors(taiwan_holder(agreement="NOPE")))["agreement"]
    assert await Recognition.count() == 0

    ok = await client.post("/api/v1/recognitions", json=taiwan_holder(), headers=auth["admin"])
    assert ok.status_code == 201
    twice = await client.post("/api/v1/recognitions", json=taiwan_holder(), headers=auth["admin"])
    assert twice.status_code == 409
    # A provider that is not the agreement's issuer cannot use it.
    other = await client.post(
        "/api/v1/recognitions", json=taiwan_holder(foreign_number="X-2"), headers=auth["pa"]
    )
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "agreement"
    assert (
        await client.post("/api/v1/recognitions", json=taiwan_holder(), headers=auth["viewer"])
    ).status_code == 403
    # A level the occupation lacks when deciding.
    too_high = await client.post(
        f"/api/v1/recognitions/{ok.json()['id']}/decision",
        json={"decision": "recognised", "level": 0},
        headers=auth["admin"],
    )
    assert too_high.status_code == 422
    partners = (await client.get("/api/v1/recognitions/partners", headers=auth["pa"])).json()
    assert {p["code"] for p in partners} >= {"BRA", "RUS", "IND", "ZAF", "TWN"}
    assert "CHN" not in {p["code"] for p in partners}
