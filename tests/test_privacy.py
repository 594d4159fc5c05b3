"""Privacy audit: no full ID number leaves the registry, whichever door one knocks on.

One world of records is made with known ID numbers (every kind of identity document, every
route to a certificate), then everything the registry hands out is collected: every GET
route of the app (enumerated from the app itself, so a new endpoint is scanned without
touching this file) with every role, the signed-in pages through the real login flow, the
public /v/ page in each state and its match check, the upload result pages, every download
(exports, error sheets, PDFs, ZIPs — PDFs read back as text), every log record and the
database's own bytes. None may hold a full ID number in any spelling.

The one designed exception is the error sheet of an upload ("the rows to fix, as written",
DESIGN §4): the uploading provider and a bureau-admin get the rows back as the clerk wrote
them, and each such download is in the audit trail; a bureau-viewer gets them masked.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import subprocess
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from skills_registry.audit.tables import AuditEvent
from skills_registry.certificates.signing import KeyStore
from skills_registry.identity import mask_id_number
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.conftest import Keys, add_provider
from tests.factories import resident_id
from tests.pdf_reading import pdf_text
from tests.test_pages_auth import _hidden, sign_in
from tests.upload_files import csv_bytes, row

ELECTRICIAN = "6-31-01-03"

# Distinct from every other test's numbers, so the database scan finds only this world.
ENROLLED = resident_id("350206", "19870315", "108")  # ends in X
REVOKED = resident_id("350212", "19760922", "517")  # ends in X
CORRECTED = resident_id("350211", "19830511", "517")
UPLOADED_HMT = resident_id("810000", "19910704", "118")  # 港澳台居民居住证, ends in X
APPRENTICE_FPR = "935200198804123453"  # 外国人永久居留身份证
COMPETITOR = resident_id("350205", "19950228", "102")  # ends in X
TAIWAN_PERMIT = "73915846"
PASSPORT = "FP7392046"
BAD_ROW = resident_id("350213", "19681130", "517")  # only ever in a rejected upload

ALL_NUMBERS = [
    ENROLLED,
    REVOKED,
    CORRECTED,
    UPLOADED_HMT,
    APPRENTICE_FPR,
    COMPETITOR,
    TAIWAN_PERMIT,
    PASSPORT,
    BAD_ROW,
]

CERTIFICATE_HEADER = [
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


def spellings(number: str) -> set[str]:
    """The number as stored, in lower case (x), and — for 18 characters — the 17 digits that
    identify the person whatever the check character says."""
    found = {number, number.lower(), number.upper()}
    if len(number) == 18:
        found.add(number[:17])
    return found


NEEDLES = {spelling: number for number in ALL_NUMBERS for spelling in spellings(number)}
_JWS = re.compile(r"eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")


def leaks_in(text: str) -> set[str]:
    return {number for spelling, number in NEEDLES.items() if spelling in text}


def decoded_tokens(text: str) -> str:
    """QR tokens carry base64url claims: read them too."""
    claims = []
    for payload in _JWS.findall(text):
        try:
            claims.append(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode())
        except (binascii.Error, UnicodeDecodeError):
            continue
    return "\n".join(claims)


def readable(content: bytes, content_type: str) -> str:
    """What a person would see in a response: text, the cells of an .xlsx, a PDF's text,
    every member of a ZIP."""
    if content.startswith(b"%PDF"):
        return pdf_text(content) + pdf_text(content, "-raw") + content.decode("latin-1")
    if content.startswith(b"PK"):
        parts = []
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for name in archive.namelist():
                parts.append(name)
                parts.append(readable(archive.read(name), ""))
        return "\n".join(parts)
    text = content.decode("utf-8-sig", errors="replace")
    if "json" in content_type or "html" in content_type or "text" in content_type:
        return text + "\n" + decoded_tokens(text)
    return text


@dataclass
class Seen:
    """Everything handed out, by where it came from."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, response: Any) -> str:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        text = readable(response.content, response.headers.get("content-type", ""))
        self.texts.append((where, headers + "\n" + text))
        return text

    def leaks(self) -> list[str]:
        return [
            f"{where}: {sorted(found)}" for where, text in self.texts if (found := leaks_in(text))
        ]

    def joined(self) -> str:
        return "\n".join(text for _, text in self.texts)


# --- the world ---------------------------------------------------------------------------


@dataclass
class World:
    auth: dict[str, dict[str, str]]
    api_keys: dict[str, str]
    tokens: list[str] = field(default_factory=list)
    revoked_token: str = ""
    superseded_token: str = ""
    valid_token: str = ""
    not_found_token: str = ""
    upload_pages: list[str] = field(default_factory=list)
    error_sheet_batch: str = ""


async def make_world(client: AsyncTestClient, keys: Keys, settings: Settings) -> World:
    await add_provider("PA", scope=[(ELECTRICIAN, 1)])
    await add_provider("PB", scope=[(ELECTRICIAN, 3)])
    await add_provider("ENT", kind="企业", scope=[])
    await add_provider("ORG", kind="评价机构", scope=[(ELECTRICIAN, 1)])
    api_keys = {
        "admin": await keys.make(Role.BUREAU_ADMIN, label="管理员"),
        "viewer": await keys.make(Role.BUREAU_VIEWER, label="查看员"),
        "pa": await keys.make(Role.PROVIDER, "PA", label="王老师"),
        "pb": await keys.make(Role.PROVIDER, "PB", label="李老师"),
        "org": await keys.make(Role.PROVIDER, "ORG", label="陈主任"),
        "ent": await keys.make(Role.PROVIDER, "ENT", label="赵经理"),
    }
    auth = {role: keys.auth(key) for role, key in api_keys.items()}
    world = World(auth=auth, api_keys=api_keys)

    async def ok(response: Any) -> Any:
        assert response.status_code in (200, 201), response.text
        return response.json()

    # An enrolment sheet, then certificates issued through the API.
    enrolment_sheet = csv_bytes([row(0, name="林晓东", id_number=ENROLLED.lower())])
    await ok(
        await client.post(
            "/api/v1/imports/enrolments",
            files={"file": ("名单.csv", enrolment_sheet)},
            headers=auth["pa"],
        )
    )
    issued = {}
    for name, number in (("林晓东", ENROLLED), ("黄美玲", REVOKED), ("周建国", CORRECTED)):
        body = await ok(
            await client.post(
                "/api/v1/certificates",
                json={
                    "name": name,
                    "id_type": "居民身份证",
                    "id_number": number,
                    "kind": "职业技能等级证书",
                    "occupation_code": ELECTRICIAN,
                    "level": 3,
                    "issued_on": "2025-05-01",
                },
                headers=auth["pa"],
            )
        )
        issued[number] = body["certificate"]
    await ok(
        await client.post(
            f"/api/v1/certificates/{issued[REVOKED]['number']}/revoke",
            json={"reason": "考试作弊"},
            headers=auth["pa"],
        )
    )
    await ok(
        await client.post(
            f"/api/v1/certificates/{issued[CORRECTED]['number']}/correct",
            json={"reason": "等级录错", "level": 2},
            headers=auth["admin"],
        )
    )

    # 企业新型学徒制 to a certificate, for a foreign permanent resident.
    apprenticeship = await ok(
        await client.post(
            "/api/v1/apprenticeships",
            json={
                "enterprise": "ENT",
                "institution": "PA",
                "name": "安娜",
                "id_type": "外国人永久居留身份证",
                "id_number": APPRENTICE_FPR,
                "nationality": "RUS",
                "occupation_code": ELECTRICIAN,
                "target_level": "四级/中级工",
                "start_date": "2024-03-01",
                "end_date": "2025-08-31",
                "contract_end_date": "2026-02-28",
                "enterprise_mentor": "王师傅",
                "school_mentor": "李老师",
            },
            headers=auth["ent"],
        )
    )
    await ok(
        await client.post(
            f"/api/v1/apprenticeships/{apprenticeship['id']}/complete",
            json={"completed_on": "2025-02-20", "result": "passed"},
            headers=auth["pa"],
        )
    )

    # A competition placing promoted to a certificate.
    await ok(
        await client.post(
            "/api/v1/trainees",
            json={"name": "郑志强", "id_type": "居民身份证", "id_number": COMPETITOR},
            headers=auth["admin"],
        )
    )
    competition = await ok(
        await client.post(
            "/api/v1/competitions",
            json={
                "name": "2025年厦门市职业技能大赛电工项目",
                "year": 2025,
                "level": "市级二类",
                "organiser": "厦门市人力资源和社会保障局",
                "issuer": "ORG",
                "occupations": [ELECTRICIAN],
            },
            headers=auth["org"],
        )
    )
    await ok(
        await client.post(
            f"/api/v1/competitions/{competition['id']}/results",
            json={
                "name": "郑志强",
                "id_type": "居民身份证",
                "id_number": COMPETITOR,
                "occupation_code": ELECTRICIAN,
                "event": "电工",
                "rank": 1,
                "award": "一等奖",
            },
            headers=auth["org"],
        )
    )
    await ok(
        await client.post(
            f"/api/v1/competitions/{competition['id']}/confirm",
            json={"issued_on": "2025-09-01"},
            headers=auth["org"],
        )
    )

    # Recognition: a Taiwan licence and a BRICS (Brazilian) passport holder.
    for code, partner, level in (("FJ-TW-JSS", "TWN", "乙级"), ("BR-EX", "BRA", "Técnico")):
        await ok(
            await client.post(
                "/api/v1/recognitions/agreements",
                json={
                    "code": code,
                    "name": f"{partner} 互认协议（示例）",
                    "partner": partner,
                    "document": "示例批次文件（测试用）",
                    "issuer": "ORG",
                    "mapping": [{"foreign_level": level, "level": 3}],
                },
                headers=auth["admin"],
            )
        )
    holders = (
        ("FJ-TW-JSS", "陈建宏", "台湾居民来往大陆通行证", TAIWAN_PERMIT, None, "乙级"),
        ("BR-EX", "SILVA JOAO", "护照", PASSPORT, "BRA", "Técnico"),
    )
    for agreement, name, id_type, number, nationality, level in holders:
        record = await ok(
            await client.post(
                "/api/v1/recognitions",
                json={
                    "agreement": agreement,
                    "name": name,
                    "id_type": id_type,
                    "id_number": number,
                    "nationality": nationality,
                    "issuing_body": "示例发证机构",
                    "foreign_title": "技术士证 室内配线",
                    "foreign_number": f"EX-{agreement}-0001",
                    "foreign_level": level,
                    "occupation_code": ELECTRICIAN,
                },
                headers=auth["org"],
            )
        )
        await ok(
            await client.post(
                f"/api/v1/recognitions/{record['id']}/decision",
                json={"decision": "recognised", "issued_on": "2025-10-01"},
                headers=auth["admin"],
            )
        )

    # The clerk's page: a results sheet stored (its numbers listed), a rejected enrolment
    # sheet (the error table and the rows to fix).
    await sign_in(client, api_keys["pa"], "/uploads")
    csrf = _hidden((await client.get("/uploads")).text, "csrf_token")
    results_sheet = csv_bytes(
        [
            [
                "何家辉",
                "港澳台居民居住证",
                UPLOADED_HMT,
                "职业技能等级证书",
                ELECTRICIAN,
                "电工",
                "",
                "三级/高级工",
                "",
                "2025/6/30",
            ]
        ],
        header=CERTIFICATE_HEADER,
    )
    stored_page = await client.post(
        "/uploads",
        data={"kind": "certificates", "csrf_token": csrf},
        files={"file": ("成绩.csv", results_sheet)},
    )
    assert stored_page.status_code == 200, stored_page.text
    rejected_sheet = csv_bytes(
        [
            row(1, name="吴小明", id_number=BAD_ROW, end="2024-04-01"),
            row(2, name="林晓东", id_number=ENROLLED),
            row(3, name="冒名者", id_number=REVOKED),  # a registered number, another name
        ]
    )
    rejected_page = await client.post(
        "/uploads",
        data={"kind": "enrolments", "csrf_token": csrf},
        files={"file": ("报名表.csv", rejected_sheet)},
    )
    assert rejected_page.status_code == 422, rejected_page.text
    world.upload_pages = [stored_page.text, rejected_page.text]
    link = re.search(r'href="/uploads/([0-9a-f-]+)/errors\.xlsx"', rejected_page.text)
    assert link, rejected_page.text
    world.error_sheet_batch = link.group(1)
    client.cookies.clear()

    listed = await ok(await client.get("/api/v1/certificates?limit=500", headers=auth["admin"]))
    for item in listed["items"]:
        shown = await ok(
            await client.get(f"/api/v1/certificates/{item['number']}", headers=auth["admin"])
        )
        token = shown["verify_url"].rsplit("/", 1)[1]
        world.tokens.append(token)
        if shown["status"] == "revoked":
            world.revoked_token = token
        elif shown["status"] == "superseded":
            world.superseded_token = token
        elif shown["holder"]["id_number_masked"] == mask_id_number(ENROLLED):
            world.valid_token = token
    assert len(world.tokens) == 9  # 3 issued + 1 correction + apprentice + competition + 2 + sheet
    assert world.revoked_token and world.superseded_token and world.valid_token
    world.not_found_token, _ = KeyStore(settings.keys_dir).sign(
        {"n": "S000035020001255999999", "k": "SL", "o": ELECTRICIAN, "l": 3, "d": "2025-01-01"}
        | {"m": "无*"}
    )
    return world


# --- path parameters for every GET route -------------------------------------------------


async def path_values(client: AsyncTestClient, world: World) -> dict[str, list[str]]:
    admin = world.auth["admin"]

    async def listed(url: str, key: str | None = None) -> list[Any]:
        body = (await client.get(url, headers=admin)).json()
        return body[key] if key else body  # type: ignore[no-any-return]

    trainees = await listed("/api/v1/trainees?limit=500")
    certificates = await listed("/api/v1/certificates?limit=500", "items")
    competitions = await listed("/api/v1/competitions")
    competitions = competitions["items"] if isinstance(competitions, dict) else competitions
    results = []
    for competition in competitions:
        found = await listed(f"/api/v1/competitions/{competition['id']}/results")
        results += found["items"] if isinstance(found, dict) else found
    apprenticeships = await listed("/api/v1/apprenticeships", "items")
    recognitions = await listed("/api/v1/recognitions")
    batches = await listed("/api/v1/imports")
    api_keys = await listed("/api/v1/keys")
    tampered = world.valid_token[:-5] + ("A" if world.valid_token[-5] != "A" else "B")
    return {
        "code": ["PA", "PB", "ORG", "14th", "FJ-TW-JSS", "BR-EX"],
        "trainee_id": [t["id"] for t in trainees],
        "number": [c["number"] for c in certificates],
        "competition_id": [str(c["id"]) for c in competitions],
        "result_id": [str(r["id"]) for r in results],
        "apprenticeship_id": [str(a["id"]) for a in apprenticeships],
        "recognition_id": [str(r["id"]) for r in recognitions],
        "batch_id": [b["batch_id"] for b in batches],
        "key_id": [str(k["id"]) for k in api_keys[:2]],
        "token": [
            *world.tokens,
            world.not_found_token,
            tampered + world.valid_token[-4:],
            "not-a-token",
        ],
        "name": ["enrolments.xlsx", "certificates.csv"],
        "path": ["openapi.yaml"],
    }


_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")

# Query strings that make a route hand out more than its default answer.
EXTRA_QUERIES = {
    "/api/v1/progress/export.csv": ["period=14th", "period=14th&table=certificates"],
    "/api/v1/progress/export.xlsx": ["period=14th"],
    "/dashboard/export.csv": ["period=14th", "period=14th&table=certificates"],
    "/dashboard/export.xlsx": ["period=14th"],
    "/api/v1/certificates/{number}/pdf": ["lang=zh-en"],
    "/api/v1/progress": ["period=14th"],
    "/api/v1/audit": ["limit=500"],
}


def get_routes(app: Litestar) -> list[str]:
    paths = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "GET" in handler.http_methods:
                paths.append(route.path)
    return sorted(set(paths))


def concrete_urls(template: str, values: dict[str, list[str]]) -> list[str]:
    names = _PARAM.findall(template)
    missing = [n for n in names if n not in values]
    assert not missing, (
        f"{template}: give the privacy scan values for {missing} so the new route is covered"
    )
    plain = _PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
    queries = ["", *EXTRA_QUERIES.get(plain, [])]
    urls = []
    for combination in product(*(values[n] for n in names)):
        path = plain.format(**dict(zip(names, combination, strict=True)))
        urls += [path + ("?" + q if q else "") for q in queries]
    return urls


# --- the scan ----------------------------------------------------------------------------


def sqlite_bytes(settings: Settings) -> Iterable[tuple[str, bytes]]:
    path = settings.sqlite_path
    for suffix in ("", "-wal"):
        file = path.with_name(path.name + suffix)
        if file.exists():
            yield file.name, file.read_bytes()


def postgres_dump(settings: Settings) -> Iterable[tuple[str, bytes]]:
    dump = subprocess.run(
        ["pg_dump", "--data-only", settings.database_url],
        capture_output=True,
        check=True,
        timeout=120,
    )
    yield "pg_dump", dump.stdout


async def test_no_full_id_number_leaves_the_registry(
    client: AsyncTestClient,
    app: Litestar,
    keys: Keys,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    world = await make_world(client, keys, settings)
    seen = Seen()
    for number, page in enumerate(world.upload_pages):
        seen.texts.append((f"upload result page {number}", page))

    values = await path_values(client, world)
    routes = get_routes(app)
    assert {"/api/v1/trainees/{trainee_id:uuid}", "/v/{token:str}", "/dashboard"} <= set(routes)
    designed_exception = re.compile(r"^/(api/v1/imports|uploads)/[0-9a-f-]+/errors\.xlsx$")
    exceptions: list[tuple[str, str, Any]] = []
    statuses: dict[str, set[int]] = {}
    for role in ("anonymous", *world.auth):
        client.cookies.clear()
        if role != "anonymous":
            await sign_in(client, world.api_keys[role])
        for template in routes:
            for url in concrete_urls(template, values):
                # The API takes the key; pages take the session cookie from the login flow.
                api = url.startswith("/api/")
                headers = world.auth[role] if api and role != "anonymous" else {}
                response = await client.get(url, headers=headers, follow_redirects=False)
                statuses.setdefault(template, set()).add(response.status_code)
                where = f"{role} GET {url} → {response.status_code}"
                if (
                    role in ("admin", "pa")
                    and designed_exception.match(url.split("?")[0])
                    and response.status_code == 200
                ):
                    exceptions.append((role, url, response))
                    continue
                seen.add(where, response)
    # Litestar's catch-all under /schema only ever answers 404.
    never_answered = [
        t for t, codes in statuses.items() if not codes & {200, 303} and t != "/schema/{path:str}"
    ]
    assert not never_answered, f"routes the scan never got an answer from: {never_answered}"

    # The public page in every state, and the match check both ways.
    client.cookies.clear()
    states = {
        "valid": world.valid_token,
        "revoked": world.revoked_token,
        "superseded": world.superseded_token,
        "not_found": world.not_found_token,
    }
    for state, token in states.items():
        page = await client.get(f"/v/{token}")
        assert page.status_code == 200
        seen.add(f"/v/ page ({state})", page)
    page_text = "".join(t for w, t in seen.texts if w == "/v/ page (valid)")
    assert mask_id_number(ENROLLED) in page_text and "有效" in page_text
    for guess in (ENROLLED.lower(), REVOKED, "hello"):
        answer = await client.post(f"/v/{world.valid_token}/match", data={"id_number": guess})
        assert answer.status_code == 200
        seen.add(f"/v/ match ({guess[:4]}…)", answer)

    # Every ZIP of PDFs a signed-in clerk can take from the page, read back.
    await sign_in(client, world.api_keys["pa"], "/uploads")
    uploads = (await client.get("/uploads")).text
    for link in set(re.findall(r'href="(/uploads/[0-9a-f-]+/certificates\.zip)"', uploads)):
        archive = await client.get(link)
        assert archive.status_code == 200
        seen.add(f"pa GET {link}", archive)
    client.cookies.clear()

    # Not vacuous: the scan read masked numbers, names in PDFs and the export's list.
    corpus = seen.joined()
    for number in ALL_NUMBERS:
        if number != BAD_ROW:
            assert mask_id_number(number) in corpus, number
    pdfs = "".join(t for w, t in seen.texts if "/pdf" in w and "→ 200" in w)
    assert "林晓东" in "".join(pdfs.split()) and mask_id_number(ENROLLED) in pdfs
    export = "".join(t for w, t in seen.texts if "table=certificates" in w and "→ 200" in w)
    assert mask_id_number(COMPETITOR) in export

    # The designed exception: the rows to fix, as written, to their uploader and the bureau
    # admin only — each download audited; a viewer's copy is masked.
    by_role: dict[str, list[str]] = {}
    for role, url, response in exceptions:
        by_role.setdefault(role, []).append(readable(response.content, ""))
    assert BAD_ROW in "".join(by_role["pa"]) and BAD_ROW in "".join(by_role["admin"])
    viewer_copy = await client.get(
        f"/api/v1/imports/{world.error_sheet_batch}/errors.xlsx", headers=world.auth["viewer"]
    )
    assert viewer_copy.status_code == 200
    viewer_text = seen.add("viewer error sheet", viewer_copy)
    assert mask_id_number(BAD_ROW) in viewer_text and "第2行" in viewer_text
    audited = await AuditEvent.select(
        AuditEvent.actor, AuditEvent.entity_id, AuditEvent.changes
    ).where(AuditEvent.action == "import.error_sheet")
    assert len(exceptions) == 4  # admin and the uploader, through the API and the page
    assert len(audited) == len(exceptions)  # the viewer's masked copy is no unmasking
    assert sorted("管理员" in e["actor"] or "王老师" in e["actor"] for e in audited) == [True] * 4
    assert {e["entity_id"] for e in audited} == {world.error_sheet_batch}
    changes = [json.loads(c) if isinstance(c := e["changes"], str) else c for e in audited]
    assert changes == [{"id_numbers": "shown"}] * 4

    # The audit trail itself, read raw, and every log record of the whole test.
    rows = await AuditEvent.select()
    seen.texts.append(("audit table", repr(rows)))
    logged = "\n".join(
        f"{record.name} {record.levelname} {record.getMessage()} {record.exc_text or ''}"
        for record in caplog.records
    )
    assert any(r.name.startswith("skills_registry") for r in caplog.records), (
        "none of the app's own log lines was captured: the log scan would be vacuous"
    )
    seen.texts.append(("log records", logged))

    # The database's own bytes: only ciphertext, keyed hashes and masked forms.
    await client.get("/health/ready")
    stored = sqlite_bytes(settings) if settings.is_sqlite else postgres_dump(settings)
    database = "\n".join(content.decode("latin-1") for _, content in stored)
    assert mask_id_number(ENROLLED) in database  # the scan reads the rows themselves
    seen.texts.append(("database", database))

    assert not seen.leaks(), "full ID numbers found:\n" + "\n".join(seen.leaks())
    assert urlsplit(settings.public_base_url).netloc in corpus


def test_a_viewers_copy_of_an_older_error_sheet_is_masked_by_its_headers() -> None:
    """Sheets recorded before the payload named its sensitive columns are masked by header."""
    from skills_registry.imports.services import masked_sheet_payload
    from skills_registry.imports.sheets import read_sheet_payload, write_sheet_payload

    older = write_sheet_payload(
        [
            {"header": ["姓名", "证件号码", "手机号码", "培训状态"], "header_row": 1},
            {
                "row": 2,
                "cells": ["吴小明", BAD_ROW.lower(), "13800000001", "结业"],
                "error": f"证件号码 {BAD_ROW} 已登记",
            },
        ]
    )
    _, masked = list(read_sheet_payload(masked_sheet_payload(older)))
    assert masked["cells"] == ["吴小明", mask_id_number(BAD_ROW), "13*******01", "结业"]
    assert not leaks_in(masked["error"]) and "已登记" in masked["error"]
