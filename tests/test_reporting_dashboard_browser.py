"""The dashboard in headless Chromium, against a real uvicorn server started here.

Chromium cannot send an Authorization header from the command line, so it talks to a
small header-adding reverse proxy in front of the server (scripts may authenticate pages
with the header instead of a session cookie).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests import reporting_data as data
from tests.conftest import KEYS_DIR, TEST_SECRET, Keys

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but chromium is not installed (scripts/setup.sh installs it)")
        pytest.skip("chromium is not installed: apt-get install chromium (scripts/setup.sh)")
    return found


def _spare_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(settings: Settings) -> Iterator[str]:
    port = _spare_port()
    env = {
        **os.environ,
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": settings.database_url,
        "SKILLS_REGISTRY_SECRET_KEY": TEST_SECRET,
        "SKILLS_REGISTRY_KEYS_DIR": str(KEYS_DIR),
        "SKILLS_REGISTRY_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
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


@contextmanager
def _header_proxy(upstream: str, key: str) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = urllib.request.Request(
                upstream + self.path, headers={"Authorization": f"Bearer {key}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status, headers, body = response.status, response.headers, response.read()
            except urllib.error.HTTPError as error:
                status, headers, body = error.code, error.headers, error.read()
            self.send_response(status)
            for name in ("content-type", "content-security-policy"):
                if headers.get(name):
                    self.send_header(name, headers[name])
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}"
    finally:
        proxy.shutdown()
        proxy.server_close()


def _run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=120, check=False
    )


async def test_dashboard_in_headless_chromium(
    settings: Settings, keys: Keys, two_providers: tuple[str, str], tmp_path: Path
) -> None:
    chromium = _chromium()
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
    with _server(settings) as base, _header_proxy(base, key) as proxy:
        url = f"{proxy}/dashboard?as_of=2025-12-31"
        dom = _run_chromium(chromium, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        expected = {
            "certified_persons": people,
            "advanced_certified_persons": sum(1 for n in range(people) if 5 - n % 5 <= 3),
            "trainings": 2 * people,
            "migrant_worker_trainings": sum(1 for n in range(people) if n % 4),
        }
        for code, value in expected.items():
            assert f'data-code="{code}">{value}<' in html, code
        assert "目标完成进度" in html and "时间进度 100.0%" in html
        assert html.count("<svg") >= 7
        shot = tmp_path / "dashboard.png"
        result = _run_chromium(chromium, f"--screenshot={shot}", "--window-size=1200,2400", url)
        assert result.returncode == 0, result.stderr[-2000:]
        assert shot.stat().st_size > 20_000
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shutil.copy(
            shot, artifacts / f"dashboard-{'sqlite' if settings.is_sqlite else 'postgres'}.png"
        )
