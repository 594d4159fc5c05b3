"""The employer's page in headless Chromium at a phone's size, with JavaScript off
(as in WeChat's in-app browser): the verdict is visible without scrolling."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests.browser import ARTIFACTS, browser_page
from tests.conftest import Keys
from tests.factories import nth_resident_id
from tests.servers import live_server

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True}


async def test_verdict_visible_without_scrolling_on_a_phone(
    client: AsyncTestClient, keys: Keys, two_providers: tuple[str, str], settings: Settings
) -> None:
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    body = {
        "name": "郑海峰",
        "id_type": "居民身份证",
        "id_number": nth_resident_id(77),
        "kind": "职业技能等级证书",
        "occupation_code": "6-31-01-03",
        "level": 2,
        "issued_on": "2025-09-01",
    }
    cert = (await client.post("/api/v1/certificates", json=body, headers=pa)).json()["certificate"]
    token = cert["verify_url"].rsplit("/", 1)[1]
    ARTIFACTS.mkdir(exist_ok=True)

    with live_server(settings) as base:
        async with browser_page(**PHONE, java_script_enabled=False) as page:
            await page.goto(f"{base}/v/{token}")
            verdict = page.locator(".verdict")
            assert await verdict.is_visible()
            box = await verdict.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 844
            assert "有效" in await verdict.inner_text()
            name_box = await page.get_by_text("郑海峰").bounding_box()
            assert name_box is not None
            scroll_width = await page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= 390  # nothing wider than the phone
            await page.screenshot(path=str(ARTIFACTS / f"verify-valid-{settings.is_sqlite}.png"))

            forged = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
            await page.goto(f"{base}/v/{forged}")
            text = await page.locator(".verdict").inner_text()
            assert "无效" in text
            await page.screenshot(path=str(ARTIFACTS / f"verify-invalid-{settings.is_sqlite}.png"))
