"""Verification tokens: round trip, offline check with the JWKS, forgeries, key rotation, CLI."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from skills_registry import database
from skills_registry.app import create_app
from skills_registry.certificates.signing import (
    CURRENT_FILE,
    InvalidTokenError,
    KeyStore,
    create_signing_key,
    ensure_signing_key,
)
from skills_registry.cli import main
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.conftest import KEYS_DIR, Keys, make_settings
from tests.factories import nth_resident_id

PERSON_ID = nth_resident_id(7)
CERT = {
    "name": "林晓燕",
    "id_type": "居民身份证",
    "id_number": PERSON_ID,
    "kind": "职业技能等级证书",
    "occupation_code": "6-31-01-03",
    "trade": "维修电工",
    "level": 3,
    "issued_on": "2025-05-01",
}


async def issue(client: AsyncTestClient, keys: Keys, **overrides: Any) -> dict[str, Any]:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    response = await client.post("/api/v1/certificates", json={**CERT, **overrides}, headers=pa)
    assert response.status_code in (200, 201), response.text
    return response.json()["certificate"]  # type: ignore[no-any-return]


async def verdict(client: AsyncTestClient, token: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/verify/{token}")  # no API key
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_round_trip_shows_what_is_printed(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    c = await issue(client, keys)
    body = await verdict(client, c["token"])
    assert body["status"] == "valid"
    assert body["checked_at"].endswith("+08:00")
    printed = body["certificate"]
    assert printed == {
        "number": c["number"],
        "kind": "职业技能等级证书",
        "holder_name": "林晓燕",
        "id_type_name": "居民身份证",
        "id_number_masked": PERSON_ID[:4] + "*" * 10 + PERSON_ID[-4:],
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "trade": "维修电工",
        "level": 3,
        "level_name": "三级/高级工",
        "issuer_name": "测试机构PA",
        "issued_on": "2025-05-01",
        "status": "valid",
        "revoked_on": None,
        "reason": None,
        "superseded_by": None,
    }
    assert PERSON_ID not in json.dumps(body)
    url = c["verify_url"]
    print(f"\nverify_url length: {len(url)}")
    assert len(url) <= 300


async def test_revoked_superseded_and_not_found(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str], settings: Settings
) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    first = await issue(client, keys)
    second = await issue(client, keys, level=4)
    await client.post(
        f"/api/v1/certificates/{first['number']}/revoke", json={"reason": "考试作弊"}, headers=admin
    )
    revoked = await verdict(client, first["token"])
    assert revoked["status"] == "revoked"
    assert revoked["certificate"]["reason"] == "考试作弊"
    assert revoked["certificate"]["revoked_on"] is not None

    corrected = await client.post(
        f"/api/v1/certificates/{second['number']}/correct",
        json={"reason": "工种更正", "trade": "电力电工"},
        headers=admin,
    )
    new = corrected.json()
    superseded = await verdict(client, second["token"])
    assert superseded["status"] == "superseded"
    assert superseded["certificate"]["superseded_by"] == new["number"]
    assert (await verdict(client, new["token"]))["status"] == "valid"

    # Signed by our key, but no such certificate.
    store = KeyStore(settings.keys_dir)
    token, _ = store.sign(
        {"n": "S000035999999259000001", "k": "SL", "o": "6-31-01-03", "l": 3, "d": "2025-01-01"}
    )
    missing = await verdict(client, token)
    assert missing == {
        "status": "not_found",
        "checked_at": missing["checked_at"],
        "certificate": None,
    }
    # Signed by our key but claims that disagree with the stored certificate.
    lie, _ = store.sign({**jwt.decode(new["token"], options={"verify_signature": False}), "l": 1})
    assert (await verdict(client, lie))["status"] == "invalid"


async def test_offline_verification_with_only_the_jwks(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    c = await issue(client, keys)
    response = await client.get("/.well-known/jwks.json")  # no API key
    assert response.status_code == 200
    document = response.json()
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == (
            "OKP",
            "Ed25519",
            "EdDSA",
            "sig",
        )
        assert "d" not in jwk
    jwks = jwt.PyJWKSet.from_dict(document)
    kid = jwt.get_unverified_header(c["token"])["kid"]
    claims = jwt.decode(c["token"], jwks[kid].key, algorithms=["EdDSA"])
    assert claims == {
        "n": c["number"],
        "k": "SL",
        "o": "6-31-01-03",
        "l": 3,
        "d": "2025-05-01",
        "m": "林*",
    }


async def test_forged_tampered_and_garbage_tokens_are_invalid(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    c = await issue(client, keys)
    header_b64, payload_b64, signature = c["token"].split(".")
    claims = jwt.decode(c["token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(c["token"])["kid"]

    tampered = f"{header_b64}.{b64({**claims, 'l': 1})}.{signature}"
    other_key = Ed25519PrivateKey.generate()
    forged_same_kid = jwt.encode(claims, other_key, algorithm="EdDSA", headers={"kid": kid})
    unknown_kid = jwt.encode(claims, other_key, algorithm="EdDSA", headers={"kid": "nobody12345"})
    no_kid = jwt.encode(claims, other_key, algorithm="EdDSA")
    alg_none = f"{b64({'alg': 'none', 'kid': kid})}.{payload_b64}."
    hs256 = jwt.encode(
        claims, "secret-secret-secret-secret-1234", algorithm="HS256", headers={"kid": kid}
    )
    bad = [
        tampered,
        forged_same_kid,
        unknown_kid,
        no_kid,
        alg_none,
        hs256,
        "abc",
        "a.b.c",
        "%%%.%%%.%%%",
        f"{header_b64}.{payload_b64}",
        f"{header_b64}.!!!.{signature}",
        "x" * 5000,
    ]
    for token in bad:
        body = await verdict(client, token)
        assert body == {"status": "invalid", "checked_at": body["checked_at"], "certificate": None}
    # Dots, slashes and the like never make a 500.
    assert (await client.get("/api/v1/verify/..")).status_code in (200, 404)


async def test_api_stays_behind_keys_while_verify_is_public(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    c = await issue(client, keys)
    assert (await client.get(f"/api/v1/certificates/{c['number']}")).status_code == 401
    assert (await client.get(f"/api/v1/verify/{c['token']}")).status_code == 200
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/verify/{token}" in schema["paths"]
    assert "/.well-known/jwks.json" in schema["paths"]
    assert "/api/v1/certificates/{number}/revoke" in schema["paths"]


async def test_rotation_keeps_old_tokens_valid(
    keys: Keys, two_providers: tuple[str, str], settings: Settings, tmp_path: Path
) -> None:
    keys_dir = tmp_path / "keys"
    first_kid = ensure_signing_key(keys_dir)
    assert first_kid is not None
    rotated_settings = make_settings(settings.database_url, keys_dir=keys_dir)
    app = create_app(rotated_settings)
    async with AsyncTestClient(app=app) as client:
        old = await issue(client, keys)
        assert jwt.get_unverified_header(old["token"])["kid"] == first_kid

        result = CliRunner().invoke(
            main,
            ["keys", "rotate-signing"],
            env={
                "SKILLS_REGISTRY_ENVIRONMENT": "development",
                "SKILLS_REGISTRY_KEYS_DIR": str(keys_dir),
            },
        )
        assert result.exit_code == 0, result.output
        new_kid = result.output.strip().splitlines()[-1]
        assert new_kid != first_kid
        app.state.keystore.reload()  # servers re-read KEYS_DIR within seconds; now at once

        new = await issue(client, keys, level=4)
        assert jwt.get_unverified_header(new["token"])["kid"] == new_kid
        document = (await client.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in document["keys"]] == [new_kid, first_kid]
        assert (await verdict(client, old["token"]))["status"] == "valid"
        assert (await verdict(client, new["token"]))["status"] == "valid"
        jwks = jwt.PyJWKSet.from_dict(document)
        for token in (old["token"], new["token"]):
            kid = jwt.get_unverified_header(token)["kid"]
            jwt.decode(token, jwks[kid].key, algorithms=["EdDSA"])


def test_key_files_are_private_one_per_kid(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = create_signing_key(keys_dir)
    second = create_signing_key(keys_dir)
    assert sorted(p.name for p in keys_dir.iterdir()) == sorted(
        [f"{first}.pem", f"{second}.pem", CURRENT_FILE]
    )
    for kid in (first, second):
        mode = stat.S_IMODE(os.stat(keys_dir / f"{kid}.pem").st_mode)
        assert mode == 0o600
    assert (keys_dir / CURRENT_FILE).read_text().strip() == second
    store = KeyStore(keys_dir)
    assert store.current_kid == second and store.kids() == sorted([first, second])
    assert ensure_signing_key(keys_dir) is None  # nothing added when one exists
    token, kid = store.sign({"n": "x"})
    assert kid == second and store.verify(token) == {"n": "x"}
    with pytest.raises(InvalidTokenError):
        KeyStore(tmp_path / "elsewhere").verify(token)


def test_migrate_makes_a_key_and_serve_refuses_without_one(tmp_path: Path) -> None:
    env = {
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "SKILLS_REGISTRY_KEYS_DIR": str(tmp_path / "keys"),
    }
    runner = CliRunner()
    engine = database.current_engine()
    try:
        refused = runner.invoke(main, ["serve", "--port", "1"], env=env)
        assert refused.exit_code != 0
        assert "skills-registry migrate" in refused.output
        migrated = runner.invoke(main, ["migrate"], env=env)
        assert migrated.exit_code == 0, migrated.output
        assert "signing key" in migrated.output
        assert KeyStore(tmp_path / "keys").has_current
        again = runner.invoke(main, ["migrate"], env=env)
        assert again.exit_code == 0 and "signing key" not in again.output
    finally:
        database.activate(engine)  # the CLI re-pointed the tables at its own database


def test_shared_test_keys_dir_has_a_key() -> None:
    assert KeyStore(KEYS_DIR).has_current


async def test_without_a_signing_key_issuing_is_503_and_tokens_invalid(
    keys: Keys, two_providers: tuple[str, str], settings: Settings, tmp_path: Path
) -> None:
    app = create_app(make_settings(settings.database_url, keys_dir=tmp_path / "empty"))
    async with AsyncTestClient(app=app) as client:
        pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
        response = await client.post("/api/v1/certificates", json=CERT, headers=pa)
        assert response.status_code == 503
        assert "migrate" in response.json()["detail"]
        assert (await client.get("/.well-known/jwks.json")).json() == {"keys": []}
        assert (await verdict(client, "a.b.c"))["status"] == "invalid"
