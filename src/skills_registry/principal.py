"""Who is asking: every service takes one, to scope what it shows and to sign the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    BUREAU_ADMIN = "bureau-admin"
    BUREAU_VIEWER = "bureau-viewer"
    PROVIDER = "provider"


@dataclass(frozen=True)
class Principal:
    role: Role
    label: str
    key_id: int | None = None
    provider_id: int | None = None
    provider_code: str | None = None

    @property
    def is_bureau(self) -> bool:
        return self.role in (Role.BUREAU_ADMIN, Role.BUREAU_VIEWER)

    @property
    def audit_label(self) -> str:
        return f"key:{self.key_id} {self.label}" if self.key_id is not None else self.label

    def may_see_provider(self, provider_id: int) -> bool:
        return self.is_bureau or self.provider_id == provider_id


CLI_PRINCIPAL = Principal(role=Role.BUREAU_ADMIN, label="cli")
