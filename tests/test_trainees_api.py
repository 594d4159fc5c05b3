from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from skills_registry.trainees.tables import Trainee
from tests.conftest import Keys
from tests.factories import resident_id

PERSON = {"name": "陈志明", "id_type": "居民身份证", "id_number": resident_id(), "district": "思明"}


async def test_register_masks_and_encrypts(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    provider = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    response = await client.post("/api/v1/trainees", json=PERSON, headers=provider)
    assert response.status_code == 201, response.text
    trainee = response.json()["trainee"]
    assert (
        trainee["id_number_masked"] == PERSON["id_number"][:4] + "*" * 10 + PERSON["id_number"][-4:]
    )
    assert PERSON["id_number"] not in response.text
    assert trainee["gender"] == "男" and trainee["birth_date"] == "1990-01-01"
    stored = await Trainee.select().first()
    assert stored is not None
    assert PERSON["id_number"] not in str(stored.values())


async def test_create_or_link_and_mismatch(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    a = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    b = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    first = await client.post("/api/v1/trainees", json=PERSON, headers=a)
    person_id = first.json()["trainee"]["id"]
    assert (await client.get(f"/api/v1/trainees/{person_id}", headers=b)).status_code == 404
    linked = await client.post(
        "/api/v1/trainees", json={**PERSON, "id_number": PERSON["id_number"].lower()}, headers=b
    )
    assert linked.status_code == 200
    assert linked.json() == {"created": False, "trainee": linked.json()["trainee"]}
    assert linked.json()["trainee"]["id"] == person_id
    assert (await client.get(f"/api/v1/trainees/{person_id}", headers=b)).status_code == 200
    other_name = await client.post("/api/v1/trainees", json={**PERSON, "name": "陈志强"}, headers=b)
    assert other_name.status_code == 409
    assert "陈志明" not in other_name.text


async def test_id_errors_name_the_field(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    bad = PERSON["id_number"][:17] + ("0" if PERSON["id_number"][17] != "0" else "1")
    response = await client.post(
        "/api/v1/trainees", json={**PERSON, "id_number": bad, "gender": "女"}, headers=admin
    )
    assert response.status_code == 422
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert f"校验位应为 {PERSON['id_number'][17]}" in fields["id_number"]
    response = await client.post("/api/v1/trainees", json={**PERSON, "gender": "女"}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "gender"


async def test_lookup_by_id_number_is_audited_without_the_number(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN, label="李处长"))
    await client.post("/api/v1/trainees", json=PERSON, headers=admin)
    found = await client.post(
        "/api/v1/trainees/lookup",
        json={"id_type": "居民身份证", "id_number": PERSON["id_number"]},
        headers=admin,
    )
    assert found.status_code == 200
    assert found.json()["name"] == "陈志明"
    provider = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    hidden = await client.post(
        "/api/v1/trainees/lookup",
        json={"id_type": "居民身份证", "id_number": PERSON["id_number"]},
        headers=provider,
    )
    assert hidden.status_code == 404
    audit = await client.get("/api/v1/audit", params={"action": "trainee.lookup"}, headers=admin)
    assert len(audit.json()) == 2
    assert PERSON["id_number"] not in audit.text
    assert "李处长" in audit.text


async def test_provider_may_fix_phone_but_not_name(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    a = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    person_id = (await client.post("/api/v1/trainees", json=PERSON, headers=a)).json()["trainee"][
        "id"
    ]
    ok = await client.patch(
        f"/api/v1/trainees/{person_id}", json={"phone": "13912345678"}, headers=a
    )
    assert ok.status_code == 200 and ok.json()["phone"] == "13912345678"
    refused = await client.patch(f"/api/v1/trainees/{person_id}", json={"name": "X"}, headers=a)
    assert refused.status_code == 403
    bad_phone = await client.patch(
        f"/api/v1/trainees/{person_id}", json={"phone": "123"}, headers=a
    )
    assert bad_phone.status_code == 422


async def test_passport_holders(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    body = {"name": "Ana Silva", "id_type": "护照", "id_number": "FZ1234567", "nationality": "BRA"}
    first = await client.post("/api/v1/trainees", json=body, headers=admin)
    assert first.status_code == 201
    other_country = await client.post(
        "/api/v1/trainees", json={**body, "name": "Ivan", "nationality": "RUS"}, headers=admin
    )
    assert other_country.status_code == 201
    no_country = await client.post(
        "/api/v1/trainees",
        json={k: v for k, v in body.items() if k != "nationality"},
        headers=admin,
    )
    assert no_country.status_code == 422
    assert no_country.json()["errors"][0]["field"] == "nationality"
