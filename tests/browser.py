"""A real browser for page tests: Debian's Chromium (the server is `tests.servers.live_server`).

Playwright drives /usr/bin/chromium (never a downloaded browser). Without Chromium the
tests skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # screenshots; ignored by git
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (scripts/setup.sh installs it)")
        pytest.skip("chromium is not installed: apt-get install chromium (scripts/setup.sh)")
    return found


@asynccontextmanager
async def browser_page(**context_options: Any) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(**context_options)
            yield await context.new_page()
        finally:
            await browser.close()
