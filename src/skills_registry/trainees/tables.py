from piccolo.columns import UUID, Date, ForeignKey, OnDelete, Text, Timestamptz, Varchar
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
