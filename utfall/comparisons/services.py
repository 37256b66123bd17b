"""Comparisons of groups on one indicator: counts from the database, statistics from utfall.stats."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
from django.conf import settings

from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import BadQuery, aggregate
from utfall.core.spreadsheets import neutralise
from utfall.instruments.services import comparability
from utfall.organisations.models import Municipality
from utfall.stats.comparison import Comparison, compare_proportions, compare_ratios
from utfall.stats.standardisation import expected_from_case_mix

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
                                "covariates": [c for c in CASE_MIX if c != self.by]}  # fmt: skip
        if self.comparability is not None:
            data["comparability"] = self.comparability
        return data


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
    """
    definition = get_indicator(indicator)
    min_n = settings.UTFALL_MIN_COUNT
    spans = None
    if definition.kind == "question":
        spans = comparability(definition.instrument, definition.question).as_json()
    scope = dict(scope or {})
    population = {k: v for k, v in (filters or {}).items() if k not in scope}

    def count(dimensions: list[str], where: Mapping[str, str]) -> list[dict[str, Any]]:
        return aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                         by=dimensions, filters=where, as_of=as_of)  # fmt: skip

    if not adjust:
        rows = count([by], population)
        reference = compare_proportions(
            [str(r[by]) for r in rows], [r["events"] for r in rows], [r["n"] for r in rows], min_n=min_n
        )
        comparison = reference
        if scope:
            comparison = _scoped(reference, by, scope,
                                 lambda: _proportion_view(count([by], {**population, **scope}), by, reference, min_n))  # fmt: skip
        return ComparisonResult(indicator, date_from, date_to, by, False, comparison, spans)
    covariates = [c for c in CASE_MIX if c != by]
    cells = count([by, *covariates], population)
    if not cells:
        raise BadQuery("inga data i perioden att justera")
    frame = pd.DataFrame(cells)
    frame[by] = frame[by].astype(str)
    expected = expected_from_case_mix(frame, covariates, group=by, events="events", n="n")
    expected = expected.sort_values("group")
    comparison = compare_ratios(
        expected["group"].tolist(),
        expected["observed"].to_numpy(),
        expected["expected"].to_numpy(),
        expected["n"].to_numpy(),
        min_n=min_n,
    )
    if scope:

        def adjusted_view() -> Comparison:
            mine = count([by, *covariates], {**population, **scope})
            return _ratio_view(frame, pd.DataFrame(mine), by, covariates, comparison, min_n)

        comparison = _scoped(comparison, by, scope, adjusted_view)
    return ComparisonResult(indicator, date_from, date_to, by, True, comparison, spans)


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


def _proportion_view(rows: list[dict[str, Any]], by: str, reference: Comparison, min_n: int) -> Comparison:
    return compare_proportions(
        [str(r[by]) for r in rows], [r["events"] for r in rows], [r["n"] for r in rows],
        min_n=min_n, reference=reference,
    )  # fmt: skip


def _ratio_view(
    reference_cells: pd.DataFrame,
    cells: pd.DataFrame,
    by: str,
    covariates: list[str],
    reference: Comparison,
    min_n: int,
) -> Comparison:
    """O/E of the scoped cells with E from the reference's case-mix model: the model has no
    group term, so its rate per combination of the covariates is the reference's E/n when
    the reference cells are grouped by that combination."""
    if cells.empty:
        return replace(reference, rows=[], overdispersion={**reference.overdispersion, "excluded": []})
    combo = "_case_mix"
    ref = reference_cells.copy()
    ref[combo] = ref[covariates].astype(str).agg("|".join, axis=1)
    rates = expected_from_case_mix(ref, covariates, group=combo, events="events", n="n")
    rate = dict(zip(rates["group"], rates["expected"] / rates["n"], strict=True))
    mine = cells.copy()
    mine[by] = mine[by].astype(str)
    mine["_e"] = mine["n"] * mine[covariates].astype(str).agg("|".join, axis=1).map(rate).fillna(0.0)
    grouped = mine.groupby(by, sort=True).agg(
        n=("n", "sum"), observed=("events", "sum"), expected=("_e", "sum")
    )
    return compare_ratios(
        grouped.index.tolist(), grouped["observed"].to_numpy(), grouped["expected"].to_numpy(),
        grouped["n"].to_numpy(), min_n=min_n, reference=reference,
    )  # fmt: skip
