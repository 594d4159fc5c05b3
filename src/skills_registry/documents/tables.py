from piccolo.columns import Bytea, Serial, Timestamptz, Varchar
from piccolo.table import Table


class RenderedPdf(Table, tablename="rendered_pdf"):
    """A rendered certificate, keyed by a hash of everything printed on it.

    Any change to the certificate (a revocation, a correction) changes the key, so a
    stale PDF is never served; `number` lets the old renders be dropped.
    """

    id = Serial(primary_key=True)
    cache_key = Varchar(length=64, unique=True)
    number = Varchar(length=30, index=True)
    lang = Varchar(length=8)
    content = Bytea()
    created_at = Timestamptz()
