"""Trends and self-monitoring: one indicator per quarter or year, with the change from the previous period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.comparisons.sql import periods as period_list
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    comparability_notes,
    difference,
    min_n,
    proportion_rows,
    scope_description,
    scope_of,
)
from utfall.results.tables import Column, ResultTable
from utfall.stats.suppression import suppress

TREND_COLUMNS = [
    Column("period", "Period"),
    Column("n", "n", "count"),
    Column("events", "Antal positiva", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("diff", "Förändring mot föregående period", "diff", interval=("diff_low", "diff_high")),
    Column("diff_low", "Förändring, 95 % KI nedre", "diff"),
    Column("diff_high", "Förändring, 95 % KI övre", "diff"),
    Column("verdict", "Bedömning"),
]


def trend(
    user: Any,
    *,
    indicator: str,
    grain: str,
    date_from: dt.date,
    date_to: dt.date,
    unit: str | None = None,
    service: str | None = None,
    provider: str | None = None,
) -> Page:
    """One indicator per quarter or year, with the change from the previous period (Newcombe)."""
    municipality, filters = scope_of(user, {"unit": unit, "service": service, "provider": provider})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    periods = period_list(grain, date_from, date_to)
    if definition.kind == "coverage":
        counts = []
        for label, start, end in periods:  # one GROUP BY query per period: coverage has no date
            (total,) = aggregate(definition, municipality=municipality, date_from=start, date_to=end,
                                 by=[], filters=filters)  # fmt: skip
            counts.append({"period": label, **total})
    else:
        found = {
            r["period"]: r
            for r in aggregate(
                definition,
                municipality=municipality,
                date_from=date_from,
                date_to=date_to,
                by=[],
                filters=filters,
                period=grain,
            )
        }
        counts = [found.get(label, {"period": label, "n": 0, "events": 0}) for label, _, _ in periods]
    # Periods without data are shown as empty, not suppressed: an empty period reveals nothing
    # and must not make the suppression hide a neighbour.
    shown = {
        r["group"]: r
        for r in suppress(proportion_rows([c for c in counts if c["n"]], "period"), min_n=min_n())
    }
    empty = {"n": 0, "events": 0, "rate": None, "ci_low": None, "ci_high": None, "suppressed": False}
    rows = [shown.get(c["period"]) or {"group": c["period"], **empty} for c in counts]
    previous: dict[str, Any] | None = None
    for row in rows:
        row["period"] = row["group"]
        row.update(difference(row, previous))
        if row["verdict"] == "högre":
            row["verdict"] = "ökning"
        elif row["verdict"] == "lägre":
            row["verdict"] = "minskning"
        previous = row
    scope = scope_description(filters)
    grain_name = "kvartal" if grain == "quarter" else "år"
    caption = f"{definition.name} per {grain_name}, {scope}"
    table = ResultTable(
        "trend", caption, TREND_COLUMNS, rows,
        notes=["En förändring kallas ökning eller minskning bara när dess 95 % konfidensintervall "
               "inte innehåller noll.", *comparable],
    )  # fmt: skip
    facts = {"indicator": indicator, "indicator_name": definition.name, "grain": grain,
             "from": date_from.isoformat(), "to": date_to.isoformat(), "scope": scope,
             "comparability": comparable}  # fmt: skip
    return Page(caption, {"trend": table}, {"trend": charts.trend(rows, definition.name)}, facts)
