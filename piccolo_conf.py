"""For Piccolo's own CLI (`piccolo migrations new APP --auto`); the app uses skills_registry.piccolo_conf."""

from skills_registry.database import build_engine
from skills_registry.piccolo_conf import APP_REGISTRY
from skills_registry.settings import Settings

DB = build_engine(Settings())

__all__ = ["APP_REGISTRY", "DB"]
