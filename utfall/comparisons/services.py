"""Comparisons of groups on one indicator: counts from the database, statistics from utfall.stats."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.conf import settings

from utfall.comparisons.cache import cached
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import BadQuery, aggregate
from utfall.core.spreadsheets import neutralise
from utfall.instruments.services import comparability
from utfall.organisations.models import Municipality
from utfall.stats.adjusted import AverageMixFunnel, compare_adjusted
from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, Assessment, assess
from utfall.stats.comparison import Comparison, compare_proportions
from utfall.stats.overdispersion.limits import OverdispersionFit
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
    #: What a flag cannot say (issue 10.3): the indicator's reliability; the row columns are in the rows.
    assessment: Assessment | None = None
    #: The funnel the chart draws (for the adjusted view: the one for an average case mix).
    funnel: OverdispersionFit | AverageMixFunnel | None = None

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
    for row in comparison.rows:
        values = extra.get(str(row["group"]), {})
        for key in ASSESSMENT_ROW_KEYS:
            value = None if row["suppressed"] else values.get(key)
            row[key] = None if value is None else round(float(value), 4)


def compare(
    *,
    municipality: Municipality,
    indicator: str,
    date_from: dt.date,
    date_to: dt.date,
    by: str,
    filters: Mapping[str, str] | None = None,
    adjust: bool = False,
    as_of: dt.date | None = None,
    goal: float | None = None,
) -> ComparisonResult:
    """Compare the groups of ``by`` on ``indicator`` in the period; every row through suppression.

    Every row also carries the assessment columns (:data:`ASSESSMENT_ROW_KEYS`: shrunken
    estimate with interval, P(below the reference), P(below ``goal``) when a goal rate is
    given, the smallest detectable differences) and the result the indicator's reliability.
    A goal applies to the unadjusted view only (an O/E has no goal rate).
    """
    if goal is not None and not 0.0 < goal < 1.0:
        raise BadQuery("målnivån ska vara en andel mellan 0 och 1")
    definition = get_indicator(indicator)
    min_n = settings.UTFALL_MIN_COUNT
    # The assessment (0.1–1.6 s for 30–900 providers) is a function of the counts: cached with
    # them under the data's generation token (comparisons.cache).
    key = (definition, municipality.pk, date_from, date_to, by, sorted((filters or {}).items()), as_of, min_n)
    spans = None
    if definition.kind == "question":
        spans = comparability(definition.instrument, definition.question).as_json()
    if not adjust:
        rows = aggregate(
            definition, municipality=municipality, date_from=date_from, date_to=date_to,
            by=[by], filters=filters, as_of=as_of,
        )  # fmt: skip
        groups = [str(r[by]) for r in rows]
        events, n = [r["events"] for r in rows], [r["n"] for r in rows]
        comparison = compare_proportions(groups, events, n, min_n=min_n)
        used = [i for i, size in enumerate(n) if size >= min_n]
        assessment = cached(
            ("assessment", *key, goal),
            lambda: assess(comparison.fit, events, n, used=used, goal=goal),
        )
        _with_assessment(comparison, groups, assessment)
        return ComparisonResult(
            indicator, date_from, date_to, by, False, comparison, spans, assessment, comparison.fit
        )
    covariates = [c for c in CASE_MIX if c != by]
    cells = aggregate(
        definition, municipality=municipality, date_from=date_from, date_to=date_to,
        by=[by, *covariates], filters=filters, as_of=as_of,
    )  # fmt: skip
    if not cells:
        raise BadQuery("inga data i perioden att justera")
    frame = pd.DataFrame(cells)
    frame[by] = frame[by].astype(str)
    expected = expected_from_case_mix(frame, covariates, group=by, events="events", n="n")
    expected = expected.sort_values("group")
    groups = [str(g) for g in expected["group"].tolist()]
    adjusted = compare_adjusted(
        groups,
        expected["observed"].to_numpy(),
        expected["expected"].to_numpy(),
        expected["n"].to_numpy(),
        min_n=min_n,
    )
    # Shrunken estimates and detectable differences on the standardised rates, shown as O/E.
    assessment = cached(("assessment-adjusted", *key), lambda: assess(
        adjusted.fit, adjusted.standardised_events, adjusted.n, used=adjusted.used,
        scale=adjusted.overall or 1.0,
    ))  # fmt: skip
    _with_assessment(adjusted.comparison, groups, assessment)
    return ComparisonResult(
        indicator, date_from, date_to, by, True, adjusted.comparison, spans, assessment, adjusted.funnel
    )
