"""Progress toward the plan's targets: periods, counting rules, maintained aggregates.

Counting rules (DESIGN §3 "Counting toward targets"):

* certified_persons (10) counts **people**: a person (one trainee row = one ID type and
  number) counts once if they hold at least one *qualifying* certificate: kind
  职业技能等级证书 or 职业资格证书 (never 专项职业能力证书), status ``valid`` today (revoked and
  superseded never count; a replacement keeps the original issue date), issued within
  [period start, period end] and on or before ``as_of``.
* advanced_certified_persons (11): the same, among qualifying certificates of level <= 3
  (三级/高级工, 二级, 一级, 特级技师 0, 首席技师 -1).
* trainings (5) counts completed enrolments (status 结业) by end date in the period and
  on or before ``as_of``, 人次 (every enrolment, not distinct people);
  migrant_worker_trainings (6) those whose category at enrolment is 农民工.
* Every breakdown attributes a person to their **first** qualifying certificate in the
  period (earliest issue date, then lowest certificate id), per indicator, so each
  breakdown adds up to the total; ``by_year`` uses that certificate's year. A training is
  attributed to its own enrolment (source ``training``).
* District: the certificate's own district, else its provider's; for an enrolment the
  person's district (所在区), else the provider's.
* A provider key sees the same rules applied to its own certificates and enrolments only.

Implementation: maintained aggregates. ``progress_entry`` holds, per period and indicator,
one row per counted person (their first qualifying certificate) or completed enrolment;
``progress_bucket`` holds their counts per (dimension, key, month). Database triggers
record which people changed (``progress_dirty``); ``refresh()`` recounts exactly those
people before every read. A figure "as of" a date adds the whole months before it from
the buckets and the days of its own month from the entries. ``recount()`` is the
independent full recount (used for provider views and to prove the aggregates).
"""

from __future__ import annotations

import calendar
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.engine.sqlite import SQLiteEngine

from ..audit import services as audit
from ..database import current_engine, is_sqlite, write_transaction
from ..districts import DISTRICTS
from ..errors import ConflictError, FieldError, NotFoundError, RuleViolation
from ..identity import ID_TYPE_NAMES, IdType
from ..occupations import LEVEL_NAMES, catalogue
from ..principal import Principal
from ..providers.tables import Provider
from .schemas import (
    BreakdownRow,
    Figures,
    IndicatorOut,
    IndicatorProgress,
    PeriodCreate,
    PeriodDetail,
    PeriodOut,
    ProgressOut,
)
from .tables import PeriodIndicator, PlanPeriod, ProgressDirty

CERTIFIED = "certified_persons"
ADVANCED = "advanced_certified_persons"
TRAININGS = "trainings"
MIGRANT = "migrant_worker_trainings"
INDICATOR_CODES = (CERTIFIED, ADVANCED, TRAININGS, MIGRANT)


@dataclass(frozen=True)
class IndicatorSpec:
    number: int
    name: str
    unit: str


INDICATORS: dict[str, IndicatorSpec] = {
    TRAININGS: IndicatorSpec(5, "职业技能培训人次", "人次"),
    MIGRANT: IndicatorSpec(6, "农民工参加职业培训人次", "人次"),
    CERTIFIED: IndicatorSpec(10, "新增取得职业资格证书或职业技能等级证书人数", "人"),
    ADVANCED: IndicatorSpec(11, "新增取得高级工以上职业资格证书或职业技能等级证书人数", "人"),
}

COUNTING_KINDS = ("职业技能等级证书", "职业资格证书")
ADVANCED_LEVEL_MAX = 3
COMPLETED = "结业"
MIGRANT_CATEGORY = "农民工"
TRAINING_SOURCE = "training"

DIMENSIONS = ("district", "occupation", "level", "provider", "source")
SOURCE_NAMES = {
    "evaluation": "技能评价",
    "competition": "职业技能竞赛",
    "apprenticeship": "企业新型学徒制",
    "recognition": "资格互认",
    "import": "历史数据导入",
    TRAINING_SOURCE: "培训结业",
}

SEED_PERIOD = PeriodCreate.model_validate(
    {
        "code": "14th",
        "name": "“十四五”规划（2021—2025年）",
        "start": "2021-01-01",
        "end": "2025-12-31",
        "indicators": [
            {"code": TRAININGS, "target": 250_000},
            {"code": MIGRANT, "target": 100_000},
            {"code": CERTIFIED, "target": 80_000},
            {"code": ADVANCED, "target": 20_000},
        ],
    }
)

# Serialises refreshes and rebuilds on PostgreSQL (SQLite writers queue on the file lock).
_ADVISORY_LOCK = 727_001_011


def _now() -> datetime:
    return datetime.now(UTC)


def today_in(tz: ZoneInfo) -> date:
    """ "Today" is the date in the registry's time zone (Asia/Shanghai), not UTC."""
    return _now().astimezone(tz).date()


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    id: int
    code: str
    name: str
    start: date
    end: date
    indicators: tuple[IndicatorOut, ...]

    def out(self) -> PeriodOut:
        return PeriodOut(code=self.code, name=self.name, start=self.start, end=self.end)

    def detail(self) -> PeriodDetail:
        return PeriodDetail(**self.out().model_dump(), indicators=list(self.indicators))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def _load_periods() -> list[Period]:
    periods = await PlanPeriod.select().order_by(PlanPeriod.starts_on, PlanPeriod.id)
    indicators = await PeriodIndicator.select().order_by(
        PeriodIndicator.number, PeriodIndicator.code
    )
    by_period: dict[int, list[IndicatorOut]] = defaultdict(list)
    for row in indicators:
        by_period[row["period"]].append(
            IndicatorOut(
                code=row["code"],
                number=row["number"],
                name=row["name"],
                unit=row["unit"],
                target=row["target"],
            )
        )
    return [
        Period(
            id=row["id"],
            code=row["code"],
            name=row["name"],
            start=_as_date(row["starts_on"]),
            end=_as_date(row["ends_on"]),
            indicators=tuple(by_period[row["id"]]),
        )
        for row in periods
    ]


async def ensure_seeded() -> None:
    """The 14th plan exists whenever no period does (idempotent; `migrate` calls it too)."""
    if await PlanPeriod.exists():
        return
    async with write_transaction():
        await _lock()
        if await PlanPeriod.exists():
            return
        await _insert_period(SEED_PERIOD)


async def list_periods() -> list[PeriodDetail]:
    await ensure_seeded()
    return [period.detail() for period in await _load_periods()]


def _check_indicators(data: PeriodCreate) -> None:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, item in enumerate(data.indicators):
        if item.code not in INDICATORS:
            known = ", ".join(INDICATORS)
            errors.append(
                FieldError(
                    f"indicators.{index}.code",
                    f"未知的指标代码“{item.code}”，应为 {known} / unknown indicator code",
                )
            )
        elif item.code in seen:
            errors.append(
                FieldError(f"indicators.{index}.code", f"指标 {item.code} 重复 / listed twice")
            )
        seen.add(item.code)
    if errors:
        raise RuleViolation(errors=errors, detail=errors[0].message)


async def _insert_period(data: PeriodCreate) -> int:
    now = _now()
    inserted = await PlanPeriod.insert(
        PlanPeriod(
            code=data.code,
            name=data.name,
            starts_on=data.start,
            ends_on=data.end,
            created_at=now,
            updated_at=now,
        )
    )
    period_id = int(inserted[0]["id"])
    if data.indicators:
        await PeriodIndicator.insert(
            *[
                PeriodIndicator(
                    period=period_id,
                    code=item.code,
                    number=item.number if item.number is not None else INDICATORS[item.code].number,
                    name=item.name or INDICATORS[item.code].name,
                    unit=item.unit or INDICATORS[item.code].unit,
                    target=item.target,
                )
                for item in data.indicators
            ]
        )
    await _build_period(period_id, data.start, data.end)
    return period_id


async def create_period(data: PeriodCreate, actor: Principal) -> PeriodDetail:
    _check_indicators(data)
    await ensure_seeded()
    async with write_transaction():
        await _lock()
        if await PlanPeriod.exists().where(PlanPeriod.code == data.code):
            raise ConflictError(f"规划期 {data.code} 已存在 / period code already exists")
        await _insert_period(data)
        await audit.record(
            actor, "period.create", "plan_period", data.code, data.model_dump(mode="json")
        )
    return await get_period(data.code)


async def get_period(code: str) -> PeriodDetail:
    return (await _find_period(code)).detail()


async def _find_period(code: str | None, as_of: date | None = None, seed: bool = True) -> Period:
    if seed:
        await ensure_seeded()
    periods = await _load_periods()
    if code is not None:
        for period in periods:
            if period.code == code:
                return period
        raise NotFoundError(f"找不到规划期 {code} / no such period")
    with_targets = [p for p in periods if p.indicators]
    started = [p for p in with_targets if as_of is None or p.start <= as_of]
    if started:
        return max(started, key=lambda p: (p.start, p.id))
    if with_targets:
        return min(with_targets, key=lambda p: (p.start, p.id))
    raise NotFoundError("尚未设定任何规划期目标 / no period has targets yet")


# --- the tally: counts per indicator, year and breakdown key ---------------------------------


@dataclass
class Tally:
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INDICATOR_CODES, 0))
    years: dict[int, dict[str, int]] = field(default_factory=dict)
    dims: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: {d: {} for d in DIMENSIONS}
    )

    def add(self, indicator: str, year: int, keys: dict[str, str], n: int = 1) -> None:
        self.totals[indicator] += n
        self.years.setdefault(year, dict.fromkeys(INDICATOR_CODES, 0))[indicator] += n
        for dimension, key in keys.items():
            cell = self.dims[dimension].setdefault(key, dict.fromkeys(INDICATOR_CODES, 0))
            cell[indicator] += n

    def add_dimension(self, indicator: str, dimension: str, key: str, n: int) -> None:
        cell = self.dims[dimension].setdefault(key, dict.fromkeys(INDICATOR_CODES, 0))
        cell[indicator] += n

    def add_year(self, indicator: str, year: int, n: int) -> None:
        self.totals[indicator] += n
        self.years.setdefault(year, dict.fromkeys(INDICATOR_CODES, 0))[indicator] += n

    def normalised(self) -> Tally:
        """Zero cells dropped: two tallies of the same figures compare equal."""
        return Tally(
            totals=dict(self.totals),
            years={y: c for y, c in self.years.items() if any(c.values())},
            dims={
                d: {k: c for k, c in cells.items() if any(c.values())}
                for d, cells in self.dims.items()
            },
        )


def _keys(district: Any, occupation: Any, level: Any, provider: Any, source: Any) -> dict[str, str]:
    return {
        "district": district or "",
        "occupation": occupation or "",
        "level": "" if level is None else str(level),
        "provider": str(provider),
        "source": source or "",
    }


def _effective_end(period: Period, as_of: date) -> date | None:
    end = min(as_of, period.end)
    return end if end >= period.start else None


# --- full recount (the reference; also what a provider sees) ---------------------------------


async def recount(period: Period, as_of: date, provider_id: int | None = None) -> Tally:
    """Count from the certificates and enrolments themselves, in Python."""
    tally = Tally()
    end = _effective_end(period, as_of)
    if end is None:
        return tally
    kinds = ", ".join(f"'{k}'" for k in COUNTING_KINDS)
    only = "" if provider_id is None else f" AND c.provider = {int(provider_id)}"
    certificates = await Provider.raw(
        "SELECT c.id, c.trainee, c.issued_on, c.level, COALESCE(c.district, p.district) AS district, "  # noqa: S608 - constants and integers only; values are parameters
        "c.occupation_code, c.provider, c.source FROM certificate c "
        "JOIN provider p ON p.id = c.provider "
        f"WHERE c.status = 'valid' AND c.kind IN ({kinds}) "
        f"AND c.issued_on >= {{}} AND c.issued_on <= {{}}{only}",
        period.start,
        end,
    )
    first: dict[Any, tuple[date, int, dict[str, Any]]] = {}
    first_advanced: dict[Any, tuple[date, int, dict[str, Any]]] = {}
    for row in certificates:
        issued = _as_date(row["issued_on"])
        rank = (issued, int(row["id"]), row)
        person = str(row["trainee"])
        if person not in first or rank[:2] < first[person][:2]:
            first[person] = rank
        level = row["level"]
        advanced = level is not None and int(level) <= ADVANCED_LEVEL_MAX
        if advanced and (person not in first_advanced or rank[:2] < first_advanced[person][:2]):
            first_advanced[person] = rank
    for indicator, chosen in ((CERTIFIED, first), (ADVANCED, first_advanced)):
        for issued, _, row in chosen.values():
            keys = _keys(
                row["district"],
                row["occupation_code"],
                row["level"],
                row["provider"],
                row["source"],
            )
            tally.add(indicator, issued.year, keys)
    only_e = "" if provider_id is None else f" AND e.provider = {int(provider_id)}"
    enrolments = await Provider.raw(
        "SELECT e.end_date, e.level, e.category, COALESCE(t.district, p.district) AS district, "  # noqa: S608 - constants and integers only; values are parameters
        "e.occupation_code, e.provider FROM enrolment e "
        "JOIN trainee t ON t.id = e.trainee JOIN provider p ON p.id = e.provider "
        f"WHERE e.status = '{COMPLETED}' AND e.end_date >= {{}} AND e.end_date <= {{}}{only_e}",
        period.start,
        end,
    )
    for row in enrolments:
        year = _as_date(row["end_date"]).year
        keys = _keys(
            row["district"], row["occupation_code"], row["level"], row["provider"], TRAINING_SOURCE
        )
        tally.add(TRAININGS, year, keys)
        if row["category"] == MIGRANT_CATEGORY:
            tally.add(MIGRANT, year, keys)
    return tally


# --- maintained aggregates -------------------------------------------------------------------


async def _lock() -> None:
    if not is_sqlite():
        await PlanPeriod.raw("SELECT pg_advisory_xact_lock({})", _ADVISORY_LOCK)


def _month_of(column: str) -> str:
    if is_sqlite():
        return f"CAST(strftime('%Y%m', {column}) AS INTEGER)"
    return f"CAST(to_char({column}, 'YYYYMM') AS INTEGER)"


_ENTRY_COLUMNS = "period, indicator, trainee, item, day, month, district, occupation_code, level, provider, source"
_DIRTY = "(SELECT trainee FROM progress_dirty WHERE batch = 1)"
# Up to this many changed people are named in the statements (so the planner probes the
# indexes); more are joined through progress_dirty (so it hashes).
_INLINE_PEOPLE = 500


@dataclass(frozen=True)
class People:
    """Whose entries to recount: everyone (None) or the claimed people."""

    inline: tuple[Any, ...] | None = None
    everyone: bool = False

    def where(self, column: str) -> str:
        if self.everyone:
            return ""
        if self.inline is not None:
            return f" AND {column} IN ({', '.join('{}' for _ in self.inline)})"
        return f" AND {column} IN {_DIRTY}"

    @property
    def args(self) -> tuple[Any, ...]:
        return () if self.everyone or self.inline is None else self.inline


EVERYONE = People(everyone=True)


def _people_entries_sql(period_id: int, indicator: str, people: People) -> str:
    kinds = ", ".join(f"'{k}'" for k in COUNTING_KINDS)
    advanced = (
        f" AND c.level IS NOT NULL AND c.level <= {ADVANCED_LEVEL_MAX}"
        if indicator == ADVANCED
        else ""
    )
    scope = people.where("c.trainee")
    return (
        f"INSERT INTO progress_entry ({_ENTRY_COLUMNS}) "  # noqa: S608 - constants and integers only; values are parameters
        f"SELECT {int(period_id)}, '{indicator}', trainee, item, issued_on, {_month_of('issued_on')}, "
        "district, occupation_code, level, provider, source FROM ("
        "SELECT c.trainee, CAST(c.id AS TEXT) AS item, c.issued_on, "
        "COALESCE(c.district, p.district) AS district, c.occupation_code, c.level, c.provider, "
        "c.source, ROW_NUMBER() OVER (PARTITION BY c.trainee ORDER BY c.issued_on, c.id) AS rn "
        "FROM certificate c JOIN provider p ON p.id = c.provider "
        f"WHERE c.status = 'valid' AND c.kind IN ({kinds}) "
        f"AND c.issued_on >= {{}} AND c.issued_on <= {{}}{advanced}{scope}"
        ") ranked WHERE rn = 1"
    )


def _training_entries_sql(period_id: int, indicator: str, people: People) -> str:
    migrant = f" AND e.category = '{MIGRANT_CATEGORY}'" if indicator == MIGRANT else ""
    scope = people.where("e.trainee")
    return (
        f"INSERT INTO progress_entry ({_ENTRY_COLUMNS}) "  # noqa: S608 - constants and integers only; values are parameters
        f"SELECT {int(period_id)}, '{indicator}', e.trainee, CAST(e.id AS TEXT), e.end_date, "
        f"{_month_of('e.end_date')}, COALESCE(t.district, p.district), e.occupation_code, e.level, "
        f"e.provider, '{TRAINING_SOURCE}' FROM enrolment e "
        "JOIN trainee t ON t.id = e.trainee JOIN provider p ON p.id = e.provider "
        f"WHERE e.status = '{COMPLETED}' AND e.end_date >= {{}} AND e.end_date <= {{}}"
        f"{migrant}{scope}"
    )


_BUCKET_KEYS = {
    "district": "COALESCE(district, '')",
    "occupation": "occupation_code",
    "level": "COALESCE(CAST(level AS TEXT), '')",
    "provider": "CAST(provider AS TEXT)",
    "source": "source",
}


async def _add_to_buckets(where: str, sign: int, args: tuple[Any, ...] = ()) -> None:
    """Add (sign 1) or take away (sign -1) the entries matching `where` from the buckets:
    per dimension, one row per month (`month` = yyyymm) and one per year (yyyy00)."""
    parts = [
        f"SELECT period, indicator, '{dimension}' AS dimension, {key} AS bucket_key, "  # noqa: S608 - constants only
        f"{grain} AS month, {int(sign)} * COUNT(*) AS n FROM progress_entry WHERE {where} "
        f"GROUP BY period, indicator, {key}, {grain}"
        for dimension, key in _BUCKET_KEYS.items()
        for grain in ("month", "(month / 100) * 100")
    ]
    # One statement; `WHERE 1 = 1` keeps SQLite's parser from reading ON as a join.
    await PlanPeriod.raw(
        "INSERT INTO progress_bucket (period, indicator, dimension, bucket_key, month, n) "  # noqa: S608 - constants only
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS cells WHERE 1 = 1 "
        "ON CONFLICT (period, indicator, dimension, bucket_key, month) "
        "DO UPDATE SET n = progress_bucket.n + excluded.n",
        *(args * len(parts)),
    )


async def _insert_entries(period_id: int, start: date, end: date, people: People) -> None:
    for indicator in (CERTIFIED, ADVANCED):
        await PlanPeriod.raw(
            _people_entries_sql(period_id, indicator, people), start, end, *people.args
        )
    for indicator in (TRAININGS, MIGRANT):
        await PlanPeriod.raw(
            _training_entries_sql(period_id, indicator, people), start, end, *people.args
        )


async def _build_period(period_id: int, start: date, end: date) -> None:
    """Entries and buckets of one period from scratch (a new period; inside the caller's lock)."""
    await PlanPeriod.raw(f"DELETE FROM progress_bucket WHERE period = {int(period_id)}")  # noqa: S608 - constants and integers only; values are parameters
    await PlanPeriod.raw(f"DELETE FROM progress_entry WHERE period = {int(period_id)}")  # noqa: S608 - constants and integers only; values are parameters
    await _insert_entries(period_id, start, end, EVERYONE)
    await _add_to_buckets(f"period = {int(period_id)}", 1)


async def refresh() -> bool:
    """Recount the people the triggers marked as changed; True when there were any."""
    if not await ProgressDirty.exists().where(ProgressDirty.batch == 0):
        return False
    async with write_transaction():
        await _lock()
        # Claim what is pending now; rows written meanwhile stay pending for the next refresh.
        await PlanPeriod.raw("UPDATE progress_dirty SET batch = 1 WHERE batch = 0")
        if not await ProgressDirty.exists().where(ProgressDirty.batch == 1):
            return False
        claimed = await PlanPeriod.raw(
            "SELECT DISTINCT trainee FROM progress_dirty WHERE batch = 1 LIMIT {}",
            _INLINE_PEOPLE + 1,
        )
        people = (
            People(inline=tuple(row["trainee"] for row in claimed))
            if len(claimed) <= _INLINE_PEOPLE
            else People()
        )
        mine = "1 = 1" + people.where("trainee")
        await _add_to_buckets(mine, -1, people.args)
        await PlanPeriod.raw(f"DELETE FROM progress_entry WHERE {mine}", *people.args)  # noqa: S608 - constants and integers only; values are parameters
        for period in await PlanPeriod.select(
            PlanPeriod.id, PlanPeriod.starts_on, PlanPeriod.ends_on
        ):
            await _insert_entries(
                period["id"],
                _as_date(period["starts_on"]),
                _as_date(period["ends_on"]),
                people,
            )
        await _add_to_buckets(mine, 1, people.args)
        await PlanPeriod.raw("DELETE FROM progress_dirty WHERE batch = 1")
    return True


async def rebuild() -> None:
    """Throw the aggregates away and count everything again (`skills-registry progress rebuild`)."""
    await ensure_seeded()
    async with write_transaction():
        await _lock()
        await PlanPeriod.raw("UPDATE progress_dirty SET batch = 1 WHERE batch = 0")
        await PlanPeriod.raw("DELETE FROM progress_bucket")
        await PlanPeriod.raw("DELETE FROM progress_entry")
        for period in await PlanPeriod.select(
            PlanPeriod.id, PlanPeriod.starts_on, PlanPeriod.ends_on
        ):
            await _insert_entries(
                period["id"],
                _as_date(period["starts_on"]),
                _as_date(period["ends_on"]),
                EVERYONE,
            )
        await _add_to_buckets("1 = 1", 1)
        await PlanPeriod.raw("DELETE FROM progress_dirty WHERE batch = 1")


def _month_number(day: date) -> int:
    return day.year * 100 + day.month


async def aggregated(period: Period, as_of: date) -> Tally:
    """The figures from the maintained aggregates (call `refresh()` first)."""
    tally = Tally()
    end = _effective_end(period, as_of)
    if end is None:
        return tally
    # Whole years before end's year from the year rows (yyyy00), whole months of end's year
    # from the month rows, and the days of end's own month from the entries.
    last_day = calendar.monthrange(end.year, end.month)[1]
    partial: tuple[date, date] | None = None
    if end.month == 12 and end.day == 31:
        years, months = range(period.start.year, end.year + 1), (0, 0)
    else:
        years = range(period.start.year, end.year)
        cutoff = (
            _month_number(end + timedelta(days=1)) if end.day == last_day else _month_number(end)
        )
        months = (end.year * 100, cutoff)
        if end.day != last_day:
            partial = (max(end.replace(day=1), period.start), end)
    in_years = ", ".join(str(year * 100) for year in years) or "-1"
    cells = f"(month IN ({in_years}) OR (month > {months[0]} AND month < {months[1]}))"
    rows = await PlanPeriod.raw(
        "SELECT indicator, dimension, bucket_key, SUM(n) AS n FROM progress_bucket "  # noqa: S608 - integers only
        f"WHERE period = {{}} AND {cells} GROUP BY indicator, dimension, bucket_key",
        period.id,
    )
    for row in rows:
        if row["n"]:
            tally.add_dimension(
                row["indicator"], row["dimension"], row["bucket_key"], int(row["n"])
            )
    years_rows = await PlanPeriod.raw(
        "SELECT indicator, month, SUM(n) AS n FROM progress_bucket "  # noqa: S608 - integers only
        f"WHERE period = {{}} AND dimension = 'source' AND {cells} GROUP BY indicator, month",
        period.id,
    )
    for row in years_rows:
        if row["n"]:
            tally.add_year(row["indicator"], int(row["month"]) // 100, int(row["n"]))
    if partial is not None:
        parts = []
        args: list[Any] = []
        for dimension, key in _BUCKET_KEYS.items():
            parts.append(
                f"SELECT indicator, '{dimension}' AS dimension, {key} AS bucket_key, COUNT(*) AS n "  # noqa: S608 - constants and integers only; values are parameters
                "FROM progress_entry WHERE period = {} AND day >= {} AND day <= {} "
                f"GROUP BY indicator, {key}"
            )
            args += [period.id, partial[0], partial[1]]
        for row in await PlanPeriod.raw(" UNION ALL ".join(parts), *args):
            tally.add_dimension(
                row["indicator"], row["dimension"], row["bucket_key"], int(row["n"])
            )
            if row["dimension"] == "source":
                tally.add_year(row["indicator"], end.year, int(row["n"]))
    return tally


# --- the answer ------------------------------------------------------------------------------


def elapsed_share(period: Period, as_of: date) -> float:
    days = (period.end - period.start).days + 1
    passed = (min(as_of, period.end) - period.start).days + 1
    return max(0.0, min(1.0, passed / days))


_LEVEL_ORDER = {level: index for index, level in enumerate((5, 4, 3, 2, 1, 0, -1))}
_SOURCE_ORDER = {source: index for index, source in enumerate(SOURCE_NAMES)}


async def _provider_names(ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    numbers = sorted({int(i) for i in ids if i.lstrip("-").isdigit()})
    if not numbers:
        return {}
    rows = await Provider.select(Provider.id, Provider.code, Provider.name).where(
        Provider.id.is_in(numbers)
    )
    return {str(row["id"]): (row["code"], row["name"]) for row in rows}


async def _occupation_names(codes: Iterable[str]) -> dict[str, str]:
    """Names from the occupation catalogue, else as written on a certificate or enrolment."""
    known = catalogue()
    codes = list(codes)
    names = {code: known[code].name for code in codes if code in known}
    for table in ("certificate", "enrolment"):
        missing = [code for code in codes if code not in names]
        if not missing:
            break
        # One index probe per code (a scalar sub-query), not a scan of the whole table.
        values = ", ".join("({})" for _ in missing)
        rows = await Provider.raw(
            f"SELECT v.column1 AS code, (SELECT x.occupation_name FROM {table} x "  # noqa: S608 - constants and integers only; values are parameters
            f"WHERE x.occupation_code = v.column1 LIMIT 1) AS name FROM (VALUES {values}) AS v",
            *missing,
        )
        names.update({row["code"]: row["name"] for row in rows if row["name"]})
    return names


def _row(key: str, name: str, cell: dict[str, int]) -> BreakdownRow:
    return BreakdownRow(key=key, name=name, **cell)


async def render(
    period: Period, as_of: date, tally: Tally, provider_code: str | None = None
) -> ProgressOut:
    tally = tally.normalised()
    indicators = [
        IndicatorProgress(
            code=item.code,
            number=item.number,
            name=item.name,
            unit=item.unit,
            target=item.target,
            value=tally.totals[item.code],
            ratio=tally.totals[item.code] / item.target,
        )
        for item in period.indicators
    ]
    by_year: dict[str, Figures] = {}
    end = _effective_end(period, as_of)
    if end is not None:
        for year in range(period.start.year, end.year + 1):
            by_year[str(year)] = Figures(**tally.years.get(year, dict.fromkeys(INDICATOR_CODES, 0)))
    dims = tally.dims
    districts = sorted(dims["district"], key=lambda k: (k not in DISTRICTS, k))
    by_district = [_row(k, DISTRICTS.get(k, k or "未知"), dims["district"][k]) for k in districts]
    occupations = sorted(dims["occupation"])
    occupation_names = await _occupation_names(occupations)
    by_occupation = [
        _row(k, occupation_names.get(k, k), dims["occupation"][k]) for k in occupations
    ]

    def level_rank(key: str) -> tuple[int, str]:
        try:
            return (_LEVEL_ORDER.get(int(key), 99), key)
        except ValueError:
            return (100, key)

    levels = sorted(dims["level"], key=level_rank)
    by_level = [
        _row(
            k, LEVEL_NAMES.get(int(k), k) if k.lstrip("-").isdigit() else "无等级", dims["level"][k]
        )
        for k in levels
    ]
    providers = await _provider_names(dims["provider"])
    by_provider = sorted(
        (
            _row(providers.get(k, (k, k))[0], providers.get(k, (k, k))[1], cell)
            for k, cell in dims["provider"].items()
        ),
        key=lambda r: r.key,
    )
    sources = sorted(dims["source"], key=lambda k: (_SOURCE_ORDER.get(k, 99), k))
    by_source = [_row(k, SOURCE_NAMES.get(k, k), dims["source"][k]) for k in sources]
    return ProgressOut(
        period=period.out(),
        as_of=as_of,
        elapsed=elapsed_share(period, as_of),
        provider=provider_code,
        indicators=indicators,
        totals=Figures(**tally.totals),
        by_year=by_year,
        by_district=by_district,
        by_occupation=by_occupation,
        by_level=by_level,
        by_provider=by_provider,
        by_source=by_source,
    )


def _reading() -> Any:
    """On SQLite one connection (and one snapshot) for the whole answer, not one per query."""
    engine = current_engine()
    return engine.transaction() if isinstance(engine, SQLiteEngine) else contextlib.nullcontext()


async def progress(
    viewer: Principal, tz: ZoneInfo, period_code: str | None = None, as_of: date | None = None
) -> ProgressOut:
    """The figures a viewer may see: the city's for the bureau, its own for a provider."""
    as_of = as_of or today_in(tz)
    await ensure_seeded()
    if viewer.is_bureau:
        await refresh()
    async with _reading():
        period = await _find_period(period_code, as_of, seed=False)
        if viewer.is_bureau:
            tally = await aggregated(period, as_of)
            return await render(period, as_of, tally)
        tally = await recount(period, as_of, provider_id=viewer.provider_id)
        return await render(period, as_of, tally, provider_code=viewer.provider_code)


async def find_period(code: str | None, as_of: date) -> Period:
    return await _find_period(code, as_of)


# --- the certificate list behind the figures --------------------------------------------------


CERTIFICATE_LIST_HEADERS = (
    "证书编号",
    "证书类型",
    "姓名",
    "证件类型",
    "证件号码（脱敏）",
    "职业编码",
    "职业名称",
    "工种",
    "等级",
    "发证日期",
    "所在区",
    "发证机构代码",
    "发证机构",
    "来源",
    "计入新增取证人数",
    "计入高级工以上人数",
)


def _id_type_name(value: str) -> str:
    try:
        return ID_TYPE_NAMES[IdType(value)]
    except ValueError:
        return value


LIST_CHUNK = 20_000


async def certificate_list(
    period: Period, as_of: date, provider_id: int | None = None, chunk: int | None = None
) -> AsyncIterator[list[list[Any]]]:
    """Every qualifying certificate of the period up to as_of, one row each, in chunks (so a
    million rows never sit in memory at once), with 1/0 in the last two columns for the one
    that counts the person (so their sums are the figures). ID numbers appear masked only."""
    end = _effective_end(period, as_of)
    if end is None:
        return
    chunk = chunk or LIST_CHUNK
    kinds = ", ".join(f"'{k}'" for k in COUNTING_KINDS)
    only = "" if provider_id is None else f" AND c.provider = {int(provider_id)}"
    seen: set[str] = set()
    seen_advanced: set[str] = set()
    after: tuple[date, int] | None = None
    while True:
        # Keyset pagination in (issue date, id) order: the first row per person counts.
        page = (
            "" if after is None else " AND (c.issued_on > {} OR (c.issued_on = {} AND c.id > {}))"
        )
        rows = await Provider.raw(
            "SELECT c.id, c.number, c.kind, c.trainee, c.holder_name, t.id_type, "  # noqa: S608 - constants and integers only; values are parameters
            "t.id_number_masked, c.occupation_code, c.occupation_name, c.trade, c.level, "
            "c.issued_on, COALESCE(c.district, p.district) AS district, p.code AS provider_code, "
            "p.name AS provider_name, c.source FROM certificate c "
            "JOIN provider p ON p.id = c.provider JOIN trainee t ON t.id = c.trainee "
            f"WHERE c.status = 'valid' AND c.kind IN ({kinds}) "
            f"AND c.issued_on >= {{}} AND c.issued_on <= {{}}{only}{page} "
            f"ORDER BY c.issued_on, c.id LIMIT {int(chunk)}",
            period.start,
            end,
            *(() if after is None else (after[0], after[0], after[1])),
        )
        out = []
        for row in rows:
            person = str(row["trainee"])
            counted = person not in seen
            seen.add(person)
            level = row["level"]
            advanced = level is not None and int(level) <= ADVANCED_LEVEL_MAX
            counted_advanced = advanced and person not in seen_advanced
            if advanced:
                seen_advanced.add(person)
            out.append(
                [
                    row["number"],
                    row["kind"],
                    row["holder_name"],
                    _id_type_name(row["id_type"]),
                    row["id_number_masked"],
                    row["occupation_code"],
                    row["occupation_name"],
                    row["trade"],
                    LEVEL_NAMES.get(level, "") if level is not None else "",
                    _as_date(row["issued_on"]).isoformat(),
                    DISTRICTS.get(row["district"] or "", row["district"] or ""),
                    row["provider_code"],
                    row["provider_name"],
                    SOURCE_NAMES.get(row["source"], row["source"]),
                    1 if counted else 0,
                    1 if counted_advanced else 0,
                ]
            )
        if out:
            yield out
        if len(rows) < chunk:
            return
        after = (_as_date(rows[-1]["issued_on"]), int(rows[-1]["id"]))
