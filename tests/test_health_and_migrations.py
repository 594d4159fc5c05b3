import asyncio

import pytest
from litestar.testing import AsyncTestClient

from skills_registry import database
from skills_registry.app import create_app
from skills_registry.settings import Settings
from tests.conftest import make_settings

EXPECTED_TABLES = {
    "audit_event",
    "counter",
    "provider",
    "provider_scope",
    "api_key",
    "web_session",
    "trainee",
    "provider_trainee",
}


async def test_live_and_ready(client: AsyncTestClient) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200


async def test_ready_is_503_and_api_503_when_database_is_gone(tmp_path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/db/registry.db")
    app = create_app(settings)
    (tmp_path / "db" / "registry.db").unlink()
    (tmp_path / "db").rmdir()
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/health/ready")).status_code == 503
        response = await client.get("/api/v1/me", headers={"Authorization": "Bearer sr_x"})
        assert response.status_code == 503


async def test_ready_is_503_when_postgres_does_not_answer() -> None:
    settings = make_settings("postgresql://postgres@127.0.0.1:1/none")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/health/ready")).status_code == 503
        response = await client.get("/api/v1/me", headers={"Authorization": "Bearer sr_x"})
        assert response.status_code == 503


async def _tables() -> set[str]:
    if database.is_sqlite():
        rows = await database.current_engine().run_ddl(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    else:
        rows = await database.current_engine().run_ddl(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        )
    return {row["name"] for row in rows}


async def test_migrations_from_empty_on_sqlite(tmp_path) -> None:
    database.activate(database.build_engine(make_settings(f"sqlite:///{tmp_path}/fresh.db")))
    await database.migrate(quiet=True)
    assert await _tables() >= EXPECTED_TABLES
    await database.migrate(quiet=True)  # a second run changes nothing


async def test_migrations_from_empty_on_postgres(postgres_server) -> None:
    from tests import pg

    if postgres_server is None:
        pytest.skip("PostgreSQL not available")
    name = pg.create_database(postgres_server)
    try:
        database.activate(database.build_engine(make_settings(postgres_server.url(name))))
        await database.migrate(quiet=True)
        assert await _tables() >= EXPECTED_TABLES
    finally:
        await asyncio.to_thread(pg.drop_database, postgres_server, name)


async def test_pool_starts_through_the_lifespan(postgres_url: str) -> None:
    """Production starts the PostgreSQL pool in the lifespan; run a request through it."""
    settings: Settings = make_settings(postgres_url, database_pool=True)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        engine = database.current_engine()
        assert getattr(engine, "pool", None) is not None
        assert (await client.get("/health/ready")).status_code == 200
    assert getattr(engine, "pool", None) is None
