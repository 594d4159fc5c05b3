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
    _activate(settings)
    _run(database.migrate(quiet=True))
    click.echo(f"skills-registry on http://{host}:{port} ({settings.environment})")
    uvicorn.run(
        "skills_registry.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
    )


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = _settings()
    _activate(settings)
    _run(database.migrate())
    click.echo("migrations applied")


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


@main.command("seed-demo")
def seed_demo() -> None:
    """Load demo providers and people (idempotent)."""
    from .demo import seed

    settings = _settings()
    _activate(settings)
    _run(database.migrate(quiet=True))
    summary = _run(seed(settings))
    click.echo(summary)


if __name__ == "__main__":
    sys.exit(main())
