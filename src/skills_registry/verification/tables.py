from piccolo.columns import Serial, Timestamptz, Varchar
from piccolo.table import Table


class VerificationEvent(Table, tablename="verification_event"):
    """One check of a certificate: when, the verdict, and through what (no verifier data)."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    number = Varchar(length=30, null=True, default=None, index=True)  # null when invalid
    result = Varchar(length=12, index=True)
    channel = Varchar(length=8)  # page | api | match
