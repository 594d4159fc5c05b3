from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T15:42:04:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="recognition", description=DESCRIPTION)

    # Composite uniqueness as indexes, in a migration of their own: Piccolo adds table
    # constraints with ALTER TABLE (SQLite cannot) and runs raw steps before new tables.
    async def create_unique_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS recognition_natural_key ON recognition (agreement, foreign_number)")

    manager.add_raw(create_unique_indexes)
    return manager
