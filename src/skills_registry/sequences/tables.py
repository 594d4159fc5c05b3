from piccolo.columns import BigInt, Varchar
from piccolo.table import Table


class Counter(Table, tablename="counter"):
    name = Varchar(length=100, unique=True)
    value = BigInt(default=0)
