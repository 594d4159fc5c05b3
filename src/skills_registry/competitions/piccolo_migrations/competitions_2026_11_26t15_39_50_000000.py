from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T15:39:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="competitions", description=DESCRIPTION)

    # Composite uniqueness as indexes, in a migration of their own: Piccolo adds table
    # constraints with ALTER TABLE (SQLite cannot) and runs raw steps before new tables.
    async def create_unique_indexes() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS competition_result_natural_key ON competition_result (competition, trainee, occupation_code, event)")
        await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS competition_result_one_promotion_a_year ON competition_result (trainee, promotion_year)")

    manager.add_raw(create_unique_indexes)
    return manager
