from piccolo.columns import (
    JSONB,
    UUID,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    OnDelete,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from ..providers.tables import Provider


class ImportBatch(Table, tablename="import_batch"):
    """One upload: who sent which file for which provider, and what came of it.

    `errors` holds at most 1,000 row errors with ID-like numbers masked; the full error
    sheet (the clerk's rows, ID numbers included) is kept only encrypted in `error_sheet`.
    """

    id = UUID(primary_key=True)
    kind = Varchar(length=40, index=True)
    provider = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict)
    actor = Varchar(length=200)
    file_name = Varchar(length=255)
    sha256 = Varchar(length=64, index=True)
    size_bytes = Integer(default=0)
    mode = Varchar(length=20)
    status = Varchar(length=20)
    rows = Integer(default=0)
    stored = Integer(default=0)
    unchanged = Integer(default=0)
    rejected = Integer(default=0)
    errors = JSONB(default=[])
    errors_truncated = Boolean(default=False)
    warnings = JSONB(default=[])
    has_error_sheet = Boolean(default=False)
    error_sheet = Bytea(null=True, default=None)
    created_at = Timestamptz(index=True)
