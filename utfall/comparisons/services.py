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
    adjust: bool = False,
    as_of: dt.date | None = None,
) -> ComparisonResult:
    """Compare the groups of ``by`` on ``indicator`` in the period; every row through suppression."""
    definition = get_indicator(indicator)
    min_n = settings.UTFALL_MIN_COUNT
    spans = None
    if definition.kind == "question":
        spans = comparability(definition.instrument, definition.question).as_json()
    if not adjust:
        rows = aggregate(
            definition, municipality=municipality, date_from=date_from, date_to=date_to,
            by=[by], filters=filters, as_of=as_of,
        )  # fmt: skip
        comparison = compare_proportions(
            [str(r[by]) for r in rows], [r["events"] for r in rows], [r["n"] for r in rows], min_n=min_n
        )
        return ComparisonResult(indicator, date_from, date_to, by, False, comparison, spans)
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
    comparison = compare_ratios(
        expected["group"].tolist(),
        expected["observed"].to_numpy(),
        expected["expected"].to_numpy(),
        expected["n"].to_numpy(),
        min_n=min_n,
    )
    return ComparisonResult(indicator, date_from, date_to, by, True, comparison, spans)
