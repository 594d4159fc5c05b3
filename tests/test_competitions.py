"""职业技能竞赛 over the API: results, the promotion table, certificates, and refusals."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from skills_registry.certificates.tables import Certificate
from skills_registry.competitions.tables import CompetitionResult
from skills_registry.principal import Role
from tests.conftest import Keys, add_provider
from tests.factories import nth_resident_id

ELECTRICIAN = "6-31-01-03"
NURSERY = "4-10-01-02"  # 育婴员: levels 5, 4, 3 only
NAMES = ["陈一", "林二", "张三", "李四", "王五", "赵六", "钱七"]


def person(n: int) -> dict[str, str]:
    return {"name": NAMES[n], "id_type": "居民身份证", "id_number": nth_resident_id(n)}


def competition(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "2025年厦门市职业技能大赛电工项目",
        "year": 2025,
        "level": "市级一类",
        "organiser": "厦门市人力资源和社会保障局",
        "issuer": "ORG",
        "occupations": [ELECTRICIAN],
        **overrides,
    }


async def setup(client: AsyncTestClient, keys: Keys) -> dict[str, dict[str, str]]:
    await add_provider("ORG", kind="评价机构", scope=[(ELECTRICIAN, 1), (NURSERY, 3)])
    await add_provider("PA", scope=[(ELECTRICIAN, 2)])
    await add_provider("PB", scope=[(ELECTRICIAN, 3)])
    auth = {
        "admin": keys.auth(await keys.make(Role.BUREAU_ADMIN)),
        "org": keys.auth(await keys.make(Role.PROVIDER, "ORG")),
        "pa": keys.auth(await keys.make(Role.PROVIDER, "PA")),
        "pb": keys.auth(await keys.make(Role.PROVIDER, "PB")),
    }
    # Earlier certificates: 0 and 3 are 高级工, 2 is 技师; 1, 4, 5, 6 hold none.
    for n, level in ((0, 3), (2, 2), (3, 3)):
        issued = await client.post(
            "/api/v1/certificates",
            json={
                **person(n),
                "kind": "职业技能等级证书",
                "occupation_code": ELECTRICIAN,
                "level": level,
                "issued_on": "2023-06-01",
            },
            headers=auth["pa"],
        )
        assert issued.status_code == 201, issued.text
    for n in (1, 4, 5, 6):
        registered = await client.post("/api/v1/trainees", json=person(n), headers=auth["admin"])
        assert registered.status_code == 201, registered.text
    return auth


async def add(
    client: AsyncTestClient,
    headers: dict[str, str],
    competition_id: int,
    n: int,
    rank: int,
    **kw: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/competitions/{competition_id}/results",
        json={**person(n), "occupation_code": ELECTRICIAN, "event": "电工", "rank": rank, **kw},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_confirming_applies_the_table_and_issues_promotions(
    client: AsyncTestClient, keys: Keys
) -> None:
    auth = await setup(client, keys)
    created = await client.post("/api/v1/competitions", json=competition(), headers=auth["org"])
    assert created.status_code == 201, created.text
    comp = created.json()
    assert comp["level"] == "municipal_1" and comp["level_name"] == "市级一类"
    assert comp["promotion_table"][0]["rule"] == "fixed_or_up_one"
    assert comp["promotion_rules"][1] == "第2-3名：三级/高级工 → 二级/技师"
    c_id = comp["id"]

    first = await add(client, auth["org"], c_id, 1, 1, award="一等奖", honours=["厦门市技术能手"])
    second = await add(client, auth["org"], c_id, 0, 2, award="二等奖")
    third = await add(client, auth["org"], c_id, 4, 3, award="三等奖")
    fourth = await add(client, auth["org"], c_id, 5, 4)
    assert first["status"] == "pending" and first["honours"] == ["厦门市技术能手"]

    # Other providers see nothing of it.
    for key in ("pa", "pb"):
        assert (
            await client.get(f"/api/v1/competitions/{c_id}", headers=auth[key])
        ).status_code == 404

    confirmed = await client.post(
        f"/api/v1/competitions/{c_id}/confirm",
        json={"issued_on": "2025-11-01"},
        headers=auth["org"],
    )
    assert confirmed.status_code == 200, confirmed.text
    by_id = {r["id"]: r for r in confirmed.json()}
    assert {r["status"] for r in by_id.values()} == {"confirmed"}
    # 1st, holding nothing: recognised as 技师.
    assert (
        by_id[first["id"]]["promoted_level"] == 2 and by_id[first["id"]]["previous_level"] is None
    )
    # 2nd holding 高级工: 高级工 → 技师.
    assert by_id[second["id"]]["promoted_level"] == 2 and by_id[second["id"]]["previous_level"] == 3
    # 3rd without 高级工, 4th outside the table: confirmed, no promotion, with the reason.
    assert by_id[third["id"]]["promoted_level"] is None
    assert "须持有三级/高级工" in by_id[third["id"]]["promotion_note"]
    assert by_id[fourth["id"]]["certificate_number"] is None
    assert "不在晋升表内" in by_id[fourth["id"]]["promotion_note"]

    for result in (by_id[first["id"]], by_id[second["id"]]):
        number = result["certificate_number"]
        assert result["certificate_url"] == f"/api/v1/certificates/{number}/pdf"
        cert = (await client.get(f"/api/v1/certificates/{number}", headers=auth["admin"])).json()
        assert cert["source"] == "competition" and cert["source_ref"] == str(result["id"])
        assert cert["provider"] == "ORG" and cert["level"] == 2
        assert cert["issued_on"] == "2025-11-01"
        assert cert["holder"]["trainee_id"] == result["trainee_id"]
    assert await Certificate.count().where(Certificate.source == "competition") == 2

    # Confirming again: nothing pending.
    again = await client.post(f"/api/v1/competitions/{c_id}/confirm", json={}, headers=auth["org"])
    assert again.status_code == 409

    # A 技师 winning a municipal class I event in 2024 moves up one level to 高级技师.
    earlier = await client.post(
        "/api/v1/competitions", json=competition(year=2024, name="2024年赛"), headers=auth["admin"]
    )
    e_id = earlier.json()["id"]
    winner = await add(client, auth["admin"], e_id, 2, 1)
    done = await client.post(
        f"/api/v1/competitions/{e_id}/confirm",
        json={"result_ids": [winner["id"]], "issued_on": "2024-12-01"},
        headers=auth["admin"],
    )
    assert done.status_code == 200, done.text
    assert done.json()[0]["promoted_level"] == 1 and done.json()[0]["previous_level"] == 2


async def test_second_promotion_in_a_year_is_refused_naming_the_first(
    client: AsyncTestClient, keys: Keys
) -> None:
    auth = await setup(client, keys)
    a = (await client.post("/api/v1/competitions", json=competition(), headers=auth["org"])).json()
    first = await add(client, auth["org"], a["id"], 1, 1)
    ok = await client.post(f"/api/v1/competitions/{a['id']}/confirm", json={}, headers=auth["org"])
    assert ok.status_code == 200, ok.text
    number = ok.json()[0]["certificate_number"]

    b = (
        await client.post(
            "/api/v1/competitions",
            json=competition(
                name="2025年福建省职业技能大赛",
                level="provincial_1",
                promotion_table=[{"rank_from": 1, "rank_to": 3, "rule": "up_one"}],
            ),
            headers=auth["org"],
        )
    ).json()
    again = await add(client, auth["org"], b["id"], 1, 2)
    other = await add(client, auth["org"], b["id"], 3, 1)  # 高级工 → 技师: fine on its own
    refused = await client.post(
        f"/api/v1/competitions/{b['id']}/confirm", json={}, headers=auth["org"]
    )
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert len(errors) == 1 and errors[0]["field"] == f"results.{again['id']}.trainee_id"
    message = errors[0]["message"]
    assert "每人每年至多晋升一次" in message and number in message and str(first["id"]) in message
    # All or nothing: the other result stays pending, no certificate issued.
    rows = await CompetitionResult.select().where(CompetitionResult.competition == b["id"])
    assert {r["status"] for r in rows} == {"pending"}
    assert await Certificate.count().where(Certificate.source == "competition") == 1

    # Confirming only the other one works.
    only = await client.post(
        f"/api/v1/competitions/{b['id']}/confirm",
        json={"result_ids": [other["id"]]},
        headers=auth["org"],
    )
    assert only.status_code == 200 and only.json()[0]["promoted_level"] == 2


async def test_bad_results_and_promotions_are_refused(client: AsyncTestClient, keys: Keys) -> None:
    auth = await setup(client, keys)
    # A promotion to a level the occupation lacks: 育婴员 has no 技师.
    nursery = (
        await client.post(
            "/api/v1/competitions",
            json=competition(name="育婴员竞赛", occupations=[NURSERY]),
            headers=auth["admin"],
        )
    ).json()
    await add(client, auth["admin"], nursery["id"], 6, 1, occupation_code=NURSERY)
    lacking = await client.post(
        f"/api/v1/competitions/{nursery['id']}/confirm", json={}, headers=auth["admin"]
    )
    assert lacking.status_code == 422
    assert "没有二级/技师" in lacking.json()["errors"][0]["message"]

    comp = (
        await client.post("/api/v1/competitions", json=competition(), headers=auth["org"])
    ).json()
    url = f"/api/v1/competitions/{comp['id']}/results"
    # A person not entered.
    stranger = {**person(0), "id_number": nth_resident_id(99), "name": "无名"}
    missing = await client.post(
        url, json={**stranger, "occupation_code": ELECTRICIAN, "rank": 1}, headers=auth["org"]
    )
    assert missing.status_code == 422
    assert "尚未登记" in missing.json()["errors"][0]["message"]
    assert missing.json()["errors"][0]["field"] == "id_number"
    # A provider key naming a person it has never seen by trainee_id.
    holder = (await client.post("/api/v1/trainees", json=person(5), headers=auth["admin"])).json()[
        "trainee"
    ]["id"]
    unseen = await client.post(
        url, json={"trainee_id": holder, "occupation_code": ELECTRICIAN}, headers=auth["org"]
    )
    assert unseen.status_code == 422 and unseen.json()["errors"][0]["field"] == "trainee_id"
    # An occupation outside the competition.
    outside = await client.post(
        url, json={**person(1), "occupation_code": "4-03-02-01"}, headers=auth["org"]
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "occupation_code"
    # The same result twice.
    await add(client, auth["org"], comp["id"], 1, 1)
    twice = await client.post(
        url,
        json={**person(1), "occupation_code": ELECTRICIAN, "event": "电工"},
        headers=auth["org"],
    )
    assert twice.status_code == 409
    # Another provider cannot enter results, nor create competitions for the organiser.
    assert (
        await client.post(
            url, json={**person(1), "occupation_code": ELECTRICIAN}, headers=auth["pa"]
        )
    ).status_code == 404
    assert (
        await client.post("/api/v1/competitions", json=competition(), headers=auth["pa"])
    ).status_code == 403

    # Bad tables and levels.
    bad_level = await client.post(
        "/api/v1/competitions", json=competition(level="县级"), headers=auth["admin"]
    )
    assert bad_level.status_code == 422
    overlap = await client.post(
        "/api/v1/competitions",
        json=competition(
            promotion_table=[
                {"rank_from": 1, "rank_to": 2, "rule": "fixed", "level": 2},
                {"rank_from": 2, "rank_to": 3, "rule": "up_one"},
            ]
        ),
        headers=auth["admin"],
    )
    assert overlap.status_code == 422
    backwards = await client.post(
        "/api/v1/competitions",
        json=competition(
            promotion_table=[
                {"rank_from": 1, "rank_to": 1, "rule": "from_to", "from_level": 2, "level": 3}
            ]
        ),
        headers=auth["admin"],
    )
    assert backwards.status_code == 422
