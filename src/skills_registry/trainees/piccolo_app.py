import os

from piccolo.conf.apps import AppConfig

from .tables import Enrolment, ProviderLink, Trainee

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="trainees",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Trainee, ProviderLink, Enrolment],
    migration_dependencies=["skills_registry.providers.piccolo_app"],
    commands=[],
)
