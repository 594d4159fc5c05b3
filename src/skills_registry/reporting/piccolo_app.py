import os

from piccolo.conf.apps import AppConfig

from .tables import PeriodIndicator, PlanPeriod, ProgressBucket, ProgressDirty, ProgressEntry

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="reporting",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[PlanPeriod, PeriodIndicator, ProgressEntry, ProgressBucket, ProgressDirty],
    migration_dependencies=[
        "skills_registry.providers.piccolo_app",
        "skills_registry.trainees.piccolo_app",
        "skills_registry.certificates.piccolo_app",
    ],
    commands=[],
)
