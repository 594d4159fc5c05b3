from piccolo.columns import ForeignKey, Integer, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table


class Provider(Table, tablename="provider"):
    """A training school, training institution, evaluation body, enterprise or association."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    kind = Varchar(length=20)
    district = Varchar(length=6)
    credit_code = Varchar(length=18, unique=True)
    evaluator_code = Varchar(length=4, default="0000")
    site_code = Varchar(length=6, unique=True)
    status = Varchar(length=20, default="active")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProviderScope(Table, tablename="provider_scope"):
    """One occupation a provider may certify, up to `max_level` (3 allows 5, 4 and 3)."""

    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, null=False, on_delete=OnDelete.cascade)
    occupation_code = Varchar(length=20)
    max_level = Integer()

    # Unique (provider, occupation_code): a unique index made in the migration, because
    # Piccolo adds table constraints with ALTER TABLE, which SQLite cannot do.
