from piccolo.columns import ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

from ..providers.tables import Provider


class ApiKey(Table, tablename="api_key"):
    """An API key, stored only as a keyed hash; `label` names the person who holds it."""

    id = Serial(primary_key=True)
    key_hash = Varchar(length=64, unique=True)
    key_prefix = Varchar(length=12)
    role = Varchar(length=20)
    # Bureau keys belong to no provider, so this one foreign key is nullable by design.
    provider = ForeignKey(Provider, null=True, on_delete=OnDelete.restrict)
    label = Varchar(length=200)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class WebSession(Table, tablename="web_session"):
    """A signed-in browser: the cookie holds a random token, the table its keyed hash."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True)
    api_key = ForeignKey(ApiKey, null=False, on_delete=OnDelete.cascade)
    csrf_token = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()
