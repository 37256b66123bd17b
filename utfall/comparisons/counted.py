"""Reading the maintained count tables (``utfall.aggregates``) for the indicator counts.

The tables count by calendar month, so a period is read in up to three parts: the whole
months from the count tables and the days before the first and after the last whole month
from the raw rows (:func:`months_within`); the parts' rows are summed by group
(:func:`merge`). A question indicator reads :class:`~utfall.aggregates.models.AnswerCount`,
an assessment indicator and the follow-ups by status read
:class:`~utfall.aggregates.models.FollowUpCount`. Where each dimension is read in a count
table is :data:`COUNTED_PATHS`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, compress
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Model
from numpy.typing import NDArray

from utfall.aggregates import rollup
from utfall.aggregates.models import (
    AnswerByCaseMix,
    AnswerByClient,
    AnswerByProvider,
    AnswerCount,
    CoverageByProvider,
    CoverageByProviderUnit,
    CoverageByUnit,
    CoverageCount,
    FollowUpByCaseMix,
    FollowUpByClient,
    FollowUpByProvider,
    FollowUpByProviderCaseMixYear,
    FollowUpByProviderUnitYear,
    FollowUpByProviderYear,
    FollowUpByUnit,
    FollowUpCount,
    OutcomeByProvider,
    OutcomeByProviderUnit,
    OutcomeByProviderUnitYear,
    OutcomeByProviderYear,
    OutcomeByService,
    OutcomeCount,
    QuestionByProviderCaseMixYear,
    QuestionByProviderUnitCaseMixYear,
    QuestionByProviderUnitYear,
    QuestionByProviderYear,
    QuestionByUnit,
    QuestionByUnitCaseMixYear,
)

#: Where each dimension is read in a count table (both tables carry the same dimensions).
COUNTED_PATHS = {
    "provider": "provider_id",
    "service": "service_id",
    "unit": "unit_id",
    "sex": "client_sex",
    "target_group": "service__target_group",
    "contract": "contract__contract_id",
}
COUNT_TABLES: tuple[type[Model], ...] = (AnswerCount, FollowUpCount, AnswerByProvider, FollowUpByProvider,
                                          FollowUpByProviderYear,
                                          FollowUpByProviderCaseMixYear,
                                          FollowUpByProviderUnitYear, AnswerByCaseMix, FollowUpByCaseMix, AnswerByClient,
                                          FollowUpByClient, CoverageCount, CoverageByProvider,
                                          CoverageByUnit, CoverageByProviderUnit, OutcomeCount, OutcomeByProvider,
                                          OutcomeByService, OutcomeByProviderUnit, QuestionByProviderCaseMixYear,
                                          QuestionByProviderUnitCaseMixYear, QuestionByProviderUnitYear,
                                          QuestionByUnit, QuestionByUnitCaseMixYear, FollowUpByUnit, QuestionByProviderYear,
                                          OutcomeByProviderYear, OutcomeByProviderUnitYear)  # fmt: skip
#: Count tables without the option: a question's ``n`` and ``events`` summed already
#: (``aggregates.counts.FOLDED``), read without the option's filters.
FOLDED_TABLES: tuple[type[Model], ...] = (QuestionByProviderCaseMixYear, QuestionByProviderUnitCaseMixYear,
                                          QuestionByProviderUnitYear, QuestionByUnit, QuestionByUnitCaseMixYear,
                                          QuestionByProviderYear)  # fmt: skip
#: Indicator kinds counted over ended interventions, read from the outcome counts.
OUTCOME_KINDS = ("step_down", "plan_goals", "rereferral")


def table_for(kind: str, dimensions: Sequence[str] | set[str]) -> type[Model]:
    """The smallest count table that has every dimension asked for: the rollup by provider
    when only the provider (or nothing) is asked, the rollup by case mix when only the
    service, sex, age group or target group (women and men; 2026-12-03), else the full table.
    The outcome indicators have their own rollups by provider and by service (the outcomes
    page), which a target group narrows, and by provider and unit (a unit manager's, 2026-12-05).
    A question by the unit alone reads its n and events by unit and month, and an assessment or
    the follow-ups by status their rollup by unit and month (a unit manager's trend along every
    unit, 2026-12-07): a dozen rows a month, not the full table's thousands."""
    asked = set(dimensions)
    if kind in OUTCOME_KINDS:
        if asked <= {"provider"}:
            return OutcomeByProvider
        if asked <= PROVIDER_UNIT:
            return OutcomeByProviderUnit
        return OutcomeByService if asked <= {"service", "target_group"} else OutcomeCount
    question = kind == "question"
    if asked <= {"provider"}:
        return AnswerByProvider if question else FollowUpByProvider
    if asked <= {"unit"}:
        return QuestionByUnit if question else FollowUpByUnit
    if asked <= rollup.DIMENSIONS:
        return AnswerByCaseMix if question else FollowUpByCaseMix
    return AnswerCount if question else FollowUpCount


#: The monthly rollup → its rollup by calendar year (the same counts, twelve months summed).
_BY_YEAR: dict[type[Model], type[Model]] = {
    AnswerByProvider: QuestionByProviderYear,  # a question's without the option since 2026-12-07 (qyear)
    FollowUpByProvider: FollowUpByProviderYear,
    OutcomeByProvider: OutcomeByProviderYear,  # step down and plan goals over whole years (2026-12-07)
    OutcomeByProviderUnit: OutcomeByProviderUnitYear,  # and a unit manager's, by provider and unit
}


#: The full table → its rollup by provider, case mix and calendar year, for a count by
#: provider, service, sex, age group or target group (no unit, contract or caseworker).
_CASE_MIX_BY_YEAR: dict[type[Model], type[Model]] = {
    AnswerCount: QuestionByProviderCaseMixYear,
    FollowUpCount: FollowUpByProviderCaseMixYear,
}
#: The dimensions the rollups by provider, case mix and year group and filter by.
PROVIDER_CASE_MIX = frozenset({"provider", *rollup.DIMENSIONS})
#: The full table → its rollup by provider, unit and calendar year, for a count by provider
#: and unit alone (a unit manager's own counts and their partition along the unit, 2026-12-05);
#: for a question, its n and events without the option since 2026-12-06 (hidfold).
_UNIT_BY_YEAR: dict[type[Model], type[Model]] = {
    AnswerCount: QuestionByProviderUnitYear,
    FollowUpCount: FollowUpByProviderUnitYear,
}
#: The dimensions the rollups by provider, unit and year group and filter by.
PROVIDER_UNIT = frozenset({"provider", "unit"})
#: The full answer table → its question cells by provider, unit, case mix and year, for a count
#: by provider, unit and case mix that neither rollup above has (a unit manager's O/E cells,
#: 2026-12-06, mgroe). Only the answers: the follow-ups have no such table.
_UNIT_CASE_MIX_BY_YEAR: dict[type[Model], type[Model]] = {AnswerCount: QuestionByProviderUnitCaseMixYear}
#: The dimensions the question cells by provider, unit, case mix and year group and filter by.
PROVIDER_UNIT_CASE_MIX = PROVIDER_CASE_MIX | PROVIDER_UNIT
#: The full answer table → its question cells by unit, case mix and year, every provider summed,
#: for a count by the unit and the case mix without the provider (a unit manager's women and men
#: and their partitions along every unit, 2026-12-07).
_UNIT_CASE_MIX_WITHOUT_PROVIDER: dict[type[Model], type[Model]] = {AnswerCount: QuestionByUnitCaseMixYear}
#: The dimensions the question cells by unit, case mix and year group and filter by.
UNIT_CASE_MIX = frozenset({"unit", *rollup.DIMENSIONS})


def year_table_for(table: type[Model], dimensions: Sequence[str] | set[str] = ()) -> type[Model] | None:
    """The rollup by calendar year of a monthly count table (``table``, as :func:`table_for`
    chose it for ``dimensions``), or None when it has none: the rollups by provider (the
    comparison of all providers over a year, 2026-12-03; the outcome measures' since
    2026-12-07) and, for the full table when only the provider and the case mix are asked,
    the rollup by provider, case mix and year (the O/E's cells, 2026-12-04; for a question,
    its n and events without the option since 2026-12-05, :data:`FOLDED_TABLES`), or when only
    the provider and the unit are asked, the rollup by provider, unit and year (a unit
    manager's counts, 2026-12-05; for a question, without the option since 2026-12-06; the
    outcome measures' by provider and unit since 2026-12-07); for a question when the unit comes with the case
    mix, its cells by provider, unit, case mix and year (a unit manager's O/E cells, 2026-12-06),
    or without the provider asked, its cells by unit, case mix and year (a unit manager's women
    and men, 2026-12-07)."""
    if table in _CASE_MIX_BY_YEAR:
        asked = set(dimensions)
        if asked <= PROVIDER_CASE_MIX:
            return _CASE_MIX_BY_YEAR[table]
        if asked <= PROVIDER_UNIT:
            return _UNIT_BY_YEAR.get(table)
        if asked <= UNIT_CASE_MIX:
            return _UNIT_CASE_MIX_WITHOUT_PROVIDER.get(table)
        return _UNIT_CASE_MIX_BY_YEAR.get(table) if asked <= PROVIDER_UNIT_CASE_MIX else None
    return _BY_YEAR.get(table)


def period_field(model: type[Model]) -> str:
    """The column that places a count row in time: ``month`` (its first day), or ``year`` (the
    year's first day) in the rollups by year, read from the model's own columns (a list of the
    tables by year had to be kept beside the tables; 2026-12-07)."""
    return "year" if any(f.name == "year" for f in model._meta.concrete_fields) else "month"


def client_table_for(kind: str, filters: Sequence[str] | set[str]) -> type[Model] | None:
    """The rollup by client a trend of ``kind`` with these filters reads for its whole months
    (its per-client sums), or None when it must read the raw rows (another filter, a kind
    counted over interventions)."""
    if kind not in ("question", "assessment") or not set(filters) <= rollup.CLIENT_FILTERS:
        return None
    return AnswerByClient if kind == "question" else FollowUpByClient


def coverage_table(dimensions: Sequence[str] | set[str]) -> type[Model]:
    """The smallest coverage count table with every dimension asked for (aggregates.coverage):
    a rollup by provider or by unit when only that one (or nothing) is asked, by provider and
    unit when only those two (a unit manager's, 2026-12-05), else the full one."""
    if set(dimensions) <= {"provider"}:
        return CoverageByProvider
    if set(dimensions) <= {"unit"}:
        return CoverageByUnit
    return CoverageByProviderUnit if set(dimensions) <= PROVIDER_UNIT else CoverageCount


def is_counted(model: type[Model]) -> bool:
    """Whether rows of ``model`` are counts (summed by ``n``) rather than raw rows."""
    return model in COUNT_TABLES


def is_folded(model: type[Model]) -> bool:
    """Whether rows of ``model`` hold a question's ``n`` and ``events`` (no option to filter on)."""
    return model in FOLDED_TABLES


def month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def months_within(
    date_from: dt.date, date_to: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """(first and last day of the whole months within the range, or None; the ranges of days
    outside them, read from the raw rows)."""
    first = date_from if date_from.day == 1 else month_end(date_from) + dt.timedelta(days=1)
    last_end = date_to if date_to == month_end(date_to) else date_to.replace(day=1) - dt.timedelta(days=1)
    if first > last_end:
        return None, [(date_from, date_to)]
    edges = []
    if date_from < first:
        edges.append((date_from, first - dt.timedelta(days=1)))
    if last_end < date_to:
        edges.append((last_end + dt.timedelta(days=1), date_to))
    return (first, last_end), edges


def years_within(
    first: dt.date, last: dt.date
) -> tuple[tuple[dt.date, dt.date] | None, list[tuple[dt.date, dt.date]]]:
    """Of whole months ``first``–``last`` (``first`` a month's first day, ``last`` a month's last
    day): (the first and last day of the whole calendar years within them, or None; the ranges
    of whole months outside them)."""
    start = first if (first.month, first.day) == (1, 1) else dt.date(first.year + 1, 1, 1)
    end = last if (last.month, last.day) == (12, 31) else dt.date(last.year - 1, 12, 31)
    if start > end:
        return None, [(first, last)]
    months = []
    if first < start:
        months.append((first, start - dt.timedelta(days=1)))
    if end < last:
        months.append((end + dt.timedelta(days=1), last))
    return (start, end), months


def merge(
    parts: Sequence[list[dict[str, Any]]], sums: Sequence[str] = ("n", "events")
) -> list[dict[str, Any]]:
    """The parts' rows summed by group (every key but ``sums``), ordered by group as the
    count queries order them (None first, values as text)."""
    found = [p for p in parts if p]
    if len(found) <= 1:
        return found[0] if found else (parts[0] if parts else [])
    names = [k for k in found[0][0] if k not in sums]
    if len(names) == 1 and all(list(rows[0]) == list(found[0][0]) for rows in found):
        # One group key (a count by provider: an outcome's months less its days after the
        # cut-off, 750 rows each): the same sums and order without a key tuple per row.
        name = names[0]
        by_value: dict[Any, dict[str, Any]] = {}
        for rows in found:
            for row in rows:
                value = row[name]
                if value in by_value:
                    for total in sums:
                        by_value[value][total] += row[total]
                else:
                    by_value[value] = dict(row)
        return sorted(by_value.values(), key=lambda r: _order(r[name]))
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for rows in found:
        for row in rows:
            key = tuple((k, v) for k, v in row.items() if k not in sums)
            if key in merged:
                for name in sums:
                    merged[key][name] += row[name]
            else:
                merged[key] = dict(row)
    return sorted(merged.values(), key=lambda r: tuple(_order(v) for k, v in r.items() if k not in sums))


def _order(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if isinstance(value, int) else "" if value is None else str(value))


@dataclass(frozen=True)
class Cells:
    """Count rows as columns: the cells of a case-mix model (the O/E's provider × sex × age
    group × service, ~30,000 at a million follow-ups) without a dict per cell.

    Each dimension of ``names`` is a column of integer ``codes`` into its ``levels`` (the
    values as :func:`utfall.comparisons.queries.aggregate` gives them: codes as text, or None);
    ``events`` and ``n`` are the counts. The cells are in ``aggregate``'s order (by the values
    as text, None first), so :meth:`rows` are its rows. Cached as they are (a few arrays: a
    cheap pickle, where 30,000 dicts took 20–35 ms each way; 2026-12-04, oe3)."""

    names: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    codes: tuple[NDArray[np.int64], ...]
    events: NDArray[np.int64]
    n: NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.n.size)

    def column(self, name: str) -> NDArray[Any]:
        """The values of dimension ``name``, one per cell (an object array)."""
        i = self.names.index(name)
        levels = np.empty(len(self.levels[i]), dtype=object)
        levels[:] = self.levels[i]
        return levels[self.codes[i]]

    def rows(self) -> list[dict[str, Any]]:
        """The cells as ``aggregate``'s rows (for tests and small callers)."""
        columns = [self.column(name).tolist() for name in self.names]
        return [
            {**dict(zip(self.names, values, strict=True)), "events": int(x), "n": int(m)}
            for *values, x, m in zip(*columns, self.events.tolist(), self.n.tolist(), strict=True)
        ]

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Cells:
        """``aggregate``'s rows (in its order) as columns."""
        levels: list[tuple[Any, ...]] = []
        codes: list[NDArray[np.int64]] = []
        for name in names:
            index: dict[Any, int] = {}
            codes.append(
                np.fromiter((index.setdefault(r[name], len(index)) for r in rows), np.int64, len(rows))
            )
            levels.append(tuple(index))
        return cls(tuple(names), tuple(levels), tuple(codes),
                   np.fromiter((r["events"] for r in rows), np.int64, len(rows)),
                   np.fromiter((r["n"] for r in rows), np.int64, len(rows)))  # fmt: skip

    @classmethod
    def from_parts(
        cls,
        parts: Sequence[Sequence[Sequence[Any]]],
        names: Sequence[str],
        lookups: Sequence[Callable[[Any], Any] | None],
        *,
        by_row: bool = False,
    ) -> Cells:
        """Cells from count rows as a cursor gives them (a value per dimension — an id or a
        text —, then n, then events or None), in one or more parts (e.g. a year each) whose
        rows are summed by their values; ``lookups`` turn a dimension's value into the code
        ``aggregate`` shows (None: the value itself). Ordered as ``aggregate`` orders rows
        with codes: by the shown values as text, None as the empty text first.

        ``by_row``: the rows are a count table's rows, not groups (2026-12-05, oe4): a cell may
        have several (two versions of a question; two writers' rows of a key) and rows of 0, so
        they are summed in any case and the cells whose n sums to 0 left out, as a GROUP BY's
        ``HAVING SUM(n) > 0`` leaves them out (their values then are no level either)."""
        rows = list(chain.from_iterable(parts))
        # A column at a time by its position (half the time of ``zip(*rows)``, which unpacked the
        # ~53,000 rows of the O/E's two years into one call: ~8 → 4 ms; 2026-12-05, oe5).
        columns: list[Sequence[Any]] = [list(map(itemgetter(i), rows)) for i in range(len(names) + 2)]
        return cls.from_columns(columns, names, lookups, by_row=by_row, summed=len(parts) > 1)

    @classmethod
    def from_columns(
        cls,
        columns: Sequence[Sequence[Any]],
        names: Sequence[str],
        lookups: Sequence[Callable[[Any], Any] | None],
        *,
        by_row: bool = False,
        summed: bool = True,
    ) -> Cells:
        """:meth:`from_parts` of rows given as columns (a value per dimension, then n, then events):
        lists, or integer arrays (a count table's ids and counts as the database sent them in one
        text each, ``queries.aggregate_cells``; 2026-12-06, oe6). ``summed``: the rows may repeat a
        key (several parts), else, without ``by_row``, they are the cells already."""
        dims = len(names)
        n_rows = len(columns[dims])
        keys: list[NDArray[np.int64]] = []
        levels: list[tuple[Any, ...]] = []
        for values, get in zip(columns[:dims], lookups, strict=True):
            distinct, first = _first_codes(values)
            shown = [v if get is None else get(v) for v in distinct]
            order = sorted(range(len(distinct)), key=lambda i: (_as_text(shown[i]), distinct[i]))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
            keys.append(rank[first])
            levels.append(tuple(shown[i] for i in order))
        n = np.array(columns[dims], dtype=np.int64)
        sums = columns[dims + 1]
        if not isinstance(sums, np.ndarray) and None in sums:
            sums = [0 if x is None else x for x in sums]
        events = np.array(sums, dtype=np.int64)
        # One key per cell in the wanted order (the dimensions' ranks as digits): sorted and
        # summed over the parts at once.
        key = np.zeros(n_rows, dtype=np.int64)
        for digits, level in zip(keys, levels, strict=True):
            key = key * max(len(level), 1) + digits
        if not summed and not by_row:  # one part: its rows are the cells already (one per key)
            by_key = np.argsort(key, kind="stable")
            return cls(tuple(names), tuple(levels), tuple(k[by_key] for k in keys), events[by_key], n[by_key])
        unique, inverse = sorted_codes(key)
        codes: list[NDArray[np.int64]] = []
        rest = unique
        for level in reversed(levels):
            size = max(len(level), 1)
            codes.append(rest % size)
            rest = rest // size
        # Counts are far below 2**53: their sums as floats are exact.
        total = np.bincount(inverse, weights=n, minlength=unique.size)
        if by_row and not total.all():  # rare: drop the empty cells' rows and begin again
            kept = total[inverse] != 0
            return cls.from_columns([_kept(column, kept) for column in columns], names, lookups, by_row=True)
        summed_events = np.bincount(inverse, weights=events, minlength=unique.size)
        return cls(tuple(names), tuple(levels), tuple(reversed(codes)),
                   summed_events.astype(np.int64), total.astype(np.int64))  # fmt: skip


def _kept(column: Sequence[Any], kept: NDArray[np.bool_]) -> Sequence[Any]:
    if isinstance(column, np.ndarray):
        return column[kept]
    return list(compress(column, kept.tolist()))


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def sorted_codes(values: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``np.unique(values, return_inverse=True)`` (the distinct values ascending, each value's
    position among them; flat), the same arrays: when the values span a range of at most a
    few times their number, through a table over the range (a mark per value present, their
    running count as the position) instead of a sort. The O/E's ~53,000 cell rows: their
    providers, services and cell keys (ranges ~1,000, ~20 and ~220,000) ~2.4 → 0.1–0.4 ms
    each (2026-12-06, oe8)."""
    if values.size:
        low, high = int(values.min()), int(values.max())
        span = high - low + 1
        if span <= 8 * values.size + 4096:
            shifted = values - low
            present = np.zeros(span, dtype=bool)
            present[shifted] = True
            position = np.cumsum(present, dtype=np.int64) - 1
            return np.flatnonzero(present).astype(np.int64) + low, position[shifted]
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, inverse.ravel().astype(np.int64)


def _first_codes(values: Sequence[Any]) -> tuple[list[Any], NDArray[np.int64]]:
    """(the distinct values, each value's position among them): ids through numpy, texts as the
    database sent them through pandas' hash table, anything else through a dict; ~60,000 values
    a column for the O/E's two years."""
    if isinstance(values, np.ndarray) and values.dtype == object:
        # A text column as SQLite sent it (``queries._as_columns``: every value a str): the same
        # distinct values in the same order of first appearance as the dict below, ~2.5 ms
        # sooner at 53,000 values (2026-12-06, oe7).
        positions, distinct = pd.factorize(values)
        return distinct.tolist(), positions.astype(np.int64)
    if isinstance(values, np.ndarray):  # ids as the database sent them (``Cells.from_columns``)
        ids, positions = sorted_codes(values.astype(np.int64))
        return ids.tolist(), positions
    if values and all(type(v) is int for v in (values[0], values[-1])):
        try:
            ids, positions = sorted_codes(np.array(values, dtype=np.int64))
        except (TypeError, ValueError, OverflowError):
            pass
        else:
            return ids.tolist(), positions
    index = dict.fromkeys(values)
    for i, value in enumerate(index):
        index[value] = i
    return list(index), np.fromiter(map(index.__getitem__, values), dtype=np.int64, count=len(values))
