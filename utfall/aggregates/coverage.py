"""Maintained coverage (uppföljningsgrad): interventions ongoing in a calendar period and
whether each was followed up in it, counted per period and dimensions (issue 13, point 1).

Coverage is not a sum over months: an intervention ongoing in three months of a quarter is one
intervention in the quarter, followed up if any of its follow-ups falls in the quarter. So it
is counted per *period* that the results ask for: every calendar quarter, half-year and year
(:class:`~utfall.aggregates.models.CoveragePeriod`) — the fixed periods that the defaults of the
pages, reports, procurement and oversight snap to (``comparisons.disclosure.fixed_period``) and
their partitions. A month or a run of whole years is read from the raw rows like any period not
maintained (docs/aggregates.md).

The definition is :mod:`utfall.followups.coverage`'s, in SQL: an intervention counts in a
period when it started on or before its last day and did not end before its first; it is
followed when one of its follow-ups (any status) is dated in the period; the age group is that
of the period's year. Keys are :data:`KEY`; as in the other count tables a key may have several
rows and rows of 0 (readers sum by key).

Writes: a new follow-up (a submission, an import) flips its intervention to followed in the
periods containing its date where it had no other follow-up (:func:`flip`: one grouped SQL per
submission or import slice); a change of an intervention's or client's facts or of stored
follow-ups takes the scope's share before and after (:func:`share`, grouped SQL) and adds the
difference. New periods (a new year) are added and filled when first read (:func:`period_id`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from utfall.aggregates.counts import made
from utfall.aggregates.dimensions import AGE_GROUPS
from utfall.aggregates.models import (
    CoverageByProvider,
    CoverageByProviderUnit,
    CoverageByUnit,
    CoverageCount,
    CoveragePeriod,
)
from utfall.core.bulk import insert_rows
from utfall.followups.models import FollowUp
from utfall.registry.models import Client, Intervention

Key = tuple[Any, ...]
#: Dimension columns of :class:`CoverageCount`, in key order.
KEY = ("municipality_id", "period_id", "provider_id", "service_id", "unit_id", "contract_id",
       "client_sex", "age_group", "followed")  # fmt: skip
#: The rollups: (table, its key), a projection of :data:`KEY`.
ROLLUPS: tuple[tuple[type[Model], tuple[str, ...]], ...] = (
    (CoverageByProvider, ("municipality_id", "period_id", "provider_id", "followed")),
    (CoverageByUnit, ("municipality_id", "period_id", "unit_id", "followed")),
    # A unit manager's coverage by provider within the unit (2026-12-05, unit5).
    (CoverageByProviderUnit, ("municipality_id", "period_id", "provider_id", "unit_id", "followed")),
)
#: The maintained grains: those the results read by default (a calendar year; a half-year in
#: oversight; a year's halves and quarters as its partitions). A month is read from the raw rows:
#: maintained, it would triple the periods each intervention is counted in (docs/aggregates.md).
GRAINS = {"quarter": 3, "half": 6, "year": 12}
#: A run of two whole calendar years, maintained as the period of its last year (2026-12-03): the
#: disclosure check of a year's comparison reads the year with the one before (differencing), and
#: coverage of the run is no sum of its years (an intervention ongoing in both is one). Read from
#: the raw rows it cost the comparison page 0.95 s of its 1.3 s at 1M follow-ups.
TWO_YEARS = "years2"
#: Interventions or follow-ups per query (SQLite's parameter limit).
CHUNK = 2000
#: A delta with more keys than this is applied through a temporary table.
FEW = 200


# -- periods ------------------------------------------------------------------------------------


def periods_of_year(year: int) -> list[tuple[str, dt.date, dt.date]]:
    """(grain, first day, last day) of every quarter, half-year, the year itself and the run of
    two years that ends with it."""
    out = []
    for grain, months in GRAINS.items():
        for first in range(1, 13, months):
            last = first + months - 1
            end = dt.date(year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
            out.append((grain, dt.date(year, first, 1), end))
    out.append((TWO_YEARS, dt.date(year - 1, 1, 1), dt.date(year, 12, 31)))
    return out


def maintained_years() -> tuple[int, int] | None:
    """The first and last year whose periods are maintained (None before the first fill)."""
    years = list(CoveragePeriod.objects.order_by("year").values_list("year", flat=True)[:1])
    if not years:
        return None
    last = CoveragePeriod.objects.order_by("-year").values_list("year", flat=True)[0]
    return years[0], last


def grain_of(date_from: dt.date, date_to: dt.date) -> str | None:
    """The grain of the maintained period that is exactly the range (None: not one)."""
    if (date_from.month, date_from.day, date_to.month, date_to.day) == (1, 1, 12, 31) and (
        date_to.year - date_from.year == 1
    ):
        return TWO_YEARS
    for grain, months in GRAINS.items():
        if date_from.day != 1 or (date_from.month - 1) % months:
            continue
        last = date_from.month + months - 1
        end = dt.date(date_from.year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
        if end == date_to:
            return grain
    return None


def maintained_periods() -> dict[tuple[str, dt.date], int]:
    """Every maintained period's id by its grain and first day (the key :func:`period_id` looks
    one up by): one query for all of them (a few dozen rows), where a comparison page looked up
    the run and each of its years one query at a time (2026-12-06, cmp7). A period missing here
    is asked of :func:`period_id`, which adds a new year's."""
    return {
        (grain, start): pk for pk, grain, start in CoveragePeriod.objects.values_list("pk", "grain", "start")
    }


def period_id(date_from: dt.date, date_to: dt.date, *, today: dt.date | None = None) -> int | None:
    """The maintained period that is exactly ``date_from``–``date_to``, or None (then the
    coverage is read from the raw rows). A period of a year after the last maintained one that
    has begun (a new year) is added and filled here, under a lock, on its first read."""
    grain = grain_of(date_from, date_to)
    if grain is None:
        return None
    found = CoveragePeriod.objects.filter(grain=grain, start=date_from).values_list("pk", flat=True).first()
    if found is not None:
        return found
    years = maintained_years()
    today = today or timezone.localdate()
    # A period belongs to the year of its end (a run of two years to its second year).
    if years is None or date_to.year <= years[1] or dt.date(date_to.year, 1, 1) > today:
        return None  # before the maintained years, in the future, or nothing maintained yet
    extend(date_to.year)
    return CoveragePeriod.objects.filter(grain=grain, start=date_from).values_list("pk", flat=True).first()


@transaction.atomic
def extend(last_year: int, first_year: int | None = None) -> None:
    """Maintain every period up to ``last_year`` (and from ``first_year``): add the periods
    not maintained yet (a new year's, or a grain added later, such as the runs of two years of
    migration 0010) and fill their counts for every municipality, in one transaction. On PostgreSQL the period
    table is locked against writers (who hold a share lock from their first count: :func:`guard`)
    so the fill sees every committed row and no write falls between it and the new periods."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_quote(CoveragePeriod._meta.db_table)} IN SHARE ROW EXCLUSIVE MODE")
    years = maintained_years()
    if years is None:
        wanted = range(first_year if first_year is not None else last_year, last_year + 1)
    else:
        low = min(years[0], first_year) if first_year is not None else years[0]
        wanted = range(low, max(years[1], last_year) + 1)
    have = set(CoveragePeriod.objects.values_list("grain", "start"))
    new = [
        CoveragePeriod(grain=grain, start=start, end=end, year=end.year)
        for year in wanted for grain, start, end in periods_of_year(year) if (grain, start) not in have
    ]  # fmt: skip
    if not new:
        return
    CoveragePeriod.objects.bulk_create(new)
    added = {(p.grain, p.start) for p in new}
    ids = [pk for pk, grain, start in CoveragePeriod.objects.values_list("pk", "grain", "start")
           if (grain, start) in added]  # fmt: skip
    _fill(None, ids)


def guard() -> None:
    """Hold a share lock on the period table until the writer's transaction ends (PostgreSQL:
    :func:`extend` waits for it, and it for a running extension); nothing on SQLite, whose
    writers are one at a time."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_quote(CoveragePeriod._meta.db_table)} IN SHARE MODE")


# -- counting in SQL --------------------------------------------------------------------------


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _tables() -> dict[str, str]:
    return {
        "i": _quote(Intervention._meta.db_table),
        "c": _quote(Client._meta.db_table),
        "p": _quote(CoveragePeriod._meta.db_table),
        "f": _quote(FollowUp._meta.db_table),
        "t": _quote(CoverageCount._meta.db_table),
    }


def _age_case() -> str:
    """The age group of the period's year, as ``aggregates.dimensions.age_group`` computes it
    (a client without a birth year, or younger than the first group, is 'okänd')."""
    age = "(p.year - c.birth_year)"
    whens = [f"WHEN {age} < {AGE_GROUPS[0][1]} THEN 'okänd'"]
    whens += [f"WHEN {age} <= {high} THEN '{label}'" for label, _, high in AGE_GROUPS]
    return f"CASE {' '.join(whens)} ELSE 'okänd' END"


def _select(where: str, *, unfollowed: bool = False) -> str:
    """The grouped counts of the interventions ``where`` selects (aliases i, c, p), in
    :data:`KEY` order with ``n`` last. ``unfollowed``: interventions known to have no follow-up
    (just created), counted without looking."""
    t = _tables()
    followed = (
        "FALSE"
        if unfollowed
        else (
            f"EXISTS (SELECT 1 FROM {t['f']} f WHERE f.intervention_id = i.id "  # noqa: S608 (our tables)
            f"AND f.date >= p.start AND f.date <= p.{_quote('end')})"
        )
    )
    return (
        f"SELECT i.municipality_id, p.id, i.provider_id, i.service_id, i.unit_id, i.contract_id, c.sex, "  # noqa: S608 (our tables; values are parameters)
        f"{_age_case()}, {followed}, COUNT(*) "
        f"FROM {t['i']} i JOIN {t['c']} c ON c.id = i.client_id "
        f"JOIN {t['p']} p ON p.{_quote('end')} >= i.started_on AND (i.ended_on IS NULL OR p.start <= i.ended_on) "
        f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8{'' if unfollowed else ', 9'}"
    )


def _collect(rows: Iterable[Sequence[Any]], into: Counter[Key]) -> None:
    for *key, n in rows:
        key[-1] = bool(key[-1])
        into[tuple(key)] += n


def share(municipality_id: int, interventions: Sequence[int]) -> Counter[Key]:
    """The counts of the given interventions as they are now."""
    out: Counter[Key] = Counter()
    with connection.cursor() as cursor:
        for start in range(0, len(interventions), CHUNK):
            chunk = list(interventions[start : start + CHUNK])
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                _select(f"i.id IN ({marks}) AND i.municipality_id = %s"), [*chunk, municipality_id]
            )
            _collect(cursor.fetchall(), out)
    return out


def expected(municipality_id: int, *, providers: tuple[int, int] | None = None) -> Counter[Key]:
    """The municipality's counts from the raw rows (``providers``: of the interventions of the
    providers with ids from the first up to, not including, the second)."""
    out: Counter[Key] = Counter()
    where, params = "i.municipality_id = %s", [municipality_id]
    if providers is not None:
        where += " AND i.provider_id >= %s AND i.provider_id < %s"
        params += list(providers)
    with connection.cursor() as cursor:
        cursor.execute(_select(where), params)
        _collect(cursor.fetchall(), out)
    return out


def _fill(municipality_id: int | None, periods: Sequence[int] | None = None) -> None:
    """Insert the counts of a municipality (None: every one), of some periods only, by one
    INSERT … SELECT each, and the rollups' from them (rebuild, migration, a new year)."""
    if periods is not None and not periods:
        return
    t = _tables()
    where, params = ["1 = 1"], []
    if municipality_id is not None:
        where.append("i.municipality_id = %s")
        params.append(municipality_id)
    columns = ", ".join(_quote(c) for c in (*KEY, "n"))
    rollups = made(ROLLUPS)  # not yet those a later migration makes (0006, 0010 run this code)
    with connection.cursor() as cursor:
        for start in range(0, len(periods or [None]), CHUNK):
            chunk = list(periods[start : start + CHUNK]) if periods is not None else []
            marks = ", ".join(["%s"] * len(chunk))
            clause = where + ([f"p.id IN ({marks})"] if chunk else [])
            cursor.execute(
                f"INSERT INTO {t['t']} ({columns}) {_select(' AND '.join(clause))}", [*params, *chunk]
            )
            written = ["1 = 1"] + (["municipality_id = %s"] if municipality_id is not None else [])
            written += [f"period_id IN ({marks})"] if chunk else []
            for model, fields in rollups:
                listed = ", ".join(_quote(f) for f in fields)
                cursor.execute(
                    f"INSERT INTO {_quote(model._meta.db_table)} ({listed}, n) SELECT {listed}, SUM(n) "  # noqa: S608 (our tables; values are parameters)
                    f"FROM {t['t']} WHERE {' AND '.join(written)} GROUP BY {listed}",
                    [*params, *chunk],
                )


def project(counts: Counter[Key], fields: Sequence[str]) -> Counter[Key]:
    """The counts summed over the dimensions a rollup's key leaves out."""
    where = [KEY.index(f) for f in fields]
    out: Counter[Key] = Counter()
    for key, n in counts.items():
        out[tuple(key[i] for i in where)] += n
    return out


def replace(municipality_id: int) -> None:
    """Make the municipality's counts those of its raw rows, and maintain every period from
    the year of its first intervention to this year (or its last stored year)."""
    first = Intervention.objects.order_by("started_on").values_list("started_on", flat=True).first()
    last = max(timezone.localdate().year, *(d.year for d in _newest_dates() if d))
    extend(last, first.year if first else None)
    tables: list[type[Model]] = [CoverageCount, *(m for m, _ in made(ROLLUPS))]  # made: as _fill
    for model in tables:
        model._default_manager.filter(municipality_id=municipality_id).delete()
    _fill(municipality_id)


def _newest_dates() -> list[dt.date | None]:
    interventions = Intervention.objects.all()
    return [
        interventions.order_by("-started_on").values_list("started_on", flat=True).first(),
        interventions.order_by("-ended_on").exclude(ended_on=None).values_list("ended_on", flat=True).first(),
        FollowUp.objects.order_by("-date").values_list("date", flat=True).first(),
    ]


# -- deltas ---------------------------------------------------------------------------------------


def flip(municipality_id: int, followups: Sequence[int]) -> None:
    """New follow-ups (already written; nothing else changed): each one's intervention becomes
    followed in the periods containing its date where it had no other follow-up. One grouped
    query for a submission; an import's follow-ups go through a temporary table."""
    if not followups:
        return
    guard()
    t = _tables()
    end = _quote("end")
    # Two submissions for one intervention do not both flip it: a submission holds its
    # intervention's row lock (followups.services), and SQLite has one writer at a time.
    if len(followups) == 1:
        new, params = "= %s", [followups[0]]
        other = "g.id <> %s"
    else:
        temp = _quote("utfall_coverage_new")
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (id bigint PRIMARY KEY)")
            cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 (our table)
            insert_rows(cursor, "utfall_coverage_new", ["id"], [(pk,) for pk in sorted(set(followups))])
        new, params = f"IN (SELECT id FROM {temp})", []  # noqa: S608 (our table)
        other = f"g.id NOT IN (SELECT id FROM {temp})"  # noqa: S608 (our table)
    columns = (
        "i.municipality_id, p.id, i.provider_id, i.service_id, i.unit_id, i.contract_id, c.sex, "
        f"{_age_case()}"
    )

    def flipped(extra: str) -> str:
        return (
            f"SELECT {columns}{extra} COUNT(DISTINCT i.id) "  # noqa: S608 (our tables; values are parameters)
            f"FROM {t['f']} f JOIN {t['i']} i ON i.id = f.intervention_id JOIN {t['c']} c ON c.id = i.client_id "
            f"JOIN {t['p']} p ON f.date >= p.start AND f.date <= p.{end} "
            f"WHERE f.id {new} AND i.started_on <= p.{end} "
            f"AND (i.ended_on IS NULL OR i.ended_on >= p.start) "
            f"AND NOT EXISTS (SELECT 1 FROM {t['f']} g WHERE g.intervention_id = i.id AND g.date >= p.start "
            f"AND g.date <= p.{end} AND {other}) "
            f"GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
        )

    # No condition on the municipality: SQLite then read the interventions by municipality
    # first, every one of them per call (the follow-ups are the writer's own, of one municipality).
    values = [*params, *params]
    if len(followups) == 1:  # a few keys: read, and added by primary key
        delta: Counter[Key] = Counter()
        with connection.cursor() as cursor:
            cursor.execute(flipped(","), values)
            for *key, n in cursor.fetchall():
                delta[(*key, False)] -= n
                delta[(*key, True)] += n
        assert all(key[0] == municipality_id for key in delta), "follow-ups of another municipality"
        apply(delta)
        return
    # An import's: each flipped (intervention, period) out of "missing" and into "followed",
    # grouped and added in the database.
    _add_selected([(flipped(", FALSE, -1 *"), values)], mirrored=True)


def apply(delta: Counter[Key]) -> None:
    """Add ``delta`` (keys of :data:`KEY`) to the table and its rollups."""
    _apply(CoverageCount, KEY, delta)
    for model, fields in ROLLUPS:
        _apply(model, fields, project(delta, fields))


def _apply(model: type[Model], fields: Sequence[str], delta: Counter[Key]) -> None:
    """Add ``delta`` to one table: ``n = n + d`` on an existing row of the key (the first), a
    new row otherwise (in the database, so concurrent writers never lose each other's change)."""
    items = sorted(((k, d) for k, d in delta.items() if d), key=repr)
    if not items:
        return
    if len(items) > FEW:
        _apply_many(model, fields, items)
        return
    existing: dict[Key, int] = {}
    for municipality_id in sorted({k[0] for k, _ in items}):
        # By the index's first three columns: municipality, period and the next dimension.
        periods = sorted({k[1] for k, _ in items if k[0] == municipality_id})
        third = sorted({k[2] for k, _ in items if k[0] == municipality_id})
        rows = (
            model._default_manager.filter(
                municipality_id=municipality_id, period_id__in=periods, **{f"{fields[2]}__in": third}
            )
            .values_list("pk", *fields)
            .order_by("pk")
        )
        for pk, *key in rows:
            existing.setdefault(tuple(key), pk)
    updates = [(existing[k], d) for k, d in items if k in existing]
    table = _quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if updates:
            cases = " ".join("WHEN %s THEN %s" for _ in updates)
            marks = ", ".join("%s" for _ in updates)
            cursor.execute(
                f"UPDATE {table} SET n = n + CASE id {cases} END WHERE id IN ({marks})",  # noqa: S608 (our table; values are parameters)
                [v for pair in updates for v in pair] + [pk for pk, _ in updates],
            )
        fresh = [(*k, d) for k, d in items if k not in existing]
        if fresh:
            insert_rows(cursor, model._meta.db_table, [*fields, "n"], fresh)


def add_created(municipality_id: int, interventions: Sequence[int]) -> None:
    """Add interventions just created without follow-ups (an import's): counted as not followed
    in every period they overlap, grouped and added in the database (no row through Python)."""
    for start in range(0, len(interventions), CHUNK):
        chunk = list(interventions[start : start + CHUNK])
        marks = ", ".join(["%s"] * len(chunk))
        sql = _select(f"i.id IN ({marks}) AND i.municipality_id = %s", unfollowed=True)
        _add_selected([(sql, [*chunk, municipality_id])])


def _temp(model: type[Model], fields: Sequence[str]) -> str:
    """An empty temporary table for a delta of ``model`` (its key, ``n``, the matched row's id)."""
    postgres = connection.vendor == "postgresql"
    temp = _quote(f"utfall_delta_{model._meta.db_table}")
    kinds = {"client_sex": "varchar(8)", "age_group": "varchar(8)", "followed": "boolean"}
    typed = ", ".join(f"{_quote(c)} {kinds.get(c, 'integer') if postgres else ''}" for c in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} ({typed}, n integer, id bigint)")
        cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 (our table)
    return temp


def _add_selected(selects: Sequence[tuple[str, Sequence[Any]]], *, mirrored: bool = False) -> None:
    """Add the rows the SELECTs give (:data:`KEY` order, ``n`` last; a key at most once over all
    of them) to the table, and their sums to the rollups, all in the database. ``mirrored``:
    each row also with the other ``followed`` and ``-n`` (a flip: out of one, into the other)."""
    temp = _temp(CoverageCount, KEY)
    listed = ", ".join(_quote(c) for c in KEY)
    with connection.cursor() as cursor:
        for sql, params in selects:
            cursor.execute(f"INSERT INTO {temp} ({listed}, n) {sql}", params)
        if mirrored:
            keys = ", ".join(_quote(c) for c in KEY[:-1])
            cursor.execute(
                f"INSERT INTO {temp} ({listed}, n) SELECT {keys}, NOT followed, -n FROM {temp}"  # noqa: S608 (our table)
            )
    _merge(CoverageCount, KEY, temp)
    for model, fields in ROLLUPS:
        rolled = _temp(model, fields)
        names = ", ".join(_quote(c) for c in fields)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {rolled} ({names}, n) SELECT {names}, SUM(n) FROM {temp} GROUP BY {names}"  # noqa: S608 (our tables)
            )
        _merge(model, fields, rolled)


def _merge(model: type[Model], fields: Sequence[str], temp: str) -> None:
    """Add a temporary table's delta rows (one per key) to ``model``'s table: each is matched to
    its key's first row by an index probe, ``n = n + d`` there, inserted where there is none.
    Each delta row is applied once, whatever another writer does between the statements (its
    new row for the same key is a second row, which readers sum)."""
    postgres = connection.vendor == "postgresql"
    table = _quote(model._meta.db_table)
    same = "IS NOT DISTINCT FROM" if postgres else "IS"
    on = " AND ".join(
        f"a.{_quote(c)} {same if c == 'contract_id' else '='} {temp}.{_quote(c)}" for c in fields
    )
    listed = ", ".join(_quote(c) for c in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {temp} WHERE n = 0")  # noqa: S608 (our table)
        cursor.execute(f"UPDATE {temp} SET id = (SELECT MIN(a.id) FROM {table} a WHERE {on})")  # noqa: S608 (our tables)
        cursor.execute(f"UPDATE {table} SET n = {table}.n + d.n FROM {temp} d WHERE {table}.id = d.id")  # noqa: S608
        cursor.execute(f"INSERT INTO {table} ({listed}, n) SELECT {listed}, n FROM {temp} WHERE id IS NULL")  # noqa: S608


def _apply_many(model: type[Model], fields: Sequence[str], items: list[tuple[Key, int]]) -> None:
    """:func:`_apply` for many keys: through a temporary table (:func:`_merge`)."""
    temp = _temp(model, fields)
    with connection.cursor() as cursor:
        insert_rows(cursor, temp, [*fields, "n"], [(*k, d) for k, d in items])
    _merge(model, fields, temp)
