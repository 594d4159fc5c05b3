from piccolo.columns import JSONB, Serial, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class AuditEvent(Table, tablename="audit_event"):
    """Who changed what, when; `changes` never holds a raw ID number."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    actor = Varchar(length=200)  # "key:<id> <label>" or "cli"
    action = Varchar(length=60, index=True)
    entity_type = Varchar(length=60, index=True)
    entity_id = Varchar(length=100, index=True, index_method=IndexMethod.btree)
    provider_code = Varchar(length=40, null=True, default=None, index=True)
    changes = JSONB(default={})
