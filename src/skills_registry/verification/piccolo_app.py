import os

from piccolo.conf.apps import AppConfig

from .tables import VerificationEvent

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="verification",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[VerificationEvent],
    migration_dependencies=["skills_registry.certificates.piccolo_app"],
    commands=[],
)
