from piccolo.columns import (
    Boolean,
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
from ..trainees.tables import Trainee


class Certificate(Table, tablename="certificate"):
    """A vocational certificate; never deleted (revoked or superseded rows stay).

    `natural_key` makes "the same certificate twice is one" a unique column: for a
    certificate whose number the registry allocated it is (provider, person, kind,
    occupation code, 工种, level, issue date); for one that arrived with its number it is
    null (the number is the key). A superseded row gives its natural key up to its
    replacement.
    """

    id = Serial(primary_key=True)
    number = Varchar(length=30, unique=True)
    number_allocated = Boolean(default=True)  # False: it arrived with its number
    natural_key = Varchar(length=300, null=True, default=None, unique=True)
    kind = Varchar(length=20, index=True)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict, index=True)
    holder_name = Varchar(length=100)  # as printed on the certificate
    occupation_code = Varchar(length=20, index=True)
    occupation_name = Varchar(length=100)
    trade = Varchar(length=100, default="")  # 工种; "" when none
    level = Integer(null=True, default=None, index=True)  # none for 专项职业能力证书
    provider = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict, index=True)
    issued_on = Date(index=True)
    district = Varchar(length=6, null=True, default=None, index=True)
    source = Varchar(length=20, default="evaluation", index=True)
    source_ref = Varchar(length=100, null=True, default=None)
    status = Varchar(length=12, default="valid", index=True)
    revoked_on = Date(null=True, default=None)
    revoked_reason = Text(null=True, default=None)
    revoked_by = Varchar(length=200, null=True, default=None)
    superseded_by = Varchar(length=30, null=True, default=None)
    supersedes = Varchar(length=30, null=True, default=None)
    token = Text()
    kid = Varchar(length=64)
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Maintained by the verification log (flushed in batches), shown in the certificate JSON.
    verification_count = Integer(default=0)
    last_verified_at = Timestamptz(null=True, default=None)
