"""Plan periods as data; exports (.xlsx, CSV) whose totals equal the API's; the dashboard."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import openpyxl
from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from skills_registry.reporting import services
from tests import reporting_data as data
from tests.conftest import Keys
from tests.test_pages_auth import sign_in

FIFTEENTH = {
    "code": "15th",
    "name": "“十五五”规划（2026—2030年）",
    "start": "2026-01-01",
    "end": "2030-12-31",
    "indicators": [
        {"code": "certified_persons", "target": 90000},
        {"code": "advanced_certified_persons", "target": 30000, "name": "高技能人才", "unit": "名"},
    ],
}


async def test_the_bureau_adds_the_next_period(client: AsyncTestClient, keys: Keys) -> None:
    admin = await keys.make(Role.BUREAU_ADMIN, label="李处长")
    viewer = await keys.make(Role.BUREAU_VIEWER)
    assert (
        await client.post("/api/v1/periods", json=FIFTEENTH, headers=keys.auth(viewer))
    ).status_code == 403
    created = await client.post("/api/v1/periods", json=FIFTEENTH, headers=keys.auth(admin))
    assert created.status_code == 201, created.text
    body = created.json()
    assert [(i["code"], i["number"], i["target"]) for i in body["indicators"]] == [
        ("certified_persons", 10, 90000),
        ("advanced_certified_persons", 11, 30000),
    ]
    assert body["indicators"][1]["name"] == "高技能人才"
    again = await client.post("/api/v1/periods", json=FIFTEENTH, headers=keys.auth(admin))
    assert again.status_code == 409
    listed = await client.get("/api/v1/periods", headers=keys.auth(viewer))
    assert [p["code"] for p in listed.json()] == ["14th", "15th"]
    audit = await client.get(
        "/api/v1/audit", params={"entity_type": "plan_period"}, headers=keys.auth(admin)
    )
    assert audit.status_code == 200
    assert any("李处长" in e["actor"] and e["action"] == "period.create" for e in audit.json())
    # The default period is the latest that has started by as_of and has targets.
    in_2026 = await client.get(
        "/api/v1/progress", params={"as_of": "2026-02-01"}, headers=keys.auth(viewer)
    )
    assert in_2026.json()["period"]["code"] == "15th"
    in_2025 = await client.get(
        "/api/v1/progress", params={"as_of": "2025-02-01"}, headers=keys.auth(viewer)
    )
    assert in_2025.json()["period"]["code"] == "14th"
    # A period without targets is never the default.
    empty = {**FIFTEENTH, "code": "16th", "start": "2026-01-02", "indicators": []}
    assert (
        await client.post("/api/v1/periods", json=empty, headers=keys.auth(admin))
    ).status_code == 201
    in_2027 = await client.get(
        "/api/v1/progress", params={"as_of": "2027-01-01"}, headers=keys.auth(viewer)
    )
    assert in_2027.json()["period"]["code"] == "15th"


async def test_period_validation(client: AsyncTestClient, keys: Keys) -> None:
    admin = keys.auth(await keys.make(Role.BUREAU_ADMIN))
    cases = [
        ({**FIFTEENTH, "end": "2026-01-01"}, "end"),
        ({**FIFTEENTH, "indicators": [{"code": "gdp", "target": 5}]}, "indicators.0.code"),
        ({**FIFTEENTH, "indicators": [{"code": "trainings", "target": 0}]}, "indicators.0.target"),
        (
            {**FIFTEENTH, "indicators": [{"code": "trainings", "target": 1}] * 2},
            "indicators.1.code",
        ),
        ({**FIFTEENTH, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/periods", json=body, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(field in f for f in fields), (field, fields)


async def _sample(two_providers: tuple[str, str]) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    for n in range(6):
        p = await data.person(f"人{n}")
        await data.certificate(
            p, pa if n % 2 else pb, date(2021 + n % 5, 3, 1 + n), level=5 - n % 4
        )
        await data.certificate(p, pa, date(2024, 6, 1), level=2)
        await data.enrolment(p, pb, date(2022, 1, 1 + n), category="农民工" if n % 3 else "其他")
    odd = await data.person('=HYPERLINK("http://evil")')
    await data.certificate(
        odd, pa, date(2023, 1, 1), level=3, occupation_name="+cmd", holder_name="=HYPERLINK(1)"
    )


def _csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def test_exports_match_the_api(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str], monkeypatch: Any
) -> None:
    # Pages of two rows: the list is read in pages, also across certificates of one day.
    monkeypatch.setattr(services, "LIST_CHUNK", 2)
    await _sample(two_providers)
    key = keys.auth(await keys.make(Role.BUREAU_VIEWER))
    params = {"as_of": "2025-12-31"}
    api = (await client.get("/api/v1/progress", params=params, headers=key)).json()
    values = {i["code"]: i["value"] for i in api["indicators"]}
    assert values["certified_persons"] == 7 and values["advanced_certified_persons"] == 7

    xlsx = await client.get("/api/v1/progress/export.xlsx", params=params, headers=key)
    assert xlsx.status_code == 200
    assert "attachment" in xlsx.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["指标", "分项", "证书清单"]
    indicators = list(book["指标"].iter_rows(min_row=3, values_only=True))
    assert {row[1]: row[5] for row in indicators} == values
    figures = list(book["分项"].iter_rows(values_only=True))
    total = figures[1]
    assert total[0] == "合计"
    for code, column in zip(
        (
            "certified_persons",
            "advanced_certified_persons",
            "trainings",
            "migrant_worker_trainings",
        ),
        range(3, 7),
        strict=True,
    ):
        assert total[column] == api["totals"][code]
        for dimension in ("年度", "区", "职业", "等级", "机构", "来源"):
            assert sum(r[column] for r in figures[1:] if r[0] == dimension) == total[column]
    certificates = list(book["证书清单"].iter_rows(values_only=True))
    assert sum(r[-2] for r in certificates[1:]) == values["certified_persons"]
    assert sum(r[-1] for r in certificates[1:]) == values["advanced_certified_persons"]
    assert len(certificates) - 1 == 13
    masked = [r[4] for r in certificates[1:]]
    assert all("**********" in m for m in masked)
    cells = [str(c) for row in certificates for c in row if c is not None]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert "'=HYPERLINK(1)" in cells and "'+cmd" in cells

    figures_csv = await client.get("/api/v1/progress/export.csv", params=params, headers=key)
    assert figures_csv.headers["content-type"].startswith("text/csv")
    rows = _csv_rows(figures_csv.content)
    assert rows[1][0] == "合计"
    assert [int(v) for v in rows[1][3:]] == [api["totals"][c] for c in api["totals"]]
    listing = await client.get(
        "/api/v1/progress/export.csv", params={**params, "table": "certificates"}, headers=key
    )
    rows = _csv_rows(listing.content)
    assert rows[0][0] == "证书编号"
    assert sum(int(r[-2]) for r in rows[1:]) == values["certified_persons"]
    assert not any(c.startswith(("=", "+", "@")) for r in rows for c in r)


async def test_provider_exports_only_its_own_certificates(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    await _sample(two_providers)
    key = keys.auth(await keys.make(Role.PROVIDER, "PB"))
    listing = await client.get(
        "/api/v1/progress/export.csv",
        params={"as_of": "2025-12-31", "table": "certificates"},
        headers=key,
    )
    rows = _csv_rows(listing.content)
    assert {r[11] for r in rows[1:]} == {"PB"}
    api = (await client.get("/api/v1/progress", params={"as_of": "2025-12-31"}, headers=key)).json()
    assert sum(int(r[-2]) for r in rows[1:]) == api["totals"]["certified_persons"] == 3


async def test_dashboard_for_the_bureau(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    response = await client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/dashboard"
    await _sample(two_providers)
    await sign_in(client, await keys.make(Role.BUREAU_VIEWER, label="统计科"), "/dashboard")
    page = await client.get("/dashboard", params={"as_of": "2025-12-31"})
    assert page.status_code == 200
    html = page.text
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert html.count("<svg") >= 7
    for text in (
        "新增取得职业资格证书或职业技能等级证书人数",
        "时间进度 100.0%",
        "思明区",
        "二级/技师",
    ):
        assert text in html
    assert 'data-code="certified_persons">7<' in html
    assert 'data-code="trainings">6<' in html
    export = await client.get("/dashboard/export.xlsx", params={"as_of": "2025-12-31"})
    assert export.status_code == 200
    openpyxl.load_workbook(io.BytesIO(export.content))
    csv_export = await client.get("/dashboard/export.csv", params={"table": "certificates"})
    assert csv_export.status_code == 200


async def test_dashboard_refuses_providers_and_takes_the_header(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    provider = await keys.make(Role.PROVIDER, "PA")
    assert (await client.get("/dashboard", headers=keys.auth(provider))).status_code == 403
    admin = await keys.make(Role.BUREAU_ADMIN)
    assert (await client.get("/dashboard", headers=keys.auth(admin))).status_code == 200
