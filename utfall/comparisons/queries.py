"""Indicator counts by SQL aggregation (GROUP BY in the database; no loop over follow-ups).

Each indicator kind has a base table (answers, follow-ups or interventions), a period rule
(spec: a follow-up counts in the period of its date, an ended intervention in the period of
its end) and an event expression. The result is a few rows of (group…, events, n).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

import numpy as np
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from numpy.typing import NDArray

from utfall.aggregates.coverage import grain_of, maintained_periods
from utfall.aggregates.coverage import period_id as coverage_period
from utfall.aggregates.models import (
    AnswerByProvider,
    AnswerCount,
    CoverageByProvider,
    CoverageByUnit,
    FollowUpByProvider,
    FollowUpByProviderUnitYear,
    FollowUpCount,
    OutcomeByProvider,
    OutcomeByProviderUnit,
    OutcomeByProviderUnitYear,
    OutcomeCount,
    QuestionByProviderUnitCaseMixYear,
    QuestionByProviderUnitYear,
    QuestionByUnitCaseMixYear,
)
from utfall.aggregates.outcome_counts import REREFERRAL_WINDOWS, STEP_DOWN_DAYS
from utfall.comparisons.cache import cached, compiled, holds, pinned, seed
from utfall.comparisons.counted import (
    COUNTED_PATHS,
    OUTCOME_KINDS,
    PROVIDER_UNIT,
    Cells,
    client_table_for,
    coverage_table,
    is_counted,
    is_folded,
    merge,
    month_end,
    months_within,
    period_field,
    sorted_codes,
    table_for,
    year_table_for,
    years_within,
)
from utfall.comparisons.indicators import DIMENSIONS, STEP_DOWN_WINDOW_DAYS, Indicator, all_indicators
from utfall.comparisons.sql import PERIODS, YearOf, age_group, dimension_paths, period_case, periods
from utfall.followups import coverage
from utfall.followups.models import Answer, FollowUp, FollowUpStatus
from utfall.instruments.services import Comparability, comparabilities, comparability
from utfall.organisations.models import Municipality
from utfall.registry.models import EndReason, Intervention


class BadQuery(ValueError):
    """A comparison was asked for in a way that cannot be answered; the message says why."""


#: Filters that are not grouping dimensions: the service catalogue's target group (målgrupp)
#: and the contract an intervention was bought under (procurement's results per contract).
FILTER_ONLY = ("target_group", "contract")
#: Indicators counted over interventions (one row per intervention), whose counted rows
#: :func:`counted_interventions` can list.
INTERVENTION_KINDS = ("step_down", "plan_goals", "coverage")


def _period_date(indicator: Indicator) -> str:
    """The date that places a counted row in a period (coverage has none: ask per period)."""
    if indicator.kind in ("question", "assessment"):
        return "date"
    if indicator.kind in ("step_down", "plan_goals", "rereferral"):
        return "ended_on"
    raise BadQuery("täckning räknas per period för sig; ange en period i taget")


def reference_date(municipality: Municipality) -> dt.date | None:
    """The newest date stored for the municipality (spec: the data's reference date)."""
    return cached(("reference_date", municipality.pk), lambda: _reference_date(municipality))


def _reference_date(municipality: Municipality) -> dt.date | None:
    # One MAX per query, each read from the end of an index on (municipality, date).
    interventions = Intervention.objects.filter(municipality=municipality)
    dates = [
        FollowUp.objects.filter(municipality=municipality).aggregate(d=Max("date"))["d"],
        interventions.aggregate(d=Max("ended_on"))["d"],
        interventions.aggregate(d=Max("started_on"))["d"],
    ]
    known = [d for d in dates if d is not None]
    return max(known) if known else None


def question_spans(instrument: str, question: str) -> Comparability:
    """The comparable versions of a question: read for every indicator's question at once
    (one query instead of one per question: the provider page asks for 25), cached like the
    counts (published versions change only with a watched save); the pages' notes and the
    comparison's ``comparability`` read them here too."""
    pairs = [(d.instrument, d.question) for d in all_indicators().values() if d.kind == "question"]
    if (instrument, question) not in pairs:
        return cached(("comparability", instrument, question), lambda: comparability(instrument, question))
    return cached(("comparabilities", tuple(pairs)), lambda: comparabilities(pairs))[(instrument, question)]


def questions_spans(pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Comparability]:
    """:func:`question_spans` of several questions, the cached value read once (each read of it
    unpickles every indicator question's versions: the provider page's notes and its questions'
    count read it 23 times each, 2026-12-07, prov9). A pair each as :func:`comparabilities` of
    all the pairs gives it (a pair's versions do not depend on the other pairs asked with it)."""
    every = [(d.instrument, d.question) for d in all_indicators().values() if d.kind == "question"]
    if not set(pairs) <= set(every):
        return {pair: question_spans(*pair) for pair in pairs}
    found = cached(("comparabilities", tuple(every)), lambda: comparabilities(every))
    return {pair: found[pair] for pair in pairs}


def _base(
    indicator: Indicator,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    as_of: dt.date | None,
    counted: Any = None,
) -> tuple[QuerySet[Any], str, Q, Any]:
    """(queryset, prefix to the intervention (empty for answers, which carry its facts), event
    condition, year expression for age). ``counted``: the maintained count table to read
    (question, assessment: ``counted.table_for``), for whole months only (``counted.months_within``)."""
    if indicator.kind == "question":
        # Question and option ids are looked up first (tiny tables), so the big query joins
        # only answers, follow-ups and interventions.
        # Only versions comparable with the newest (same text, same positive options) count.
        spans = question_spans(indicator.instrument, indicator.question)
        questions, counting, positive = (
            spans.question_ids,
            spans.counting_option_ids,
            spans.positive_option_ids,
        )
        # Answers carry their follow-up's date and provider and exist only for completed
        # follow-ups, so by provider this reads one index range (answer_period_cover).
        # Whole months are read from the maintained counts (``counted``).
        model: Any = counted or Answer
        field = period_field(counted) if counted else "date"
        period = _period_filter(counted, field, date_from, date_to)
        # A table without the option holds the counting options' n and events already.
        options = {} if counted and is_folded(counted) else {"option_id__in": counting}
        qs: QuerySet[Any] = model.objects.filter(
            municipality=municipality, question_id__in=questions, **options, **period
        )
        return qs, "", Q(option_id__in=positive), YearOf("date")  # the answer's own copies
    if indicator.kind == "assessment":
        if counted:
            field = period_field(counted)
            qs = counted.objects.filter(municipality=municipality,
                                        **_period_filter(counted, field, date_from, date_to)).exclude(assessment="")  # fmt: skip
            return qs, "", Q(assessment__in=indicator.positive), None
        qs = FollowUp.objects.filter(
            municipality=municipality, date__gte=date_from, date__lte=date_to
        ).exclude(assessment="")
        return qs, "intervention__", Q(assessment__in=indicator.positive), YearOf("date")
    if counted and indicator.kind in OUTCOME_KINDS:
        # By month, or by year (the rollup by year: its years' first days within the range).
        period = _period_filter(counted, period_field(counted), date_from, date_to)
        return _counted_outcomes(indicator, counted.objects.filter(municipality=municipality, **period))
    ended = Intervention.objects.filter(
        municipality=municipality, ended_on__gte=date_from, ended_on__lte=date_to
    )
    if indicator.kind == "plan_goals":
        qs = ended.filter(goals_total__gte=1)
        done = Coalesce("goals_fully", 0) + Coalesce("goals_partly", 0)
        event = Q(goals_fully=F("goals_total")) if indicator.rule == "fully" else Q(_done__gte=1)
        return qs.annotate(_done=done), "", event, YearOf("ended_on")
    if indicator.kind == "step_down":
        if as_of is None:
            as_of = reference_date(municipality) or date_to
        window = dt.timedelta(days=STEP_DOWN_WINDOW_DAYS)
        # The client's next intervention (stored per intervention: ``aggregates.outcomes``):
        # the first one starting within 90 days of the end. None counts as a step down:
        # intensity 0 is below every service's.
        qs = ended.exclude(end_reason=EndReason.MOVED).filter(ended_on__lte=as_of - window)
        within = Q(outcome__next_after_days__lte=STEP_DOWN_WINDOW_DAYS)
        event = (within & Q(outcome__next_service__intensity__lt=F("service__intensity"))) | (
            ~within & Q(service__intensity__gt=0)
        )
        return qs, "", event, YearOf("ended_on")
    if indicator.kind == "rereferral":
        # Socialstyrelsen's återaktualisering: the client back in an intervention of the same
        # target group starting after the end and within the window (183 or 365 days); ends
        # not yet that old at the reference date are censored, as for step_down.
        if as_of is None:
            as_of = reference_date(municipality) or date_to
        days = int(indicator.rule)
        # Days until back in the same target group: stored per intervention (aggregates.outcomes).
        qs = ended.exclude(end_reason=EndReason.MOVED).filter(ended_on__lte=as_of - dt.timedelta(days=days))
        return qs, "", Q(outcome__back_after_days__lte=days), YearOf("ended_on")
    if indicator.kind == "coverage":
        if counted is not None:  # a maintained period (aggregates.coverage): its counts
            table, period_id = counted  # the table for the dimensions asked, the period's id
            qs = table.objects.filter(municipality=municipality, period_id=period_id)
            return qs, "", Q(followed=True), None
        # The one definition of coverage (issue 17 point 9), shared with the worklist.
        qs = coverage.counted_interventions(
            Intervention.objects.filter(municipality=municipality), date_from, date_to
        )
        return qs, "", coverage.FOLLOWED, Value(min(date_to, as_of or date_to).year)
    raise BadQuery(f"okänd indikatortyp '{indicator.kind}'")


#: Rollups by year whose index runs (municipality, [question or measure,] year, unit, provider, …): their
#: years are named (each row's ``year`` is its year's first day: the same rows as the range), so
#: that a unit's rows are searched year by year instead of read through every unit's (a unit
#: manager's own counts at 1M: ~8 → ~2 ms a read, 2026-12-06, mgr).
_YEAR_THEN_UNIT = {QuestionByProviderUnitYear, FollowUpByProviderUnitYear, QuestionByProviderUnitCaseMixYear,
                   QuestionByUnitCaseMixYear, OutcomeByProviderUnitYear}  # fmt: skip


def _period_filter(counted: Any, field: str, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """The count rows of the range: between its days, or for :data:`_YEAR_THEN_UNIT` the first
    days of the years within it."""
    if counted in _YEAR_THEN_UNIT:
        years = range(date_from.year, date_to.year + 1)
        return {
            f"{field}__in": [day for day in (dt.date(y, 1, 1) for y in years) if date_from <= day <= date_to]
        }
    return {f"{field}__gte": date_from, f"{field}__lte": date_to}


def aggregate(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
    period: str | None = None,
    among: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Rows of {dimension: value…, "events": int, "n": int}, one per group, ordered by group.

    ``period`` ("quarter" or "year") adds a "period" key ("2025-K2", "2025") and groups by
    it too (after the dimensions). ``filters`` may also name a target group (``target_group``).
    ``among``: only the groups whose first dimension (a coded one) is one of these ids, each
    the same row as without it (a few cells of a partition: ``disclosure._shown_by_some``).
    """
    for dimension in by:
        if dimension not in DIMENSIONS and dimension != "contract":  # by contract: procurement's lists
            raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")
    for dimension in filters or {}:
        if dimension not in DIMENSIONS and dimension not in FILTER_ONLY:
            raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")
    if period is not None and period not in PERIODS:
        raise BadQuery(f"okänd periodindelning (tillåtna: {', '.join(PERIODS)})")
    if date_from > date_to:
        raise BadQuery("periodens början ligger efter dess slut")

    def part(
        start: dt.date, end: dt.date, counted: Any = None, until: dt.date | None = as_of
    ) -> list[dict[str, Any]]:
        if counted is not None and is_counted(counted):  # a count table's: its statement built once
            return _grouped(lambda: _base(indicator, municipality, start, end, until, counted), "", Q(), None,
                            indicator, municipality, start, end, by, filters, period, among=among,
                            shape=("aggregate", counted, until), model=counted)  # fmt: skip
        qs, prefix, event, year = _base(indicator, municipality, start, end, until, counted)
        return _grouped(qs, prefix, event, year, indicator, municipality, start, end, by, filters, period,
                        among=among)  # fmt: skip

    def edge(start: dt.date, end: dt.date, table: Any, window: int) -> list[list[dict[str, Any]]]:
        """The days ``start``–``end`` of one month: from the raw rows, or, when they are most of
        the month (an outcome window's cut-off late in a month), the whole month from the counts
        less its other days from the raw rows: fewer raw rows read, the same counts (2026-12-03).
        The other days are read without a cut-off (``until`` after the month's window)."""
        first, last_day = start.replace(day=1), month_end(start)
        days = (end - start).days + 1
        if period is not None or end > last_day or (last_day - first).days + 1 - days >= days:
            return [part(start, end)]
        until = last_day + dt.timedelta(days=window)
        rest = [part(s, e, until=until) for s, e in ((first, start - dt.timedelta(days=1)),
                                                     (end + dt.timedelta(days=1), last_day)) if s <= e]  # fmt: skip
        return [part(first, last_day, counted=table),
                *([{**r, "n": -r["n"], "events": -r["events"]} for r in rows] for rows in rest)]  # fmt: skip

    def compute() -> list[dict[str, Any]]:
        if indicator.kind == "coverage" and period is None and (as_of is None or as_of.year >= date_to.year):
            # A maintained period is read from its counts (aggregates.coverage); any other
            # range, and ages counted in an earlier year than the period's, from the raw rows.
            # The periods' ids are read together and cached like the counts (one query for a
            # page's run and its years); one not among them yet (a new year's) by its own.
            grain = grain_of(date_from, date_to)
            maintained = None
            if grain is not None:
                maintained = cached(("coverage_periods",), maintained_periods).get((grain, date_from))
                if maintained is None:
                    maintained = cached(
                        ("coverage_period", date_from, date_to), lambda: coverage_period(date_from, date_to)
                    )
            if maintained is not None:
                table = coverage_table({*by, *(filters or {})})
                if not filters and len(by) == 1 and table in _COVERAGE_ROLLUPS and among is None:
                    return _coverage_by_one(table, maintained, municipality, by[0])
                return part(date_from, date_to, counted=(table, maintained))
        last, window = date_to, 0
        if indicator.kind in OUTCOME_KINDS:
            found = _outcome_window(indicator)
            if found is None:  # a window the outcome counts have no bucket for
                return part(date_from, date_to)
            window = found
            last = _counted_until(indicator, municipality, date_to, as_of)
            if last < date_from:  # nothing has ended long enough ago: the raw query's empty answer
                return [] if by or period else [{"events": 0, "n": 0}]
        elif indicator.kind not in ("question", "assessment"):
            return part(date_from, date_to)
        months, edges = months_within(date_from, last)
        table = table_for(indicator.kind, {*by, *(filters or {})})
        yearly = year_table_for(table, {*by, *(filters or {})}) if period in (None, "year") else None
        if months and yearly is not None:  # whole years from the rollup by year (2026-12-03)
            years, rest = years_within(*months)
            parts = [*([part(*years, counted=yearly)] if years else []),
                     *(part(start, end, counted=table) for start, end in rest)]  # fmt: skip
        else:
            parts = [part(*months, counted=table)] if months else []
        for start, end in edges:
            parts += edge(start, end, table, window)
        rows = merge(parts)
        # A group the days subtracted leave at 0 is one the raw rows of the partial month lack.
        return [r for r in rows if r["n"]] if by or period else rows

    key = _aggregate_key(indicator, municipality, date_from, date_to, by, filters, as_of, period)
    return cached(key if among is None else (*key, "among", tuple(sorted(among))), compute)


def aggregate_held(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> bool:
    """Whether :func:`aggregate`'s count of these arguments (no ``as_of``, no ``period``) is
    cached for the data as it is now (``cache.holds``, without reading it): a caller with a
    cheaper read of what it needs of the count (``disclosure._hidden_along``: a year's sizes)
    takes the count instead when it is in hand (the provider page seeds its indicators' counts
    in one query: read again as sizes, ~60 queries more for a unit manager, 2026-12-06)."""
    return holds(_aggregate_key(indicator, municipality, date_from, date_to, by, filters, None, None))


def seed_aggregate(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None,
    rows: list[dict[str, Any]],
) -> None:
    """Cache ``rows`` as :func:`aggregate`'s count of these arguments (no ``as_of``, no
    ``period``), for a caller that has read exactly those rows, in that order, as part of a
    wider count (``disclosure.prefetch_cell_within``: a unit manager's provider's cell and its
    row by unit from one read)."""
    seed(_aggregate_key(indicator, municipality, date_from, date_to, by, filters, None, None), rows)


def _aggregate_key(
    indicator: Indicator,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None,
    as_of: dt.date | None,
    period: str | None,
) -> tuple[Any, ...]:
    return ("aggregate", indicator, municipality.pk, date_from, date_to, tuple(by),
            sorted((filters or {}).items()), as_of, period)  # fmt: skip


def aggregate_cells(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    as_of: dt.date | None = None,
) -> Cells:
    """The rows of :func:`aggregate` as columns (:class:`~utfall.comparisons.counted.Cells`):
    the same cells in the same order, for a model's input (the O/E's provider × case mix).

    Whole calendar years that the rollup by provider, case mix and year holds are read a year
    at a time (``year =``: the groups come in the index's order, no sort; was one GROUP BY over
    the years whose grouping and ordering SQLite sorted twice) and summed here; any other
    period is ``aggregate``'s rows turned into columns (2026-12-04, oe3)."""

    def compute() -> Cells:
        asked = {*by, *(filters or {})}
        months, edges = months_within(date_from, date_to)
        table = table_for(indicator.kind, asked)
        yearly: Any = year_table_for(table, asked) if indicator.kind in ("question", "assessment") else None
        if indicator.kind == "question" and yearly is not None and not is_folded(yearly):
            # A year table by option (by provider and unit, 2026-12-05): no question cells to read
            # row by row here; ``aggregate`` reads it.
            yearly = None
        years, rest = years_within(*months) if months and not edges else (None, [])
        if yearly is None or years is None or rest or not set(by) <= {*COUNTED_PATHS, "age_group"}:
            found = aggregate(indicator, municipality=municipality, date_from=date_from, date_to=date_to, by=by,
                              filters=filters, as_of=as_of)  # fmt: skip
            return Cells.from_rows(found, by)
        where: dict[str, Any] = {}
        for dimension, value in (filters or {}).items():
            if dimension in _CODED:
                where[f"{dimension}_id"] = _pk_of(dimension, municipality, value)
            else:
                where[COUNTED_PATHS.get(dimension, dimension)] = value
        columns = [COUNTED_PATHS.get(d, d) for d in by]
        parts = []
        lookups = [_codes(d, municipality).get if d in _CODED else None for d in by]
        if indicator.kind == "question":  # the table without the option (any other: yearly is None above)
            # A question's n and events by cell are rows of the table without the option: read
            # as they are, one covering-index range a year (no GROUP BY: SQLite's sort of the
            # groups cost as much as the read), and summed into cells in memory (2026-12-05, oe4).
            spans = question_spans(indicator.instrument, indicator.question)
            rows = yearly.objects.filter(municipality=municipality, question_id__in=spans.question_ids)
            fields = [*columns, "n", "events"]
            sent = [_year_columns(rows.filter(year=dt.date(year, 1, 1), **where), fields)
                    for year in range(years[0].year, years[1].year + 1)]  # fmt: skip
            if "provider" in by and as_of is None:
                _seed_by_provider(indicator, municipality, years[0].year, sent, by.index("provider"), filters)
            return Cells.from_columns(_joined(sent), by, lookups, by_row=True)
        counted = yearly.objects.filter(municipality=municipality).exclude(assessment="")
        event = Q(assessment__in=indicator.positive)
        for year in range(years[0].year, years[1].year + 1):
            # ``year =`` alone: with _base's range beside it, SQLite read the range and sorted.
            grouped = (
                counted.filter(year=dt.date(year, 1, 1), **where).values(*columns)
                .annotate(_n=Sum("n"), _events=Sum("n", filter=event)).filter(_n__gt=0).order_by()
            )  # fmt: skip
            sql, params = grouped.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                parts.append(cursor.fetchall())
        return Cells.from_parts(parts, by, lookups)

    key = (
        "aggregate_cells",
        *_aggregate_key(indicator, municipality, date_from, date_to, by, filters, as_of, None),
    )
    return cached(key, compute)


def _seed_by_provider(
    indicator: Indicator,
    municipality: Municipality,
    first_year: int,
    years: Sequence[list[Any]],
    position: int,
    filters: Mapping[str, str] | None,
) -> None:
    """Cache the question's counts by provider of each year and of the run of years as
    :func:`aggregate` (by provider, the same filters) gives them, summed from the years' cells
    in hand (``years``: a year's columns each, from ``first_year``; the provider's ids at
    ``position``): the O/E page's plain counts by provider and year (its rows' protection) need
    no read of their own (~17 ms of the page at a million follow-ups; 2026-12-06, oe6).

    The same numbers: a question's counts by provider read the answers' rollup by provider and
    year, option by option, counting the options that count and, as events, those that count
    and are positive (``question_spans``); the cells' table holds for every key the answers'
    n and events folded through the same flags of the same options (``counts.FOLDED``), and the
    two tables are kept by the same deltas (docs/decisions.md, 2026-12-05; tested over every
    question indicator, ``tests/aggregates/test_reading.py``)."""
    codes = _codes("provider", municipality)
    whole: dict[int, list[int]] = {}
    for offset, columns in enumerate(years):
        ids, n, events = columns[position], columns[-2], columns[-1]
        distinct, inverse = sorted_codes(np.asarray(ids, dtype=np.int64))
        sums_n = np.bincount(inverse, weights=n, minlength=distinct.size).astype(np.int64)
        sums_events = np.bincount(inverse, weights=events, minlength=distinct.size).astype(np.int64)
        found = []
        for pk, total, positive in zip(distinct.tolist(), sums_n.tolist(), sums_events.tolist(), strict=True):
            if total > 0:  # as ``_grouped``'s ``HAVING SUM(n) > 0``
                found.append((pk, total, positive))
                whole.setdefault(pk, [0, 0])
                whole[pk][0] += total
                whole[pk][1] += positive
        year = dt.date(first_year + offset, 1, 1)
        seed(_aggregate_key(indicator, municipality, year, year.replace(month=12, day=31), ["provider"], filters,
                            None, None), _provider_rows(found, codes))  # fmt: skip
    last = dt.date(first_year + len(years) - 1, 12, 31)
    seed(_aggregate_key(indicator, municipality, dt.date(first_year, 1, 1), last, ["provider"], filters, None, None),
         _provider_rows([(pk, t, e) for pk, (t, e) in whole.items()], codes))  # fmt: skip


def _provider_rows(found: Sequence[tuple[int, int, int]], codes: Mapping[int, str]) -> list[dict[str, Any]]:
    """Counts by provider id as :func:`aggregate`'s rows by provider: the provider's code, events,
    n; ordered by the code as text (None, an unknown id, first)."""
    rows = [{"provider": codes.get(pk), "events": positive, "n": total} for pk, total, positive in found]
    rows.sort(key=lambda r: "" if r["provider"] is None else str(r["provider"]))
    return rows


#: Between the texts of a column sent as one text (``_as_columns``): the ASCII unit separator,
#: which no code, sex or age group holds (a value with it fails the count check: rows read instead).
_SEPARATOR = "\x1f"


def _as_columns(qs: QuerySet[Any], fields: Sequence[str]) -> list[Any] | None:
    """The rows of ``qs`` as columns of ``fields`` (the model's own columns, none null), each sent by
    SQLite as one text (``group_concat``: the values in the order the rows were read, the same
    order in every column, since each row is added to all of them at once) and split here: an
    integer column as an int64 array, any other as an object array of its texts. None when the database
    is not SQLite or a column's values do not come back as many as the rows (then read the rows).

    The O/E's cells are ~26,000 rows a year at a million follow-ups: fetched as rows, Python's
    sqlite3 built a tuple, its ints and two texts per row, and let go of the GIL and took
    SQLite's mutex per row and column (~45 ms of the page); as one text per column it is the
    index's range read once and a split per column (2026-12-06, oe6)."""
    if connection.vendor != "sqlite" or any("__" in f for f in fields):
        return None
    meta = qs.model._meta
    numbers = [meta.get_field(f).get_internal_type() in _WHOLE for f in fields]
    aliases = [f"_c{i}" for i in range(len(fields))]
    named = qs.annotate(**{a: F(f) for a, f in zip(aliases, fields, strict=True)})
    sql, params = named.values_list(*aliases).order_by().query.sql_with_params()
    # The separator as a literal: ``char(31)`` was a function call per row and text column
    # (~3 ms of each year's ~11 ms read at a million follow-ups; 2026-12-06, oe8).
    separator = f", '{_SEPARATOR}'"
    texts = ", ".join(f'GROUP_CONCAT("{a}"{"" if number else separator})'
                      for a, number in zip(aliases, numbers, strict=True))  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), {texts} FROM ({sql}) AS found", params)  # noqa: S608 (our SQL)
        count, *sent = cursor.fetchone()
    if not count:
        return [np.zeros(0, dtype=np.int64 if number else object) for number in numbers]
    out: list[Any] = []
    for text, number in zip(sent, numbers, strict=True):
        if text is None:
            return None
        # A text column as an array of its texts (``counted._first_codes`` codes it in one pass).
        values = (
            np.fromstring(text, dtype=np.int64, sep=",")
            if number
            else np.array(text.split(_SEPARATOR), dtype=object)
        )
        if len(values) != count:
            return None
        out.append(values)
    return out


#: Field types whose values SQLite sends as whole numbers.
_WHOLE = {"ForeignKey", "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
          "PositiveSmallIntegerField", "PositiveBigIntegerField", "AutoField", "BigAutoField"}  # fmt: skip


def _year_columns(qs: QuerySet[Any], fields: Sequence[str]) -> list[Any]:
    """A year's rows of ``qs`` as columns of ``fields``: on SQLite one text per column
    (:func:`_as_columns`), else (or when a text does not split into as many values as the rows)
    the rows fetched and turned into columns."""
    sent = _as_columns(qs, fields)
    if sent is not None:
        return sent
    sql, params = qs.values_list(*fields).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    return [list(map(itemgetter(i), fetched)) for i in range(len(fields))]


def _joined(parts: Sequence[list[Any]]) -> list[Any]:
    """Columns of several parts (:func:`_year_columns`) joined, part after part: integer arrays
    as one array, else as one list (an array among lists as its Python values)."""
    return [np.concatenate(column) if all(isinstance(c, np.ndarray) for c in column)
            else list(chain.from_iterable(c.tolist() if isinstance(c, np.ndarray) else c for c in column))
            for column in zip(*parts, strict=True)]  # fmt: skip


def _outcome_window(indicator: Indicator) -> int | None:
    """Days after the end before an ended intervention counts (0: at once), or None when the
    outcome counts have no bucket for the indicator's window (it is then read from the raw rows)."""
    if indicator.kind == "plan_goals":
        return 0
    if indicator.kind == "step_down":
        return STEP_DOWN_WINDOW_DAYS if STEP_DOWN_WINDOW_DAYS == STEP_DOWN_DAYS else None
    days = int(indicator.rule)
    return days if days in REREFERRAL_WINDOWS else None


def _counted_until(
    indicator: Indicator, municipality: Municipality, date_to: dt.date, as_of: dt.date | None = None
) -> dt.date:
    """The last day of the ends an outcome indicator with a bucketed window counts up to
    ``date_to``: counted only once the whole window has passed at the reference date (``as_of``,
    else the municipality's; else ``date_to``)."""
    window = _outcome_window(indicator) or 0
    if not window:
        return date_to
    return min(date_to, (as_of or reference_date(municipality) or date_to) - dt.timedelta(days=window))


def _outcomes_whole(indicator: Indicator, municipality: Municipality, end: dt.date) -> bool:
    """Whether :func:`aggregate` counts an outcome indicator up to ``end`` from the outcome counts
    alone, its ends not cut by the window (:func:`_counted_until`; a window without a bucket is
    read from the raw rows)."""
    return _outcome_window(indicator) is not None and _counted_until(indicator, municipality, end) == end


def _counted_outcomes(indicator: Indicator, qs: QuerySet[Any]) -> tuple[QuerySet[Any], str, Q, Any]:
    """The outcome counts' rows and event of an outcome indicator (``aggregates.outcome_counts``):
    the same rows and events as the raw query over interventions, for whole months of the end.
    The rollups count each measure's interventions apart, the event decided."""
    if qs.model is not OutcomeCount:
        days = "" if indicator.kind != "rereferral" else indicator.rule
        measure = {"step_down": "step_down", "rereferral": f"back_{days}",
                   "plan_goals": "goals_fully" if indicator.rule == "fully" else "goals_reached"}[indicator.kind]  # fmt: skip
        return qs.filter(measure=measure), "", Q(event=True), None
    if indicator.kind == "plan_goals":
        event = Q(goals="all") if indicator.rule == "fully" else Q(goals__in=("some", "all"))
        return qs.exclude(goals=""), "", event, None
    qs = qs.filter(moved=False)
    if indicator.kind == "step_down":
        # The next service is stored only when it started within the window; none counts as a
        # step down (intensity 0 is below every service's).
        event = Q(next_service__isnull=False, next_service__intensity__lt=F("service__intensity")) | Q(
            next_service__isnull=True, service__intensity__gt=0
        )
        return qs, "", event, None
    return qs, "", Q(back_within__lte=int(indicator.rule)), None


def _calendar(grain: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the calendar quarter or year ``day`` is in."""
    start = dt.date(day.year, 1 if grain == "year" else (day.month - 1) // 3 * 3 + 1, 1)
    return start, periods(grain, start, start + dt.timedelta(days=400))[0][2]


@pinned()  # the token before the counts it seeds
def prefetch_periods(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    grain: str,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> None:
    """Count every calendar ``grain`` (quarter or year) from ``date_from``'s to ``date_to``'s in
    one query and cache each period's rows as :func:`aggregate` of that period alone returns
    them (same rows, same order), so a trend's per-period cells cost one query instead of one
    per period (2026-12-02, issue 13 point 2). Only for counts read whole months from the
    maintained tables (question and assessment); otherwise it does nothing."""
    if indicator.kind not in ("question", "assessment") or grain not in PERIODS:
        return
    start, end = _calendar(grain, date_from)[0], _calendar(grain, date_to)[1]
    # The whole range's sum only when it is cached below (a trend from a day within its first
    # period, as the provider page's two years back, skips it: 9,000 rows summed for nothing).
    summed = (start, end) == (date_from, date_to) and all(d in _CODED for d in by)
    keys = [_aggregate_key(indicator, municipality, first, last, by, filters, None, None)
            for _label, first, last in periods(grain, start, end)]  # fmt: skip
    if summed:
        keys.append(_aggregate_key(indicator, municipality, start, end, by, filters, None, None))
    if all(holds(key) for key in keys):  # seeded already (the O/E's cells: _seed_by_provider)
        return
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in aggregate(indicator, municipality=municipality, date_from=start, date_to=end, by=by,
                         filters=filters, period=grain):  # fmt: skip
        item = row.copy()  # the row without its period (a trend's partition: ~9,000 rows)
        del item["period"]
        grouped.setdefault(row["period"], []).append(item)
    whole: dict[tuple[Any, ...], dict[str, Any]] = {}
    for label, first, last in periods(grain, start, end):
        rows = grouped.get(label) or ([] if by else [{"events": 0, "n": 0}])
        seed(_aggregate_key(indicator, municipality, first, last, by, filters, None, None), rows)
        for row in rows if summed else ():
            key = tuple(row[d] for d in by)
            if key in whole:
                whole[key]["n"] += row["n"]
                whole[key]["events"] += row["events"]
            else:
                whole[key] = dict(row)
    if summed:
        # The whole range is its periods' sum (integers, whole months): the count of a run of
        # years (the comparison's default) needs no query of its own. Ordered as ``aggregate``
        # orders coded groups (by code as text); each group's key is unique, so no tie.
        rows = sorted(whole.values(), key=lambda r: tuple("" if r[d] is None else str(r[d]) for d in by))
        seed(_aggregate_key(indicator, municipality, start, end, by, filters, None, None), rows)


@pinned()  # the token before the counts it seeds
def prefetch_questions(
    indicators: Sequence[Indicator],
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> None:
    """Count the question indicators among ``indicators`` in one scan (:func:`aggregate_questions`)
    and cache each one's rows as :func:`aggregate` of it alone returns them (same rows, same
    order): the provider page's 23 question counts in one query instead of 23 (2026-12-02,
    issue 17 point 14). Does nothing when two of them ask the same question (one list of
    positive options serves a scan). With ``by`` empty, a question without answers is seeded as
    ``aggregate`` answers it, one row of zeros (a unit manager's 23 cells of the provider within
    the unit: one query instead of 23, 2026-12-06, mgrprov)."""
    questions = [i for i in indicators if i.kind == "question"]
    pairs = [(i.instrument, i.question) for i in questions]
    if len(questions) < 2 or len(set(pairs)) != len(pairs):
        return
    keys = [_aggregate_key(i, municipality, date_from, date_to, by, filters, None, None) for i in questions]
    if all(holds(key) for key in keys):  # counted already for the data as it is
        return
    # Counted without caching the scan's whole answer as well: its rows are cached per indicator
    # below, and the whole (17,000 rows on the provider page) was pickled once more for nothing.
    rows = _aggregate_questions(questions, municipality, date_from, date_to, by, filters)
    for indicator, key in zip(questions, keys, strict=True):
        seed(key, rows[indicator.code] if by else rows[indicator.code] or [{"events": 0, "n": 0}])


def aggregate_questions_among(
    indicators: Sequence[Indicator],
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None,
    among: Sequence[int],
) -> dict[str, list[dict[str, Any]]]:
    """:func:`aggregate_questions` of only the groups whose first dimension (a coded one) is one
    of ``among`` (ids): each such group's row as in the whole count (``aggregate(among=…)`` for
    several questions in one scan: ``disclosure.prefetch_shown_within``). Not cached."""
    return _aggregate_questions(indicators, municipality, date_from, date_to, by, filters, among=among)


def counted_interventions(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    filters: Mapping[str, str],
    as_of: dt.date | None = None,
) -> list[dict[str, Any]]:
    """The interventions that ``aggregate`` counts for an intervention indicator, one dict
    each (intervention_id, pseudonym, started_on, ended_on, event), ordered by id: the
    evidence behind a count. Individual data: callers show pseudonyms only to roles that may
    see them. Summed, the rows give exactly ``aggregate``'s events and n (tested)."""
    if indicator.kind not in INTERVENTION_KINDS:
        raise BadQuery(f"'{indicator.code}' räknas inte per insats")
    for dimension in filters:
        if (dimension not in DIMENSIONS and dimension not in FILTER_ONLY) or dimension == "age_group":
            raise BadQuery(f"okänd avgränsning '{dimension}'")
    qs, prefix, event, _ = _base(indicator, municipality, date_from, date_to, as_of)
    paths = dimension_paths(prefix)
    qs = qs.filter(**{paths[d]: v for d, v in filters.items()})
    flagged = qs.annotate(_event=Case(When(event, then=Value(True)), default=Value(False),
                                      output_field=BooleanField()))  # fmt: skip
    rows = flagged.values("intervention_id", "client__pseudonym", "started_on", "ended_on", "_event",
                          "contract__contract_id")  # fmt: skip
    return [
        {"intervention_id": r["intervention_id"], "pseudonym": r["client__pseudonym"],
         "started_on": r["started_on"], "ended_on": r["ended_on"], "event": bool(r["_event"]),
         "contract": r["contract__contract_id"] or ""}
        for r in rows.order_by("intervention_id")
    ]  # fmt: skip


def aggregate_questions(
    indicators: Sequence[Indicator],
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``aggregate`` for several question indicators in one scan of the answers: the same
    rows per indicator code, grouped by question as well. (Each answer's option belongs to its
    question, so one list of positive options serves every question.)"""
    key = ("aggregate_questions", tuple(indicators), municipality.pk, date_from, date_to, tuple(by),
           sorted((filters or {}).items()))  # fmt: skip
    return cached(
        key, lambda: _aggregate_questions(indicators, municipality, date_from, date_to, by, filters)
    )


def _aggregate_questions(
    indicators: Sequence[Indicator],
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None,
    among: Sequence[int] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    for dimension in [*by, *(filters or {})]:
        if dimension not in DIMENSIONS and dimension not in FILTER_ONLY:
            raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")
    if date_from > date_to:
        raise BadQuery("periodens början ligger efter dess slut")
    code_of: dict[int, str] = {}
    counting: list[int] = []
    positive: list[int] = []
    for indicator in indicators:
        if indicator.kind != "question":
            raise BadQuery(f"'{indicator.code}' är ingen frågeindikator")
    # Only versions comparable with the newest (same text, same positive options) count.
    # Cached, as _base reads them.
    all_spans = questions_spans([(i.instrument, i.question) for i in indicators])
    for indicator in indicators:
        spans = all_spans[(indicator.instrument, indicator.question)]
        questions = spans.question_ids
        counting += spans.counting_option_ids
        positive += spans.positive_option_ids
        code_of.update(dict.fromkeys(questions, indicator.code))
    out: dict[str, list[dict[str, Any]]] = {i.code: [] for i in indicators}
    if not code_of:
        return out

    # Answers exist only for completed follow-ups and carry their date and provider: by
    # provider this reads one range of the covering index (municipality, question, date, …)
    # per question.
    def base(start: dt.date, end: dt.date, counted: Any = None) -> tuple[QuerySet[Any], str, Q, Any]:
        if counted is not None:  # whole months (or whole years): the maintained counts
            field = period_field(counted)
            # The years named for a rollup by year and unit (_period_filter: the same rows), so a
            # unit's few providers are searched, not the year read through (2026-12-07, mgrprov8).
            qs: QuerySet[Any] = counted.objects.filter(
                municipality=municipality, question_id__in=sorted(code_of),
                **_period_filter(counted, field, start, end),
            )  # fmt: skip
        else:
            qs = Answer.objects.filter(
                municipality=municipality, question_id__in=sorted(code_of), date__gte=start, date__lte=end
            )
        return qs, "", Q(option_id__in=positive), YearOf("date")

    def part(start: dt.date, end: dt.date, counted: Any = None) -> list[dict[str, Any]]:
        # A count table's statement built once per shape: the questions' and options' ids asked
        # are in it as values (read before it, from the versions: cache.compiled).
        shape = (("aggregate_questions", counted, tuple(sorted(code_of)), tuple(positive), tuple(counting))
                 if counted is not None else None)  # fmt: skip
        return _grouped(
            (lambda: base(start, end, counted)) if shape else base(start, end, counted)[0],
            "", Q(option_id__in=positive), YearOf("date"),
            indicators[0], municipality, start, end, by, filters, None, extra="question_id",
            n_filter=Q(option_id__in=counting), among=among, shape=shape, model=counted,
        )  # fmt: skip

    months, edges = months_within(date_from, date_to)
    asked = {*by, *(filters or {})}
    table = table_for("question", asked)
    yearly = year_table_for(table, asked)
    parts = []
    if months and yearly is not None:
        # Whole calendar years from the rollup by year, as ``aggregate`` reads them: the provider
        # page's year of 23 questions reads 750 × options rows per question, not twelve times
        # that (2026-12-04, docs/performance.md "prov2").
        years, rest = years_within(*months)
        parts = [*([part(*years, counted=yearly)] if years else []),
                 *(part(start, end, counted=table) for start, end in rest)]  # fmt: skip
    elif months:
        parts = [part(*months, counted=table)]
    rows = merge([*parts, *(part(s, e) for s, e in edges)])
    merged: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    group = itemgetter(*by) if len(by) > 1 else (lambda r: (r[by[0]],)) if by else (lambda r: ())
    for row in rows:
        code = code_of.get(row.pop("_extra"))
        if code is None or not row["n"]:
            continue
        key = (code, group(row))
        if key in merged:  # two versions of the instrument ask the same question
            merged[key]["n"] += row["n"]
            merged[key]["events"] += row["events"]
        else:
            merged[key] = row
            out[code].append(row)
    return out


def _grouped(
    qs: Any,  # a QuerySet, or with ``shape`` a function giving _base's four values
    prefix: str,
    event: Q,
    year: Any,
    indicator: Indicator,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    filters: Mapping[str, str] | None,
    period: str | None,
    extra: str | None = None,
    n_filter: Q | None = None,
    grouped_only: bool = False,
    sizes_only: bool = False,
    among: Sequence[int] | None = None,
    shape: tuple[Any, ...] | None = None,
    model: Any = None,
    statement_only: bool = False,
) -> Any:
    """Group the base rows by the dimensions (and the period, and an ``extra`` field).
    ``grouped_only``: the grouped queryset itself (columns ``g_<key>``, ``_n``, ``_events``,
    unordered), for a query around it (:func:`_client_sums`), instead of the rows.
    ``sizes_only``: for a count table's whole months by period, their n only, as the cursor
    gives them (:class:`SizeRows`, made into each period's groups by :func:`_sizes_in_periods`),
    instead of the rows. ``among``: only these ids of the first dimension (a coded one), each
    group's rows as without it (a few cells of a partition, ``disclosure._prefetch_shown``).

    ``shape``: what the caller built ``qs`` from (:func:`cache.compiled`'s shape: its function and
    arguments); with it, a count table's grouped statement is built once per process (``qs``
    may then be a function giving ``_base``'s four values, and ``model`` its model), read from
    the cursor and made into the same rows. ``statement_only``: that statement's SQL and
    parameters instead of its rows."""
    if shape is not None and is_counted(model if model is not None else qs.model) and not grouped_only \
            and (by or period is not None or extra is not None):  # fmt: skip
        key = ("_grouped", shape, indicator, municipality.pk, date_from, date_to, tuple(by),
               tuple(sorted((filters or {}).items())), period, extra, n_filter, sizes_only,
               None if among is None else tuple(among))  # fmt: skip

        def build() -> tuple[str, Sequence[Any]]:
            rows, on, events, years = qs() if callable(qs) else (qs, prefix, event, year)
            statement: tuple[str, Sequence[Any]] = _grouped(
                rows, on, events, years, indicator, municipality, date_from, date_to, by, filters, period,
                extra, n_filter, sizes_only=sizes_only, among=among, statement_only=True)  # fmt: skip
            return statement

        sql, params = compiled(key, build)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        by_month = period is not None and extra is None
        return _grouped_rows(found, True, by_month, municipality, date_from, date_to, by, period, extra,
                             sizes_only, among)  # fmt: skip
    if callable(qs):  # built here after all (not a count table's grouped rows)
        qs, prefix, event, year = qs()
    on_answer = indicator.kind == "question"
    counted = is_counted(qs.model)  # a maintained count table: rows are summed by n
    paths = COUNTED_PATHS if counted else dimension_paths(prefix, on_answer)
    annotations: dict[str, Any] = {}
    if counted and ("age_group" in by or "age_group" in (filters or {})):
        annotations["age_group"] = F("age_group")  # counted by the group of the row's year
    elif "age_group" in by or "age_group" in (filters or {}):
        # Age at the counted row's year (the period's end year for coverage), then the group.
        birth_year = "client_birth_year" if on_answer else f"{prefix}client__birth_year"
        qs = qs.annotate(_age=year - F(birth_year))
        annotations["age_group"] = age_group("_age")
    coded_filters: dict[str, Any] = {}
    for dimension in (*DIMENSIONS, *FILTER_ONLY):
        if dimension != "age_group" and (dimension in by or dimension in (filters or {})):
            if dimension in _CODED:
                # Group and filter on the foreign key itself (no join to the coded table per
                # row); codes are looked up once, before and after.
                annotations[dimension] = F(f"{prefix}{dimension}_id")
                if dimension in (filters or {}):
                    coded_filters[dimension] = _pk_of(dimension, municipality, (filters or {})[dimension])
            else:
                annotations[dimension] = F(paths[dimension])
    keys = [f"g_{d}" for d in by]
    # Whole months of a count table are grouped by the month and put in their periods here: a
    # CASE per row cost SQLite more than the rest of the read (2026-12-03, docs/performance.md).
    by_month = counted and period is not None and extra is None and not grouped_only
    if period is not None:
        date = period_field(qs.model) if counted else _period_date(indicator)
        annotations["_period"] = F(date) if by_month else period_case(date, period, date_from, date_to)
        keys.append("g__period")
    if extra is not None:
        annotations["_extra"] = F(extra)
        keys.append("g__extra")
    qs = qs.annotate(**{f"g_{k}": v for k, v in annotations.items()})
    for dimension, value in {**(filters or {}), **coded_filters}.items():
        qs = qs.filter(**{f"g_{dimension}": value})
    if among is not None and counted:  # the raw rows' days are read whole and picked below: named,
        qs = qs.filter(**{f"g_{by[0]}__in": sorted(among)})  # SQLite read every day of those providers
    named = "provider" in coded_filters or (among is not None and by[0] == "provider")  # a few providers
    if counted and named and qs.model in _MONTH_THEN_PROVIDER:
        # One provider's months: each month's first day named, beside the range, so the index
        # (…, month, provider, …) is searched month by month for the provider instead of read
        # through every provider's rows of the range (the same rows: a count row's month is its
        # first day). A trend's own cells at 1M: ~11 → 0.2 ms a read (2026-12-05, prov4).
        qs = qs.filter(month__in=_month_starts(date_from, date_to))
    if counted and named and qs.model in _UNIT_THEN_PROVIDER and "unit" not in coded_filters:
        # (…, month or year, unit, provider, …) for one provider by unit: every unit of the
        # municipality named as well (the same rows: a row's unit is one of its units), so each
        # month (or year, named by _period_filter) is searched unit by unit, not read through
        # every unit's rows (2026-12-06; the rollup by year, 2026-12-07).
        qs = qs.filter(unit_id__in=sorted(_codes("unit", municipality)))
    count: Any = (lambda **f: Sum("n", **f)) if counted else (lambda **f: Count("pk", **f))
    n = count(filter=n_filter) if n_filter is not None else count()
    events = count(filter=event)
    if is_folded(qs.model):  # n and events without the option: summed as they are
        n, events = Sum("n"), Sum("events")
    if not keys:
        total = qs.aggregate(_n=n, _events=events)
        return [{"events": total["_events"] or 0, "n": total["_n"] or 0}]
    rows = qs.values(*keys).annotate(_n=n, _events=events).order_by(*keys)
    if grouped_only:
        return rows.order_by()
    if counted:
        rows = rows.filter(_n__gt=0)  # count rows of 0 are left by deltas (aggregates.counts)
    fetched: Any = rows.values_list(*keys, "_n", *([] if sizes_only else ["_events"]))
    if counted:
        # The rows of a count table straight from the cursor, in the values_list's order: their
        # values need none of Django's per-row conversions (ids, codes, text, integer sums; a
        # month as the database gives it, see _months_in_periods). 30,000 cells of the O/E:
        # ~25 ms less; a trend's 27,000 rows by provider and month likewise (2026-12-04).
        sql, params = fetched.query.sql_with_params()
        if statement_only:
            return sql, params
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
    return _grouped_rows(fetched, counted, by_month, municipality, date_from, date_to, by, period, extra,
                         sizes_only, among)  # fmt: skip


def _grouped_rows(
    fetched: Any,
    counted: bool,
    by_month: bool,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: Sequence[str],
    period: str | None,
    extra: str | None,
    sizes_only: bool,
    among: Sequence[int] | None,
) -> Any:
    """:func:`_grouped`'s rows from its statement's (a count table's: the cursor's tuples)."""
    codes = {d: _codes(d, municipality) for d in by if d in _CODED}
    label = _labels_of_months(period, date_from, date_to) if by_month else {}
    # Rows as tuples, codes put in by one dict look-up per column (a provider × case-mix count of
    # two years is 30,000 rows: building each through a dict of the query's names took ~0.2 s).
    names = [*by, *(["period"] if period is not None else []), *(["_extra"] if extra is not None else [])]
    lookups = [codes[d].get if d in codes else None for d in by] + [None] * (len(names) - len(by))
    out: list[dict[str, Any]] = []
    if by_month and sizes_only:
        return SizeRows(fetched, lookups[: len(by)], label)
    if by_month:
        out, fetched = _months_in_periods(fetched, len(by), names, lookups, label), ()
    missing = any(None in r.values() for r in out)  # a None among the values: the sort puts it first
    if len(names) == 1 and fetched:  # one dimension (a comparison by provider): no list and zip a row
        name, get = names[0], lookups[0]
        for value, total, events in fetched:
            out.append({name: value if get is None else get(value), "events": events or 0, "n": total})
        missing = None in map(itemgetter(name), out)
        fetched = ()
    elif len(names) == 2 and lookups[1] is None and fetched:  # and a plain one (the questions' ids)
        (first, second), get = names, lookups[0]
        for value, other, total, events in fetched:
            out.append({first: value if get is None else get(value), second: other, "events": events or 0,
                        "n": total})  # fmt: skip
        missing = None in map(itemgetter(first), out) or None in map(itemgetter(second), out)
        fetched = ()
    for *values, total, events in fetched:
        coded = [v if get is None else get(v) for get, v in zip(lookups, values, strict=True)]
        missing = missing or None in coded
        item = dict(zip(names, coded, strict=True))
        item["events"] = events or 0
        item["n"] = total
        out.append(item)
    if among is not None and not counted:
        picked = {codes[by[0]].get(i) if by[0] in codes else i for i in among}
        out = [r for r in out if r[by[0]] in picked]
    if codes:  # the query ordered by the keys' ids
        _sort_by_codes(out, [k for k in (*by, "period") if k in names], missing)
    return out


def _sort_by_codes(out: list[dict[str, Any]], fields: Sequence[str], missing: bool) -> None:
    """Sort rows in place by their ``fields`` as text, None first (``missing``: a None among them)."""
    if missing:
        out.sort(key=lambda r: tuple("" if r[k] is None else str(r[k]) for k in fields))
    elif all(k in _CODED or k == "period" for k in fields):
        # Codes and period labels are text already: sorted by them as they are (a trend's
        # partition by provider and quarter, 9,000 rows at 1M, without a key tuple per row).
        out.sort(key=itemgetter(*fields))
    else:  # the same order, the text made at C speed (~40 ms less for 30,000 rows)
        pick = itemgetter(*fields) if len(fields) > 1 else (lambda r: (r[fields[0]],))
        out.sort(key=lambda r: tuple(map(str, pick(r))))


T = TypeVar("T")


class SizeRows(NamedTuple):
    """A count table's whole months (or years) by period as the cursor gives them, reduced to
    their n (:func:`period_size_rows`): ``rows`` are (ids…, month, n), ordered by the ids and then
    the month (the month a date, or its ISO text on SQLite); ``lookups`` each id's code (a
    ``dict.get`` per dimension); ``label`` each month's period label."""

    rows: Sequence[Sequence[Any]]
    lookups: Sequence[Any]
    label: Mapping[dt.date, str]

    def by_period(self) -> dict[str, dict[tuple[Any, ...], int]]:
        """Each period's groups' n by their codes, in :func:`aggregate`'s order (:func:`period_sizes`)."""
        return _sizes_in_periods(self.rows, self.lookups, self.label)


def sort_by_codes_as_text(items: list[T], codes_of: Callable[[T], tuple[Any, ...]]) -> None:
    """Sort ``items`` in place by their codes (``codes_of``) as :func:`aggregate` orders its
    groups: as text, None first, ties in their order. Codes that are all text already are
    sorted as they are (the same order, without a key tuple made per item: 2026-12-06, mgr)."""
    if all(type(v) is str for item in items for v in codes_of(item)):
        items.sort(key=codes_of)
    else:
        items.sort(key=lambda item: tuple("" if v is None else str(v) for v in codes_of(item)))


def _coverage_by_one(
    table: Any, period_id: int, municipality: Municipality, dimension: str
) -> list[dict[str, Any]]:
    """The rows of :func:`_grouped` for a maintained coverage period by provider or by unit,
    unfiltered (a comparison page's coverage column: the run and each of its years), from
    the rollup's SQL written once: building the same query through the ORM took ~2.5 ms of
    each ~4 ms count, three times a cold comparison page (2026-12-06, cmp6). The same SQL as
    the ORM's, the same rows in the same order (tests/comparisons/test_coverage_sql.py)."""
    meta = table._meta
    column = meta.get_field(dimension).column
    quote = connection.ops.quote_name
    t, g, n = quote(meta.db_table), quote(column), quote("n")
    sql = (
        f"SELECT {t}.{g}, SUM({t}.{n}), SUM({t}.{n}) FILTER (WHERE {t}.{quote('followed')}) FROM {t} "  # noqa: S608 - our own table and columns
        f"WHERE {t}.{quote('municipality_id')} = %s AND {t}.{quote('period_id')} = %s "
        f"GROUP BY 1 HAVING SUM({t}.{n}) > %s ORDER BY 1 ASC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [municipality.pk, period_id, 0])
        fetched = cursor.fetchall()
    get = _codes(dimension, municipality).get
    out = [{dimension: get(value), "events": events or 0, "n": total} for value, total, events in fetched]
    _sort_by_codes(out, [dimension], None in map(itemgetter(dimension), out))
    return out


def labels_by_month(label: Mapping[dt.date, str]) -> dict[Any, str]:
    """Each month's period label (``label``) by the month as the cursor gives it: a date on
    PostgreSQL, its ISO text on SQLite (a count table's rows read straight from the cursor)."""
    return {**label, **{month.isoformat(): name for month, name in label.items()}}


def _months_in_periods(
    fetched: Sequence[Sequence[Any]],
    dims: int,
    names: Sequence[str],
    lookups: Sequence[Any],
    label: Mapping[dt.date, str],
) -> list[dict[str, Any]]:
    """Rows of a count table as the cursor gives them (``dims`` dimensions, the month, n, events),
    ordered by the dimensions and then the month, summed into their periods: one row per group
    and period. A trend's partition by provider is ~27,000 rows at a million follow-ups (750
    providers × 36 months): the month is looked up as it comes (ISO text on SQLite, a date on
    PostgreSQL), not converted row by row (2026-12-04, docs/performance.md "prov2")."""
    period_of = labels_by_month(label)
    coded = list(enumerate(lookups[:dims]))
    out: list[dict[str, Any]] = []
    last: tuple[Any, ...] | None = None
    for row in fetched:
        # A period's months are adjacent; the group's ids are compared as they come and turned
        # into codes once per group and period, not once per month (2026-12-04, prov3).
        key = (*row[:dims], period_of[row[dims]])
        if key == last:
            item = out[-1]
            item["n"] += row[-2]
            item["events"] += row[-1] or 0
            continue
        last = key
        values = (*(row[i] if get is None else get(row[i]) for i, get in coded), key[-1])
        item = dict(zip(names, values, strict=True))
        item["events"] = row[-1] or 0
        item["n"] = row[-2]
        out.append(item)
    return out


def _sizes_in_periods(
    fetched: Sequence[Sequence[Any]], lookups: Sequence[Any], label: Mapping[dt.date, str]
) -> dict[str, dict[tuple[Any, ...], int]]:
    """The rows of :func:`_months_in_periods`, as (ids…, month, n), reduced to their n: per period label, each group's
    n by its values (codes), the groups in the order :func:`_grouped` gives the rows (by the
    codes as text, None first). No dict per row: a trend's partition by provider is 27,000
    month rows at a million follow-ups, and its disclosure check needs only the sizes
    (2026-12-05, prov4)."""
    period_of = labels_by_month(label)
    summed: dict[str, dict[tuple[Any, ...], int]] = {}
    order: list[tuple[Any, ...]] = []  # the groups as the query orders them (by their ids)
    last: tuple[Any, ...] | None = None
    for row in fetched:  # (ids…, month, n): the month a date (or its text)
        group = tuple(row[:-2])
        name = period_of[row[-2]]
        cells = summed.get(name)
        if cells is None:
            cells = summed[name] = {}
        if group != last:
            order.append(group)
            last = group
        cells[group] = cells.get(group, 0) + row[-1]
    # Each group's codes once, and the groups in their order once (not per period and row): by
    # the codes as text, None first, ties in the query's order, as _grouped sorts its rows.
    coded = {group: tuple(v if get is None else get(v) for get, v in zip(lookups, group, strict=False))
             for group in order}  # fmt: skip
    sort_by_codes_as_text(order, coded.__getitem__)
    return {name: {coded[group]: cells[group] for group in order if group in cells}
            for name, cells in summed.items()}  # fmt: skip


def period_sizes(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    grain: str,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> dict[str, dict[tuple[Any, ...], int]] | None:
    """Per calendar quarter (or year) from ``date_from``'s to ``date_to``'s: each group's n by
    its codes, in :func:`aggregate`'s order — the ``n`` of :func:`aggregate` of that period
    alone, read as :func:`prefetch_periods` reads them (one query of the count table's whole
    months, or for years of its rollup by year where it has one, as :func:`aggregate` reads a
    whole year), without a row dict, the cache's pickling or the other counts. For a
    partition's disclosure check, which needs only the sizes (``disclosure.prefetch_hidden``:
    the provider page's trend checks 12 quarters × 750 providers; ``disclosure._protect``: a
    unit manager's counts along the unit, a run of years and each of its years in one read,
    2026-12-06, mgr). None when the count is not read that way (another kind, grain, or a
    dimension without codes): the caller counts through :func:`aggregate`."""
    found = period_size_rows(indicator, municipality=municipality, date_from=date_from, date_to=date_to,
                             grain=grain, by=by, filters=filters)  # fmt: skip
    return None if found is None else found.by_period()


def period_size_rows(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    grain: str,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
    among: Sequence[int] | None = None,
) -> SizeRows | None:
    """:func:`period_sizes`'s read, its rows as the cursor gives them (:class:`SizeRows`: ids, not
    yet codes, grouped or ordered by them), for a caller that makes its own cells of them
    (``disclosure._prefetch_hidden_along``, 2026-12-06). None where :func:`period_sizes` is.
    ``among``: only the groups of these ids of ``by``'s first dimension (their n as without it).
    An outcome indicator's too (2026-12-07) when every period is counted whole: its window has
    passed at the reference date for the last period's last day (a unit manager's comparison of
    step down reads its partitions along the unit so)."""
    if (
        indicator.kind not in ("question", "assessment", *OUTCOME_KINDS)
        or grain not in PERIODS
        or not by
        or any(d not in _CODED for d in by)
    ):
        return None
    start, end = _calendar(grain, date_from)[0], _calendar(grain, date_to)[1]
    months, edges = months_within(start, end)
    if months is None or edges:
        return None
    if indicator.kind in OUTCOME_KINDS and not _outcomes_whole(indicator, municipality, end):
        return None
    table = table_for(indicator.kind, {*by, *(filters or {})})
    if grain == "year":  # whole years: the rollup by year, as aggregate reads them (the same sums)
        table = year_table_for(table, {*by, *(filters or {})}) or table
    found: SizeRows = _grouped(lambda: _base(indicator, municipality, start, end, None, table), "", Q(), None,
                               indicator, municipality, start, end, by, filters, grain, sizes_only=True,
                               among=among, shape=("period_size_rows", table), model=table)  # fmt: skip
    return found


class YearSizes(NamedTuple):
    """A question's n by group for each of a run of whole years, as columns (:func:`year_sizes`):
    ``years`` one entry per year, in order, each the year's rows of the folded rollup by year as
    (ids of each dimension…, n) arrays, unordered and not yet summed (a group may have a row per
    question id); ``lookups`` each dimension's id → code (a ``dict.get``)."""

    years: Sequence[Sequence[NDArray[np.int64]]]
    lookups: Sequence[Any]


def year_sizes(
    indicator: Indicator,
    *,
    municipality: Municipality,
    first_year: int,
    last_year: int,
    by: Sequence[str],
    filters: Mapping[str, str] | None = None,
) -> YearSizes | None:
    """The rows :func:`period_size_rows` sums for a question over whole years (by year), read as
    they lie in the folded rollup by year (``counted.FOLDED_TABLES``; one covering-index range a
    year, as ``aggregate_cells`` reads the case-mix cells) and sent as one text per column on
    SQLite (``_year_columns``), without SQLite's GROUP BY sort, a tuple per row or a date
    converted per row: the caller sums them (``disclosure._hidden_along_years``). A unit
    manager's partitions along the unit at 1M: 19,500 grouped rows of provider × unit × year
    (2026-12-07, oe9). None when the rows are not read this way (another kind, a dimension or
    filter without codes, no folded rollup by year, an id missing): the caller reads
    :func:`period_size_rows` as before."""
    where = dict(filters or {})
    asked = {*by, *where}
    # Only where each row is one cell (one a question id): by provider and unit, as that rollup
    # groups (the case-mix cells, or a sum by unit alone, are fewer rows grouped by SQLite).
    if (
        indicator.kind != "question"
        or set(by) != PROVIDER_UNIT
        or asked != PROVIDER_UNIT
        or first_year > last_year
    ):
        return None
    months, edges = months_within(dt.date(first_year, 1, 1), dt.date(last_year, 12, 31))
    if months is None or edges:  # as period_size_rows: only the counts' whole months
        return None
    yearly: Any = year_table_for(table_for(indicator.kind, asked), asked)
    if yearly is None or not is_folded(yearly):
        return None
    spans = question_spans(indicator.instrument, indicator.question)
    rows = yearly.objects.filter(
        municipality=municipality,
        question_id__in=spans.question_ids,
        **{f"{d}_id": _pk_of(d, municipality, v) for d, v in where.items()},
    )
    fields = [*(COUNTED_PATHS[d] for d in by), "n"]
    years = []
    for year in range(first_year, last_year + 1):
        columns = _year_columns(rows.filter(year=dt.date(year, 1, 1)), fields)
        if any(v is None for column in columns if isinstance(column, list) for v in column):
            return None  # an id missing: the grouped read handles it
        years.append([np.asarray(column, dtype=np.int64) for column in columns])
    return YearSizes(years, [_codes(d, municipality).get for d in by])


def _month_starts(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """The first day of every month that starts within the range."""
    out = []
    month = date_from if date_from.day == 1 else month_end(date_from) + dt.timedelta(days=1)
    while month <= date_to:
        out.append(month)
        month = month_end(month) + dt.timedelta(days=1)
    return out


def _labels_of_months(grain: str | None, date_from: dt.date, date_to: dt.date) -> dict[dt.date, str]:
    """The period label of every month's first day within the range (the periods' labels)."""
    return {
        month: label
        for label, start, end in periods(grain or "", date_from, date_to)
        for month in _month_starts(start.replace(day=1), end)
    }


_CODED = {"provider": "provider_id", "service": "code", "unit": "code"}
#: The coverage counts by one coded dimension (aggregates.coverage): :func:`_coverage_by_one`.
_COVERAGE_ROLLUPS = {CoverageByProvider, CoverageByUnit}
#: Count tables by month whose index runs (municipality, [question or measure,] month, provider, …):
#: one provider's months are read month by month (``_grouped``); and by provider and unit
#: (…, month, unit, provider, …), filtered on both (a unit manager's provider, 2026-12-05).
_MONTH_THEN_PROVIDER = {AnswerByProvider, FollowUpByProvider, OutcomeByProvider, AnswerCount, FollowUpCount,
                        OutcomeCount, OutcomeByProviderUnit}  # fmt: skip
#: The tables whose index has the unit between the month (or year) and the provider: filtered on
#: a provider, the municipality's units are named too (2026-12-06, prov5: a unit manager's outcome
#: cell's partition along the unit, ~30 → ~1 ms a read at 1M; its rollup by year, 2026-12-07).
_UNIT_THEN_PROVIDER = {OutcomeByProviderUnit, OutcomeByProviderUnitYear}


def _coded_model(dimension: str) -> Any:
    from utfall.organisations.models import Unit
    from utfall.registry.models import Provider, Service

    return {"provider": Provider, "service": Service, "unit": Unit}[dimension]


def _codes(dimension: str, municipality: Municipality) -> dict[int, str]:
    def read() -> dict[int, str]:
        model = _coded_model(dimension)
        qs = (
            model.objects.all() if dimension == "service" else model.objects.filter(municipality=municipality)
        )
        return dict(qs.values_list("pk", _CODED[dimension]))

    # Cached like the counts (providers, services and units are watched): a page groups by
    # provider once per count, up to 56 times.
    return cached(("codes", dimension, municipality.pk), read)


def coded_ids(dimension: str, municipality: Municipality) -> dict[str, int] | None:
    """Each code of a coded dimension (provider, service, unit) with its id; None when two ids
    share a code."""
    codes = _codes(dimension, municipality)
    ids = {code: pk for pk, code in codes.items()}
    return ids if len(ids) == len(codes) else None


def _pk_of(dimension: str, municipality: Municipality, code: str) -> int:
    """The primary key for a code; -1 (matches nothing) for an unknown code."""
    return next((pk for pk, c in _codes(dimension, municipality).items() if c == code), -1)


def followup_status_counts(
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    by: str,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Follow-ups dated in the period by status: rows of {by: value, n, completed, declined,
    unreachable}, ordered by group. ``by`` is a dimension of the intervention or
    ``caseworker`` (the user who recorded the follow-up; None for imported ones)."""
    paths = dimension_paths("intervention__")
    if by != "caseworker" and by not in paths:
        raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")
    for dimension in filters or {}:
        if dimension not in paths:
            raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")

    def part(start: dt.date, end: dt.date, counted: bool = False) -> list[dict[str, Any]]:
        if counted:  # whole months: the maintained counts
            table: Any = table_for("followups", {by, *(filters or {})})
            qs: QuerySet[Any] = table.objects.filter(
                municipality=municipality, month__gte=start, month__lte=end
            )
            where = {**COUNTED_PATHS, "provider": "provider__provider_id", "service": "service__code",
                     "unit": "unit__code"}  # fmt: skip
        else:
            qs = FollowUp.objects.filter(municipality=municipality, date__gte=start, date__lte=end)
            where = paths
        qs = qs.filter(**{where[d]: v for d, v in (filters or {}).items()})
        key = "created_by_id" if by == "caseworker" else where[by]
        count: Any = (lambda **f: Sum("n", **f)) if counted else (lambda **f: Count("pk", **f))
        rows = (
            qs.values(key)
            .annotate(
                _n=count(),
                completed=count(filter=Q(status=FollowUpStatus.COMPLETED)),
                declined=count(filter=Q(status=FollowUpStatus.DECLINED)),
                unreachable=count(filter=Q(status=FollowUpStatus.UNREACHABLE)),
            )
            .order_by(key)
        )
        if counted:
            rows = rows.filter(_n__gt=0)
        return [
            {by: r[key], "n": r["_n"], "completed": r["completed"] or 0, "declined": r["declined"] or 0,
             "unreachable": r["unreachable"] or 0}
            for r in rows
        ]  # fmt: skip

    def compute() -> list[dict[str, Any]]:
        months, edges = months_within(date_from, date_to)
        parts = [part(*months, counted=True)] if months else []
        return merge([*parts, *(part(s, e) for s, e in edges)],
                     sums=("n", "completed", "declined", "unreachable"))  # fmt: skip

    key = ("followup_status_counts", municipality.pk, date_from, date_to, by, sorted((filters or {}).items()))
    return cached(key, compute)


#: Where each base table reads the client (for counting clients once per period).
_CLIENT_PATH = {
    "question": "followup__intervention__client_id",
    "assessment": "intervention__client_id",
    "step_down": "client_id",
    "plan_goals": "client_id",
    "rereferral": "client_id",
    "coverage": "client_id",
}


def aggregate_by_client(
    indicator: Indicator,
    *,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    period: str,
    filters: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Per period ("2025-K2", "2025") with data: {period, n, events, clients, sum_n2, sum_xn,
    sum_x2}: the counts of ``aggregate(..., by=[], period=period)`` and, over the clients
    counted in the period, the sums of n_c², x_c·n_c and x_c² (for cluster-robust intervals:
    :mod:`utfall.stats.clustered`). One GROUP BY (period, client); coverage, which has no date
    of its own, one per period."""
    if period not in PERIODS:
        raise BadQuery(f"okänd periodindelning (tillåtna: {', '.join(PERIODS)})")
    if date_from > date_to:
        raise BadQuery("periodens början ligger efter dess slut")
    for dimension in filters or {}:
        if dimension not in DIMENSIONS and dimension not in FILTER_ONLY:
            raise BadQuery(f"okänd dimension (tillåtna: {', '.join(DIMENSIONS)})")
    path = _CLIENT_PATH.get(indicator.kind, "client_id")  # a new kind on interventions reads its client

    def sums(label: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "period": label,
            "n": 0,
            "events": 0,
            "clients": 0,
            "sum_n2": 0,
            "sum_xn": 0,
            "sum_x2": 0,
        }
        for r in rows:
            if not r["n"]:
                continue
            out["n"] += r["n"]
            out["events"] += r["events"]
            out["clients"] += 1
            out["sum_n2"] += r["n"] * r["n"]
            out["sum_xn"] += r["events"] * r["n"]
            out["sum_x2"] += r["events"] * r["events"]
        return out

    def compute() -> list[dict[str, Any]]:
        if indicator.kind == "coverage":
            found = []
            for label, start, end in periods(period, date_from, date_to):
                qs, prefix, event, year = _base(indicator, municipality, start, end, None)
                rows = _grouped(qs, prefix, event, year, indicator, municipality, start, end, [], filters,
                                None, extra=path)  # fmt: skip
                found.append(sums(label, rows))
            return [f for f in found if f["n"]]
        table = client_table_for(indicator.kind, set(filters or {}))
        if table is None:  # every client's rows from the raw rows
            parts = [_grouped(*_base(indicator, municipality, date_from, date_to, None), indicator, municipality,
                              date_from, date_to, [], filters, period, extra=path, grouped_only=True)]  # fmt: skip
            by_period = {row["period"]: row for row in _client_sums(parts)}
            return [by_period[label] for label, _, _ in periods(period, date_from, date_to)
                    if label in by_period]  # fmt: skip
        return _with_singles(indicator, municipality, date_from, date_to, period, filters, table, path)

    key = ("aggregate_by_client", indicator, municipality.pk, date_from, date_to,
           sorted((filters or {}).items()), period)  # fmt: skip
    return cached(key, compute)


def _with_singles(
    indicator: Indicator,
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    period: str,
    filters: Mapping[str, str] | None,
    table: Any,
    path: str,
) -> list[dict[str, Any]]:
    """``aggregate_by_client`` from the counts and the rollup by client (2026-12-03): the rollup
    holds the rows of the clients with more than one answer in a calendar year (``quarterly``:
    in a calendar quarter), read for the whole months with the raw rows of the days around them
    (a client's rows of both parts added up before the squares, :func:`_client_sums`). Every
    other answer counted in the period is its client's only one there, which adds 1 to the
    clients and to Σ n_c², and its event (0 or 1) to Σ x_c·n_c and Σ x_c²: so the period's n
    and events from the counts (:func:`aggregate`) less those of the clients read give them."""
    totals = aggregate(indicator, municipality=municipality, date_from=date_from, date_to=date_to, by=[],
                       filters=filters, period=period)  # fmt: skip
    months, edges = months_within(date_from, date_to)

    def build() -> tuple[str, Sequence[Any]]:
        parts = []
        for start, end, counted in [
            *([(*months, table)] if months else []),
            *((s, e, None) for s, e in edges),
        ]:
            qs, prefix, event, year = _base(indicator, municipality, start, end, None, counted)
            if counted is not None:  # a quarter's repeats are marked; a year's are every row
                qs = qs.filter(quarterly__in=[True] if period == "quarter" else [True, False])
            parts.append(_grouped(qs, prefix, event, year, indicator, municipality, start, end, [], filters,
                                  period, extra="client_id" if counted else path, grouped_only=True))  # fmt: skip
        return _client_sums_statement(parts)

    # Built once per shape (cache.compiled): the ids and versions its building reads are checked.
    shape = ("_with_singles", indicator, municipality.pk, date_from, date_to, period,
             tuple(sorted((filters or {}).items())), table, path)  # fmt: skip
    read = {row["period"]: row for row in _client_rows(*compiled(shape, build))}
    counted = {row["period"]: row for row in totals if row["n"]}
    out = []
    for label, _, _ in periods(period, date_from, date_to):
        if label not in counted:
            continue
        total, some = counted[label], read.get(label, {})
        singles_n = total["n"] - some.get("n", 0)
        singles_x = total["events"] - some.get("events", 0)
        out.append({
            "period": label, "n": total["n"], "events": total["events"],
            "clients": some.get("clients", 0) + singles_n, "sum_n2": some.get("sum_n2", 0) + singles_n,
            "sum_xn": some.get("sum_xn", 0) + singles_x, "sum_x2": some.get("sum_x2", 0) + singles_x,
        })  # fmt: skip
    return out


def _client_sums(parts: Sequence[QuerySet[Any]]) -> list[dict[str, Any]]:
    """Per period: n, events, the clients and the sums of n_c², x_c·n_c and x_c² over the
    clients, summed in the database around the GROUP BY (period, client) — one row per period
    comes back instead of one per client and period (at a million follow-ups several hundred
    thousand rows, which took seconds to fetch and add up in Python). Integers throughout, so
    the same numbers as adding the per-client rows up one by one (tested). ``parts``: grouped
    by period and client each (the rollup's whole months, the raw days around them); a client's
    rows in several parts are added up first."""
    return _client_rows(*_client_sums_statement(parts))


def _client_sums_statement(parts: Sequence[QuerySet[Any]]) -> tuple[str, list[Any]]:
    """:func:`_client_sums`'s statement and its parameters."""
    quote = connection.ops.quote_name
    period, client, n, x = quote("g__period"), quote("g__extra"), quote("_n"), quote("_events")
    sqls: list[str] = []
    params: list[Any] = []
    for part in parts:
        sql, part_params = part.query.sql_with_params()
        sqls.append(f"SELECT {period}, {client}, {n}, {x} FROM ({sql}) AS part")  # noqa: S608 (our own query's SQL)
        params += part_params
    inner = sqls[0] if len(sqls) == 1 else (
        f"SELECT {period}, {client}, SUM({n}) AS {n}, SUM({x}) AS {x} FROM ({' UNION ALL '.join(sqls)}) AS parts "  # noqa: S608
        f"GROUP BY {period}, {client}"
    )  # fmt: skip
    sql = (
        f"SELECT {period}, SUM({n}), SUM({x}), COUNT(*), SUM({n} * {n}), SUM({x} * {n}), SUM({x} * {x}) "  # noqa: S608 (our own query's SQL; values are parameters)
        f"FROM ({inner}) AS per_client WHERE {n} > 0 GROUP BY {period}"
    )
    return sql, params


def _client_rows(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    """:func:`_client_sums`'s rows from its statement."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    keys = ("n", "events", "clients", "sum_n2", "sum_xn", "sum_x2")
    return [{"period": label, **{k: int(v or 0) for k, v in zip(keys, values, strict=True)}}
            for label, *values in found]  # fmt: skip
