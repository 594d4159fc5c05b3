"""A real server and a real browser for page tests: uvicorn on 127.0.0.1, Debian's Chromium.

Playwright drives /usr/bin/chromium (never a downloaded browser). Without Chromium the
tests skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from skills_registry.settings import Settings
from tests.conftest import KEYS_DIR, TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots; ignored by git
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


def spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(settings: Settings, **environment: str) -> Iterator[str]:
    """`skills_registry.asgi:app` under uvicorn in a child process, on the test database."""
    port = spare_port()
    env = {
        **os.environ,
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": settings.database_url,
        "SKILLS_REGISTRY_SECRET_KEY": TEST_SECRET,
        "SKILLS_REGISTRY_KEYS_DIR": str(KEYS_DIR),
        "SKILLS_REGISTRY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SKILLS_REGISTRY_VERIFICATION_LOG_FLUSH_SECONDS": "0",
        "SKILLS_REGISTRY_VERIFICATION_CACHE_SECONDS": "0",
        **environment,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "skills_registry.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/health/live", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            pytest.fail("uvicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


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
