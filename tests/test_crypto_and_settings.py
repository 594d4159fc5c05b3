import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from skills_registry.crypto import Secrets
from skills_registry.settings import DEVELOPMENT_SECRET_KEY, Settings


def test_encryption_round_trip_and_binding() -> None:
    secrets = Secrets("a" * 40)
    sealed = secrets.encrypt_id_number("11010519491231002X", associated="row-1")
    assert "11010519491231002X" not in sealed
    assert secrets.decrypt_id_number(sealed, associated="row-1") == "11010519491231002X"
    with pytest.raises(InvalidTag):
        secrets.decrypt_id_number(sealed, associated="row-2")
    with pytest.raises(InvalidTag):
        Secrets("b" * 40).decrypt_id_number(sealed, associated="row-1")


def test_same_number_encrypts_differently_but_indexes_the_same() -> None:
    secrets = Secrets("a" * 40)
    assert secrets.encrypt_id_number("x", "i") != secrets.encrypt_id_number("x", "i")
    assert secrets.id_number_index("resident_id|1") == secrets.id_number_index("resident_id|1")
    assert Secrets("b" * 40).id_number_index("resident_id|1") != secrets.id_number_index(
        "resident_id|1"
    )


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SKILLS_REGISTRY_SECRET_KEY", raising=False)
    monkeypatch.setenv("SKILLS_REGISTRY_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="development default"):
        Settings()
    monkeypatch.setenv("SKILLS_REGISTRY_SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings()
    monkeypatch.setenv("SKILLS_REGISTRY_SECRET_KEY", "x" * 40)
    assert Settings().secret_key == "x" * 40


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKILLS_REGISTRY_ENVIRONMENT", "development")
    monkeypatch.setenv("SKILLS_REGISTRY_PUBLIC_BASE_URL", "https://zs.rsj.xm.gov.cn/")
    settings = Settings()
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY
    assert settings.public_base_url == "https://zs.rsj.xm.gov.cn"
    assert settings.database_url == "sqlite:///var/skills-registry.db"
    monkeypatch.setenv("SKILLS_REGISTRY_DATABASE_URL", "mysql://x")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings()
