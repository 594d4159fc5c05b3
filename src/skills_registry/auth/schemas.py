from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..principal import Role
from ..schema_base import Schema


class ApiKeyCreate(Schema):
    role: Role
    provider: str | None = Field(
        default=None, description="provider code; required for provider keys"
    )
    label: str = Field(min_length=1, max_length=200, description="the person who holds the key")


class ApiKeyOut(Schema):
    id: int
    key_prefix: str
    role: Role
    provider: str | None
    label: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    api_key: str = Field(description="shown once; only its keyed hash is stored")
