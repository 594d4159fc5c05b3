"""One archive holding what a restore needs besides SECRET_KEY: the database and KEYS_DIR.

SQLite is copied with SQLite's online backup API (a consistent snapshot while servers keep
writing; a plain file copy of a WAL database can be torn), PostgreSQL with `pg_dump
--format=custom`. The signing keys go in beside it. The archive holds private signing
keys: it is written mode 0600, and belongs where SECRET_KEY's own backup is not.

A restore refuses to write over anything: the database must be new (SQLite: no file;
PostgreSQL: no tables) and KEYS_DIR must hold no key.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from . import __version__
from .certificates.signing import CURRENT_FILE, KeyStore
from .settings import Settings

FORMAT = 1
MANIFEST = "MANIFEST.json"
SQLITE_MEMBER = "database/registry.db"
POSTGRES_MEMBER = "database/registry.pgdump"
KEYS_MEMBER = "keys"


class BackupError(RuntimeError):
    """Said to the operator as is (the CLI prints it and exits 1)."""


@dataclass(frozen=True)
class Summary:
    engine: str
    keys: list[str]
    current: str | None


def _postgres_url(settings: Settings) -> str:
    return settings.database_url.replace("postgres://", "postgresql://", 1)


def _pg_tool_target(settings: Settings) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore's command line without its password, and the
    environment that carries the password (a command line is readable by any local user)."""
    parts = urlsplit(_postgres_url(settings))
    env = dict(os.environ)
    if parts.password is None:
        return parts.geturl(), env
    env["PGPASSWORD"] = unquote(parts.password)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal goes back in brackets
        host = f"[{host}]"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}")), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} 不在 PATH 中（apt-get install postgresql-client）/ {name} is not installed"
        )
    return found


def _snapshot_sqlite(source: Path, target: Path) -> None:
    if not source.is_file():
        raise BackupError(f"数据库文件不存在 / no database file at {source}")
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


def _dump_postgres(settings: Settings, target: Path) -> None:
    url, env = _pg_tool_target(settings)
    done = subprocess.run(  # noqa: S603 - our own settings, no shell
        [_tool("pg_dump"), "--format=custom", f"--file={target}", url],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")


def write_backup(settings: Settings, out: Path) -> Summary:
    """Database snapshot + KEYS_DIR + a manifest, as one .tar.gz (mode 0600)."""
    store = KeyStore(settings.keys_dir)
    if not store.has_current:
        raise BackupError(f"KEYS_DIR ({settings.keys_dir}) 中没有签名密钥 / no signing key")
    engine = "sqlite" if settings.is_sqlite else "postgresql"
    with tempfile.TemporaryDirectory(prefix="sr-backup-") as folder:
        database = Path(folder) / "database"
        if settings.is_sqlite:
            _snapshot_sqlite(settings.sqlite_path, database)
        else:
            _dump_postgres(settings, database)
        manifest = {
            "format": FORMAT,
            "engine": engine,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "skills_registry": __version__,
            "keys": store.kids(),
            "current": store.current_kid,
        }
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            archive.addfile(info, io.BytesIO(data))
            member = SQLITE_MEMBER if settings.is_sqlite else POSTGRES_MEMBER
            archive.add(database, arcname=member)
            for path in sorted(settings.keys_dir.iterdir()):
                if path.suffix == ".pem" or path.name == CURRENT_FILE:
                    archive.add(path, arcname=f"{KEYS_MEMBER}/{path.name}")
    return Summary(engine, manifest["keys"], manifest["current"])  # type: ignore[arg-type]


def _read_manifest(archive: tarfile.TarFile) -> dict[str, object]:
    try:
        handle = archive.extractfile(MANIFEST)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError("不是 skills-registry 备份文件 / not a skills-registry backup")
    manifest: dict[str, object] = json.loads(handle.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"备份格式 {manifest.get('format')} 不受支持 / unknown backup format")
    return manifest


def _keys_dir_is_empty(keys_dir: Path) -> bool:
    return not keys_dir.exists() or not any(keys_dir.glob("*.pem"))


async def _postgres_is_empty(settings: Settings) -> bool:
    import asyncpg

    connection = await asyncpg.connect(_postgres_url(settings))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    return bool(count == 0)


def _extract(archive: tarfile.TarFile, name: str, target: Path) -> None:
    handle = archive.extractfile(name)
    if handle is None:
        raise BackupError(f"备份中缺少 {name} / {name} missing from the backup")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(handle, out)


async def restore_backup(settings: Settings, source: Path) -> Summary:
    """Into a new database and an empty KEYS_DIR (both from the settings); never over data.
    The keys are unpacked and checked against the manifest before the database is written,
    so a bad archive leaves nothing behind."""
    with (
        tarfile.open(source, mode="r:gz") as archive,
        tempfile.TemporaryDirectory(prefix="sr-restore-") as folder,
    ):
        manifest = _read_manifest(archive)
        engine = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["engine"] != engine:
            raise BackupError(
                f"备份来自 {manifest['engine']}，目标是 {engine} / the backup is of "
                f"{manifest['engine']}, DATABASE_URL is {engine}"
            )
        if not _keys_dir_is_empty(settings.keys_dir):
            raise BackupError(f"KEYS_DIR ({settings.keys_dir}) 已有密钥 / already holds keys")
        keys = Path(folder) / "keys"
        keys.mkdir(mode=0o700)
        for member in archive.getmembers():
            name = member.name.removeprefix(f"{KEYS_MEMBER}/")
            if member.isfile() and member.name.startswith(f"{KEYS_MEMBER}/") and "/" not in name:
                _extract(archive, member.name, keys / name)
        store = KeyStore(keys)
        if store.current_kid is None or store.current_kid != manifest["current"]:
            raise BackupError(
                "备份中的签名密钥与清单不符 / the backup's keys differ from its manifest"
            )
        if settings.is_sqlite:
            target = settings.sqlite_path
            if target.exists():
                raise BackupError(f"数据库文件已存在 / a database already exists at {target}")
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract(archive, SQLITE_MEMBER, target)
        else:
            if not await _postgres_is_empty(settings):
                raise BackupError("目标数据库不是空的 / the target database is not empty")
            dump = Path(folder) / "registry.pgdump"
            _extract(archive, POSTGRES_MEMBER, dump)
            url, env = _pg_tool_target(settings)
            # A one-off command-line run: blocking the loop here holds nothing up.
            done = subprocess.run(  # noqa: S603, ASYNC221 - our own settings, no shell
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    f"--dbname={url}",
                    str(dump),
                ],
                capture_output=True,
                text=True,
                check=False,
                env=env,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        settings.keys_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.keys_dir, 0o700)
        for path in sorted(keys.iterdir()):
            fd = os.open(settings.keys_dir / path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(path.read_bytes())
    store = KeyStore(settings.keys_dir)
    return Summary(engine, store.kids(), store.current_kid)
