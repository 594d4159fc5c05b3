import os

from piccolo.conf.apps import AppConfig

from .tables import Recognition, RecognitionAgreement

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="recognition",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[RecognitionAgreement, Recognition],
    migration_dependencies=[
        "skills_registry.providers.piccolo_app",
        "skills_registry.trainees.piccolo_app",
        "skills_registry.certificates.piccolo_app",
    ],
    commands=[],
)
