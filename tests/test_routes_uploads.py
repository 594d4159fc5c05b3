"""Apprentice and competition-result sheets through the upload pipeline."""

from __future__ import annotations

import csv
import io
from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.apprenticeships.tables import Apprenticeship
from skills_registry.competitions.tables import CompetitionResult
from skills_registry.principal import Role
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id

ELECTRICIAN = "6-31-01-03"

APPRENTICE_HEADER = [
    "姓名",
    "证件类型",
    "证件号码",
    "企业代码",
    "培训机构代码",
    "职业编码",
    "目标等级",
    "开始日期",
    "结束日期",
    "劳动合同截止日期",
    "企业导师",
    "院校导师",
]
RESULT_HEADER = [
    "竞赛编号",
    "姓名",
    "证件类型",
    "证件号码",
    "职业编码",
    "项目",
    "名次",
    "奖项",
    "荣誉称号",
]


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def apprentice(n: int, **overrides: Any) -> list[Any]:
    values = {
        "name": f"学徒{n}",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(n),
        "enterprise": "",
        "institution": "SCH",
        "occupation_code": ELECTRICIAN,
        "level": "中级工",
        "start": "2025/3/1",
        "end": "2026年2月28日",
        "contract": "2027-02-28",
        "mentor": "王师傅",
        "teacher": "李老师",
        **overrides,
    }
    return list(values.values())


async def upload(
    client: AsyncTestClient, url: str, headers: dict[str, str], content: bytes, **data: str
) -> Any:
    return await client.post(
        url, files={"file": ("名单.csv", content)}, data=data or None, headers=headers
    )


async def test_apprentice_sheet_registers_apprenticeships(
    client: AsyncTestClient, keys: Keys
) -> None:
    await add_provider("ENT", kind="企业", scope=[])
    await add_provider("SCH", kind="技工院校", scope=[(ELECTRICIAN, 2)])
    ent = keys.auth(await keys.make(Role.PROVIDER, "ENT"))
    sch = keys.auth(await keys.make(Role.PROVIDER, "SCH"))
    url = "/api/v1/imports/apprentices"
    template = await client.get("/api/v1/imports/templates/apprentices.csv", headers=ent)
    assert template.status_code == 200 and "劳动合同截止日期" in template.content.decode(
        "utf-8-sig"
    )
    xlsx = await client.get("/api/v1/imports/templates/competition-results.xlsx", headers=ent)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    bad = csv_bytes(
        APPRENTICE_HEADER,
        [apprentice(0), apprentice(1, end="2029-03-01"), apprentice(2, contract="2025-06-01")],
    )
    refused = await upload(client, url, ent, bad)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["status"] == "rejected" and body["rejected"] == 2 and body["stored"] == 0
    by_row = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "最长3年" in by_row[(3, "结束日期")]
    assert "不少于1年" in by_row[(4, "劳动合同截止日期")]
    assert await Apprenticeship.count() == 0

    good = csv_bytes(APPRENTICE_HEADER, [apprentice(0), apprentice(1)], encoding="gb18030")
    stored = await upload(client, url, ent, good)
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 2
    ids = [item["apprenticeship_id"] for item in stored.json()["apprenticeships"]]
    assert len(ids) == 2
    row = await Apprenticeship.select().where(Apprenticeship.id == ids[0]).first()
    assert row is not None and row["subsidy_rate"] == 5000 and row["target_level"] == 4
    # The institution sees them; re-uploading changes nothing.
    listed = await client.get("/api/v1/apprenticeships", headers=sch)
    assert listed.json()["total"] == 2
    again = await upload(client, url, ent, good)
    assert again.status_code == 200 and again.json()["unchanged"] == 2
    assert await Apprenticeship.count() == 2

    # An uploader that is not a party is refused row by row.
    await add_provider("ZZ", kind="技工院校", scope=[])
    zz = keys.auth(await keys.make(Role.PROVIDER, "ZZ"))
    outsider = await upload(
        client, url, zz, csv_bytes(APPRENTICE_HEADER, [apprentice(5, enterprise="ENT")])
    )
    assert outsider.status_code == 422
    assert "上传机构须为" in outsider.json()["errors"][0]["message"]


async def test_competition_results_sheet_then_confirm(client: AsyncTestClient, keys: Keys) -> None:
    await add_provider("ORG", kind="评价机构", scope=[(ELECTRICIAN, 1)])
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    org = keys.auth(await keys.make(Role.PROVIDER, "ORG"))
    for n in (0, 1):
        person = {"name": f"选手{n}", "id_type": "居民身份证", "id_number": nth_resident_id(n)}
        assert (
            await client.post("/api/v1/trainees", json=person, headers=admin)
        ).status_code == 201
    comp = await client.post(
        "/api/v1/competitions",
        json={
            "name": "2025年厦门市职业技能竞赛",
            "year": 2025,
            "level": "municipal_2",
            "organiser": "厦门市总工会",
            "issuer": "ORG",
            "occupations": [ELECTRICIAN],
        },
        headers=admin,
    )
    c_id = comp.json()["id"]
    url = "/api/v1/imports/competition-results"

    def result(n: int, rank: int, name: str | None = None) -> list[Any]:
        return [
            c_id,
            name or f"选手{n}",
            "居民身份证",
            nth_resident_id(n),
            ELECTRICIAN,
            "电工",
            rank,
            "",
            "",
        ]

    not_entered = csv_bytes(RESULT_HEADER, [result(0, 1), result(7, 2, "未登记")])
    refused = await upload(client, url, admin, not_entered, provider="ORG")
    assert refused.status_code == 422, refused.text
    error = refused.json()["errors"][0]
    assert error["row"] == 3 and "尚未登记" in error["message"]
    assert await CompetitionResult.count() == 0

    good = csv_bytes(
        RESULT_HEADER,
        [[*result(0, 1)[:-1], "全国技术能手、厦门市技术能手"], result(1, 2)],
    )
    stored = await upload(client, url, org, good)
    assert stored.status_code == 200, stored.text
    assert stored.json()["stored"] == 2
    again = await upload(client, url, org, good)
    assert again.json()["unchanged"] == 2

    results = (await client.get(f"/api/v1/competitions/{c_id}/results", headers=org)).json()
    first = next(r for r in results if r["rank"] == 1)
    assert first["honours"] == ["全国技术能手", "厦门市技术能手"]
    confirmed = await client.post(f"/api/v1/competitions/{c_id}/confirm", json={}, headers=org)
    assert confirmed.status_code == 200, confirmed.text
    promoted = [r for r in confirmed.json() if r["certificate_number"]]
    assert len(promoted) == 1 and promoted[0]["promoted_level"] == 3
    cert = (
        await client.get(f"/api/v1/certificates/{promoted[0]['certificate_number']}", headers=admin)
    ).json()
    assert cert["source"] == "competition" and cert["source_ref"] == str(promoted[0]["id"])
