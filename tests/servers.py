"""The real server in a child process: uvicorn on 127.0.0.1 and a spare port, on a test database.

`live_server` is the context manager page tests use; `start_server` hands back the process
itself, for tests that kill it (SIGKILL mid-upload) or start a second one on the same
database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from skills_registry.settings import Settings
from tests.conftest import KEYS_DIR, TEST_SECRET
from tests.ports import spare_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
CLI_TIMEOUT_S = 60.0


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    base: str

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lifespan exit, open transactions die with the process."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()


def server_environment(settings: Settings, port: int, **environment: str) -> dict[str, str]:
    """The test settings as the server reads them; the PostgreSQL pool is on unless
    `SKILLS_REGISTRY_DATABASE_POOL` says otherwise (production's default)."""
    return {
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


def start_server(settings: Settings, **environment: str) -> ServerProcess:
    """`skills_registry.asgi:app` under uvicorn, answering /health/live (else the test fails)."""
    port = spare_port()
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
        env=server_environment(settings, port, **environment),
        cwd=ROOT,
    )
    server = ServerProcess(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode} before answering")
        try:
            if httpx.get(f"{server.base}/health/live", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.kill()
    pytest.fail(f"uvicorn did not answer /health/live within {START_TIMEOUT_S:.0f} s")


def cli(settings: Settings, *args: str) -> str:
    """`skills-registry ARGS` on the test settings (as `server_environment`); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", "from skills_registry.cli import main; main()", *args],
        env=server_environment(settings, 0),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"skills-registry {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


@contextmanager
def live_server(settings: Settings, **environment: str) -> Iterator[str]:
    """A running server's base URL; stopped (SIGTERM, then SIGKILL) on the way out."""
    server = start_server(settings, **environment)
    try:
        yield server.base
    finally:
        server.stop()
