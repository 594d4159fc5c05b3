"""What a service call needs besides its input: who asks, the secrets, and the local clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .crypto import Secrets
from .principal import Principal


@dataclass(frozen=True)
class Context:
    principal: Principal
    secrets: Secrets
    tz: ZoneInfo

    def today(self) -> date:
        return datetime.now(self.tz).date()

    def with_principal(self, principal: Principal) -> Context:
        return Context(principal=principal, secrets=self.secrets, tz=self.tz)
