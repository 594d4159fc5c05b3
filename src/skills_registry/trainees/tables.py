from piccolo.columns import (
    UUID,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from ..providers.tables import Provider


class Trainee(Table, tablename="trainee"):
    """A person, global to the registry: one row per (ID type, [nationality,] ID number).

    The number itself is only stored encrypted; `id_index` (a keyed hash) finds it.
    """

    id = UUID(primary_key=True)
    id_type = Varchar(length=30)
    nationality = Varchar(length=3, default="")
    id_index = Varchar(length=64, unique=True)
    id_number_encrypted = Text()
    id_number_masked = Varchar(length=40)
    name = Varchar(length=100)
    gender = Varchar(length=2, null=True, default=None)
    birth_date = Date(null=True, default=None)
    district = Varchar(length=6, null=True, default=None)
    category = Varchar(length=20, null=True, default=None)
    phone = Varchar(length=20, null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProviderLink(Table, tablename="provider_trainee"):
    """A provider sees a person once it has entered them (directly, or by enrolment/certificate)."""

    id = UUID(primary_key=True)
    provider = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict)
    created_at = Timestamptz()

    # Unique (provider, trainee): a unique index made in the migration (see ProviderScope).


class Enrolment(Table, tablename="enrolment"):
    """A trainee's enrolment at a provider, in an occupation, toward a level.

    Natural key (a unique index made in the migration): (provider, trainee, occupation_code,
    trade, level, start_date); `trade` is "" when the sheet names no 工种. Completed
    enrolments (结业) count toward indicator 5 by `end_date`, and toward 6 when `category`
    (the trainee's category at enrolment) is 农民工.
    """

    # An integer key: on SQLite it is the rowid, so a 100,000-row upload maintains one
    # index fewer (random UUID keys were half the cost of inserting enrolments).
    id = Serial(primary_key=True)
    provider = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict)
    occupation_code = Varchar(length=20)
    occupation_name = Varchar(length=100)
    trade = Varchar(length=100, default="")
    level = Integer()
    start_date = Date()
    end_date = Date(null=True, default=None)
    status = Varchar(length=10)
    category = Varchar(length=20)
    import_batch = UUID(null=True, default=None)  # the upload that last wrote it, if any
    created_at = Timestamptz()
    updated_at = Timestamptz()
