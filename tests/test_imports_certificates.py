"""Uploading a results (certificate) sheet: allocated numbers, mixed rows, re-upload, scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from skills_registry.certificates.tables import Certificate
from skills_registry.principal import Role
from tests.conftest import Keys
from tests.factories import nth_resident_id
from tests.upload_files import csv_bytes, xlsx_bytes

URL = "/api/v1/imports/certificates"
HEADER = [
    "姓名",
    "证件类型",
    "证件号码",
    "证书类型",
    "职业编码",
    "职业名称",
    "工种",
    "等级",
    "证书编号",
    "发证日期",
]


def cert_row(n: int, **overrides: Any) -> list[Any]:
    values = {
        "name": f"考生{n}",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(200 + n),
        "kind": "职业技能等级证书",
        "code": "6-31-01-03",
        "occupation": "电工",
        "trade": "",
        "level": "三级/高级工",
        "number": "",
        "issued_on": "2025/6/30",
        **overrides,
    }
    return list(values.values())


async def upload(
    client: AsyncTestClient, headers: dict[str, str], content: bytes, **params: str
) -> Any:
    url = URL + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
    name = "成绩.xlsx" if content.startswith(b"PK") else "成绩.csv"
    return await client.post(url, files={"file": (name, content)}, headers=headers)


@pytest.fixture
async def pa(client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]) -> dict[str, str]:
    return keys.auth(await keys.make(Role.PROVIDER, "PA"))


async def test_results_sheet_allocates_numbers_and_is_idempotent(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    content = csv_bytes([cert_row(i) for i in range(3)], header=HEADER, encoding="gbk")
    first = await upload(client, pa, content)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["rows"], body["stored"], body["unchanged"]) == ("stored", 3, 3, 0)
    numbers = [c["number"] for c in body["certificates"]]
    assert [c["row"] for c in body["certificates"]] == [2, 3, 4]
    assert all(len(n) == 22 and n[15] == "3" and n[13:15] == "25" for n in numbers)
    again = (await upload(client, pa, content)).json()
    assert (again["stored"], again["unchanged"]) == (0, 3)
    assert [c["number"] for c in again["certificates"]] == numbers
    assert await Certificate.count() == 3


async def test_mixed_rows_all_or_nothing_then_valid_only(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    rows = [
        cert_row(1),
        cert_row(2, level="一级"),  # PA may certify up to level 2 (技师)
        cert_row(3, issued_on="2099-01-01"),
        cert_row(4, number="S000035020001255000123"),  # level digit 5 ≠ level 3
        cert_row(5, kind="专项职业能力证书", level="", number="2535020100000017"),
    ]
    content = xlsx_bytes(rows, header=HEADER)
    refused = await upload(client, pa, content)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["status"], body["stored"], body["rejected"]) == ("rejected", 0, 3), body["errors"]
    by_row = {e["row"]: e for e in body["errors"]}
    assert set(by_row) == {3, 4, 5}
    assert by_row[3]["column"] == "等级"
    assert by_row[4]["column"] == "发证日期"
    assert by_row[5]["column"] == "证书编号"
    assert await Certificate.count() == 0
    partial = (await upload(client, pa, content, mode="valid_only")).json()
    assert (partial["status"], partial["stored"], partial["rejected"]) == ("stored", 2, 3)
    specific = await Certificate.select().where(Certificate.kind == "专项职业能力证书").first()
    assert specific is not None and specific["level"] is None


async def test_zip_by_import_batch(client: AsyncTestClient, pa: dict[str, str]) -> None:
    body = (
        await upload(client, pa, csv_bytes([cert_row(i) for i in range(2)], header=HEADER))
    ).json()
    response = await client.get(
        f"/api/v1/certificates/pdfs.zip?batch_id={body['batch_id']}", headers=pa
    )
    assert response.status_code == 200
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(n.removesuffix(".pdf") for n in names) == sorted(
        c["number"] for c in body["certificates"]
    )


async def test_other_provider_and_template(
    client: AsyncTestClient, keys: Keys, pa: dict[str, str]
) -> None:
    content = csv_bytes([cert_row(1)], header=HEADER)
    forbidden = await client.post(
        URL, files={"file": ("x.csv", content)}, data={"provider": "PB"}, headers=pa
    )
    assert forbidden.status_code == 403
    template = await client.get("/api/v1/imports/templates/certificates.csv", headers=pa)
    assert template.status_code == 200
    assert "证书编号" in template.content.decode("utf-8-sig")
    assert date.today()  # the sheet's dates are checked against the registry's today
