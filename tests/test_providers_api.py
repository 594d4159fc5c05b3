from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from tests.conftest import Keys
from tests.factories import credit_code

PROBLEM = "application/problem+json"


def provider_body(code: str = "XM01", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": "厦门测试技工学校",
        "kind": "技工院校",
        "district": "集美区",
        "credit_code": credit_code(code),
        "scope": [{"occupation_code": "6-31-01-03", "max_level": 3}],
        **overrides,
    }


async def test_create_and_read_provider(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    response = await client.post("/api/v1/providers", json=provider_body(), headers=admin)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["district"] == "350211"
    assert body["district_name"] == "集美区"
    assert body["evaluator_code"] == "0000"
    assert len(body["site_code"]) == 6
    assert body["scope"] == [{"occupation_code": "6-31-01-03", "max_level": 3}]
    got = await client.get("/api/v1/providers/XM01", headers=admin)
    assert got.json()["credit_code"] == body["credit_code"]


async def test_site_codes_are_allocated_distinct(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    first = await client.post(
        "/api/v1/providers", json=provider_body("A1", site_code="000002"), headers=admin
    )
    second = await client.post("/api/v1/providers", json=provider_body("A2"), headers=admin)
    third = await client.post("/api/v1/providers", json=provider_body("A3"), headers=admin)
    codes = {r.json()["site_code"] for r in (first, second, third)}
    assert len(codes) == 3


async def test_bad_fields_answer_422_naming_each(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    body = provider_body(
        credit_code="91350200MA2Y0A1B5D",
        district="鼓楼区",
        kind="学校",
        scope=[{"occupation_code": "63101", "max_level": 7}],
    )
    response = await client.post("/api/v1/providers", json=body, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "校验位应为 C" in errors["credit_code"]
    assert "厦门" in errors["district"]
    assert "kind" in errors
    assert any(field.startswith("scope") for field in errors)


async def test_unknown_fields_are_refused(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    response = await client.post(
        "/api/v1/providers", json=provider_body(password="x"), headers=admin
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "password"


async def test_duplicates_answer_409(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    assert (
        await client.post("/api/v1/providers", json=provider_body(), headers=admin)
    ).status_code == 201
    again = await client.post("/api/v1/providers", json=provider_body(), headers=admin)
    assert again.status_code == 409
    same_credit = provider_body("OTHER", credit_code=provider_body()["credit_code"])
    assert (
        await client.post("/api/v1/providers", json=same_credit, headers=admin)
    ).status_code == 409


async def test_update_scope_and_status_is_audited(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN, label="王科长"))
    await client.post("/api/v1/providers", json=provider_body(), headers=admin)
    response = await client.patch(
        "/api/v1/providers/XM01",
        json={
            "status": "suspended",
            "scope": [{"occupation_code": "4-03-02-01", "max_level": "高级工"}],
        },
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suspended"
    assert response.json()["scope"] == [{"occupation_code": "4-03-02-01", "max_level": 3}]
    audit = await client.get(
        "/api/v1/audit",
        params={"entity_type": "provider", "action": "provider.update"},
        headers=admin,
    )
    [event] = audit.json()
    assert "王科长" in event["actor"]
    assert event["changes"]["status"] == {"from": "active", "to": "suspended"}
    assert event["changes"]["scope"]["to"] == [{"occupation_code": "4-03-02-01", "max_level": 3}]


async def test_unknown_occupation_is_a_warning(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    body = provider_body(scope=[{"occupation_code": "8-99-99-99", "max_level": 3}])
    response = await client.post("/api/v1/providers", json=body, headers=admin)
    assert response.status_code == 201
    assert "8-99-99-99" in response.json()["warnings"][0]
