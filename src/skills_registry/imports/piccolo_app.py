import os

from piccolo.conf.apps import AppConfig

from .tables import ImportBatch

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="imports",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[ImportBatch],
    migration_dependencies=["skills_registry.providers.piccolo_app"],
    commands=[],
)
