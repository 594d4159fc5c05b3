"""Plan periods and their targets (data, not code), and the maintained progress aggregates.

`ProgressEntry`, `ProgressBucket` and `ProgressDirty` are derived data: they can be rebuilt
from certificates and enrolments at any time (`skills-registry progress rebuild`), so they
hold no foreign keys to the registry's records.
"""

from piccolo.columns import UUID, Date, ForeignKey, Integer, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table


class PlanPeriod(Table, tablename="plan_period"):
    """A plan period, e.g. 十四五 2021-01-01 .. 2025-12-31 (both days included)."""

    id = Serial(primary_key=True)
    code = Varchar(length=20, unique=True)
    name = Varchar(length=100)
    starts_on = Date()
    ends_on = Date()
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PeriodIndicator(Table, tablename="period_indicator"):
    """One indicator of a period with its target; unique (period, code) by a raw index."""

    id = Serial(primary_key=True)
    period = ForeignKey(PlanPeriod, null=False, on_delete=OnDelete.cascade)
    code = Varchar(length=40)
    number = Integer(null=True, default=None)  # the plan's own numbering (5, 6, 10, 11)
    name = Varchar(length=200)
    unit = Varchar(length=20)
    target = Integer()


class ProgressEntry(Table, tablename="progress_entry"):
    """What counts, per period and indicator: for people indicators one row per person
    (their first qualifying certificate in the period); for trainings one row per
    completed enrolment. `day` is the issue (or end) date, `month` is yyyymm of it."""

    id = Serial(primary_key=True)
    period = ForeignKey(PlanPeriod, null=False, on_delete=OnDelete.cascade)
    indicator = Varchar(length=40)
    trainee = UUID()
    item = Varchar(length=40)  # certificate id or enrolment id
    day = Date()
    month = Integer()
    district = Varchar(length=6, null=True, default=None)
    occupation_code = Varchar(length=20)
    level = Integer(null=True, default=None)
    provider = Integer()
    source = Varchar(length=20)


class ProgressBucket(Table, tablename="progress_bucket"):
    """Counts of ProgressEntry rows per (period, indicator, dimension, key, month);
    unique on those five columns (a raw index)."""

    id = Serial(primary_key=True)
    period = ForeignKey(PlanPeriod, null=False, on_delete=OnDelete.cascade)
    indicator = Varchar(length=40)
    dimension = Varchar(length=20)
    bucket_key = Varchar(length=40)
    month = Integer()
    n = Integer(default=0)


class ProgressDirty(Table, tablename="progress_dirty"):
    """People whose certificates, enrolments or district changed since the aggregates were
    last brought up to date; written by database triggers, consumed by `refresh()`."""

    id = Serial(primary_key=True)
    trainee = UUID()
    batch = Integer(default=0)  # 0: pending; 1: claimed by the refresh in progress
