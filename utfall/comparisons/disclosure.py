"""Protected counts: the one place every output's counts pass through (issue 10.6, DESIGN invariant 2).

:func:`protected_counts` is :func:`utfall.comparisons.queries.aggregate` with a ``suppressed``
flag on every row, decided by disclosure control over linked tables
(:func:`utfall.stats.disclosure.hidden_in_partitions`): a row is a cell — its conditions
(the ``by`` values and the filters, as one set) over a fixed period — and it is hidden when
it is hidden in any partition it belongs to: its parent without one condition split along
that condition's dimension, and its parent period split into periods of its own length.
Pages, the API, downloads, reports, procurement statements, oversight and the CLI call it
(tests/test_architecture.py keeps ``aggregate`` out of every other module).

Periods are fixed (:func:`fixed_period`): a calendar month, quarter, half-year or year, or
a run of whole calendar years. Arbitrary days would let two ranges one day apart reveal the
day between them; :func:`snap_period` turns any range into a fixed period and says so in
Swedish. A run of years is shown only where each of its years is shown (or empty), so the
difference of two runs is never more than a year that is published anyway.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_noop
from numpy.typing import NDArray

from utfall.comparisons.cache import cached, holds, pinned, seed
from utfall.comparisons.counted import Cells
from utfall.comparisons.indicators import DIMENSIONS, Indicator
from utfall.comparisons.queries import (
    BadQuery,
    SizeRows,
    YearSizes,
    aggregate,
    aggregate_by_client,
    aggregate_cells,
    aggregate_held,
    aggregate_questions_among,
    coded_ids,
    followup_status_counts,
    labels_by_month,
    period_size_rows,
    prefetch_periods,
    prefetch_questions,
    seed_aggregate,
    sort_by_codes_as_text,
    year_sizes,
)
from utfall.organisations.models import Municipality
from utfall.stats.disclosure import hidden_in_partitions
from utfall.stats.suppression import hidden_rows, shown_among, suppress

__all__ = [
    "PERIOD_RULE",
    "SUPPRESSED_TEXT",
    "SUPPRESSION_RULE",
    "Period",
    "fixed_period",
    "model_cells",
    "model_columns",
    "prefetch_cell_within",
    "prefetch_shown_within",
    "protected_by_client",
    "protected_counts",
    "protected_status_counts",
    "snap_period",
]

PERIOD_RULE = (
    "Resultat ges för hela perioder: en kalendermånad, ett kvartal, ett halvår, ett "
    "kalenderår eller flera hela kalenderår (så att små grupper inte kan räknas fram ur två "
    "perioder som skiljer sig åt med några dagar)."
)
#: A hidden group, whichever the reason: too few, or hidden so that another hidden group cannot
#: be worked out from the total. One word for both on purpose: telling which hidden group is the
#: large one gives the small one away (docs/disclosure.md, "Why one mark").
SUPPRESSED_TEXT = gettext_noop("dold")
SUPPRESSION_RULE = gettext_noop(
    "”dold”: gruppen har färre än {min_n}, eller döljs för att en annan dold grupp inte ska kunna "
    "räknas fram ur summan. Vilket som gäller sägs inte, eftersom det skulle avslöja den lilla gruppen."
)


_MONTHS = {"month": 1, "quarter": 3, "half": 6, "year": 12}
_PARENT = {"month": "quarter", "quarter": "half", "half": "year"}
#: Dimensions a partition can be split along (a target group is a filter only: see docs/disclosure.md).
_SPLITTABLE = (*DIMENSIONS, "contract")


@dataclass(frozen=True)
class Period:
    grain: str  # month, quarter, half, year, years (a run of whole calendar years)
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.grain == "years":
            return f"{self.start.year}–{self.end.year}"
        index = (self.start.month - 1) // _MONTHS[self.grain] + 1
        suffix = {"month": f"-{self.start.month:02d}", "quarter": f"-K{index}", "half": f"-H{index}"}
        return f"{self.start.year}{suffix.get(self.grain, '')}"

    def parent(self) -> Period | None:
        grain = _PARENT.get(self.grain)
        return None if grain is None else _containing(grain, self.start)

    def children(self, grain: str) -> list[Period]:
        if self.grain == "years":
            return [_containing("year", dt.date(y, 1, 1)) for y in range(self.start.year, self.end.year + 1)]
        step = _MONTHS[grain]
        return [_containing(grain, self.start.replace(month=m))
                for m in range(self.start.month, self.end.month + 1, step)]  # fmt: skip


def _containing(grain: str, day: dt.date) -> Period:
    step = _MONTHS[grain]
    first = (day.month - 1) // step * step + 1
    start = dt.date(day.year, first, 1)
    last = first + step - 1
    end = dt.date(day.year + (last == 12), last % 12 + 1, 1) - dt.timedelta(days=1)
    return Period(grain, start, end)


def fixed_period(date_from: dt.date, date_to: dt.date) -> Period | None:
    """The calendar month, quarter, half-year, year or run of years that is exactly
    ``date_from``–``date_to`` (None when it is none of them)."""
    if date_from.year < date_to.year and (date_from.month, date_from.day, date_to.month, date_to.day) == (
        1,
        1,
        12,
        31,
    ):
        return Period("years", date_from, date_to)
    for grain in _MONTHS:
        period = _containing(grain, date_from)
        if (period.start, period.end) == (date_from, date_to):
            return period
    return None


def snap_period(date_from: dt.date, date_to: dt.date) -> tuple[Period, str]:
    """(the fixed period for a range, a Swedish note — empty when the range was one already).

    Within one calendar year: the smallest month, quarter, half-year or year that contains the
    range. Across a year's end: the whole calendar years inside it, when there are any; else
    the calendar year that holds most of its days (the later on a tie).
    """
    if date_from > date_to:
        raise BadQuery("periodens början ligger efter dess slut")
    exact = fixed_period(date_from, date_to)
    if exact is not None:
        return exact, ""
    if date_from.year == date_to.year:
        for grain in _MONTHS:
            period = _containing(grain, date_from)
            if period.end >= date_to:
                break
    elif (
        date_to.year - date_from.year >= 2
        or (date_from.month, date_from.day) == (1, 1)
        or (date_to.month, date_to.day) == (12, 31)
    ):
        first = date_from.year + ((date_from.month, date_from.day) != (1, 1))
        last = date_to.year - ((date_to.month, date_to.day) != (12, 31))
        period = fixed_period(dt.date(first, 1, 1), dt.date(last, 12, 31)) or _containing(
            "year", dt.date(first, 1, 1)
        )
    else:
        days = {y: (min(date_to, dt.date(y, 12, 31)) - max(date_from, dt.date(y, 1, 1))).days
                for y in range(date_from.year, date_to.year + 1)}  # fmt: skip
        year = max(days, key=lambda y: (days[y], y))
        period = _containing("year", dt.date(year, 1, 1))
    note = (f"Perioden {date_from.isoformat()}–{date_to.isoformat()} visas som {period.label} "
            f"({period.start.isoformat()}–{period.end.isoformat()}). {PERIOD_RULE}")  # fmt: skip
    return period, note


def protected_counts(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``aggregate`` (same keys, same order) with ``suppressed`` set on each.

    A hidden row keeps its counts for the caller's own arithmetic on *shown* rows only: every
    caller passes the flag on to :func:`utfall.stats.suppression.suppress` (which blanks it)
    and leaves hidden rows out of every published statistic.

    Dates that are not a fixed period are counted as the period :func:`snap_period` makes of
    them, so no caller can ask for arbitrary days. The pages, the API and the CLI snap first
    and say so (``period_note``); internal callers (a contract's last twelve months, a
    target's year to date) get the counts of the snapped period.
    """
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    filters = dict(filters or {})
    by = list(by)
    min_n = int(settings.UTFALL_MIN_COUNT)
    key = (
        "protected_counts",
        indicator,
        municipality.pk,
        period,
        tuple(by),
        sorted(filters.items()),
        as_of,
        min_n,
    )
    return cached(key, lambda: _protect(indicator, municipality, period, by, filters, as_of, min_n))


def prefetch_protected(
    indicators: Sequence[Indicator],
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    along: Sequence[str] | None = None,
) -> None:
    """Count, for all question indicators among ``indicators`` at once, what
    :func:`protected_counts` of each reads (the cell, its partitions along each condition, its
    years and its parent period's parts), so that each then finds its counts cached
    (``queries.prefetch_questions``: one query per period and grouping instead of one per
    indicator). The flags are still set by :func:`protected_counts`, indicator by indicator."""
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    where = dict(filters or {})
    groupings = [(list(by), where)]
    for dim in [*by, *(d for d in where if d not in by)]:
        if dim in _SPLITTABLE and (along is None or dim in along):
            groupings.append(
                ([*(b for b in by if b != dim), dim], {k: v for k, v in where.items() if k != dim})
            )
    spans = [(period, groupings)]
    if period.grain == "years":
        spans += [(year, groupings) for year in period.children("year")]
    parent = period.parent()
    if parent is not None:
        spans += [(sibling, groupings[:1]) for sibling in parent.children(period.grain)]
    for span, grouped in spans:
        for dims, rest in grouped:
            prefetch_questions(indicators, municipality=municipality, date_from=span.start, date_to=span.end,
                               by=dims, filters=rest)  # fmt: skip


def model_cells(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``aggregate`` for the same fixed period as :func:`protected_counts`, without
    the ``suppressed`` flags: the input of a model that publishes no cell — the case-mix model
    of the O/E comparison and the adjusted difference of women and men, whose published
    figures are per group and shown only where that group's protected count is shown.

    The flags cost a query per splittable dimension and per sibling period (five more reads
    of the full count table for provider × sex × age group × service) and no caller of a
    model read them; the counts are the same rows (2026-12-02, issue 13 point 2)."""
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    return aggregate(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                     by=list(by), filters=dict(filters or {}), as_of=as_of)  # fmt: skip


def model_columns(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
) -> Cells:
    """:func:`model_cells` as columns (``queries.aggregate_cells``: the same cells, in the same
    order, without a dict each): the O/E's case-mix model reads its ~30,000 cells at a million
    follow-ups this way (2026-12-04, oe3). No cell of it is shown either."""
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    return aggregate_cells(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                           by=list(by), filters=dict(filters or {}), as_of=as_of)  # fmt: skip


def _protect(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    by: list[str],
    filters: dict[str, str],
    as_of: dt.date | None,
    min_n: int,
) -> list[dict[str, Any]]:

    def count(dims: list[str], where: Mapping[str, str], span: Period = period) -> list[dict[str, Any]]:
        return aggregate(indicator, municipality=municipality, date_from=span.start, date_to=span.end,
                         by=dims, filters=where, as_of=as_of)  # fmt: skip

    prefetched = period.grain == "years" and as_of is None
    if prefetched:
        # The run's years' cells in one query (queries.prefetch_periods), which also gives the
        # run's own count as their sum: one query fewer than counting the run first.
        prefetch_periods(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                         grain="year", by=by, filters=filters)  # fmt: skip
    rows = count(by, filters)
    hidden = [r["n"] < min_n for r in rows]
    if all(hidden):  # hidden by their own size (a small cell): no partition can show them again
        return [{**r, "suppressed": True} for r in rows]
    # Along each condition: the partition of the cell's parent (the cell without it).
    for dim in [*by, *(d for d in filters if d not in by)]:
        if dim not in _SPLITTABLE:
            continue
        rest_filters = {k: v for k, v in filters.items() if k != dim}
        rest_by = [b for b in by if b != dim]
        parts: dict[tuple[str, ...], dict[str, int]] = {}
        # Along a dimension of ``by`` not filtered on, the partitions are the rows themselves,
        # grouped by the other dimensions: the same cells, in each partition in the same order
        # (the rows are ordered by their dimensions, so with the others fixed by this one), so
        # the same flags without reading them again (a comparison by provider: 750 rows
        # unpickled per indicator; women and men by service and sex: a query of the case-mix
        # counts by sex and service).
        if dim in by and dim not in filters:
            if rest_by:
                for r in rows:
                    parts.setdefault(tuple(str(r[b]) for b in rest_by), {})[str(r[dim])] = r["n"]
            elif rows:  # one partition: every row (a comparison by provider, 750 rows, ~30 times a page)
                parts[()] = {str(r[dim]): r["n"] for r in rows}
            gone = _hidden_by_partition(parts, min_n)
        else:  # a partition of counts not in hand: its hidden cells alone, cached (a trend seeds them)
            if (
                not by
                and as_of is None
                and holds(_shown_key(indicator, municipality, period, dim, filters, min_n))
            ):
                continue  # the one cell shown in this partition, proven from a few of its cells (_prefetch_shown)
            if (
                not by
                and rows
                and as_of is None
                and dim == "provider"
                and rest_filters
                and _shown_by_some(indicator, municipality, period, dim, filters, min_n)
            ):
                continue  # likewise, its partition not in hand: a few of its cells read (a unit manager's)
            if prefetched:  # the run's and its years' (checked below) in one read
                _prefetch_hidden_along(indicator, municipality, period, rest_by, dim, rest_filters, min_n)
            gone = _hidden_along(indicator, municipality, period, rest_by, dim, rest_filters, as_of, min_n)
        if not gone:
            continue
        if not rest_by:
            cells = gone[()]
            for i, r in enumerate(rows):
                if (str(r[dim]) if dim in by else str(filters[dim])) in cells:
                    hidden[i] = True
            continue
        for i, r in enumerate(rows):
            key = tuple(str(r[b]) for b in rest_by)
            value = str(r[dim]) if dim in by else str(filters[dim])
            if value in gone.get(key, ()):
                hidden[i] = True
    if period.grain == "years":
        # A run of years: shown where every year of it is shown or empty (the years' cells
        # counted in one query: queries.prefetch_periods, unless done above: a second time it
        # read back and regrouped its 2,250 rows, ~3 ms of a cold comparison page, 2026-12-05).
        if not prefetched:
            prefetch_periods(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                             grain="year", by=by, filters=filters)  # fmt: skip
        keys: list[tuple[str, ...]] | None = None  # the rows' keys, made once for all the years
        for year in period.children("year"):
            small = {tuple(str(r[b]) for b in by) for r in protected_counts(
                indicator, municipality=municipality, date_from=year.start, date_to=year.end, by=by,
                filters=filters, as_of=as_of) if r["suppressed"] and r["n"]}  # fmt: skip
            if not small:
                continue
            if keys is None:
                keys = [tuple(str(r[b]) for b in by) for r in rows]
            for i, key in enumerate(keys):
                if key in small:
                    hidden[i] = True
    # Along time: the parent period split into periods of this one's length.
    parent = period.parent()
    if parent is not None:
        siblings = parent.children(period.grain)
        sizes: dict[tuple[str, ...], dict[str, int]] = {}
        for sibling in siblings:
            for r in count(by, filters, sibling):
                sizes.setdefault(tuple(str(r[b]) for b in by), {})[sibling.label] = r["n"]
        late = _hidden_by_partition(sizes, min_n)
        for i, r in enumerate(rows):
            if period.label in late.get(tuple(str(r[b]) for b in by), ()):
                hidden[i] = True
    return [{**r, "suppressed": h} for r, h in zip(rows, hidden, strict=True)]


def _hidden_by_partition(
    parts: Mapping[tuple[str, ...], Mapping[str, int]], min_n: int
) -> dict[tuple[str, ...], set[str]]:
    """The hidden cells of each partition (cells by value, n by cell), by the partition's key:
    :func:`utfall.stats.disclosure.hidden_in_partitions`, keyed by partition instead of index."""
    keys = list(parts)
    out: dict[tuple[str, ...], set[str]] = {}
    for index, cell in hidden_in_partitions(parts.values(), min_n=min_n):
        out.setdefault(keys[index], set()).add(cell)
    return out


def _hidden_along_key(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    rest_by: Sequence[str],
    dim: str,
    rest_filters: Mapping[str, str],
    as_of: dt.date | None,
    min_n: int,
) -> tuple[Any, ...]:
    return ("hidden_along", indicator, municipality.pk, period, tuple(rest_by), dim,
            sorted(rest_filters.items()), as_of, min_n)  # fmt: skip


def _hidden_along(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    rest_by: list[str],
    dim: str,
    rest_filters: dict[str, str],
    as_of: dt.date | None,
    min_n: int,
) -> dict[tuple[str, ...], set[str]]:
    """The partitions of ``period``'s count by ``rest_by`` (filtered by ``rest_filters``), each
    split along ``dim``: the hidden cells (values of ``dim``) of each, by the partition's key
    (the ``rest_by`` values as text). Cached on its own, a few cells instead of the whole count
    (a trend's quarter by provider: 750 rows), and seeded by :func:`prefetch_hidden`."""

    def compute() -> dict[tuple[str, ...], set[str]]:
        by = [*rest_by, dim]
        if period.grain == "year" and as_of is None and not aggregate_held(
            indicator, municipality=municipality, date_from=period.start, date_to=period.end, by=by,
            filters=rest_filters,
        ):  # fmt: skip
            # A year's sizes alone (queries.period_sizes: no row dict, no pickled count of
            # ~10,000 provider × unit cells at 1M, 2026-12-06, mgr); None: counted as below. A
            # count in hand is read instead (the provider page's, seeded for all its indicators).
            found = period_size_rows(indicator, municipality=municipality, date_from=period.start,
                                     date_to=period.end, grain="year", by=by, filters=rest_filters)  # fmt: skip
            if found is not None:  # the year alone as a run of one year (from the ids where it can)
                hidden = _hidden_along_periods(found, [period.label], len(rest_by), min_n)
                if hidden is None:
                    hidden = _hidden_along_periods_by_codes(found, [period.label], len(rest_by), min_n)
                return hidden[1]
        parts: dict[tuple[str, ...], dict[str, int]] = {}
        for r in aggregate(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                           by=by, filters=rest_filters, as_of=as_of):  # fmt: skip
            parts.setdefault(tuple(str(r[b]) for b in rest_by), {})[str(r[dim])] = r["n"]
        return _hidden_by_partition(parts, min_n)

    key = _hidden_along_key(indicator, municipality, period, rest_by, dim, rest_filters, as_of, min_n)
    return cached(key, compute)


def _partitions(
    cells: Iterable[tuple[tuple[Any, ...], int]], width: int
) -> dict[tuple[str, ...], dict[str, int]]:
    """Cells (their codes: ``width`` of the partition's key, then the value split along; n) as
    :func:`_hidden_along` makes its partitions of :func:`aggregate`'s rows: keyed by the first
    codes as text, each the values' n as text, in the cells' order (the secondary suppression
    breaks ties by position)."""
    parts: dict[tuple[str, ...], dict[str, int]] = {}
    last: tuple[Any, ...] | None = None
    part: dict[str, int] = {}
    for codes, n in cells:
        head = codes[:width]
        if head != last:  # a partition's cells are adjacent (ordered by their codes): its key made once
            last = head
            part = parts.setdefault(tuple(str(v) for v in head), {})
        part[str(codes[width])] = n
    return parts


def _hidden_along_periods(
    found: SizeRows, labels: Sequence[str], width: int, min_n: int, *, with_run: bool = True
) -> list[dict[tuple[str, ...], set[str]]] | None:
    """:func:`_hidden_by_partition` of the run of the periods ``labels`` (years, or a trend's
    quarters) and of each period, in that order, as :func:`_hidden_along_periods_by_codes` makes
    them (each period's cells by their codes, sorted by the codes as text, then
    :func:`_partitions`; the run's their sums), from the rows by ids in one pass: a partition's
    rows are adjacent (ordered by the ids), each id is made text once, a partition's few cells
    are put in the codes' order by a rank of the split dimension's codes made once, and a
    partition with no cell under the minimum is skipped. ``width``: the partitions' key is the
    first ``width`` ids (0: one partition a period, :func:`prefetch_hidden`'s quarters).

    ``with_run=False``: for a caller that reads the periods' hidden cells only; the run's are then
    left empty where that spares work (one partition a period, ``width`` 0, one look-up of ids),
    and worked out as usual otherwise.

    A unit manager's comparison page at 1M reads ~22,500 rows (750 providers × 13 units × the
    run's years); each cell's code tuple, the sort of 19,000 of them as text and the partitions'
    text keys cost more than the rule itself (2026-12-06). The same hidden cells wherever the
    codes are one to one (every code text made of one id, and no code printed ``None`` or empty
    beside a missing one); None otherwise, and the caller goes the general way."""
    rows, lookups, label = found
    period_of = labels_by_month(label)
    texts: list[dict[Any, str]] = []  # per dimension: each id's code as the partitions key it (str)
    rank: dict[Any, int] = {}  # the split dimension's ids in its codes' order
    for i, get in enumerate(lookups):
        ids = {row[i] for row in rows}
        codes = {v: get(v) for v in ids}
        text = {v: str(c) for v, c in codes.items()}
        # As sort_by_codes_as_text orders them: None as "", ties kept in the query's order, so
        # only codes that are one to one with their ids (as text and as sort key) are ranked here.
        ordered = {v: "" if c is None else str(c) for v, c in codes.items()}
        if len(set(text.values())) != len(text) or len(set(ordered.values())) != len(ordered):
            return None
        texts.append(text)
        if i == width:
            rank = {v: position for position, v in enumerate(sorted(ordered, key=ordered.__getitem__))}
    # Each month (or year) as the rows give it: the position of its period among the run's cells.
    slot = {month: position + 1 for month, name in period_of.items() for position, label in enumerate(labels)
            if name == label}  # fmt: skip
    out: list[dict[tuple[str, ...], set[str]]] = [{} for _ in range(len(labels) + 1)]  # the run first

    def check(head: Sequence[Any], cells: list[dict[Any, int]]) -> None:
        key: tuple[str, ...] | None = None
        for position, sizes in enumerate(cells):
            if not sizes or min(sizes.values()) >= min_n:  # nothing small: nothing hidden
                continue
            values = sorted(sizes, key=rank.__getitem__)
            gone = hidden_rows([sizes[v] for v in values], min_n=min_n)
            if gone:
                if key is None:
                    key = tuple(text[v] for text, v in zip(texts, head, strict=False))
                out[position][key] = {texts[width][values[i]] for i in gone}

    if width == 0 and not with_run and len(lookups) == 1:
        # One partition a period and no run (prefetch_hidden's quarters: ~22,000 month rows of
        # 750 providers at a million follow-ups): each row into its period's cell alone, without
        # the partition's key compared a row or the run's sum (2026-12-06, prov7).
        cells: list[dict[Any, int]] = [{} for _ in range(len(labels) + 1)]  # the run's (first) left empty
        where = slot.get
        for value, month, n in rows:  # (id, month or year, n)
            position = where(month)
            if position:
                cell = cells[position]
                cell[value] = cell.get(value, 0) + n
        if rows:
            check((), cells)
        return out
    last: Sequence[Any] | None = None
    cells = []
    run: dict[Any, int] = {}
    for row in rows:  # (ids…, month or year, n)
        head = row[:width]
        if head != last:
            if last is not None:
                check(last, cells)
            last, run = head, {}
            cells = [run, *({} for _ in labels)]
        position = slot.get(row[-2])
        if position:  # a period of the run: its cell and the run's sum
            value, n = row[width], row[-1]
            cell = cells[position]  # summed: a table by month gives a year's group in 12 rows
            cell[value] = cell.get(value, 0) + n
            run[value] = run.get(value, 0) + n
    if last is not None:
        check(last, cells)
    return out


def _hidden_along_periods_by_codes(
    found: SizeRows, labels: Sequence[str], width: int, min_n: int
) -> list[dict[tuple[str, ...], set[str]]]:
    """:func:`_hidden_along_periods` the general way, for any codes: each period's cells by their
    codes (``queries.period_sizes``), the run's their sums (integers: the same n), each period's
    cells in :func:`aggregate`'s order (by their codes as text) made into :func:`_partitions`."""
    sizes = found.by_period()
    out = []
    run: dict[tuple[Any, ...], int] = {}
    for label in labels:
        cells = sizes.get(label, {})
        out.append(_hidden_by_partition(_partitions(cells.items(), width), min_n))
        for codes, n in cells.items():
            run[codes] = run.get(codes, 0) + n
    ordered = list(run.items())
    sort_by_codes_as_text(ordered, itemgetter(0))  # in aggregate's order
    return [_hidden_by_partition(_partitions(ordered, width), min_n), *out]


@pinned()  # the token before the counts it seeds
def _prefetch_hidden_along(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    rest_by: list[str],
    dim: str,
    rest_filters: dict[str, str],
    min_n: int,
) -> None:
    """For a run of whole years: :func:`_hidden_along` of the run and of each of its years (as
    :func:`_protect` checks them) from one read of the years' sizes (``queries.period_sizes``),
    the run's as their sum (integers: the same n; its cells in :func:`aggregate`'s order, by
    their codes as text). A unit manager's comparison read the provider × unit counts three
    times at 1M (the run, 2024, 2025: ~10,000 cells each, as row dicts, each pickled into the
    count cache); now once, as sizes (2026-12-06, mgr), made into partitions from the ids
    (:func:`_hidden_along_periods`, 2026-12-06). Where the sizes are not read that way, nothing is
    seeded: each is counted by itself as before."""
    years = period.children("year")
    keys = [_hidden_along_key(indicator, municipality, span, rest_by, dim, rest_filters, None, min_n)
            for span in (period, *years)]  # fmt: skip
    if all(holds(key) for key in keys):
        return
    # A question's years as columns of its folded rollup, summed here (year_sizes: no GROUP BY sort,
    # no tuple or date per row; 2026-12-07, oe9); else the grouped rows as before.
    columns = year_sizes(indicator, municipality=municipality, first_year=period.start.year,
                         last_year=period.end.year, by=[*rest_by, dim], filters=rest_filters)  # fmt: skip
    hidden = None if columns is None else _hidden_along_years(columns, len(rest_by), min_n)
    if hidden is None:
        found = period_size_rows(indicator, municipality=municipality, date_from=period.start, date_to=period.end,
                                 grain="year", by=[*rest_by, dim], filters=rest_filters)  # fmt: skip
        if found is None:
            return
        labels = [year.label for year in years]
        hidden = _hidden_along_periods(found, labels, len(rest_by), min_n)
        if hidden is None:
            hidden = _hidden_along_periods_by_codes(found, labels, len(rest_by), min_n)
    for key, gone in zip(keys, hidden, strict=True):
        seed(key, gone)


def _hidden_along_years(
    found: YearSizes, width: int, min_n: int
) -> list[dict[tuple[str, ...], set[str]]] | None:
    """:func:`_hidden_along_periods` of a run of whole years (the run first, then each year) from
    the years' rows as columns (``queries.year_sizes``): each year's cells summed by their ids
    (a cell whose year's sum is not above 0 is not there, as the grouped read's ``n > 0``), the
    run's as the sum of its years' cells that are there, and only the partitions (the first
    ``width`` ids; each split along the next dimension) with a cell under the minimum checked by
    the rule, their cells in the split dimension's codes' order. The same hidden cells where the
    codes are one to one with the ids (as text and as sort key); None otherwise, and the caller
    reads the grouped rows. A unit manager's partitions along the unit at 1M: 19,500 grouped rows
    of 750 providers × 13 units × 2 years fetched as tuples with their dates converted, then
    walked row by row in Python (~35 ms of the O/E page, 2026-12-07, oe9)."""
    years, lookups = found
    dims = len(lookups)
    if not years or width >= dims:
        return None
    ids: list[NDArray[np.int64]] = []
    texts: list[list[str]] = []
    value_rank: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    for i, get in enumerate(lookups):
        distinct = np.unique(np.concatenate([year[i] for year in years]))
        codes = [get(v) for v in distinct.tolist()]
        text = [str(c) for c in codes]
        ordered = ["" if c is None else str(c) for c in codes]
        if len(set(text)) != len(text) or len(set(ordered)) != len(ordered):
            return None
        ids.append(distinct)
        texts.append(text)
        if i == width:  # each id's place in the split dimension's codes' order
            value_rank = np.empty(len(ordered), dtype=np.int64)
            value_rank[sorted(range(len(ordered)), key=ordered.__getitem__)] = np.arange(len(ordered))
    # Each row's cell as one number (the ids' places, mixed radix); the cells of all years numbered.
    numbers = []
    for year in years:
        number = np.zeros(len(year[-1]), dtype=np.int64)
        for i in range(dims):
            number = number * len(ids[i]) + np.searchsorted(ids[i], year[i])
        numbers.append(number)
    cells, inverse = np.unique(np.concatenate(numbers), return_inverse=True)
    inverse = inverse.ravel()
    places = []  # each cell's place along each dimension
    rest = cells
    for i in reversed(range(dims)):
        places.append(rest % len(ids[i]))
        rest = rest // len(ids[i])
    places.reverse()
    head = np.zeros(len(cells), dtype=np.int64)
    for i in range(width):
        head = head * len(ids[i]) + places[i]
    value = places[width]
    # The cells by partition, and within one in the codes' order (hidden_rows breaks ties by place).
    order = np.lexsort((value_rank[value], head))
    head, value = head[order], value[order]
    sizes = []
    start = 0
    for year in years:
        stop = start + len(year[-1])
        summed = np.bincount(inverse[start:stop], weights=year[-1], minlength=len(cells))
        sizes.append(summed.astype(np.int64)[order])
        start = stop
    present = [size > 0 for size in sizes]
    run = np.zeros(len(cells), dtype=np.int64)
    for size, there in zip(sizes, present, strict=True):
        run += np.where(there, size, 0)
    run_present = np.logical_or.reduce(present)
    bounds = np.flatnonzero(np.diff(head, prepend=-1))  # each partition's first cell
    ends = np.append(bounds[1:], len(head))
    out: list[dict[tuple[str, ...], set[str]]] = []
    for size, there in ((run, run_present), *zip(sizes, present, strict=True)):
        hidden: dict[tuple[str, ...], set[str]] = {}
        small = there & (size < min_n)
        for part in np.unique(np.searchsorted(bounds, np.flatnonzero(small), side="right") - 1).tolist():
            first, last = int(bounds[part]), int(ends[part])
            kept = np.flatnonzero(there[first:last]) + first
            gone = hidden_rows(size[kept].tolist(), min_n=min_n)
            if gone:
                key = tuple(texts[i][int(places[i][order[first]])] for i in range(width))
                hidden[key] = {texts[width][int(value[kept[g]])] for g in gone}
        out.append(hidden)
    return out


@pinned()  # the token before the counts it seeds
def prefetch_hidden(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    grain: str,
    dim: str,
    filters: Mapping[str, str] | None = None,
) -> None:
    """For every calendar ``grain`` from ``date_from``'s to ``date_to``'s, the hidden cells of the
    period's count split along ``dim`` (filtered by ``filters``), as :func:`_protect` reads them
    for a cell filtered on ``dim`` (:func:`_hidden_along`): counted in one query
    (``queries.period_size_rows``: each period's n by value, no row dict) and cached per period, so a
    trend's per-period checks read a few hidden cells each instead of the whole partition
    (the provider page's trend: 12 quarters × 750 providers; 2026-12-05, prov4). Where the sizes
    are not read that way, the periods' rows are counted and cached as before
    (``queries.prefetch_periods``)."""
    rest = dict(filters or {})
    min_n = int(settings.UTFALL_MIN_COUNT)
    spans = [_containing(grain, date_from)]
    while spans[-1].end < date_to:
        spans.append(_containing(grain, spans[-1].end + dt.timedelta(days=1)))
    keys = [_hidden_along_key(indicator, municipality, span, [], dim, rest, None, min_n) for span in spans]
    if all(holds(key) for key in keys):  # seeded by an earlier request for the same data
        return
    found = period_size_rows(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                             grain=grain, by=[dim], filters=rest)  # fmt: skip
    if found is None:
        prefetch_periods(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                         grain=grain, by=[dim], filters=rest)  # fmt: skip
        return
    # Each period one partition of the values along ``dim`` (from the rows by ids, 2026-12-06: a
    # unit manager's provider page checks 12 quarters along the provider and along the unit).
    labels = [span.label for span in spans]
    hidden = _hidden_along_periods(found, labels, 0, min_n, with_run=False)
    if hidden is None:
        hidden = _hidden_along_periods_by_codes(found, labels, 0, min_n)
    for key, gone in zip(keys, hidden[1:], strict=True):
        seed(key, gone)


def _shown_key(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    dim: str,
    filters: Mapping[str, str],
    min_n: int,
) -> tuple[Any, ...]:
    """The key under which :func:`_prefetch_shown` marks one cell (``filters``, ``dim`` among them,
    over ``period``) as shown in its partition along ``dim``."""
    return ("shown_along", indicator, municipality.pk, period, dim, sorted(filters.items()), min_n)


#: How many of a partition's other cells :func:`_prefetch_shown` and :func:`_shown_by_some` read.
_WITNESSES = 16


@pinned()  # the token before the cells it marks
def _prefetch_shown(
    indicator: Indicator,
    municipality: Municipality,
    spans: Sequence[Period],
    dim: str,
    filters: Mapping[str, str],
    min_n: int,
) -> bool:
    """For each period of ``spans`` (a trend's quarters): whether the cell ``filters`` (a unit
    manager's provider within the unit) is shown in its partition along ``dim`` (the unit's
    providers), decided from a few of the partition's cells instead of all of them
    (:func:`utfall.stats.suppression.shown_among`, the rule of :func:`_hidden_along`'s partitions
    on the cells' n in their codes' order). A cell under the minimum needs nothing (its own size
    hides it). For each other period, the ``_WITNESSES`` values of ``dim`` whose year's size is
    nearest to the one that gives the period a cell of about half the minimum (a year's sizes:
    one covering read of the rollup by year) are read with the cell itself (the values and the
    period's months named: a few index searches). Each cell proven shown is marked
    (:func:`_shown_key`), and :func:`_protect` then skips that partition for it; True when every
    period's cell of at least the minimum was proven (else the caller reads the whole partitions,
    as before). A unit manager's trend on the provider page read three years of the unit's 750
    providers (~650,000 index entries at 1M) to check one provider's 12 quarters, most of them
    hidden by their own size (2026-12-06, mgrprov)."""
    value = filters[dim]
    rest = {k: v for k, v in filters.items() if k != dim}
    keys = [_shown_key(indicator, municipality, span, dim, filters, min_n) for span in spans]
    wanted = []
    for span, key in zip(spans, keys, strict=True):
        cell = aggregate(indicator, municipality=municipality, date_from=span.start, date_to=span.end, by=[],
                         filters=filters)  # fmt: skip
        if not holds(key) and cell and cell[0]["n"] >= min_n:  # a smaller cell is hidden by its size
            wanted.append((span, key))
    if not wanted:
        return True
    first, last = wanted[0][0].start, wanted[-1][0].end
    yearly = period_size_rows(indicator, municipality=municipality, date_from=dt.date(first.year, 1, 1),
                              date_to=dt.date(last.year, 12, 31), grain="year", by=[dim], filters=rest)  # fmt: skip
    if yearly is None:
        return False
    get = yearly.lookups[0]
    year_of = labels_by_month(yearly.label)
    by_year: dict[str, list[tuple[int, Any]]] = {}
    own = None
    named: dict[Any, Any] = {}
    for ident, year, n in yearly.rows:
        code = named.setdefault(ident, get(ident))
        if type(code) is not str:  # the cells' order is their codes' as text: only plain codes here
            return False
        if code == value:
            own = ident
        elif n:
            by_year.setdefault(year_of[year], []).append((n, ident))
    if own is None or len(set(named.values())) != len(named):  # the codes one to one with the ids
        return False
    proven = True
    for span, key in wanted:
        months = (span.end.year - span.start.year) * 12 + span.end.month - span.start.month + 1
        aim = min_n / 2 * 12 / months  # a year's size that gives the period about half the minimum
        sizes = sorted(by_year.get(str(span.start.year), []), key=lambda size: (abs(size[0] - aim), size[1]))
        among = [own, *(ident for _n, ident in sizes[:_WITNESSES])]
        found = period_size_rows(indicator, municipality=municipality, date_from=span.start, date_to=span.end,
                                 grain=span.grain, by=[dim], filters=rest, among=among)  # fmt: skip
        if found is None:
            return False
        cells: dict[Any, int] = {}
        for ident, _month, n in found.rows:
            cells[ident] = cells.get(ident, 0) + n
        n = cells.get(own, 0)
        others = [(size, named[ident]) for ident, size in cells.items() if ident != own]
        if n >= min_n and shown_among(n, value, others, min_n=min_n):
            seed(key, True)
        else:
            proven = False
    return proven


def _shown_by_some(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    dim: str,
    filters: Mapping[str, str],
    min_n: int,
) -> bool:
    """Whether one cell (``filters``, ``dim`` among them, over ``period``: a unit manager's
    provider within the unit) is proven shown in its partition along ``dim`` (the unit's
    providers) from a few of the partition's cells (:func:`utfall.stats.suppression.shown_among`),
    where the partition is not in hand: the ``_WITNESSES`` values of ``dim`` smallest in the
    municipality's count by ``dim`` over the period (in hand: the provider page counts it just
    before; else nothing is tried), read within the cell's other conditions
    (``queries.aggregate(among=…)``, the same rows as the whole count's). False when that does
    not decide it, or when the whole partition is in hand or cheap to read: the caller then
    checks the whole partition as before. A unit manager's provider page read the unit's 750
    providers' outcomes of the year for each of its outcome cells (2026-12-06, mgrprov)."""
    rest = {k: v for k, v in filters.items() if k != dim}
    value = filters[dim]
    start, end = period.start, period.end
    if _partition_in_hand(indicator, municipality, period, dim, rest, min_n):
        return False
    among = _witnesses(indicator, municipality, period, dim, value)
    if among is None:
        return False
    found = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=[dim], filters=rest,
                      among=among)  # fmt: skip
    return _prove_shown(indicator, municipality, period, dim, filters, min_n, found)


def _partition_in_hand(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    dim: str,
    rest: Mapping[str, str],
    min_n: int,
) -> bool:
    """Whether the partition along ``dim`` within ``rest`` over ``period`` is in hand (its hidden
    cells, or its count): then the whole rule is as cheap as a proof from a few of its cells."""
    return holds(
        _hidden_along_key(indicator, municipality, period, [], dim, rest, None, min_n)
    ) or aggregate_held(
        indicator,
        municipality=municipality,
        date_from=period.start,
        date_to=period.end,
        by=[dim],
        filters=rest,
    )


def _witnesses(
    indicator: Indicator, municipality: Municipality, period: Period, dim: str, value: str
) -> list[int] | None:
    """The ids of ``value`` and of the ``_WITNESSES`` other values of ``dim`` smallest in the
    municipality's count by ``dim`` over ``period`` (which must be in hand: None otherwise, or
    when the codes are not plain text one to one with their ids): the few cells of a partition
    along ``dim`` that :func:`_shown_by_some` and :func:`prefetch_shown_within` read."""
    start, end = period.start, period.end
    if not aggregate_held(
        indicator, municipality=municipality, date_from=start, date_to=end, by=[dim], filters={}
    ):
        return None
    whole = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=[dim])
    codes = [r[dim] for r in whole]
    if any(type(code) is not str for code in codes) or len(set(codes)) != len(codes) or value not in codes:
        return None
    ids = coded_ids(dim, municipality)
    smallest = sorted((r["n"], r[dim]) for r in whole if r[dim] != value)[:_WITNESSES]
    if ids is None or any(code not in ids for _n, code in smallest) or value not in ids:
        return None
    return [ids[value], *(ids[code] for _n, code in smallest)]


def _prove_shown(
    indicator: Indicator,
    municipality: Municipality,
    period: Period,
    dim: str,
    filters: Mapping[str, str],
    min_n: int,
    found: Sequence[Mapping[str, Any]],
) -> bool:
    """The proof of :func:`_shown_by_some` on ``found``, some cells of the partition of the cell
    ``filters`` along ``dim`` (each exactly the partition's cell: rows by ``dim`` of the count
    within the cell's other conditions), the cell itself among them when it has rows: marks the
    cell shown (:func:`_shown_key`) and True when they prove it."""
    value = filters[dim]
    n = next((r["n"] for r in found if r[dim] == value), 0)
    others = [(r["n"], r[dim]) for r in found if r[dim] != value]
    if any(type(code) is not str for _n, code in others):
        return False
    if n < min_n:
        return False
    key = _shown_key(indicator, municipality, period, dim, filters, min_n)
    if shown_among(n, value, others, min_n=min_n):
        seed(key, True)
        return True
    return False


@pinned()  # the token before the counts it seeds
def prefetch_cell_within(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    filters: Mapping[str, str],
) -> None:
    """For a provider within a unit (``filters``: ``provider`` and ``unit``, a unit manager's own
    figures on the provider page): count the provider by unit (the cell's partition along the
    unit, which :func:`protected_counts` of the cell reads whenever the cell is not hidden by its
    own size) and cache the cell itself as :func:`aggregate` gives it, from its unit's row there
    (the same sums of the same rows, grouped instead of filtered; no row: the count's zeros), so
    the cell costs no query of its own. Nothing is done for a cell counted already (the question
    indicators': ``prefetch_protected``) or for any other ``filters``. A unit manager's provider
    page at 1M made three small ORM queries for each of its eight other indicators (~1 ms each,
    mostly building the query; 2026-12-07, mgrprov8)."""
    where = dict(filters)
    if set(where) != {"provider", "unit"}:
        return
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    start, end = period.start, period.end
    if aggregate_held(
        indicator, municipality=municipality, date_from=start, date_to=end, by=[], filters=where
    ):
        return
    units = coded_ids("unit", municipality)
    if units is None or where["unit"] not in units:  # a unit's code one to one with its id
        return
    own = aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=["unit"],
                    filters={"provider": where["provider"]})  # fmt: skip
    cell = next(({"events": r["events"], "n": r["n"]} for r in own if r["unit"] == where["unit"]),
                {"events": 0, "n": 0})  # fmt: skip
    seed_aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=[], filters=where,
                   rows=[cell])  # fmt: skip


@pinned()  # the token before the cells it marks
def prefetch_shown_within(
    indicators: Sequence[Indicator],
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    filters: Mapping[str, str],
) -> None:
    """For the question indicators among ``indicators``, a provider's cell within a unit
    (``filters``: ``provider`` and ``unit``): the proof of :func:`_shown_by_some` for all of them
    from one read — the cells in the unit of each question's witnesses (:func:`_witnesses`: the
    municipality's count by provider must be in hand), all of them counted at once
    (``queries.aggregate_questions_among``) and each question's proof run on its own rows (any
    exact cells of its partition serve the proof). A cell proven shown is marked
    (:func:`_shown_key`), and :func:`_protect` skips its partition along the provider; any other
    is checked as before (its own few cells, else the whole partition). Nothing for a cell not
    counted yet (``prefetch_protected`` counts them first), hidden by its own size, or whose
    partition is in hand. A unit manager's provider page at 1M read the unit's 750 providers'
    cells of every question to check five cells (2026-12-07, mgrprov8)."""
    where = dict(filters)
    if set(where) != {"provider", "unit"}:
        return
    period = fixed_period(date_from, date_to) or snap_period(date_from, date_to)[0]
    start, end = period.start, period.end
    min_n = int(settings.UTFALL_MIN_COUNT)
    rest = {"unit": where["unit"]}
    wanted: list[Indicator] = []
    ids: set[int] = set()
    for indicator in indicators:
        if indicator.kind != "question" or not aggregate_held(
            indicator, municipality=municipality, date_from=start, date_to=end, by=[], filters=where
        ):
            continue
        cell = aggregate(
            indicator, municipality=municipality, date_from=start, date_to=end, by=[], filters=where
        )
        if not cell or cell[0]["n"] < min_n:  # hidden by its own size: no partition is read
            continue
        if holds(_shown_key(indicator, municipality, period, "provider", where, min_n)) or _partition_in_hand(
            indicator, municipality, period, "provider", rest, min_n
        ):
            continue
        among = _witnesses(indicator, municipality, period, "provider", where["provider"])
        if among is None:
            continue
        wanted.append(indicator)
        ids.update(among)
    if len(wanted) < 2:  # one: _shown_by_some reads its own few cells
        return
    found = aggregate_questions_among(wanted, municipality=municipality, date_from=start, date_to=end,
                                      by=["provider"], filters=rest, among=sorted(ids))  # fmt: skip
    for indicator in wanted:
        _prove_shown(indicator, municipality, period, "provider", where, min_n, found[indicator.code])


def protected_by_client(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    period: str,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``aggregate_by_client`` (a trend: per quarter or year, each client once) with
    ``suppressed`` set as :func:`protected_counts` sets it for the same period and filters (the
    point's n and events are those counts), so a trend's quarter is hidden exactly where a
    comparison of that quarter hides it, and a year minus its shown quarters gives no small one."""
    out = []
    rows = aggregate_by_client(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                               period=period, filters=filters)  # fmt: skip
    if rows:
        # Every period's cell and its partitions, counted in one query each, not one per period.
        # Along a filter, the hidden cells of each period's partition only (prefetch_hidden).
        where = dict(filters or {})
        prefetch_periods(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                         grain=period, by=[], filters=where)  # fmt: skip
        spans = [_containing(period, date_from)]
        while spans[-1].end < date_to:
            spans.append(_containing(period, spans[-1].end + dt.timedelta(days=1)))
        for d in where:
            if (
                d == "provider"
                and _prefetch_shown(indicator, municipality, spans, d, where, int(settings.UTFALL_MIN_COUNT))
            ):  # a provider (within a unit, or the municipality's): its cells proven shown along the providers
                continue
            if d in _SPLITTABLE:
                prefetch_hidden(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                                grain=period, dim=d, filters={k: v for k, v in where.items() if k != d})  # fmt: skip
    for r in rows:
        label = str(r["period"])
        year, _, part = label.partition("-K")
        start = dt.date(int(year), 3 * int(part) - 2 if part else 1, 1)
        span = _containing("quarter" if part else "year", start)
        cell = protected_counts(indicator, municipality=municipality, date_from=span.start, date_to=span.end,
                                by=[], filters=filters)  # fmt: skip
        out.append({**r, "suppressed": bool(cell and cell[0]["suppressed"])})
    return out


STATUSES = ("completed", "declined", "unreachable")


def protected_status_counts(
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: str,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``followup_status_counts`` (follow-ups per group by status) with
    ``suppressed`` (the group's follow-ups, n, below the minimum, with the secondary rule across
    groups) and ``<status>_suppressed`` for each of completed, declined and unreachable (issue 17
    point 10). A status count is a cell of two partitions — its row (the group's follow-ups split
    by status: n is shown) and its column (the status split by group: the column's total is the
    same status in any other table of the period) — and each is protected with the one rule,
    :func:`utfall.stats.suppression.suppress`, until neither hides more. Empty cells (0) are not
    hidden, as in :func:`utfall.stats.disclosure.hidden_in_partitions`. Counts stay on the rows
    for the caller's arithmetic on shown cells; every caller blanks the hidden ones."""
    rows = followup_status_counts(municipality=municipality, date_from=date_from, date_to=date_to, by=by,
                                  filters=filters)  # fmt: skip
    min_n = int(settings.UTFALL_MIN_COUNT)
    whole = suppress([{"group": i, "n": r["n"]} for i, r in enumerate(rows)], min_n=min_n)
    hidden = [set(STATUSES) if w["suppressed"] else set() for w in whole]

    def more(cells: Mapping[Any, int], already: set[Any]) -> set[Any]:
        shown = [k for k, n in cells.items() if n]
        out = suppress([{"group": k, "n": cells[k], "suppressed": k in already} for k in shown], min_n=min_n)
        return {r["group"] for r in out if r["suppressed"]} - already

    changed = True
    while changed:
        changed = False
        for i, r in enumerate(rows):
            new = more({s: r[s] for s in STATUSES}, hidden[i])
            hidden[i] |= new
            changed |= bool(new)
        for status in STATUSES:
            new = more(
                {i: r[status] for i, r in enumerate(rows)},
                {i for i in range(len(rows)) if status in hidden[i]},
            )
            for i in new:
                hidden[i].add(status)
            changed |= bool(new)
    return [
        {**r, "suppressed": w["suppressed"], **{f"{s}_suppressed": s in h for s in STATUSES}}
        for r, w, h in zip(rows, whole, hidden, strict=True)
    ]
