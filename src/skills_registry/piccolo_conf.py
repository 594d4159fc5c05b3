"""The Piccolo configuration the running app uses (the root piccolo_conf.py re-exports it).

`DB` is replaced by `database.activate()` with the engine built from the settings, so
Piccolo's migration runner and every table use the same engine.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.sqlite import SQLiteEngine

APP_NAMES = [
    "skills_registry.audit.piccolo_app",
    "skills_registry.sequences.piccolo_app",
    "skills_registry.documents.piccolo_app",
    "skills_registry.providers.piccolo_app",
    "skills_registry.auth.piccolo_app",
    "skills_registry.trainees.piccolo_app",
    "skills_registry.imports.piccolo_app",
    "skills_registry.certificates.piccolo_app",
    "skills_registry.apprenticeships.piccolo_app",
    "skills_registry.competitions.piccolo_app",
    "skills_registry.recognition.piccolo_app",
    "skills_registry.verification.piccolo_app",
    "skills_registry.reporting.piccolo_app",
]

APP_REGISTRY = AppRegistry(apps=APP_NAMES)

# Placeholder until activate(); never opened unless something queries before activation.
DB: Engine = SQLiteEngine(path="var/skills-registry.db")
