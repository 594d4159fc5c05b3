"""API keys (stored as HMAC-SHA-256) and the browser sessions signed in with them."""

from __future__ import annotations

import secrets as random_tokens
from datetime import UTC, datetime, timedelta
from typing import Any

from ..audit import services as audit
from ..crypto import Secrets
from ..errors import NotFoundError, RuleViolation
from ..principal import Principal, Role
from ..providers.tables import Provider
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from .tables import ApiKey, WebSession

KEY_PREFIX = "sr_"
SESSION_LIFETIME = timedelta(hours=12)


def _out(row: dict[str, Any]) -> ApiKeyOut:
    return ApiKeyOut(
        id=row["id"],
        key_prefix=row["key_prefix"],
        role=Role(row["role"]),
        provider=row.get("provider.code"),
        label=row["label"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


_COLUMNS = (
    ApiKey.id,
    ApiKey.key_prefix,
    ApiKey.role,
    ApiKey.provider.code,
    ApiKey.label,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


async def create_key(data: ApiKeyCreate, secrets: Secrets, actor: Principal) -> ApiKeyCreated:
    provider_id: int | None = None
    if data.role is Role.PROVIDER:
        if not data.provider:
            raise RuleViolation.single(
                "provider", "机构密钥须指定机构代码 / provider keys need --provider"
            )
        provider = await Provider.select(Provider.id).where(Provider.code == data.provider).first()
        if provider is None:
            raise RuleViolation.single("provider", f"找不到机构 {data.provider} / unknown provider")
        provider_id = provider["id"]
    elif data.provider:
        raise RuleViolation.single(
            "provider", "人社局密钥不属于机构 / bureau keys have no provider"
        )
    plaintext = KEY_PREFIX + random_tokens.token_urlsafe(32)
    inserted = await ApiKey.insert(
        ApiKey(
            key_hash=secrets.api_key_hash(plaintext),
            key_prefix=plaintext[:10],
            role=data.role.value,
            provider=provider_id,
            label=data.label,
            created_at=datetime.now(UTC),
        )
    )
    key_id = inserted[0]["id"]
    await audit.record(
        actor,
        "api_key.create",
        "api_key",
        key_id,
        {"role": data.role.value, "provider": data.provider, "label": data.label},
        provider_code=data.provider,
    )
    row = await ApiKey.select(*_COLUMNS).where(ApiKey.id == key_id).first()
    assert row is not None
    return ApiKeyCreated(**_out(row).model_dump(), api_key=plaintext)


async def list_keys() -> list[ApiKeyOut]:
    return [_out(row) for row in await ApiKey.select(*_COLUMNS).order_by(ApiKey.id)]


async def revoke_key(key_id: int, actor: Principal) -> ApiKeyOut:
    row = await ApiKey.select(*_COLUMNS).where(ApiKey.id == key_id).first()
    if row is None:
        raise NotFoundError(f"找不到密钥 {key_id} / API key not found")
    if row["revoked_at"] is None:
        await ApiKey.update({ApiKey.revoked_at: datetime.now(UTC)}).where(ApiKey.id == key_id)
        await WebSession.delete().where(WebSession.api_key == key_id)
        await audit.record(actor, "api_key.revoke", "api_key", key_id, {"label": row["label"]})
        row = await ApiKey.select(*_COLUMNS).where(ApiKey.id == key_id).first()
        assert row is not None
    return _out(row)


def _principal(row: dict[str, Any]) -> Principal:
    return Principal(
        role=Role(row["role"]),
        label=row["label"],
        key_id=row["id"],
        provider_id=row["provider"],
        provider_code=row["provider.code"],
    )


async def authenticate(api_key: str, secrets: Secrets) -> Principal | None:
    """The principal behind a live key, or None for an unknown or revoked one."""
    if not api_key.startswith(KEY_PREFIX):
        return None
    row = (
        await ApiKey.select(
            ApiKey.id, ApiKey.role, ApiKey.label, ApiKey.provider, ApiKey.provider.code
        )
        .where((ApiKey.key_hash == secrets.api_key_hash(api_key)) & ApiKey.revoked_at.is_null())
        .first()
    )
    return None if row is None else _principal(row)


async def start_session(api_key: str, secrets: Secrets) -> tuple[str, str, Principal] | None:
    """Sign a browser in with a key: returns (cookie token, CSRF token, principal)."""
    principal = await authenticate(api_key, secrets)
    if principal is None:
        return None
    token = random_tokens.token_urlsafe(32)
    csrf = random_tokens.token_urlsafe(24)
    now = datetime.now(UTC)
    await WebSession.insert(
        WebSession(
            token_hash=secrets.session_hash(token),
            api_key=principal.key_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await audit.record(principal, "session.start", "api_key", principal.key_id or 0)
    return token, csrf, principal


async def session_principal(token: str, secrets: Secrets) -> tuple[Principal, str] | None:
    """The principal and CSRF token of a live session."""
    row = (
        await WebSession.select(
            WebSession.csrf_token,
            WebSession.expires_at,
            WebSession.api_key.id.as_alias("id"),
            WebSession.api_key.role.as_alias("role"),
            WebSession.api_key.label.as_alias("label"),
            WebSession.api_key.provider.as_alias("provider"),
            WebSession.api_key.provider.code.as_alias("provider.code"),  # type: ignore[union-attr]
            WebSession.api_key.revoked_at.as_alias("revoked_at"),
        )
        .where(WebSession.token_hash == secrets.session_hash(token))
        .first()
    )
    if row is None or row["revoked_at"] is not None or row["expires_at"] < datetime.now(UTC):
        return None
    return _principal(row), row["csrf_token"]


async def end_session(token: str, secrets: Secrets) -> None:
    await WebSession.delete().where(WebSession.token_hash == secrets.session_hash(token))
