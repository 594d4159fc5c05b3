"""What a holder and an employer get: the PDF read back, its QR followed, the public page."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from tests.conftest import Keys
from tests.factories import nth_resident_id
from tests.pdf_reading import pdf_qr_codes, pdf_text

PERSON_ID = nth_resident_id(11)
CERT = {
    "name": "黄美玲",
    "id_type": "居民身份证",
    "id_number": PERSON_ID,
    "kind": "职业技能等级证书",
    "occupation_code": "6-31-01-03",
    "level": 3,
    "issued_on": "2025-05-01",
}


async def issue(
    client: AsyncTestClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/certificates", json={**CERT, **overrides}, headers=headers
    )
    assert response.status_code in (200, 201), response.text
    return response.json()["certificate"]  # type: ignore[no-any-return]


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def test_pdf_read_back_qr_followed_revoked_and_tampered(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    cert = await issue(client, pa)
    response = await client.get(f"/api/v1/certificates/{cert['number']}/pdf", headers=pa)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = response.content
    text = "".join(pdf_text(pdf).split())
    for expected in ("黄美玲", cert["number"], "电工", "三级/高级工", "测试机构PA"):
        assert expected in text, expected
    assert PERSON_ID not in text
    assert len(pdf) < 400_000

    [url] = pdf_qr_codes(pdf, dpi=100)
    assert url == cert["verify_url"]
    page = await client.get(path_of(url))
    assert page.status_code == 200
    assert "有效" in page.text and "黄美玲" in page.text
    assert PERSON_ID not in page.text

    again = await client.get(f"/api/v1/certificates/{cert['number']}/pdf", headers=pa)
    assert again.content == pdf  # cached: same bytes for the same state

    revoke = await client.post(
        f"/api/v1/certificates/{cert['number']}/revoke", json={"reason": "考试作弊"}, headers=pa
    )
    assert revoke.status_code == 200
    page = await client.get(path_of(url))
    assert "已撤销" in page.text and "考试作弊" in page.text
    revoked_pdf = (
        await client.get(f"/api/v1/certificates/{cert['number']}/pdf", headers=pa)
    ).content
    assert revoked_pdf != pdf

    token = url.rsplit("/", 1)[1]
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    forged = await client.get(f"/v/{tampered}")
    assert forged.status_code == 200
    assert "无效" in forged.text and "黄美玲" not in forged.text


async def test_other_provider_gets_404_for_the_pdf(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    cert = await issue(client, pa)
    assert (
        await client.get(f"/api/v1/certificates/{cert['number']}/pdf", headers=pb)
    ).status_code == 404
    bad_lang = await client.get(f"/api/v1/certificates/{cert['number']}/pdf?lang=fr", headers=pa)
    assert bad_lang.status_code == 422


async def test_id_match_says_only_yes_or_no(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    cert = await issue(client, pa)
    match_path = path_of(cert["verify_url"]) + "/match"
    yes = await client.post(match_path, data={"id_number": PERSON_ID.lower()})
    assert yes.status_code == 200 and "一致 Match" in yes.text
    no = await client.post(match_path, data={"id_number": nth_resident_id(12)})
    assert "不一致" in no.text
    assert PERSON_ID not in yes.text + no.text
    garbage = await client.post(match_path, data={"id_number": "hello"})
    assert "不一致" in garbage.text


async def test_public_page_is_phone_sized_without_scripts(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    cert = await issue(client, pa)
    page = await client.get(path_of(cert["verify_url"]))
    assert 'name="viewport"' in page.text
    assert "<script" not in page.text
    assert not re.search(r'(src|href)="https?://', page.text)  # no external resources
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "verify.example.gov.cn" in page.text  # the official domain is shown


async def test_verification_counts_and_monthly_figures(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    cert = await issue(client, pa)
    token = cert["verify_url"].rsplit("/", 1)[1]
    await client.get(f"/v/{token}")
    await client.get(f"/api/v1/verify/{token}")
    await client.get("/v/not-a-token")
    shown = (await client.get(f"/api/v1/certificates/{cert['number']}", headers=pa)).json()
    assert shown["verification_count"] == 2
    assert shown["last_verified_at"] is not None
    monthly = (await client.get("/api/v1/verifications/monthly", headers=viewer)).json()
    by_result = {row["result"]: row["count"] for row in monthly}
    assert by_result == {"valid": 2, "invalid": 1}
    assert (await client.get("/api/v1/verifications/monthly", headers=pa)).status_code == 403


async def test_zip_of_many(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    numbers = {
        (await issue(client, pa, id_number=nth_resident_id(30 + i), name=f"学员{i}"))["number"]
        for i in range(3)
    }
    response = await client.get("/api/v1/certificates/pdfs.zip", headers=pa)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert {name.removesuffix(".pdf") for name in archive.namelist()} == numbers
    for name in archive.namelist():
        assert archive.read(name).startswith(b"%PDF")


async def test_match_check_is_rate_limited(settings, keys: Keys, two_providers) -> None:  # type: ignore[no-untyped-def]
    from skills_registry.app import create_app

    limited = create_app(settings.model_copy(update={"id_match_rate_per_minute": 3}))
    async with AsyncTestClient(app=limited, base_url="https://testserver.local") as client:
        pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
        cert = await issue(client, pa)
        match_path = path_of(cert["verify_url"]) + "/match"
        codes = [
            (await client.post(match_path, data={"id_number": nth_resident_id(50 + i)})).status_code
            for i in range(5)
        ]
        assert codes == [200, 200, 200, 429, 429]
        assert (await client.get(path_of(cert["verify_url"]))).status_code == 200


async def test_a_revocation_reaches_a_caching_server_within_its_cache_time(
    settings,
    keys: Keys,
    two_providers,  # type: ignore[no-untyped-def]
) -> None:
    import asyncio

    from skills_registry.app import create_app

    cached = create_app(settings.model_copy(update={"verification_cache_seconds": 0.5}))
    async with AsyncTestClient(app=cached, base_url="https://testserver.local") as client:
        pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
        cert = await issue(client, pa)
        token = cert["verify_url"].rsplit("/", 1)[1]
        assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "valid"
        revoked = await client.post(
            f"/api/v1/certificates/{cert['number']}/revoke", json={"reason": "错发"}, headers=pa
        )
        assert revoked.status_code == 200
        await asyncio.sleep(0.6)
        assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "revoked"


async def test_batched_verification_log_flushes_in_the_background(
    settings,
    keys: Keys,
    two_providers,  # type: ignore[no-untyped-def]
) -> None:
    import asyncio

    from skills_registry.app import create_app
    from skills_registry.verification.tables import VerificationEvent

    batched = create_app(settings.model_copy(update={"verification_log_flush_seconds": 0.2}))
    async with AsyncTestClient(app=batched, base_url="https://testserver.local") as client:
        pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
        cert = await issue(client, pa)
        token = cert["verify_url"].rsplit("/", 1)[1]
        for _ in range(5):
            assert (await client.get(f"/api/v1/verify/{token}")).json()["status"] == "valid"
        await asyncio.sleep(0.5)
        assert await VerificationEvent.count() == 5
        shown = (await client.get(f"/api/v1/certificates/{cert['number']}", headers=pa)).json()
        assert shown["verification_count"] == 5
