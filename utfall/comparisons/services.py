"""Comparisons of groups on one indicator: counts from the database, statistics from utfall.stats."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from numpy.typing import NDArray

from utfall.comparisons.cache import cached
from utfall.comparisons.counted import Cells
from utfall.comparisons.disclosure import model_columns, protected_counts, snap_period
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import BadQuery, question_spans
from utfall.core.fits import fits_stored_by_municipality
from utfall.core.spreadsheets import neutralise
from utfall.organisations.models import Municipality
from utfall.stats.adjusted import AdjustedComparison, AverageMixFunnel, compare_adjusted
from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, Assessment, assess
from utfall.stats.comparison import Comparison, compare_proportions, round_column
from utfall.stats.overdispersion.limits import OverdispersionFit
from utfall.stats.standardisation import case_mix_expected, expected_from_case_mix

CASE_MIX = ("sex", "age_group", "service")


@dataclass
class ComparisonResult:
    indicator: str
    date_from: dt.date
    date_to: dt.date
    by: str
    adjusted: bool
    comparison: Comparison
    #: For question indicators: the instrument versions counted and those left out as not comparable.
    comparability: dict[str, Any] | None = None
    #: What a flag cannot say (issue 10.3): the indicator's reliability; the row columns are in the rows.
    assessment: Assessment | None = None
    #: The funnel the chart draws (for the adjusted view: the one for an average case mix).
    funnel: OverdispersionFit | AverageMixFunnel | None = None
    #: When the asked-for dates were not a fixed period (issue 10.6): what was shown instead, in Swedish.
    period_note: str = ""

    def as_csv(self) -> str:
        """The same rows as ``as_json``, as CSV with the row keys as header (text that a
        spreadsheet would run as a formula starts with ``'``: core.spreadsheets)."""
        rows = self.as_json()["rows"]
        out = io.StringIO()
        writer = csv.DictWriter(out, list(rows[0]) if rows else ["group"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: neutralise(value) for key, value in row.items()} for row in rows)
        return out.getvalue()

    def as_json(self) -> dict[str, Any]:
        data = self.comparison.to_json_dict(
            self.indicator, self.date_from.isoformat(), self.date_to.isoformat(), self.by
        )
        if self.adjusted:
            data["adjusted"] = {"method": "indirect standardisation, logistic case-mix model",
                                "covariates": [c for c in CASE_MIX if c != self.by],
                                "limits": "binomial, case mix as a logit offset"}  # fmt: skip
        if self.period_note:
            data["period_note"] = self.period_note
        if self.comparability is not None:
            data["comparability"] = self.comparability
        if self.assessment is not None:
            data["reliability"] = self.assessment.reliability_dict()
            if self.assessment.goal is not None:
                data["goal"] = self.assessment.goal
        return data


def _with_assessment(comparison: Comparison, groups: list[str], assessment: Assessment) -> None:
    """Put the assessment columns into the comparison's rows (additive keys; None where hidden)."""
    extra = dict(zip(groups, assessment.rows, strict=True))
    blank = dict.fromkeys(ASSESSMENT_ROW_KEYS)
    rows = comparison.rows
    found = [None if row["suppressed"] else extra.get(str(row["group"])) for row in rows]
    live = [i for i, values in enumerate(found) if values]
    # A column at a time, each value as round(float(value), 4) (stats.comparison.round_column:
    # the same floats; Python's round was ~5 ms of 750 providers × 7 columns).
    columns = [round_column([found[i].get(key) for i in live]) for key in ASSESSMENT_ROW_KEYS]  # type: ignore[union-attr]
    for i, values in zip(live, zip(*columns, strict=True), strict=True):
        rows[i].update(zip(ASSESSMENT_ROW_KEYS, values, strict=True))
    for row, own in zip(rows, found, strict=True):
        if not own:
            row.update(blank)


@fits_stored_by_municipality
def compare(
    *,
    municipality: Municipality,
    indicator: str,
    date_from: dt.date,
    date_to: dt.date,
    by: str,
    filters: Mapping[str, str] | None = None,
    scope: Mapping[str, str] | None = None,
    adjust: bool = False,
    as_of: dt.date | None = None,
    goal: float | None = None,
    chart: bool = False,
) -> ComparisonResult:
    """Compare the groups of ``by`` on ``indicator`` in the period; every row through suppression.

    ``filters`` choose the comparison's population (a service, a target group, …). ``scope``
    is the viewer's access scope (:func:`utfall.comparisons.access.split_scope`): it decides
    only which rows are shown. The reference — target, φ, τ², limits, and the case-mix model
    of the adjusted view — always comes from the population of ``filters`` alone, so the same
    provider gets the same target, limits and flag whoever looks (issue 10.1). A scoped
    viewer sees the rows of their own data, judged against that reference: when the scope
    names the compared dimension (a provider account, ``by=provider``) exactly the reference's
    own row; otherwise (a unit manager's providers) the rows of the scoped counts. A row hidden
    in the reference stays hidden; outliers are named only among the rows shown.

    Every row also carries the assessment columns (:data:`ASSESSMENT_ROW_KEYS`: shrunken
    estimate with interval, P(below the reference), P(below ``goal``) when a goal rate is
    given, the smallest detectable differences) and the result the indicator's reliability.
    A goal applies to the unadjusted view only (an O/E has no goal rate).

    Disclosure control (issue 10.6, docs/disclosure.md): the dates are snapped to a fixed
    period (:func:`~utfall.comparisons.disclosure.snap_period`, said in ``period_note``), the
    counts come from :func:`~utfall.comparisons.disclosure.protected_counts`, and every
    published statistic — target, φ, τ², limits, reliability, the adjusted view's overall
    rate — is computed from the shown rows only.

    ``chart``: the caller draws the funnel of these rows (the comparison page): the chart's
    limits are worked out with the rows' (``stats.comparison.compare_proportions``), and the
    rows' 95 % limits, which the page shows nowhere, are left None; the same for the adjusted
    view (``stats.adjusted.compare_adjusted``). A scoped view (a unit manager's) draws its own
    rows the same way and shows none of the reference's, so the reference's rows get no limits
    or flags and the reference's assessment only its reliability (``row_limits=False``,
    ``only=[]``; 2026-12-06). A viewer whose scope is the compared group itself (a provider)
    sees the reference's own row and gets it whole. The API and every other caller get every
    limit.
    """
    period, period_note = snap_period(date_from, date_to)
    date_from, date_to = period.start, period.end
    if goal is not None and not 0.0 < goal < 1.0:
        raise BadQuery("målnivån ska vara en andel mellan 0 och 1")
    definition = get_indicator(indicator)
    min_n = settings.UTFALL_MIN_COUNT
    # The assessment (0.1–1.6 s for 30–900 providers) is a function of the counts: cached with
    # them under the data's generation token (comparisons.cache).
    scope = dict(scope or {})
    population = {k: v for k, v in (filters or {}).items() if k not in scope}
    key = (definition, municipality.pk, date_from, date_to, by, sorted(population.items()), as_of, min_n)
    spans = None
    if definition.kind == "question":
        spans = question_spans(definition.instrument, definition.question).as_json()

    def count(dimensions: list[str], where: Mapping[str, str]) -> list[dict[str, Any]]:
        return protected_counts(definition, municipality=municipality, date_from=date_from,
                                date_to=date_to, by=dimensions, filters=where, as_of=as_of)  # fmt: skip

    def cells_of(dimensions: list[str], where: Mapping[str, str]) -> pd.DataFrame:
        # The case-mix model's input: no cell is shown (the O/E rows are per group). Read as
        # columns (~30,000 cells at a million follow-ups: no dict per cell; 2026-12-04, oe3).
        cells = model_columns(definition, municipality=municipality, date_from=date_from,
                              date_to=date_to, by=dimensions, filters=where, as_of=as_of)  # fmt: skip
        return _frame(cells, by)

    # A page drawing a scoped view shows none of the reference's own rows: the reference is
    # read for its fit, target, outliers and hidden groups and the assessment for its
    # reliability, so neither searches the reference rows' limits (2026-12-06, docs/decisions.md).
    drawn_scope = chart and bool(scope) and set(scope) != {by}
    if not adjust:
        rows = count([by], population)
        groups = [str(r[by]) for r in rows]
        events, n = [r["events"] for r in rows], [r["n"] for r in rows]
        reference = compare_proportions(groups, events, n, min_n=min_n, hidden=[r["suppressed"] for r in rows],
                                        chart=chart and not scope, row_limits=not drawn_scope)  # fmt: skip
        used = [i for i, row in enumerate(reference.rows) if not row["suppressed"]]
        assessment = cached(
            ("reliability" if drawn_scope else "assessment", *key, goal),
            lambda: assess(reference.fit, events, n, used=used, goal=goal, only=[] if drawn_scope else None),
        )
        _with_assessment(reference, groups, assessment)
        comparison = reference
        if scope:
            comparison = _scoped(reference, by, scope,
                                 lambda: _proportion_view(count([by], {**population, **scope}), by, reference,
                                                          min_n, goal, (groups, events, n, used),
                                                          chart=drawn_scope))  # fmt: skip
        return ComparisonResult(
            indicator,
            date_from,
            date_to,
            by,
            False,
            comparison,
            spans,
            assessment,
            reference.fit,
            period_note,
        )
    covariates = [c for c in CASE_MIX if c != by]
    frame = cells_of([by, *covariates], population)
    if frame.empty:
        raise BadQuery("inga data i perioden att justera")
    # The model has no group term: its fit serves the scoped view's rates by pattern too.
    fitted = case_mix_expected(frame, covariates, events="events", n="n")
    expected = expected_from_case_mix(frame, covariates, group=by, events="events", n="n", fitted=fitted)
    expected = expected.sort_values("group")
    groups = [str(g) for g in expected["group"].tolist()]
    hidden_groups = {str(r[by]) for r in count([by], population) if r["suppressed"]}
    adjusted = compare_adjusted(
        groups,
        expected["observed"].to_numpy(),
        expected["expected"].to_numpy(),
        expected["n"].to_numpy(),
        min_n=min_n,
        hidden=[g in hidden_groups for g in groups],
        chart=chart and not scope,
        row_limits=not drawn_scope,
    )
    # Shrunken estimates and detectable differences on the standardised rates, shown as O/E.
    assessment = cached(("reliability-adjusted" if drawn_scope else "assessment-adjusted", *key), lambda: assess(
        adjusted.fit, adjusted.standardised_events, adjusted.n, used=adjusted.used,
        scale=adjusted.overall or 1.0, only=[] if drawn_scope else None,
    ))  # fmt: skip
    _with_assessment(adjusted.comparison, groups, assessment)
    comparison = adjusted.comparison
    if scope:

        def adjusted_view() -> Comparison:
            mine = cells_of([by, *covariates], {**population, **scope})
            gone = {str(r[by]) for r in count([by], {**population, **scope}) if r["suppressed"]}
            return _ratio_view(frame, mine, by, covariates, adjusted, min_n, gone, chart=drawn_scope,
                               fitted=fitted)  # fmt: skip

        comparison = _scoped(comparison, by, scope, adjusted_view)
    return ComparisonResult(
        indicator, date_from, date_to, by, True, comparison, spans, assessment, adjusted.funnel, period_note
    )


def _frame(cells: Cells, by: str) -> pd.DataFrame:
    """The cells as the case-mix model's data frame: the values of ``pd.DataFrame(cells.rows())``
    with ``by`` as text (``str`` of each value), each dimension a categorical column over its
    levels (the model numbers the levels from their codes: no text per cell to hash, 2026-12-04,
    oe3), or a column of the values where a level is missing or two are the same text."""
    if not len(cells):
        return pd.DataFrame()
    columns: dict[str, Any] = {}
    for name, levels, codes in zip(cells.names, cells.levels, cells.codes, strict=True):
        labels = [str(v) for v in levels] if name == by else list(levels)
        if None in labels or len(set(labels)) < len(labels):
            values = np.empty(len(labels), dtype=object)
            values[:] = labels
            columns[name] = values[codes]
        else:
            columns[name] = pd.Categorical.from_codes(codes, categories=labels)
    return pd.DataFrame({**columns, "events": cells.events, "n": cells.n})


def _scoped(
    reference: Comparison, by: str, scope: Mapping[str, str], view: Callable[[], Comparison]
) -> Comparison:
    """What a scoped viewer sees of ``reference``: its own row when the scope names the
    compared dimension (and nothing else), else ``view()`` (the scoped counts judged against
    the reference)."""
    if set(scope) == {by}:
        mine = [r for r in reference.rows if r["group"] == scope[by]]
        hidden = {r["group"] for r in mine if r["suppressed"]}
        excluded = [g for g in reference.overdispersion["excluded"] if g == scope[by] and g not in hidden]
        return replace(
            reference, rows=mine, overdispersion={**reference.overdispersion, "excluded": excluded}
        )
    return view()


def _proportion_view(
    rows: list[dict[str, Any]],
    by: str,
    reference: Comparison,
    min_n: int,
    goal: float | None,
    population: tuple[list[str], list[Any], list[Any], list[int]],
    *,
    chart: bool = False,
) -> Comparison:
    """The scoped counts judged against the reference; each row's assessment columns are its
    own counts put in its place in the reference's table (as the provider page does).
    ``chart``: the page draws these rows (``compare_proportions``' ``chart``)."""
    groups = [str(r[by]) for r in rows]
    events, n = [r["events"] for r in rows], [r["n"] for r in rows]
    comparison = compare_proportions(groups, events, n, min_n=min_n, reference=reference,
                                     hidden=[r["suppressed"] for r in rows], chart=chart)  # fmt: skip
    ref_groups, ref_events, ref_n, ref_used = population
    if reference.fit is None or not groups:
        return comparison
    place = {g: i for i, g in enumerate(ref_groups)}
    # Every scoped row's counts in its place in the reference's table at once, assessed in one
    # call: a group's columns depend only on its own counts, the fit and whether the fit left it
    # out (not on the other groups' counts), so this is the same as one table per row, without
    # the work growing with rows × groups.
    xa, ma = list(ref_events), list(ref_n)
    positions: list[int | None] = []
    for g, x, m in zip(groups, events, n, strict=True):
        i = place.get(g)
        if i is not None and m >= min_n:
            xa[i], ma[i] = x, m
        positions.append(i if i is not None and m >= min_n else None)
    wanted = [i for i in positions if i is not None]
    assessed = (
        assess(reference.fit, xa, ma, used=ref_used, goal=goal, only=wanted, reliability=False).rows
        if wanted
        else []
    )
    values: list[dict[str, Any]] = [{} if i is None else assessed[i] for i in positions]
    for row, extra in zip(comparison.rows, values, strict=True):
        for key in ASSESSMENT_ROW_KEYS:
            value = None if row["suppressed"] else extra.get(key)
            row[key] = None if value is None else round(float(value), 4)
    return comparison


def _ratio_view(
    reference_cells: pd.DataFrame,
    cells: pd.DataFrame,
    by: str,
    covariates: list[str],
    reference: AdjustedComparison,
    min_n: int,
    hidden: set[str] | frozenset[str] = frozenset(),
    *,
    chart: bool = False,
    fitted: NDArray[np.float64] | None = None,
) -> Comparison:
    """O/E of the scoped cells with E from the reference's case-mix model (the model has no
    group term, so its rate per combination of the covariates is the reference's E/n when
    the reference cells are grouped by that combination), judged against the reference's
    adjusted funnel. ``fitted``: the model's expected events of the reference cells
    (``case_mix_expected``), when in hand: the same model, not fitted a second time."""
    if cells.empty:
        return replace(reference.comparison, rows=[],
                       overdispersion={**reference.comparison.overdispersion, "excluded": []})  # fmt: skip
    # Each cell's pattern is found by its covariates' codes and only each pattern's text is made
    # (from one of its cells): the same texts, and so the same groups and rates, as the text of
    # every cell (~14 ms of the unit manager's O/E page at 1M; 2026-12-06, mgroe2).
    combo = "_case_mix"
    ref_of, ref_texts = _patterns(reference_cells, covariates)
    ref = pd.DataFrame({
        combo: pd.Categorical.from_codes(ref_of, categories=ref_texts),
        "events": reference_cells["events"].to_numpy(),
        "n": reference_cells["n"].to_numpy(),
    })  # fmt: skip
    rates = expected_from_case_mix(ref, covariates, group=combo, events="events", n="n", fitted=fitted)
    rate = dict(zip(rates["group"], rates["expected"] / rates["n"], strict=True))
    mine_of, mine_texts = _patterns(cells, covariates)
    # Series.map(rate).fillna(0.0) of the texts: a pattern without a rate (or a NaN rate), and a
    # cell whose pattern is missing (-1: a missing value's text is NaN), gets 0.0.
    # One 0.0 after the patterns' rates, so that -1 picks it (and a scope of missing patterns
    # alone, with no text at all, has a rate to pick).
    found = [rate.get(text) for text in mine_texts]
    pattern_rate = np.array([*(0.0 if r is None or r != r else r for r in found), 0.0], dtype=np.float64)
    n = cells["n"].to_numpy()
    cell_rate = pattern_rate[mine_of]
    mine = pd.DataFrame({
        by: cells[by].astype(str).to_numpy(),
        "n": n,
        "events": cells["events"].to_numpy(),
        "_e": n * cell_rate,
    })  # fmt: skip
    # The three sums in one call (the same sums as a named aggregation each; ~2 ms less).
    grouped = mine.groupby(by, sort=True)[["n", "events", "_e"]].sum()
    return compare_adjusted(
        [str(g) for g in grouped.index.tolist()], grouped["events"].to_numpy(), grouped["_e"].to_numpy(),
        grouped["n"].to_numpy(), min_n=min_n, reference=reference,
        hidden=[str(g) in hidden for g in grouped.index.tolist()], chart=chart,
    ).comparison  # fmt: skip


def _pattern_texts(cells: pd.DataFrame, covariates: list[str]) -> pd.Series:
    """Each cell's covariate pattern as one text: its values' texts joined with "|", column by
    column (the texts of ``cells[covariates].astype(str).agg("|".join, axis=1)``, which made a
    Python call per cell: ~1 s of the unit manager's O/E page at 30,000 cells; 2026-12-06, oe7)."""
    texts = [cells[c].astype(str) for c in covariates]
    joined = texts[0]
    for text in texts[1:]:
        joined = joined + "|" + text
    return joined


def _patterns(cells: pd.DataFrame, covariates: list[str]) -> tuple[NDArray[np.intp], list[str]]:
    """Each cell's covariate pattern as a number and each number's text, unique: the texts of
    :func:`_pattern_texts` (cells with the same text have the same number; -1 where the text is
    missing, as it is when a value is), made once per combination of the covariates' values
    instead of once per cell. A categorical covariate is told apart by its codes (a missing
    value by its own), any other by its values' texts (a missing one by its own)."""
    combined = np.zeros(len(cells), dtype=np.int64)
    for covariate in covariates:
        column = cells[covariate]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, size = column.cat.codes.to_numpy().astype(np.int64) + 1, len(column.cat.categories) + 1
        else:
            found, levels = pd.factorize(column.astype(str))
            codes, size = found.astype(np.int64) + 1, len(levels) + 1
        combined = combined * size + codes
    # Each combination numbered by first appearance (pandas' hash table, not np.unique's sort of
    # ~50,000 cells: the numbers are only keys, the texts and so the groups and sums the same;
    # 2026-12-07, oe9), and each number's first cell: where the highest number so far grows.
    inverse, _ = pd.factorize(combined)
    first = np.flatnonzero(np.diff(np.maximum.accumulate(inverse), prepend=-1) > 0)
    number, texts = pd.factorize(_pattern_texts(cells.iloc[first], covariates))
    return number[inverse], texts.tolist()
