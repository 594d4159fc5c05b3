"""Every answer — each page, each API answer, errors and unrouted paths — carries a strict
CSP (no script at all, inline styles only by hash), no-referrer, nosniff, no framing, and
HSTS when the public URL is https; every page is free of scripts, event handlers and style
attributes; and a real browser applies the styles without refusing anything."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from skills_registry.app import create_app
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.browser import browser_page
from tests.conftest import Keys
from tests.factories import nth_resident_id
from tests.servers import live_server
from tests.test_pages_auth import _hidden, sign_in
from tests.test_privacy import concrete_urls, get_routes
from tests.upload_files import csv_bytes, row

STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
# Litestar's own API-docs UI: its scripts are refused by the CSP (the JSON is at /schema).
DOCS_UI = re.compile(r"^/schema/(swagger|oauth2-redirect\.html)")

CERT = {
    "name": "郑海峰",
    "id_type": "居民身份证",
    "id_number": nth_resident_id(301),
    "kind": "职业技能等级证书",
    "occupation_code": "6-31-01-03",
    "level": 3,
    "issued_on": "2025-09-01",
}


def check_headers(where: str, response: Any, *, https: bool = True) -> None:
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert directives.get("default-src") == "'none'", (where, policy)
    assert "script-src" not in directives and "script-src-elem" not in directives, where
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, (where, policy)
    assert directives.get("frame-ancestors") == "'none'", where
    assert directives.get("base-uri") == "'none'", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    if https:
        assert headers.get("strict-transport-security") == "max-age=31536000", where
    else:
        assert "strict-transport-security" not in headers, where


def check_page(where: str, path: str, response: Any) -> None:
    """A page's own markup obeys the policy it is sent with."""
    if DOCS_UI.match(path):
        return  # third-party markup, inert: the CSP refuses its scripts and styles
    html = response.text
    policy = response.headers["content-security-policy"]
    assert "<script" not in html.lower(), where
    assert not EVENT_HANDLER.search(html), (where, EVENT_HANDLER.search(html))
    assert not STYLE_ATTRIBUTE.search(html), (where, STYLE_ATTRIBUTE.search(html))
    for block in STYLE_BLOCK.findall(html):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy, f"{where}: a <style> block the CSP refuses"


async def make_records(client: AsyncTestClient, keys: Keys) -> dict[str, Any]:
    admin_key = await keys.make(Role.BUREAU_ADMIN)
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    issued = await client.post("/api/v1/certificates", json=CERT, headers=pa)
    assert issued.status_code == 201, issued.text
    cert = issued.json()["certificate"]
    rejected = await client.post(
        "/api/v1/imports/enrolments",
        files={"file": ("a.csv", csv_bytes([row(302, end="2024-01-01")]))},
        headers=pa,
    )
    assert rejected.status_code == 422
    return {
        "admin_key": admin_key,
        "token": cert["verify_url"].rsplit("/", 1)[1],
        "values": {
            "code": ["PA", "14th"],
            "trainee_id": [cert["holder"]["trainee_id"]],
            "number": [cert["number"]],
            "competition_id": ["1"],
            "result_id": ["1"],
            "apprenticeship_id": ["1"],
            "recognition_id": ["1"],
            "batch_id": [rejected.json()["batch_id"]],
            "key_id": ["1"],
            "token": [cert["verify_url"].rsplit("/", 1)[1], "not-a-token"],
            "name": ["enrolments.xlsx"],
            "path": ["openapi.yaml"],
        },
    }


async def test_every_answer_and_page_carries_the_headers(
    client: AsyncTestClient, app: Litestar, keys: Keys, two_providers: tuple[str, str]
) -> None:
    records = await make_records(client, keys)
    pages: set[str] = set()
    for signed_in in (False, True):
        client.cookies.clear()
        if signed_in:
            await sign_in(client, records["admin_key"])
        for template in get_routes(app):
            for url in concrete_urls(template, records["values"]):
                path = url.split("?")[0]
                for accept in ("text/html", "application/json"):
                    response = await client.get(
                        url, headers={"accept": accept}, follow_redirects=False
                    )
                    where = f"GET {url} ({'session' if signed_in else 'anonymous'}, {accept})"
                    check_headers(where, response)
                    if response.headers.get("content-type", "").startswith("text/html"):
                        check_page(where, path, response)
                        pages.add(template)
    assert {"/", "/login", "/keys", "/uploads", "/dashboard", "/v/{token:str}"} <= pages

    # Pages answered to forms, errors included, and what no route handles.
    csrf = _hidden((await client.get("/uploads")).text, "csrf_token")
    answers = {
        "upload result (422)": await client.post(
            "/uploads",
            data={"kind": "enrolments", "csrf_token": csrf},
            files={"file": ("a.csv", csv_bytes([row(303, level="七级")]))},
        ),
        "keys page after issuing": await client.post(
            "/keys", data={"label": "张三", "role": "bureau-viewer", "csrf_token": csrf}
        ),
        "match answer": await client.post(
            f"/v/{records['token']}/match", data={"id_number": CERT["id_number"]}
        ),
        "unrouted": await client.get("/no/such/page", headers={"accept": "text/html"}),
        "wrong method": await client.delete("/login"),
        "api without key": await client.get("/api/v1/me"),
    }
    client.cookies.clear()
    answers["sign-in refused"] = await client.post(
        "/login",
        data={
            "api_key": "sr_wrong",
            "login_csrf": _hidden((await client.get("/login")).text, "login_csrf"),
            "next": "/",
        },
    )
    assert [a.status_code for a in answers.values()] == [422, 200, 200, 404, 405, 401, 401]
    for where, response in answers.items():
        check_headers(where, response)
        if response.headers.get("content-type", "").startswith("text/html"):
            check_page(where, "/", response)


async def test_hsts_only_when_the_public_url_is_https(app: Litestar, settings: Settings) -> None:
    plain = create_app(settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"}))
    async with AsyncTestClient(app=plain, base_url="http://testserver.local") as client:
        for path in ("/login", "/health/live", "/nowhere"):
            check_headers(path, await client.get(path), https=False)


async def test_a_real_browser_applies_every_style_and_refuses_nothing(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str], settings: Settings
) -> None:
    records = await make_records(client, keys)
    refused: list[str] = []
    with live_server(settings) as base:
        async with browser_page(
            extra_http_headers={"Authorization": f"Bearer {records['admin_key']}"}
        ) as page:
            page.on("console", lambda message: refused.append(message.text))
            colour = "getComputedStyle(document.querySelector({!r})).backgroundColor"
            await page.goto(f"{base}/uploads")
            assert await page.evaluate(colour.format("header.top")) == "rgb(155, 28, 28)"
            title = "getComputedStyle(document.querySelector('h2.card-title')).marginTop"
            assert await page.evaluate(title) == "0px"  # the former style attribute, by class
            await page.goto(f"{base}/dashboard?period=14th")
            weight = "getComputedStyle(document.querySelector('.figure')).fontWeight"
            assert await page.evaluate(weight) == "700"  # the dashboard's own <style> block
            await page.goto(f"{base}/v/{records['token']}")
            assert await page.evaluate(colour.format(".verdict")) == "rgb(17, 107, 47)"
    assert not [m for m in refused if "Content Security Policy" in m], refused
