from piccolo.columns import (
    JSON,
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


class RecognitionAgreement(Table, tablename="recognition_agreement"):
    """An agreement or batch document under which qualifications from a partner are
    recognised (e.g. Fujian's direct recognition of Taiwan 技术士 licences).

    `partner` is a BRICS member's ISO alpha-3 code or TWN (中国台湾地区, a region, never a
    country). `mapping` is a JSON list `{"foreign_level", "level"}` (e.g. 乙级 → 2) that
    suggests the mainland level. `issuer` is the bureau-designated provider that issues the
    mainland certificates.
    """

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    partner = Varchar(length=3, index=True)
    document = Varchar(length=300)
    issuer = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict, index=True)
    mapping = JSON(default=[])
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Recognition(Table, tablename="recognition"):
    """A qualification issued elsewhere, and the bureau's decision on it.

    Natural key (a unique index): (agreement, foreign_number). Recognising issues a
    mainland certificate (source "recognition", `source_ref` this row's id), kept in
    `certificate_number`; its PDF is shown bilingually (`pdf_lang`).
    """

    id = Serial(primary_key=True)
    # No index of its own: "recognition_agreement" would clash with the table of that name
    # (SQLite shares one namespace); the unique index (agreement, foreign_number) serves.
    agreement = ForeignKey(RecognitionAgreement, null=False, on_delete=OnDelete.restrict)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict, index=True)
    partner = Varchar(length=3, index=True)
    issuing_body = Varchar(length=200)
    foreign_title = Varchar(length=200)
    foreign_number = Varchar(length=100)
    foreign_level = Varchar(length=50)
    occupation_code = Varchar(length=20)
    occupation_name = Varchar(length=100)
    trade = Varchar(length=100, default="")
    suggested_level = Integer()
    level = Integer(null=True, default=None)
    status = Varchar(length=12, default="pending", index=True)
    decided_by = Varchar(length=200, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(null=True, default=None)
    issued_on = Date(null=True, default=None)
    certificate_number = Varchar(length=30, null=True, default=None)
    pdf_lang = Varchar(length=10, default="zh-en")
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()
