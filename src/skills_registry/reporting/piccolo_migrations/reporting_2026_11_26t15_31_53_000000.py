from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T15:31:53:000000"
VERSION = "1.38.0"
DESCRIPTION = "reporting: unique and lookup indexes; triggers that mark changed people"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS period_indicator_period_code ON period_indicator (period, code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS progress_bucket_cell ON progress_bucket (period, indicator, dimension, bucket_key, month)",
    # Covering: a figure as of a mid-month date reads that month's entries from the index alone.
    "CREATE INDEX IF NOT EXISTS progress_entry_period_day ON progress_entry "
    "(period, day, indicator, district, occupation_code, level, provider, source)",
    "CREATE INDEX IF NOT EXISTS progress_entry_trainee ON progress_entry (trainee)",
    # Covering: a figure reads the year and month rows it needs from the index alone.
    "CREATE INDEX IF NOT EXISTS progress_bucket_month ON progress_bucket "
    "(period, month, indicator, dimension, bucket_key, n)",
    "CREATE INDEX IF NOT EXISTS progress_dirty_batch ON progress_dirty (batch)",
]

# Columns whose change can change a count or its attribution.
CERTIFICATE_COLUMNS = "kind, trainee, level, provider, issued_on, district, source, status, occupation_code"
ENROLMENT_COLUMNS = "trainee, provider, occupation_code, level, end_date, status, category"

MARK = "INSERT INTO progress_dirty (trainee, batch) VALUES ({}, 0)"
MARK_PROVIDER_PEOPLE = (
    "INSERT INTO progress_dirty (trainee, batch) "
    "SELECT DISTINCT trainee, 0 FROM certificate WHERE provider = NEW.id "
    "UNION SELECT DISTINCT trainee, 0 FROM enrolment WHERE provider = NEW.id"
)


def sqlite_triggers() -> list[str]:
    statements = []
    for table, columns in (("certificate", CERTIFICATE_COLUMNS), ("enrolment", ENROLMENT_COLUMNS)):
        statements += [
            f"CREATE TRIGGER IF NOT EXISTS progress_{table}_insert AFTER INSERT ON {table} "
            f"BEGIN {MARK.format('NEW.trainee')}; END",
            f"CREATE TRIGGER IF NOT EXISTS progress_{table}_update AFTER UPDATE OF {columns} ON {table} "
            f"BEGIN {MARK.format('OLD.trainee')}; "
            "INSERT INTO progress_dirty (trainee, batch) SELECT NEW.trainee, 0 WHERE NEW.trainee IS NOT OLD.trainee; END",
            f"CREATE TRIGGER IF NOT EXISTS progress_{table}_delete AFTER DELETE ON {table} "
            f"BEGIN {MARK.format('OLD.trainee')}; END",
        ]
    statements += [
        "CREATE TRIGGER IF NOT EXISTS progress_trainee_district AFTER UPDATE OF district ON trainee "
        f"WHEN NEW.district IS NOT OLD.district BEGIN {MARK.format('NEW.id')}; END",
        "CREATE TRIGGER IF NOT EXISTS progress_provider_district AFTER UPDATE OF district ON provider "
        f"WHEN NEW.district IS NOT OLD.district BEGIN {MARK_PROVIDER_PEOPLE}; END",
    ]
    return statements


def postgres_triggers() -> list[str]:
    statements = [
        # Inserts: one statement-level trigger per INSERT, so a 200,000-row upload marks
        # its people in one go.
        "CREATE OR REPLACE FUNCTION progress_mark_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN INSERT INTO progress_dirty (trainee, batch) SELECT DISTINCT trainee, 0 FROM new_rows; "
        "RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION progress_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {MARK.format('OLD.trainee')}; "
        f"IF TG_OP = 'UPDATE' AND NEW.trainee IS DISTINCT FROM OLD.trainee THEN {MARK.format('NEW.trainee')}; END IF; "
        "RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION progress_mark_trainee() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {MARK.format('NEW.id')}; RETURN NULL; END $$",
        "CREATE OR REPLACE FUNCTION progress_mark_provider() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {MARK_PROVIDER_PEOPLE}; RETURN NULL; END $$",
    ]
    for table, columns in (("certificate", CERTIFICATE_COLUMNS), ("enrolment", ENROLMENT_COLUMNS)):
        statements += [
            f"DROP TRIGGER IF EXISTS progress_{table}_insert ON {table}",
            f"CREATE TRIGGER progress_{table}_insert AFTER INSERT ON {table} "
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION progress_mark_inserted()",
            f"DROP TRIGGER IF EXISTS progress_{table}_change ON {table}",
            f"CREATE TRIGGER progress_{table}_change AFTER UPDATE OF {columns} OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION progress_mark_changed()",
        ]
    statements += [
        "DROP TRIGGER IF EXISTS progress_trainee_district ON trainee",
        "CREATE TRIGGER progress_trainee_district AFTER UPDATE OF district ON trainee FOR EACH ROW "
        "WHEN (OLD.district IS DISTINCT FROM NEW.district) EXECUTE FUNCTION progress_mark_trainee()",
        "DROP TRIGGER IF EXISTS progress_provider_district ON provider",
        "CREATE TRIGGER progress_provider_district AFTER UPDATE OF district ON provider FOR EACH ROW "
        "WHEN (OLD.district IS DISTINCT FROM NEW.district) EXECUTE FUNCTION progress_mark_provider()",
    ]
    return statements


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="reporting", description=DESCRIPTION)

    # In a migration of its own: Piccolo runs raw steps before it creates new tables.
    # The triggers only record *who* changed (progress_dirty); reporting.services.refresh()
    # recounts those people, so the aggregates equal a full recount whoever wrote the rows.
    async def create_indexes_and_triggers() -> None:
        engine = engine_finder()
        assert engine is not None
        triggers = sqlite_triggers() if engine.engine_type == "sqlite" else postgres_triggers()
        for statement in INDEXES + triggers:
            await engine.run_ddl(statement)

    manager.add_raw(create_indexes_and_triggers)
    return manager
