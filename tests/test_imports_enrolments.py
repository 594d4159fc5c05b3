"""Uploading enrolment sheets: encodings, spellings, row errors, modes, scoping, limits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from skills_registry.audit.tables import AuditEvent
from skills_registry.imports.tables import ImportBatch
from skills_registry.principal import Role
from skills_registry.trainees.tables import Enrolment, ProviderLink, Trainee
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id, resident_id
from tests.upload_files import ENGLISH_HEADER, HEADER, csv_bytes, read_xlsx, row, xlsx_bytes

URL = "/api/v1/imports/enrolments"


async def upload(
    client: AsyncTestClient,
    headers: dict[str, str],
    content: bytes,
    *,
    name: str = "名单.csv",
    provider: str | None = None,
    mode: str | None = None,
) -> Any:
    data = {"provider": provider} if provider else None
    url = f"{URL}?mode={mode}" if mode else URL
    return await client.post(url, files={"file": (name, content)}, data=data, headers=headers)


@pytest.fixture
async def pa(client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]) -> dict[str, str]:
    return keys.auth(await keys.make(Role.PROVIDER, "PA", label="王老师"))


async def test_gbk_csv_with_title_row_and_mixed_spellings(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    lower_x = resident_id("350203", "19850612", "004")
    assert lower_x.endswith("X"), "factory should give an ID ending in X"
    rows = [
        row(1, start="2024-05-01", end="2024/7/31", level="3"),
        row(2, start="2024/5/1", end="2024年7月31日", level="三级"),
        row(3, start="2024年5月1日", end="2024-07-31", level="高级工", category="企业职工"),
        row(4, start="2024-05-01", end="", level="三级/高级工", status="在训"),
        # full-width digits and spaces, lower-case x
        row(
            5,
            name=" 林 小红 ",
            id_number=" "
            + lower_x.lower().translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            level="４",
            trade="低压电工",
        ),
        row(6, level="2", status="退出", end="2024-06-01"),
    ]
    header = [f" {h} " for h in HEADER] + ["备注"]
    content = csv_bytes(
        [[*r, "备注内容"] for r in rows],
        header=header,
        encoding="gbk",
        above=[["2024年电工培训班报名表"], []],
    )
    response = await upload(client, pa, content)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "batch_id",
        "status",
        "rows",
        "stored",
        "unchanged",
        "rejected",
        "errors",
        "errors_truncated",
        "warnings",
    }
    assert body["status"] == "stored"
    assert (body["rows"], body["stored"], body["unchanged"], body["rejected"]) == (6, 6, 0, 0)
    assert body["errors"] == []
    assert any("备注" in w for w in body["warnings"])
    enrolments = await Enrolment.select().order_by(Enrolment.created_at)
    assert len(enrolments) == 6
    levels = sorted(e["level"] for e in enrolments)
    assert levels == [2, 3, 3, 3, 3, 4]
    assert {e["start_date"] for e in enrolments} == {date(2024, 5, 1)}
    in_training = next(e for e in enrolments if e["status"] == "在训")
    assert in_training["end_date"] is None
    fifth = await Trainee.select().where(
        Trainee.id_number_masked == lower_x[:4] + "*" * 10 + lower_x[-4:]
    )
    assert fifth and fifth[0]["name"] == "林 小红"
    assert {e["trade"] for e in enrolments} == {"", "低压电工"}
    assert await ProviderLink.count() == 6


async def test_xlsx_with_date_cells_and_english_headers(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    rows = [
        row(10, start=datetime(2024, 3, 1), end=datetime(2024, 4, 30), level=3),
        row(11, start=date(2024, 3, 2), end=45413, level="三级"),  # a lost date format: serial
        row(12, start="2024年3月3日", end=None, status="在训", phone=13800000001),
    ]
    content = xlsx_bytes(rows, header=ENGLISH_HEADER, above=[["培训名单"], [None]])
    response = await upload(client, pa, content, name="class.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 3
    stored = {
        (e["start_date"], e["end_date"])
        for e in await Enrolment.select(Enrolment.start_date, Enrolment.end_date)
    }
    assert stored == {
        (date(2024, 3, 1), date(2024, 4, 30)),
        (date(2024, 3, 2), date(2024, 5, 1)),
        (date(2024, 3, 3), None),
    }
    phones = {t["phone"] for t in await Trainee.select(Trainee.phone)}
    assert "13800000001" in phones
    # an ID typed as a number: Excel keeps 15 digits and shows 3.50203199001011E+17
    damaged = xlsx_bytes([row(13, id_number=float(nth_resident_id(13)[:17] + "0"))])
    response = await upload(client, pa, damaged, name="damaged.xlsx")
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["row"], error["column"]) == (2, "证件号码")
    assert "文本" in error["message"]


async def test_each_kind_of_bad_row_is_reported_and_nothing_is_stored(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    good = nth_resident_id(20)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        row(20),  # row 3: fine
        row(21, id_number=bad_check),  # row 4
        row(22, id_number="3.50203E+17"),  # row 5: Excel damage
        row(23, start="2024-05-01", end="2024-04-01"),  # row 6: end < start
        row(24, category="学生"),  # row 7
        row(25, code="4-03-02-01"),  # row 8: outside PA's scope
        row(26, level="1"),  # row 9: above PA's max level 2
        row(27, start="2024-13-45"),  # row 10: not a date
        row(28, name=""),  # row 11
        row(20),  # row 12: duplicates row 3
        row(29, status="毕业"),  # row 13
        row(30, status="结业", end=""),  # row 14
    ]
    content = csv_bytes(rows, above=[["2024年电工培训班报名表"]])
    response = await upload(client, pa, content)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == "rejected"
    assert (body["rows"], body["stored"], body["unchanged"], body["rejected"]) == (12, 0, 0, 11)
    by_row = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "校验位" in by_row[(4, "证件号码")]
    assert "文本" in by_row[(5, "证件号码")] and "Text" in by_row[(5, "证件号码")]
    assert "早于" in by_row[(6, "培训结束日期")]
    assert "人员类别" in by_row[(7, "人员类别")]
    assert "范围" in by_row[(8, "职业编码")]
    assert "二级/技师" in by_row[(9, "申报等级")]
    assert "日期" in by_row[(10, "培训开始日期")]
    assert "姓名" in by_row[(11, "姓名")]
    assert "第3行" in by_row[(12, None)]
    assert "在训" in by_row[(13, "培训状态")]
    assert "结束日期" in by_row[(14, "培训结束日期")]
    for message in by_row.values():
        assert " / " in message  # Chinese, then English
    assert await Enrolment.count() == 0
    assert await Trainee.count() == 0
    assert await ProviderLink.count() == 0
    batch = await ImportBatch.select().where(ImportBatch.id == body["batch_id"]).first()
    assert batch is not None and batch["status"] == "rejected" and batch["rejected"] == 11


async def test_valid_only_stores_the_good_rows(client: AsyncTestClient, pa: dict[str, str]) -> None:
    content = csv_bytes([row(40), row(41, category="?"), row(42)])
    response = await upload(client, pa, content, mode="valid_only")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["stored"], body["rejected"]) == ("stored", 2, 1)
    assert body["errors"][0]["row"] == 3
    assert await Enrolment.count() == 2
    # nothing valid at all: rejected even in valid_only
    response = await upload(client, pa, csv_bytes([row(43, category="?")]), mode="valid_only")
    assert response.status_code == 422
    assert response.json()["status"] == "rejected"


async def test_reupload_is_idempotent_and_changes_are_audited(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    rows = [row(50, status="在训", end=""), row(51), row(52)]
    first = await upload(client, pa, csv_bytes(rows))
    assert first.json()["stored"] == 3
    again = await upload(client, pa, xlsx_bytes(rows), name="again.xlsx")
    assert again.status_code == 200
    assert (again.json()["stored"], again.json()["unchanged"]) == (0, 3)
    assert await Enrolment.count() == 3
    assert await Trainee.count() == 3
    changed = [row(50, status="结业", end="2024-07-31"), row(51), row(52)]
    third = await upload(client, pa, csv_bytes(changed))
    assert (third.json()["stored"], third.json()["unchanged"]) == (1, 2)
    assert await Enrolment.count() == 3
    updated = await Enrolment.select().where(Enrolment.status == "结业")
    assert len(updated) == 3
    events = await AuditEvent.select().where(AuditEvent.action == "enrolment.update")
    assert len(events) == 1
    assert "王老师" in events[0]["actor"]


async def test_name_disagreeing_with_stored_person_is_a_row_error(
    client: AsyncTestClient, keys: Keys, pa: dict[str, str]
) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    person = {"name": "陈志明", "id_type": "居民身份证", "id_number": nth_resident_id(60)}
    assert (await client.post("/api/v1/trainees", json=person, headers=admin)).status_code == 201
    response = await upload(client, pa, csv_bytes([row(60, name="陈志强"), row(61)]))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "姓名")]
    assert "陈志明" not in response.text
    assert await Enrolment.count() == 0
    # the same person with the right name links to the stored one
    response = await upload(client, pa, csv_bytes([row(60, name="陈志明")]))
    assert response.status_code == 200
    assert await Trainee.count() == 1


async def test_provider_scoping(client: AsyncTestClient, keys: Keys, pa: dict[str, str]) -> None:
    content = csv_bytes([row(70)])
    other = await upload(client, pa, content, provider="PB")
    assert other.status_code == 403
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    missing = await upload(client, admin, content)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "provider"
    viewer = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    assert (await upload(client, viewer, content, provider="PA")).status_code == 403
    ok = await upload(client, admin, content, provider="PA")
    assert ok.status_code == 200, ok.text
    batch_id = ok.json()["batch_id"]
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    assert (await client.get("/api/v1/imports", headers=pb)).json() == []
    assert (await client.get(f"/api/v1/imports/{batch_id}", headers=pb)).status_code == 404
    mine = (await client.get("/api/v1/imports", headers=pa)).json()
    assert [b["batch_id"] for b in mine] == [batch_id]
    assert mine[0]["provider"] == "PA" and mine[0]["rows"] == 1
    assert len((await client.get("/api/v1/imports", headers=viewer)).json()) == 1


async def test_provider_without_scope_cannot_upload_enrolments(
    client: AsyncTestClient, keys: Keys, app: Litestar
) -> None:
    await add_provider("PC")
    pc = keys.auth(await keys.make(Role.PROVIDER, "PC"))
    response = await upload(client, pc, csv_bytes([row(80)]))
    assert response.status_code == 422
    assert "范围" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "空"),
        ("header.csv", csv_bytes([]), "只有表头"),
        ("blank.csv", b"\r\n,,,\r\n", "空"),
        ("report.pdf", b"%PDF-1.7 ...", "不支持的文件类型"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        ("fake.xlsx", b"name,id\n", "不是Excel工作簿"),
        ("utf16.csv", "姓名,证件类型\n".encode("utf-16"), "不是文本格式"),
        ("latin.csv", b"\xff\xfe\xff\x80\x80", "编码无法识别"),
        ("noheader.csv", b"a,b,c\n1,2,3\n", "找不到表头"),
        (
            "missing.csv",
            csv_bytes([["张三", "居民身份证", "x"]], header=["姓名", "证件类型", "证件号码"]),
            "缺少必需的列",
        ),
        (
            "dup.csv",
            csv_bytes([row(1)], header=[*HEADER[:-1], "姓名"]),
            "重复的列",
        ),
    ],
)
async def test_whole_file_errors(
    client: AsyncTestClient, pa: dict[str, str], name: str, content: bytes, expected: str
) -> None:
    response = await upload(client, pa, content, name=name)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["status"] == "rejected" and body["stored"] == 0
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert error["row"] is None and error["column"] is None
    assert expected in error["message"], error["message"]
    assert await ImportBatch.count() == 1


async def test_many_errors_are_truncated_but_all_in_the_error_sheet(
    client: AsyncTestClient, pa: dict[str, str]
) -> None:
    rows = [row(100 + i, category="?") for i in range(1005)]
    response = await upload(client, pa, csv_bytes(rows))
    body = response.json()
    assert response.status_code == 422
    assert body["rejected"] == 1005
    assert len(body["errors"]) == 1000 and body["errors_truncated"] is True
    sheet = await client.get(f"/api/v1/imports/{body['batch_id']}/errors.xlsx", headers=pa)
    assert sheet.status_code == 200
    table = read_xlsx(sheet.content)
    assert len(table) == 1 + 1005
    assert sum(1 for r in table[1:] if r[-1]) == 1005


async def test_error_sheet_has_the_rows_but_the_record_hides_id_numbers(
    client: AsyncTestClient, keys: Keys, pa: dict[str, str]
) -> None:
    bad_id = nth_resident_id(90)
    rows = [row(90, id_number=bad_id, start="2024-05-01", end="2024-04-01"), row(91)]
    body = (await upload(client, pa, csv_bytes(rows, above=[["标题"]]), mode="valid_only")).json()
    assert body["stored"] == 1 and body["errors"][0]["row"] == 3
    record = await ImportBatch.select().where(ImportBatch.id == body["batch_id"]).first()
    assert record is not None
    assert bad_id not in str(record["errors"])
    assert bad_id.encode() not in bytes(record["error_sheet"])
    sheet = await client.get(f"/api/v1/imports/{body['batch_id']}/errors.xlsx", headers=pa)
    assert sheet.status_code == 200
    table = read_xlsx(sheet.content)
    assert table[0][: len(HEADER)] == HEADER
    assert len(table) == 2  # valid_only: only the rejected row
    assert table[1][2] == bad_id and "第3行" in table[1][-1]
    pb = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    other = await client.get(f"/api/v1/imports/{body['batch_id']}/errors.xlsx", headers=pb)
    assert other.status_code == 404
    admin = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    bureau = await client.get(f"/api/v1/imports/{body['batch_id']}/errors.xlsx", headers=admin)
    assert bureau.status_code == 200
    one = (await client.get(f"/api/v1/imports/{body['batch_id']}", headers=pa)).json()
    assert one["has_error_sheet"] is True and one["errors"][0]["column"] == "培训结束日期"


async def test_templates(client: AsyncTestClient, pa: dict[str, str]) -> None:
    xlsx = await client.get("/api/v1/imports/templates/enrolments.xlsx", headers=pa)
    assert xlsx.status_code == 200
    assert read_xlsx(xlsx.content)[0] == [*HEADER[:5], "国籍", *HEADER[5:]]
    csv_file = await client.get("/api/v1/imports/templates/enrolments.csv", headers=pa)
    assert csv_file.content.startswith("\ufeff姓名,".encode())
    # the blank template uploaded as is: a header and no data
    response = await upload(client, pa, csv_file.content)
    assert "只有表头" in response.json()["errors"][0]["message"]


async def test_upload_too_large_is_413_naming_the_limit(
    client: AsyncTestClient, keys: Keys, app: Litestar, settings: Any
) -> None:
    await add_provider("PA", scope=[("6-31-01-03", 2)])
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    limits = {"max_upload_rows": 3, "max_upload_bytes": 4000}
    from skills_registry.app import create_app

    small = create_app(settings.model_copy(update=limits))
    async with AsyncTestClient(app=small, base_url="https://testserver.local") as limited:
        rows = await upload(limited, pa, csv_bytes([row(i) for i in range(4)]))
        assert rows.status_code == 413
        assert "MAX_UPLOAD_ROWS" in rows.json()["detail"]
        big = csv_bytes([row(i) for i in range(3)]) + b"," * 4000
        too_big = await upload(limited, pa, big)
        assert too_big.status_code == 413
        assert "MAX_UPLOAD_BYTES" in too_big.json()["detail"]
        huge = await upload(limited, pa, b"x" * 200_000)  # beyond the body limit itself
        assert huge.status_code == 413
        assert "MAX_UPLOAD_BYTES" in huge.json()["detail"]
        assert huge.headers["content-type"].startswith("application/problem+json")
    assert await Enrolment.count() == 0
