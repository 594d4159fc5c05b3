"""The `skills-registry` command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from . import database
from .settings import Settings

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message already names the variable
        raise click.ClickException(f"configuration error: {exc}") from exc


def _activate(settings: Settings) -> None:
    database.activate(database.build_engine(settings))


@click.group()
def main() -> None:
    """职业技能培训与评价登记系统 / skills-registry."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app and API."""
    import uvicorn

    settings = _settings()
    _require_signing_key(settings)
    _activate(settings)
    _run(database.migrate(quiet=True))
    click.echo(f"skills-registry on http://{host}:{port} ({settings.environment})")
    uvicorn.run(
        "skills_registry.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        # The app writes its own access line (route template, request id); uvicorn's would
        # print the raw URL, tokens and query strings included.
        access_log=False,
        # X-Forwarded-For/-Proto are believed only from SKILLS_REGISTRY_TRUSTED_PROXIES
        # (none by default): the same rule the app's rate limits apply.
        proxy_headers=bool(settings.trusted_proxy_networks),
        forwarded_allow_ips=[str(n) for n in settings.trusted_proxy_networks] or None,
    )


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = _settings()
    _activate(settings)
    _run(database.migrate())
    _run(_seed_plan_periods())
    click.echo("migrations applied")
    _ensure_signing_key(settings)


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option(
    "--role", required=True, type=click.Choice(["bureau-admin", "bureau-viewer", "provider"])
)
@click.option("--provider", "provider_code", default=None, help="provider code (provider keys)")
@click.option("--label", default=None, help="the person who holds the key")
def keys_create(role: str, provider_code: str | None, label: str | None) -> None:
    """Issue a key; the key alone is printed on the last line."""
    from .auth.schemas import ApiKeyCreate
    from .auth.services import create_key
    from .crypto import Secrets
    from .errors import DomainError
    from .principal import CLI_PRINCIPAL, Role

    settings = _settings()
    _activate(settings)
    data = ApiKeyCreate(role=Role(role), provider=provider_code, label=label or f"{role} (cli)")
    try:
        created = _run(create_key(data, Secrets(settings.secret_key), CLI_PRINCIPAL))
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(
        f"key {created.id} for {created.label} ({created.role.value}"
        f"{', ' + created.provider if created.provider else ''}); shown once:",
        err=True,
    )
    click.echo(created.api_key)


@keys.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    from .auth.services import list_keys

    _activate(_settings())
    for key in _run(list_keys()):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.key_prefix}…\t{key.role.value}\t{key.provider or '-'}\t"
            f"{key.label}\t{state}"
        )


@keys.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke a key by its id."""
    from .auth.services import revoke_key
    from .errors import DomainError
    from .principal import CLI_PRINCIPAL

    _activate(_settings())
    try:
        key = _run(revoke_key(key_id, CLI_PRINCIPAL))
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"key {key.id} ({key.label}) revoked")


@keys.command("rotate-signing")
def keys_rotate_signing() -> None:
    """Add a new certificate-signing key and make it current; old keys keep verifying."""
    from .certificates.signing import KeyStore, create_signing_key

    settings = _settings()
    kid = create_signing_key(settings.keys_dir)
    kept = [k for k in KeyStore(settings.keys_dir).kids() if k != kid]
    click.echo(f"new signing key {kid} is current in {settings.keys_dir}", err=True)
    if kept:
        click.echo(f"still verifying: {', '.join(kept)}", err=True)
    click.echo(kid)


def _ensure_signing_key(settings: Settings) -> None:
    from .certificates.signing import ensure_signing_key

    kid = ensure_signing_key(settings.keys_dir)
    if kid is not None:
        click.echo(f"signing key {kid} created in {settings.keys_dir}")


def _require_signing_key(settings: Settings) -> None:
    from .certificates.signing import KeyStore

    if not KeyStore(settings.keys_dir).has_current:
        raise click.ClickException(
            f"{settings.keys_dir} 中没有证书签名密钥，请先运行 skills-registry migrate"
            f" / no signing key in KEYS_DIR ({settings.keys_dir}): run `skills-registry migrate`"
        )


@main.command("backup")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
def backup_command(out_path: str) -> None:
    """The database (online snapshot) and KEYS_DIR in one .tar.gz (mode 0600).

    SECRET_KEY is not in it: keep that backup apart from this file."""
    from pathlib import Path

    from .backup import BackupError, write_backup

    settings = _settings()
    try:
        summary = write_backup(settings, Path(out_path))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{summary.engine} database and {len(summary.keys)} signing key(s) "
        f"(current {summary.current}) written to {out_path}"
    )


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
def restore_command(archive: str) -> None:
    """Restore a `backup` archive into DATABASE_URL (a new, empty database) and KEYS_DIR
    (without keys); refuses to write over anything. Needs the SECRET_KEY of the backup."""
    from pathlib import Path

    from .backup import BackupError, restore_backup

    settings = _settings()
    try:
        summary = _run(restore_backup(settings, Path(archive)))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"restored the {summary.engine} database and {len(summary.keys)} signing key(s) "
        f"(current {summary.current})"
    )


@main.command("seed-demo")
def seed_demo() -> None:
    """Load demo providers and people (idempotent)."""
    from .demo import seed

    settings = _settings()
    _activate(settings)
    _run(database.migrate(quiet=True))
    _ensure_signing_key(settings)
    summary = _run(seed(settings))
    click.echo(summary)


@main.group("import")
def import_group() -> None:
    """Upload a sheet from the command line (same checks and records as the API)."""


def run_upload(kind_name: str, path: str, provider_code: str, mode: str) -> None:
    """Shared by every `import <kind>` command: a progress bar, the answer, exit 1 if rejected."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from .context import Context
    from .crypto import Secrets
    from .errors import DomainError
    from .imports.pipeline import Limits, run_import
    from .principal import CLI_PRINCIPAL

    kinds = _import_kinds()
    kind = kinds[kind_name]
    settings = _settings()
    _activate(settings)
    ctx = Context(principal=CLI_PRINCIPAL, secrets=Secrets(settings.secret_key), tz=settings.tz)
    limits = Limits.from_settings(settings)
    console = Console(stderr=True)
    with (
        open(path, "rb") as file,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar,
    ):
        task = bar.add_task(f"{kind.name} ← {path}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = _run(
                run_import(
                    kind,
                    file,
                    file_name=path,
                    ctx=ctx,
                    provider_code=provider_code,
                    mode=mode,  # type: ignore[arg-type]
                    limits=limits,
                    progress=progress,
                )
            )
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
    click.echo(
        f"batch {result.batch_id}: {result.status} — rows {result.rows}, stored {result.stored}, "
        f"unchanged {result.unchanged}, rejected {result.rejected}"
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    for error in result.errors:
        where = f"row {error.row}" if error.row is not None else "file"
        column = f" [{error.column}]" if error.column else ""
        click.echo(f"{where}{column}: {error.message}", err=True)
    if result.errors_truncated:
        click.echo("… more errors: GET /api/v1/imports/{batch_id}/errors.xlsx", err=True)
    if result.status != "stored":
        sys.exit(1)


def _import_kinds() -> dict[str, Any]:
    from .certificates.importing import certificate_import
    from .certificates.signing import KeyStore
    from .trainees.enrolments import ENROLMENT_IMPORT

    settings = _settings()
    certificates = certificate_import(KeyStore(settings.keys_dir), settings.public_base_url)
    return {ENROLMENT_IMPORT.name: ENROLMENT_IMPORT, certificates.name: certificates}


@import_group.command("enrolments")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--provider", "provider_code", required=True, help="the provider's code")
@click.option("--mode", type=click.Choice(["all", "valid_only"]), default="all", show_default=True)
def import_enrolments(path: str, provider_code: str, mode: str) -> None:
    """Upload an enrolment sheet (CSV or XLSX) for a provider."""
    run_upload("enrolments", path, provider_code, mode)


@import_group.command("certificates")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--provider", "provider_code", required=True, help="the provider's code")
@click.option("--mode", type=click.Choice(["all", "valid_only"]), default="all", show_default=True)
def import_certificates(path: str, provider_code: str, mode: str) -> None:
    """Upload a results sheet (CSV or XLSX): blank 证书编号 means the registry allocates."""
    run_upload("certificates", path, provider_code, mode)


async def _seed_plan_periods() -> None:
    from .reporting.services import ensure_seeded

    await ensure_seeded()


@main.group()
def progress() -> None:
    """Progress toward the plan's targets (maintained aggregates)."""


@progress.command("refresh")
def progress_refresh() -> None:
    """Fold pending changes into the aggregates (every progress request does this too)."""
    from .reporting.services import refresh

    _activate(_settings())
    click.echo("refreshed" if _run(refresh()) else "nothing pending")


@progress.command("rebuild")
def progress_rebuild() -> None:
    """Recount the aggregates from scratch."""
    from .reporting.services import rebuild

    _activate(_settings())
    _run(rebuild())
    click.echo("aggregates rebuilt")


@progress.command("check")
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today)")
def progress_check(as_of: str | None) -> None:
    """Compare the aggregates with a full recount for every period; exit 1 on a difference."""
    from datetime import date

    from .reporting import services

    settings = _settings()
    _activate(settings)
    day = date.fromisoformat(as_of) if as_of else services.today_in(settings.tz)

    async def check() -> list[str]:
        await services.ensure_seeded()
        await services.refresh()
        differ = []
        for period in await services._load_periods():
            maintained = (await services.aggregated(period, day)).normalised()
            if maintained != (await services.recount(period, day)).normalised():
                differ.append(period.code)
        return differ

    differ = _run(check())
    if differ:
        raise click.ClickException(f"aggregates differ from a recount for {', '.join(differ)}")
    click.echo(f"aggregates equal a full recount as of {day}")


if __name__ == "__main__":
    sys.exit(main())


@main.command("pdf")
@click.option("--provider", "provider_code", default=None, help="only this provider's certificates")
@click.option("--batch", "batch_id", default=None, help="only certificates from this import batch")
@click.option("--number", "numbers", multiple=True, help="a certificate number (repeatable)")
@click.option("--lang", default="zh", type=click.Choice(["zh", "zh-en"]), show_default=True)
@click.option("--workers", default=None, type=int, help="render processes (default: cores, ≤ 4)")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, writable=True))
def pdf_command(
    provider_code: str | None,
    batch_id: str | None,
    numbers: tuple[str, ...],
    lang: str,
    workers: int | None,
    out_path: str,
) -> None:
    """Render certificates into one ZIP of PDFs, with a progress bar."""
    from rich.progress import Progress

    from .certificates import printing, services
    from .certificates.signing import KeyStore
    from .errors import DomainError
    from .principal import CLI_PRINCIPAL

    settings = _settings()
    _activate(settings)
    signing = services.Signing(KeyStore(settings.keys_dir), settings.public_base_url)

    async def chosen() -> list[Any]:
        if numbers:
            return [await services.get_certificate(n, CLI_PRINCIPAL, signing) for n in numbers]
        filters = services.CertificateFilter(provider=provider_code, source_ref=batch_id)
        return await printing.certificates_for_zip(CLI_PRINCIPAL, filters, signing)

    try:
        certificates = _run(chosen())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    if not certificates:
        raise click.ClickException("没有符合条件的证书 / no certificate matches")
    with Progress() as progress, open(out_path, "wb") as target:
        task = progress.add_task("渲染证书 rendering", total=len(certificates))
        count = printing.write_zip(
            certificates,
            target,
            lang=lang,
            workers=workers,
            on_done=lambda done: progress.update(task, completed=done),
        )
    click.echo(f"{count} certificates written to {out_path}")
