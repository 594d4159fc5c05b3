"""The one typed settings object; nothing else in the code reads the environment."""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "development-secret-key-do-not-use-in-production"


IMPORT_WORKER_MIN_ROWS = 5000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKILLS_REGISTRY_", extra="ignore")

    environment: Literal["development", "production"] = "production"
    database_url: str = "sqlite:///var/skills-registry.db"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    keys_dir: Path = Path("var/keys")
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_upload_rows: int = Field(default=200_000, gt=0)
    # Uploads of at least this many rows are read and checked in a worker process (one per
    # upload, ~80 MB at 100,000 rows) while the server stores them; smaller ones in the server.
    import_worker_min_rows: int = Field(default=IMPORT_WORKER_MIN_ROWS, ge=1)
    timezone: str = "Asia/Shanghai"
    # The PostgreSQL pool is started in the app's lifespan; tests turn it off because
    # Litestar's test client runs the app in another event loop.
    database_pool: bool = True
    database_pool_max_size: int = Field(default=10, gt=0)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"
    # GET /metrics (Prometheus) and the request metrics; it answers without an API key, so
    # expose it only on the internal network, or turn it off here.
    metrics_enabled: bool = True
    # 企业新型学徒制 subsidy, yuan per apprentice per year, by target level (Fujian: 5,000 for
    # 中级工 classes, 6,000 for 高级工; the other levels are the bureau's choice, here the
    # rate of the nearest Fujian class). JSON in the environment, e.g. '{"4": 5000, "3": 6000}'.
    apprentice_subsidy_by_level: dict[int, int] = Field(
        default_factory=lambda: {5: 5000, 4: 5000, 3: 6000, 2: 6000, 1: 6000}
    )
    # Public surface: per-client limits (the match check reveals one bit per try).
    verify_page_rate_per_minute: int = Field(default=120, gt=0)
    id_match_rate_per_minute: int = Field(default=10, gt=0)
    # Where those per-client budgets are counted. Unset: in each process's memory, right for
    # one worker; several workers or servers need Redis, or each counts its own budget.
    redis_url: str | None = None
    redis_namespace: str = Field(default="skills-registry", min_length=1)
    # X-Forwarded-For is believed only when the connection comes from one of these proxies
    # (comma-separated addresses or networks, e.g. "127.0.0.1,10.0.0.0/8"); empty (the
    # default): a client is the address it connects from.
    trusted_proxies: str = ""
    # Verification counts are written in batches; 0 writes each one at once.
    verification_log_flush_seconds: float = Field(default=1.0, ge=0)
    # How long a server may answer scans from its cached copy of a certificate's status
    # (and of a token's signature check): a revocation, or a signing key removed from
    # KEYS_DIR, reaches every server within this time. 0 checks everything each time.
    verification_cache_seconds: float = Field(default=5.0, ge=0)

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError(
                "DATABASE_URL must start with sqlite:/// or postgresql:// "
                f"(got {value.split(':', 1)[0]}:...)"
            )
        return value

    @model_validator(mode="after")
    def _refuse_development_secret_in_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEVELOPMENT_SECRET_KEY:
                raise ValueError(
                    "SKILLS_REGISTRY_SECRET_KEY is the development default; set a secret "
                    "of at least 32 random characters for production"
                )
            if len(self.secret_key) < 32:
                raise ValueError("SKILLS_REGISTRY_SECRET_KEY must be at least 32 characters")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def trusted_proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        return [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in self.trusted_proxies.split(",")
            if item.strip()
        ]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))
