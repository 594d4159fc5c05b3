"""SECURITY.md's backup and restore, run exactly as written there: a certificate issued
before the backup still verifies from the restored copy, an API key issued before it still
signs in, and a person is still found by ID number (SECRET_KEY and the index survived)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from skills_registry import backup, database
from skills_registry.app import create_app
from skills_registry.backup import BackupError, restore_backup, write_backup
from skills_registry.certificates.signing import create_signing_key
from skills_registry.principal import Role
from skills_registry.settings import Settings
from tests import pg
from tests.conftest import KEYS_DIR, Keys, make_settings
from tests.factories import nth_resident_id

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"<!-- tested: ([\w-]+) -->\s*```sh\n(.*?)```", re.DOTALL)
PERSON = nth_resident_id(401)


def documented() -> dict[str, str]:
    blocks = dict(_BLOCK.findall((ROOT / "SECURITY.md").read_text(encoding="utf-8")))
    expected = {"cli-backup", "cli-restore", "sqlite-backup", "sqlite-vacuum-into"}
    assert expected | {"sqlite-restore", "postgres-backup", "postgres-restore"} <= set(blocks)
    return blocks


def run_documented(name: str, settings: Settings, **variables: Path | str) -> str:
    """A block of SECURITY.md in bash (-eu: any failing line fails), with the settings in
    the environment as a server would have them and the block's own variables."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SKILLS_REGISTRY_ENVIRONMENT": "development",
        "SKILLS_REGISTRY_DATABASE_URL": settings.database_url,
        "SKILLS_REGISTRY_SECRET_KEY": settings.secret_key,
        "SKILLS_REGISTRY_KEYS_DIR": str(settings.keys_dir),
        **{key: str(value) for key, value in variables.items()},
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", documented()[name]],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"SECURITY.md block {name} failed:\n{done.stderr}"
    return done.stdout


@pytest.fixture
def fresh_postgres(settings: Settings, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """An empty database to restore into (PostgreSQL runs only)."""
    if settings.is_sqlite:
        yield None
        return
    server: pg.PostgresServer = request.getfixturevalue("postgres_server")
    name = pg.create_database(server)
    yield server.url(name)
    pg.drop_database(server, name)


@pytest.fixture
def back_to_the_test_database(settings: Settings) -> Iterator[None]:
    """Restored apps re-point the tables at their copy; the next test needs them back."""
    yield
    database.activate(database.build_engine(settings))


async def issue_certificate(client: AsyncTestClient, keys: Keys) -> dict[str, Any]:
    await keys.make(Role.BUREAU_VIEWER)  # something for the audit trail to hold
    pa = keys.auth(await keys.make(Role.PROVIDER, "PA"))
    body = {
        "name": "叶文华",
        "id_type": "居民身份证",
        "id_number": PERSON,
        "kind": "职业技能等级证书",
        "occupation_code": "6-31-01-03",
        "level": 3,
        "issued_on": "2025-04-01",
    }
    issued = await client.post("/api/v1/certificates", json=body, headers=pa)
    assert issued.status_code == 201, issued.text
    return {
        "admin_key": await keys.make(Role.BUREAU_ADMIN, label="备份前的管理员"),
        "certificate": issued.json()["certificate"],
    }


async def check_restored(restored: Settings, before: dict[str, Any]) -> None:
    certificate = before["certificate"]
    token = certificate["verify_url"].rsplit("/", 1)[1]
    admin = {"Authorization": f"Bearer {before['admin_key']}"}
    app = create_app(restored)
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as client:
        verdict = (await client.get(f"/api/v1/verify/{token}")).json()
        assert verdict["status"] == "valid", verdict
        assert verdict["certificate"]["number"] == certificate["number"]
        page = await client.get(f"/v/{token}")
        assert "有效" in page.text and "叶文华" in page.text
        found = await client.post(
            "/api/v1/trainees/lookup",
            json={"id_type": "居民身份证", "id_number": PERSON},
            headers=admin,
        )
        assert found.status_code == 200, found.text
        assert found.json()["id"] == certificate["holder"]["trainee_id"]


def restored_settings(tmp_path: Path, fresh_postgres: str | None, keys_dir: Path) -> Settings:
    url = fresh_postgres or f"sqlite:///{tmp_path / 'restored' / 'registry.db'}"
    return make_settings(url, keys_dir=keys_dir)


async def test_the_documented_commands_restore_a_working_registry(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    fresh_postgres: str | None,
    back_to_the_test_database: None,
) -> None:
    before = await issue_certificate(client, keys)
    backup = tmp_path / "backup"
    restored = restored_settings(tmp_path, fresh_postgres, tmp_path / "restored-keys")
    if settings.is_sqlite:
        # Taken while the app is up and the database is in WAL mode.
        run_documented(
            "sqlite-backup", settings, DB=settings.sqlite_path, KEYS_DIR=KEYS_DIR, BACKUP=backup
        )
        run_documented("sqlite-vacuum-into", settings, DB=settings.sqlite_path, BACKUP=backup)
        restored.sqlite_path.parent.mkdir()
        run_documented(
            "sqlite-restore",
            restored,
            DB=restored.sqlite_path,
            KEYS_DIR=restored.keys_dir,
            BACKUP=backup,
        )
        assert (backup / "registry-compact.db").stat().st_size > 0
    else:
        run_documented(
            "postgres-backup",
            settings,
            DATABASE_URL=settings.database_url,
            KEYS_DIR=KEYS_DIR,
            BACKUP=backup,
        )
        run_documented(
            "postgres-restore",
            restored,
            DATABASE_URL=restored.database_url,
            KEYS_DIR=restored.keys_dir,
            BACKUP=backup,
        )
    assert oct(restored.keys_dir.stat().st_mode & 0o777) == "0o700"
    assert all(p.stat().st_mode & 0o077 == 0 for p in restored.keys_dir.glob("*.pem"))
    await check_restored(restored, before)


async def test_without_the_signing_keys_old_tokens_do_not_verify(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    fresh_postgres: str | None,
    back_to_the_test_database: None,
) -> None:
    """Why KEYS_DIR is part of the backup: the database alone gives `invalid`."""
    before = await issue_certificate(client, keys)
    backup = tmp_path / "backup"
    backup.mkdir(mode=0o700)
    run_documented("cli-backup", settings, BACKUP=backup)
    no_keys = restored_settings(tmp_path, fresh_postgres, tmp_path / "restored-keys")
    run_documented("cli-restore", no_keys, BACKUP=backup)
    for pem in no_keys.keys_dir.glob("*.pem"):
        pem.unlink()
    create_signing_key(no_keys.keys_dir)  # what `migrate` would make on an empty KEYS_DIR
    token = before["certificate"]["verify_url"].rsplit("/", 1)[1]
    app = create_app(no_keys)
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as other:
        assert (await other.get(f"/api/v1/verify/{token}")).json()["status"] == "invalid"


async def test_the_backup_command_round_trip_and_refusals(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    fresh_postgres: str | None,
    back_to_the_test_database: None,
) -> None:
    before = await issue_certificate(client, keys)
    backup = tmp_path / "backup"
    backup.mkdir(mode=0o700)
    said = run_documented("cli-backup", settings, BACKUP=backup)
    archive = backup / "registry-backup.tar.gz"
    assert "signing key" in said and oct(archive.stat().st_mode & 0o777) == "0o600"
    restored = restored_settings(tmp_path, fresh_postgres, tmp_path / "restored-keys")
    assert "restored" in run_documented("cli-restore", restored, BACKUP=backup)
    await check_restored(restored, before)

    # A second restore would write over the restored data: refused, nothing touched.
    command = [sys.executable, "-c", "from skills_registry.cli import main; main()"]
    again = subprocess.run(  # noqa: ASYNC221 - the CLI as an operator runs it
        [*command, "restore", str(archive)],
        env={
            **os.environ,
            "SKILLS_REGISTRY_ENVIRONMENT": "development",
            "SKILLS_REGISTRY_DATABASE_URL": restored.database_url,
            "SKILLS_REGISTRY_SECRET_KEY": restored.secret_key,
            "SKILLS_REGISTRY_KEYS_DIR": str(restored.keys_dir),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 1
    assert "already" in again.stderr, again.stderr
    await check_restored(restored, before)


async def test_an_archive_whose_keys_differ_from_its_manifest_restores_nothing(
    client: AsyncTestClient,
    keys: Keys,
    two_providers: tuple[str, str],
    settings: Settings,
    tmp_path: Path,
    fresh_postgres: str | None,
) -> None:
    await issue_certificate(client, keys)
    good = tmp_path / "good.tar.gz"
    write_backup(settings, good)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(good, "r:gz") as source, tarfile.open(bad, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            if member.name == "MANIFEST.json" and data is not None:
                manifest = {**json.loads(data.read()), "current": "some-other-key"}
                raw = json.dumps(manifest).encode()
                member.size, data = len(raw), io.BytesIO(raw)
            target.addfile(member, data)
    restored = restored_settings(tmp_path, fresh_postgres, tmp_path / "restored-keys")
    with pytest.raises(BackupError, match="differ"):
        await restore_backup(restored, bad)
    assert not (tmp_path / "restored-keys").exists() or not any(
        (tmp_path / "restored-keys").iterdir()
    )
    if restored.is_sqlite:
        assert not restored.sqlite_path.exists()
    else:
        assert await backup._postgres_is_empty(restored)
