"""One record of every provider-owned kind, made through the API for provider "PA".

The schema fuzzer aims path parameters at these; the access matrix checks that another
provider cannot see or change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id
from tests.upload_files import csv_bytes, row

ELECTRICIAN = "6-31-01-03"
HOLDER = {"name": "陈志明", "id_type": "居民身份证", "id_number": nth_resident_id(1)}


@dataclass(frozen=True)
class Records:
    """Keys (Authorization headers) and the ids of provider PA's records."""

    admin: dict[str, str]
    viewer: dict[str, str]
    pa: dict[str, str]
    pb: dict[str, str]
    trainee_id: str
    certificate_number: str
    certificate_token: str
    apprenticeship_id: int
    competition_id: int
    result_id: int
    agreement_code: str
    recognition_id: int
    batch_id: str
    certificate_batch_id: str
    spare_key_id: str


async def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


async def seed_records(client: AsyncTestClient, keys: Keys) -> Records:
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    await add_provider("PB", scope=[(ELECTRICIAN, 1)])
    await add_provider("ENT", kind="企业", scope=[])
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))

    certificate = (
        await _created(
            await client.post(
                "/api/v1/certificates",
                json={
                    **HOLDER,
                    "kind": "职业技能等级证书",
                    "occupation_code": ELECTRICIAN,
                    "level": 3,
                    "issued_on": "2025-05-01",
                },
                headers=pa,
            )
        )
    )["certificate"]
    trainee = (await _created(await client.get("/api/v1/trainees", headers=pa)))[0]
    apprenticeship = await _created(
        await client.post(
            "/api/v1/apprenticeships",
            json={
                "enterprise": "ENT",
                "institution": "PA",
                "name": "林晓东",
                "id_type": "居民身份证",
                "id_number": nth_resident_id(2),
                "occupation_code": ELECTRICIAN,
                "target_level": "四级/中级工",
                "start_date": "2025-03-01",
                "end_date": "2026-08-31",
                "contract_end_date": "2027-02-28",
                "enterprise_mentor": "王师傅",
                "school_mentor": "李老师",
            },
            headers=pa,
        )
    )
    competition = await _created(
        await client.post(
            "/api/v1/competitions",
            json={
                "name": "2025年厦门市职业技能大赛电工项目",
                "year": 2025,
                "level": "市级一类",
                "organiser": "厦门市人力资源和社会保障局",
                "issuer": "PA",
                "occupations": [ELECTRICIAN],
            },
            headers=pa,
        )
    )
    result = await _created(
        await client.post(
            f"/api/v1/competitions/{competition['id']}/results",
            json={**HOLDER, "occupation_code": ELECTRICIAN, "event": "电工", "rank": 1},
            headers=pa,
        )
    )
    agreement = await _created(
        await client.post(
            "/api/v1/recognitions/agreements",
            json={
                "code": "FJ-TW-JSS",
                "name": "福建省台湾地区技术士证直接采认（示例）",
                "partner": "TWN",
                "document": "示例批次文件（测试用）",
                "issuer": "PA",
                "mapping": [{"foreign_level": "乙级", "level": 2}],
            },
            headers=admin,
        )
    )
    recognition = await _created(
        await client.post(
            "/api/v1/recognitions",
            json={
                "agreement": agreement["code"],
                "name": "陈建宏",
                "id_type": "台湾居民来往大陆通行证",
                "id_number": "12345678",
                "issuing_body": "劳动部劳动力发展署技能检定中心",
                "foreign_title": "技术士证 室内配线",
                "foreign_number": "TW-110-000123",
                "foreign_level": "乙级",
                "occupation_code": ELECTRICIAN,
            },
            headers=pa,
        )
    )
    # Two good rows and a bad one, stored in valid_only mode: the batch has an error sheet.
    batch = await _created(
        await client.post(
            "/api/v1/imports/enrolments?mode=valid_only",
            files={"file": ("enrolments.csv", csv_bytes([row(3), row(4), row(5, level="九")]))},
            headers=pa,
        )
    )
    certificate_sheet = (
        "姓名,证件类型,证件号码,证书类型,职业编码,职业名称,等级,发证日期\n"
        f"王五,居民身份证,{nth_resident_id(6)},职业技能等级证书,{ELECTRICIAN},电工,4,2025-06-01\n"
    )
    certificate_batch = await _created(
        await client.post(
            "/api/v1/imports/certificates",
            files={"file": ("certificates.csv", certificate_sheet.encode())},
            headers=pa,
        )
    )
    await keys.make(Role.BUREAU_VIEWER, label="spare")
    listed = await _created(await client.get("/api/v1/keys", headers=admin))
    spare = next(k for k in listed if k["label"] == "spare")
    return Records(
        admin=admin,
        viewer=viewer,
        pa=pa,
        pb=pb,
        trainee_id=str(trainee["id"]),
        certificate_number=certificate["number"],
        certificate_token=certificate["token"],
        apprenticeship_id=apprenticeship["id"],
        competition_id=competition["id"],
        result_id=result["id"],
        agreement_code=agreement["code"],
        recognition_id=recognition["id"],
        batch_id=str(batch["batch_id"]),
        certificate_batch_id=str(certificate_batch["batch_id"]),
        spare_key_id=str(spare["id"]),
    )
