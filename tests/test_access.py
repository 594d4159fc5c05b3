"""Auth details the full matrix (test_access_matrix.py) does not show: kinds of bad key,
cookies on the API, revoked keys, and that a 404 for another provider's record reads like
one for a record that does not exist."""

import pytest
from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from tests.conftest import Keys
from tests.factories import credit_code, resident_id

NEW_PROVIDER = {
    "code": "NEW1",
    "name": "新机构",
    "kind": "评价机构",
    "district": "湖里",
    "credit_code": credit_code("NEW1"),
}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/providers", None),
        ("POST", "/api/v1/providers", NEW_PROVIDER),
        ("GET", "/api/v1/trainees", None),
        ("GET", "/api/v1/audit", None),
        ("GET", "/api/v1/keys", None),
        ("GET", "/api/v1/me", None),
    ],
)
async def test_no_or_unknown_key_is_401(
    client: AsyncTestClient, method: str, path: str, body: dict | None
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer sr_not-a-real-key"},
        {"Authorization": "Basic x"},
    ):
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_api_ignores_cookies(client: AsyncTestClient, keys: Keys) -> None:
    key = await keys.make(Role.BUREAU_ADMIN)
    client.cookies.set("session", key)
    assert (await client.get("/api/v1/providers")).status_code == 401


async def test_revoked_key_is_401(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    victim = await keys.make(Role.BUREAU_VIEWER, label="离职人员")
    assert (await client.get("/api/v1/me", headers=keys.auth(victim))).status_code == 200
    listed = (await client.get("/api/v1/keys", headers=admin)).json()
    victim_id = next(k["id"] for k in listed if k["label"] == "离职人员")
    assert victim not in str(listed)
    assert (await client.post(f"/api/v1/keys/{victim_id}/revoke", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/me", headers=keys.auth(victim))).status_code == 401


async def test_provider_sees_only_itself(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    a = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    assert (await client.get("/api/v1/providers/PA", headers=a)).status_code == 200
    other = await client.get("/api/v1/providers/PB", headers=a)
    assert other.status_code == 404
    missing = await client.get("/api/v1/providers/NOPE", headers=a)
    assert missing.json()["detail"].replace("NOPE", "PB") == other.json()["detail"]
    assert [p["code"] for p in (await client.get("/api/v1/providers", headers=a)).json()] == ["PA"]
    patch = await client.patch("/api/v1/providers/PA", json={"name": "改名"}, headers=a)
    assert patch.status_code == 403


async def test_provider_lists_only_its_people(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    a = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    b = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    for serial, headers in (("001", a), ("002", b), ("003", b)):
        body = {"name": "某人", "id_type": "居民身份证", "id_number": resident_id(serial=serial)}
        assert (
            await client.post("/api/v1/trainees", json=body, headers=headers)
        ).status_code == 201
    assert len((await client.get("/api/v1/trainees", headers=a)).json()) == 1
    assert len((await client.get("/api/v1/trainees", headers=b)).json()) == 2
    admin = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    assert len((await client.get("/api/v1/trainees", headers=admin)).json()) == 3
