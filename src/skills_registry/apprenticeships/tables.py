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
from ..trainees.tables import Trainee


class Apprenticeship(Table, tablename="apprenticeship"):
    """企业新型学徒制: an enterprise (企业) and a training institution train an apprentice in an
    occupation toward a target level; never deleted (terminated ones stay, with the reason).

    Natural key (a unique index made in its own migration): (enterprise, institution,
    trainee, occupation_code, start_date). `certificate_number` is the certificate issued on
    completion (its `source` is "apprenticeship" and `source_ref` this row's id).
    `subsidy_rate` is the yuan per year the setting gave for the target level when the
    apprenticeship was registered.
    """

    id = Serial(primary_key=True)
    enterprise = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict, index=True)
    institution = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict, index=True)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict, index=True)
    occupation_code = Varchar(length=20, index=True)
    occupation_name = Varchar(length=100)
    trade = Varchar(length=100, default="")
    target_level = Integer()
    start_date = Date(index=True)
    end_date = Date()
    contract_end_date = Date()
    enterprise_mentor = Varchar(length=100)
    school_mentor = Varchar(length=100)
    subsidy_rate = Integer()
    status = Varchar(length=12, default="active", index=True)
    completed_on = Date(null=True, default=None)
    result = Varchar(length=10, null=True, default=None)  # passed | failed
    achieved_level = Integer(null=True, default=None)
    certificate_number = Varchar(length=30, null=True, default=None)
    terminated_on = Date(null=True, default=None)
    termination_reason = Text(null=True, default=None)
    import_batch = UUID(null=True, default=None)
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()
