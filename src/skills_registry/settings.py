"""The one typed settings object; nothing else in the code reads the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET_KEY = "development-secret-key-do-not-use-in-production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKILLS_REGISTRY_", extra="ignore")

    environment: Literal["development", "production"] = "production"
    database_url: str = "sqlite:///var/skills-registry.db"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    keys_dir: Path = Path("var/keys")
    max_upload_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_upload_rows: int = Field(default=200_000, gt=0)
    timezone: str = "Asia/Shanghai"
    # The PostgreSQL pool is started in the app's lifespan; tests turn it off because
    # Litestar's test client runs the app in another event loop.
    database_pool: bool = True
    database_pool_max_size: int = Field(default=10, gt=0)
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0)
    log_level: str = "INFO"

    @field_validator("public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:///")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))
