"""Progress toward the plan's targets: every counting rule of DESIGN §3, as-of, boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from skills_registry.reporting import services
from tests import reporting_data as data
from tests.conftest import Keys, add_provider

D = date


async def _progress(client: AsyncTestClient, key: str, **params: str) -> dict:
    response = await client.get("/api/v1/progress", params=params, headers=Keys.auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def _value(body: dict, code: str) -> int:
    return next(i["value"] for i in body["indicators"] if i["code"] == code)


def _assert_breakdowns_add_up(body: dict) -> None:
    for code, total in body["totals"].items():
        assert sum(year[code] for year in body["by_year"].values()) == total, code
        for breakdown in ("by_district", "by_occupation", "by_level", "by_provider", "by_source"):
            assert sum(row[code] for row in body[breakdown]) == total, (breakdown, code)


async def test_the_14th_plan_is_seeded(client: AsyncTestClient, keys: Keys) -> None:
    key = await keys.make(Role.BUREAU_VIEWER)
    response = await client.get("/api/v1/periods", headers=keys.auth(key))
    assert response.status_code == 200
    (period,) = response.json()
    assert period["code"] == "14th"
    assert (period["start"], period["end"]) == ("2021-01-01", "2025-12-31")
    targets = {i["code"]: (i["number"], i["target"]) for i in period["indicators"]}
    assert targets == {
        "trainings": (5, 250_000),
        "migrant_worker_trainings": (6, 100_000),
        "certified_persons": (10, 80_000),
        "advanced_certified_persons": (11, 20_000),
    }


async def test_empty_registry(client: AsyncTestClient, keys: Keys) -> None:
    body = await _progress(client, await keys.make(Role.BUREAU_ADMIN), as_of="2023-06-15")
    assert body["period"] == {
        "code": "14th",
        "name": "“十四五”规划（2021—2025年）",
        "start": "2021-01-01",
        "end": "2025-12-31",
    }
    assert body["as_of"] == "2023-06-15"
    assert all(i["value"] == 0 and i["ratio"] == 0 for i in body["indicators"])
    assert list(body["by_year"]) == ["2021", "2022", "2023"]


async def test_people_not_certificates(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    # A: three certificates in the period -> once for 10, once for 11 (the level-3 one).
    a = await data.person("甲")
    await data.certificate(a, pa, D(2022, 3, 1), level=5, district="350206")
    await data.certificate(a, pb, D(2023, 5, 1), level=3, district="350211", source="competition")
    await data.certificate(a, pa, D(2024, 1, 1), level=4)
    # B: revoked, then reissued: counts once.
    b = await data.person("乙")
    await data.certificate(b, pa, D(2022, 6, 1), level=4, status="revoked")
    await data.certificate(b, pa, D(2022, 7, 1), level=4)
    # C: superseded; the replacement keeps the issue date: once.
    c = await data.person("丙")
    await data.certificate(c, pa, D(2023, 2, 1), level=2, status="superseded")
    await data.certificate(c, pa, D(2023, 2, 1), level=2)
    # D: only before the period: never.  E: before and inside: counts (新增取得).
    d = await data.person("丁")
    await data.certificate(d, pa, D(2020, 12, 31), level=3)
    e = await data.person("戊")
    await data.certificate(e, pa, D(2019, 5, 1), level=3)
    await data.certificate(e, pa, D(2021, 8, 1), level=4, source="import")
    # F: only 专项职业能力证书 (no level): never.  G: only a revoked one: never.
    f = await data.person("己")
    await data.certificate(f, pa, D(2022, 1, 1), level=None, kind=data.SPECIFIC)
    g = await data.person("庚")
    await data.certificate(g, pa, D(2022, 1, 1), level=3, status="revoked")
    # H: 职业资格证书 counts too; I: 特级技师 (0) and J: 首席技师 (-1) are advanced.
    h = await data.person("辛")
    await data.certificate(h, pb, D(2021, 1, 1), level=4, kind=data.QUALIFICATION)
    i = await data.person("壬")
    await data.certificate(i, pb, D(2024, 12, 1), level=0, source="recognition")
    j = await data.person("癸")
    await data.certificate(j, pb, D(2025, 12, 31), level=-1)
    # K: issued after as_of -> not yet.
    k = await data.person("子")
    await data.certificate(k, pb, D(2025, 12, 31), level=1)

    key = await keys.make(Role.BUREAU_ADMIN)
    body = await _progress(client, key, as_of="2025-12-30")
    # A B C E H I = 6 people; advanced: A (level 3), C (2), I (0) = 3.
    assert _value(body, "certified_persons") == 6
    assert _value(body, "advanced_certified_persons") == 3
    assert body["by_year"]["2022"]["certified_persons"] == 2  # A (first in 2022), B
    assert body["by_year"]["2023"]["advanced_certified_persons"] == 2  # A's level-3, C
    _assert_breakdowns_add_up(body)
    levels = {row["key"]: row for row in body["by_level"]}
    # A is attributed to their first certificate (level 5) for 10, to the level-3 one for 11.
    assert levels["5"]["certified_persons"] == 1
    assert levels["3"]["advanced_certified_persons"] == 1
    assert levels["3"]["certified_persons"] == 0
    sources = {row["key"]: row for row in body["by_source"]}
    assert sources["competition"]["advanced_certified_persons"] == 1
    assert sources["competition"]["certified_persons"] == 0
    assert sources["import"]["certified_persons"] == 1  # E
    assert sources["recognition"]["advanced_certified_persons"] == 1  # I
    districts = {row["key"]: row for row in body["by_district"]}
    assert districts["350206"]["certified_persons"] == 1  # A's first certificate's district
    assert districts["350211"]["advanced_certified_persons"] == 1  # A's level-3 certificate
    assert districts["350203"]["certified_persons"] == 5  # the provider's district (思明)
    providers = {row["key"]: row for row in body["by_provider"]}
    assert providers["PA"]["certified_persons"] == 4  # A B C E
    assert providers["PB"]["certified_persons"] == 2  # H I
    assert providers["PB"]["name"] == "测试机构PB"

    after = await _progress(client, key, as_of="2025-12-31")
    assert _value(after, "certified_persons") == 8  # + J and K on the last day
    assert _value(after, "advanced_certified_persons") == 5
    ratio = next(i["ratio"] for i in after["indicators"] if i["code"] == "certified_persons")
    assert ratio == 8 / 80_000
    _assert_breakdowns_add_up(after)
    later = await _progress(client, key, as_of="2026-03-01", period="14th")
    assert later["indicators"] == after["indicators"]


async def test_ties_on_the_same_day_go_to_the_lowest_certificate_id(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    p = await data.person()
    await data.certificate(p, pb, D(2022, 5, 5), level=3)
    await data.certificate(p, pa, D(2022, 5, 5), level=3)
    body = await _progress(client, await keys.make(Role.BUREAU_ADMIN), as_of="2023-01-01")
    assert [(r["key"], r["certified_persons"]) for r in body["by_provider"]] == [("PB", 1)]


@pytest.mark.parametrize(
    ("issued", "as_of", "counted"),
    [
        (D(2020, 12, 31), "2021-01-01", 0),
        (D(2021, 1, 1), "2021-01-01", 1),
        (D(2021, 1, 2), "2021-01-01", 0),
        (D(2025, 12, 31), "2025-12-31", 1),
        (D(2025, 12, 31), "2025-12-30", 0),
        (D(2026, 1, 1), "2026-01-31", 0),
        (D(2023, 6, 30), "2023-06-30", 1),
        (D(2023, 7, 1), "2023-06-30", 0),
        (D(2023, 6, 15), "2023-06-14", 0),
        (D(2023, 6, 15), "2023-06-15", 1),
    ],
)
async def test_period_and_as_of_boundaries(
    client: AsyncTestClient, keys: Keys, issued: date, as_of: str, counted: int
) -> None:
    await add_provider("PX")
    p = await data.person()
    await data.certificate(p, await data.provider_id("PX"), issued, level=3)
    body = await _progress(client, await keys.make(Role.BUREAU_VIEWER), as_of=as_of, period="14th")
    assert _value(body, "certified_persons") == counted
    assert _value(body, "advanced_certified_persons") == counted


async def test_default_as_of_is_today_in_shanghai(
    client: AsyncTestClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2020-12-31 16:00 UTC is 00:00 on 2021-01-01 in Asia/Shanghai: the period has begun.
    monkeypatch.setattr(services, "_now", lambda: datetime(2020, 12, 31, 16, 0, tzinfo=UTC))
    await add_provider("PX")
    p = await data.person()
    await data.certificate(p, await data.provider_id("PX"), D(2021, 1, 1), level=4)
    body = await _progress(client, await keys.make(Role.BUREAU_ADMIN))
    assert body["as_of"] == "2021-01-01"
    assert body["period"]["code"] == "14th"
    assert _value(body, "certified_persons") == 1
    assert body["elapsed"] == pytest.approx(1 / 1826)
    monkeypatch.setattr(services, "_now", lambda: datetime(2020, 12, 31, 15, 59, tzinfo=UTC))
    body = await _progress(client, await keys.make(Role.BUREAU_ADMIN))
    assert body["as_of"] == "2020-12-31"
    assert _value(body, "certified_persons") == 0
    assert body["elapsed"] == 0


async def test_trainings_count_completed_enrolments(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    p = await data.person(district="350212")
    q = await data.person()
    await data.enrolment(p, pa, D(2021, 3, 1), category="农民工")
    await data.enrolment(p, pa, D(2022, 3, 1), category="农民工", level=3)  # 人次: twice
    await data.enrolment(p, pb, D(2022, 4, 1))
    await data.enrolment(q, pa, None, status="在训")
    await data.enrolment(q, pa, D(2022, 5, 1), status="退出", category="农民工")
    await data.enrolment(q, pa, D(2020, 12, 31), category="农民工")  # before the period
    await data.enrolment(q, pb, D(2026, 1, 1))  # after it
    await data.enrolment(q, pb, D(2024, 2, 2), category="农民工")
    await data.enrolment(q, pb, D(2024, 2, 3), category="农民工")  # after as_of
    body = await _progress(client, await keys.make(Role.BUREAU_ADMIN), as_of="2024-02-02")
    assert _value(body, "trainings") == 4
    assert _value(body, "migrant_worker_trainings") == 3
    assert _value(body, "certified_persons") == 0
    _assert_breakdowns_add_up(body)
    districts = {r["key"]: r["trainings"] for r in body["by_district"]}
    assert districts == {"350212": 3, "350203": 1}  # the person's district, else the provider's
    assert [r["key"] for r in body["by_source"]] == ["training"]
    assert body["by_year"]["2022"]["trainings"] == 2


async def test_provider_key_sees_its_own_contribution(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    both = await data.person()
    await data.certificate(both, pa, D(2022, 1, 1), level=4)
    await data.certificate(both, pb, D(2023, 1, 1), level=3)
    only_b = await data.person()
    await data.certificate(only_b, pb, D(2023, 1, 1), level=5)
    await data.enrolment(only_b, pa, D(2022, 1, 1))
    key_b = await keys.make(Role.PROVIDER, "PB")
    body = await _progress(client, key_b, as_of="2025-12-31")
    assert body["provider"] == "PB"
    assert _value(body, "certified_persons") == 2
    assert _value(body, "advanced_certified_persons") == 1
    assert _value(body, "trainings") == 0
    assert [r["key"] for r in body["by_provider"]] == ["PB"]
    _assert_breakdowns_add_up(body)
    city = await _progress(client, await keys.make(Role.BUREAU_VIEWER), as_of="2025-12-31")
    assert city["provider"] is None
    assert {r["key"]: r["certified_persons"] for r in city["by_provider"]} == {"PA": 1, "PB": 1}


async def test_access(client: AsyncTestClient, keys: Keys) -> None:
    assert (await client.get("/api/v1/progress")).status_code == 401
    key = await keys.make(Role.BUREAU_VIEWER)
    bad = await client.get(
        "/api/v1/progress", params={"as_of": "2024-13-01"}, headers=keys.auth(key)
    )
    assert bad.status_code == 422
    missing = await client.get("/api/v1/progress", params={"period": "9th"}, headers=keys.auth(key))
    assert missing.status_code == 404
    client.cookies.set("sr_session", "x")
    cookie_only = await client.get("/api/v1/progress")
    assert cookie_only.status_code == 401


async def test_openapi_documents_progress_and_its_rules(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/v1/progress",
        "/api/v1/progress/export.xlsx",
        "/api/v1/progress/export.csv",
        "/api/v1/periods",
        "/dashboard",
    ):
        assert path in schema["paths"], path
    description = schema["paths"]["/api/v1/progress"]["get"]["description"]
    for rule in ("people", "专项职业能力证书", "revoked", "as_of", "first", "结业", "农民工"):
        assert rule in description
