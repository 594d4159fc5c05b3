from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T15:37:51:000000"
VERSION = "1.38.0"
DESCRIPTION = "enrolment natural key as a unique index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="trainees", description=DESCRIPTION)

    # Composite uniqueness as an index, in its own migration: Piccolo adds table
    # constraints with ALTER TABLE (SQLite cannot) and runs raw steps before new tables.
    async def create_unique_index() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS enrolment_natural_key ON enrolment "
            "(provider, trainee, occupation_code, trade, level, start_date)"
        )

    manager.add_raw(create_unique_index)
    return manager
