"""Fixtures: every database test runs on SQLite and on PostgreSQL.

Litestar's AsyncTestClient runs the app in another thread and loop, so tests do not roll
back a transaction: the pool is off and the tables are emptied before each test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from skills_registry import database
from skills_registry.app import create_app
from skills_registry.auth.schemas import ApiKeyCreate
from skills_registry.auth.services import create_key
from skills_registry.crypto import Secrets
from skills_registry.principal import CLI_PRINCIPAL, Role
from skills_registry.providers.schemas import ProviderCreate, ScopeItem
from skills_registry.providers.services import create_provider
from skills_registry.settings import Settings
from tests import pg
from tests.factories import credit_code

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer | None]:
    server = pg.find_server()
    if server is None and os.environ.get("CI") == "true":
        pytest.fail("CI=true but no PostgreSQL answers on 127.0.0.1:5432 and none could be started")
    yield server
    if server is not None and callable(server.stop):
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: pg.PostgresServer | None) -> Iterator[str]:
    if postgres_server is None:
        pytest.skip(
            "PostgreSQL not reachable on 127.0.0.1:5432 and no Debian binaries to start one"
        )
    name = pg.create_database(postgres_server)
    yield postgres_server.url(name)
    pg.drop_database(postgres_server, name)


KEYS_DIR = Path(tempfile.mkdtemp(prefix="sr-test-keys-"))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "keys_dir": KEYS_DIR,
        "environment": "development",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "database_pool": False,
        "public_base_url": "https://verify.example.gov.cn",
        "verification_log_flush_seconds": 0,
        "verification_cache_seconds": 0,
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def backend_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Migrated once per engine per run."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "registry.db"
        settings = make_settings(f"sqlite:///{path}")
    else:
        settings = make_settings(request.getfixturevalue("postgres_url"))
    database.activate(database.build_engine(settings))
    await database.migrate(quiet=True)
    return settings


async def empty_tables() -> None:
    tables = [t for t in database.all_tables() if t._meta.tablename != "migration"]
    if database.is_sqlite():
        for table in reversed(tables):
            await table.delete(force=True)
    else:
        names = ", ".join(f'"{t._meta.tablename}"' for t in tables)
        await database.current_engine().run_ddl(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def settings(backend_settings: Settings) -> Settings:
    return backend_settings


@pytest.fixture
async def app(settings: Settings) -> Litestar:
    application = create_app(settings)
    await empty_tables()
    return application


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as test_client:
        yield test_client


@pytest.fixture
def secrets(settings: Settings) -> Secrets:
    return Secrets(settings.secret_key)


class Keys:
    """API keys for each role, made through the real service."""

    def __init__(self, secrets: Secrets) -> None:
        self._secrets = secrets

    async def make(self, role: Role, provider: str | None = None, label: str = "tester") -> str:
        created = await create_key(
            ApiKeyCreate(role=role, provider=provider, label=label), self._secrets, CLI_PRINCIPAL
        )
        return created.api_key

    @staticmethod
    def auth(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def keys(app: Litestar, secrets: Secrets) -> Keys:
    return Keys(secrets)


async def add_provider(
    code: str, *, kind: str = "技工院校", scope: list[tuple[str, int]] | None = None, **extra: Any
) -> None:
    await create_provider(
        ProviderCreate(
            code=code,
            name=f"测试机构{code}",
            kind=kind,  # type: ignore[arg-type]
            district="思明",
            credit_code=credit_code(code),
            scope=[ScopeItem(occupation_code=c, max_level=m) for c, m in (scope or [])],
            **extra,
        ),
        CLI_PRINCIPAL,
    )


@pytest.fixture
async def two_providers(app: Litestar) -> tuple[str, str]:
    await add_provider("PA", scope=[("6-31-01-03", 2)])
    await add_provider("PB", scope=[("4-03-02-01", 3)])
    return "PA", "PB"


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def signing_key() -> None:
    """A certificate-signing key in the shared test KEYS_DIR (what `migrate` makes)."""
    from skills_registry.certificates.signing import ensure_signing_key

    ensure_signing_key(KEYS_DIR)
