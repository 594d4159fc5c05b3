from piccolo.columns import (
    JSON,
    UUID,
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


class Competition(Table, tablename="competition"):
    """A skills competition (职业技能竞赛) and its promotion table.

    `issuer` is the provider designated to issue the promotion certificates (e.g. the
    organiser registered as an 评价机构 or 行业协会, with the occupations in its scope).
    `occupations` is a JSON list of occupation codes; `promotion_table` a JSON list of rows
    `{"rank_from", "rank_to", "rule", "level", "from_level"}` (see `competitions.services`).
    """

    id = Serial(primary_key=True)
    name = Varchar(length=200)
    year = Integer(index=True)
    level = Varchar(length=20, index=True)
    organiser = Varchar(length=200)
    issuer = ForeignKey(Provider, null=False, on_delete=OnDelete.restrict, index=True)
    occupations = JSON(default=[])
    promotion_table = JSON(default=[])
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class CompetitionResult(Table, tablename="competition_result"):
    """One person's placing in one event of a competition.

    Natural key (a unique index): (competition, trainee, occupation_code, event). Confirming
    applies the promotion table: `promoted_level` and `certificate_number` (source
    "competition", `source_ref` this row's id) when it promotes, else `promotion_note` says
    why not. `promotion_year` (the competition's year, set only when promoted) is unique
    per person: at most one promotion per person per calendar year.
    """

    id = Serial(primary_key=True)
    competition = ForeignKey(Competition, null=False, on_delete=OnDelete.restrict, index=True)
    trainee = ForeignKey(Trainee, null=False, on_delete=OnDelete.restrict, index=True)
    occupation_code = Varchar(length=20)
    occupation_name = Varchar(length=100)
    event = Varchar(length=200, default="")
    rank = Integer(null=True, default=None)
    award = Varchar(length=50, default="")
    honours = JSON(default=[])
    status = Varchar(length=12, default="pending", index=True)
    previous_level = Integer(null=True, default=None)
    promoted_level = Integer(null=True, default=None)
    promotion_year = Integer(null=True, default=None)
    promotion_note = Text(default="")
    certificate_number = Varchar(length=30, null=True, default=None)
    confirmed_by = Varchar(length=200, null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    import_batch = UUID(null=True, default=None)
    created_by = Varchar(length=200)
    created_at = Timestamptz()
    updated_at = Timestamptz()
