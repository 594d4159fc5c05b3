"""The dashboard in headless Chromium, against a real uvicorn server started here.

Scripts may authenticate pages with the `Authorization` header instead of a session
cookie; the browser sends it on every request.
"""

from __future__ import annotations

from datetime import date

from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests import reporting_data as data
from tests.browser import ARTIFACTS, browser_page
from tests.conftest import Keys
from tests.servers import live_server


async def test_dashboard_in_headless_chromium(
    settings: Settings, keys: Keys, two_providers: tuple[str, str]
) -> None:
    pa = await data.provider_id("PA")
    pb = await data.provider_id("PB")
    people = 37
    for n in range(people):
        p = await data.person(f"人{n}", district="350206" if n % 2 else None)
        await data.certificate(
            p, pa if n % 3 else pb, date(2021 + n % 5, 1 + n % 12, 1), level=5 - n % 5
        )
        await data.enrolment(
            p, pa, date(2022, 1, 1 + n % 28), category="农民工" if n % 4 else "其他"
        )
        await data.enrolment(p, pb, date(2023, 1, 1 + n % 28))
    key = await keys.make(Role.BUREAU_VIEWER, label="统计科 王")
    headers = {"Authorization": f"Bearer {key}"}  # scripts may send the header, no session
    with live_server(settings) as base:
        async with browser_page(
            viewport={"width": 1200, "height": 2400}, extra_http_headers=headers
        ) as page:
            await page.goto(f"{base}/dashboard?as_of=2025-12-31")
            expected = {
                "certified_persons": people,
                "advanced_certified_persons": sum(1 for n in range(people) if 5 - n % 5 <= 3),
                "trainings": 2 * people,
                "migrant_worker_trainings": sum(1 for n in range(people) if n % 4),
            }
            for code, value in expected.items():
                shown = page.locator(f'[data-code="{code}"]').first
                assert await shown.is_visible(), code
                assert (await shown.inner_text()).strip() == str(value), code
            text = await page.locator("body").inner_text()
            assert "目标完成进度" in text and "时间进度 100.0%" in text
            assert await page.locator("svg").count() >= 7
            ARTIFACTS.mkdir(exist_ok=True)
            engine = "sqlite" if settings.is_sqlite else "postgres"
            await page.screenshot(path=str(ARTIFACTS / f"dashboard-{engine}.png"), full_page=True)
