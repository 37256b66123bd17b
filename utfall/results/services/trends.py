"""Trends and self-monitoring: one indicator per quarter or year, judged on a p′ control chart.

"ökning"/"minskning" comes from Laney's p′ chart with its run rules (:mod:`utfall.stats.spc`),
not from one period-to-period interval (which called a change in about 30 % of stable
8-quarter series); the change from the previous period stays as information. A client
followed up several times in a period counts with cluster-robust effective counts
(:mod:`utfall.stats.clustered`). Periods cut by the chosen range or not yet over at the data's
reference date are marked and drawn but not judged (docs/statistics.md, issue 10.5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import protected_by_client
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import reference_date
from utfall.comparisons.sql import periods as period_list
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    comparability_notes,
    min_n,
    proportion_rows,
    scope_description,
    scope_of,
)
from utfall.results.tables import Column, Phrase, ResultTable, rounded, translated
from utfall.stats.clustered import effective_counts
from utfall.stats.proportions import newcombe_difference, wilson_interval
from utfall.stats.spc import RUN_LENGTH, laney_p_chart
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
    Column("centre", "Mittlinje", "rate"),
    Column("spc_lower", "Styrgräns, nedre", "rate"),
    Column("spc_upper", "Styrgräns, övre", "rate"),
    Column("period_note", "Period"),
    Column("verdict", "Bedömning (styrdiagram)"),
]
VERDICTS = {"high": "ökning", "low": "minskning", None: "ingen säker förändring"}
PARTIAL = "ofullständig – bedöms inte"


def _calendar(grain: str, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The whole calendar quarter or year of a (possibly cut) period."""
    if grain == "year":
        return dt.date(start.year, 1, 1), dt.date(start.year, 12, 31)
    q = (start.month - 1) // 3
    first = dt.date(start.year, 3 * q + 1, 1)
    last = dt.date(start.year + (q == 3), (3 * q + 3) % 12 + 1, 1) - dt.timedelta(days=1)
    return first, last


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
    """One indicator per quarter or year: rate with a cluster-robust Wilson interval, the change
    from the previous period (Newcombe, for information) and the p′ chart's judgement."""
    municipality, filters = scope_of(user, {"unit": unit, "service": service, "provider": provider})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    periods = period_list(grain, date_from, date_to)
    found = {
        r["period"]: r
        for r in protected_by_client(definition, municipality=municipality, date_from=date_from,
                                     date_to=date_to, period=grain, filters=filters)
    }  # fmt: skip
    counts = [found.get(label, {"period": label, "n": 0, "events": 0}) for label, _, _ in periods]
    # Periods without data are shown as empty, not suppressed: an empty period reveals nothing
    # and must not make the suppression hide a neighbour.
    shown = {
        r["group"]: r
        for r in suppress(proportion_rows([c for c in counts if c["n"]], "period"), min_n=min_n())
    }
    empty = {"n": 0, "events": 0, "rate": None, "ci_low": None, "ci_high": None, "suppressed": False}
    rows = [shown.get(c["period"]) or {"group": c["period"], **empty} for c in counts]
    # A period is judged only when it is whole and over: not cut by the range, and not ending
    # after the newest data (the current quarter is still filling up).
    newest = reference_date(municipality) or date_to
    partial = []
    for _label, start, end in periods:
        first, last = _calendar(grain, start, end)
        partial.append(start > first or end < last or last > newest)
    # Cluster-robust effective counts of the visible periods (hidden ones take part in nothing).
    visible = [not r["suppressed"] and r["n"] > 0 for r in rows]
    sums = [found.get(c["period"]) if v else None for c, v in zip(counts, visible, strict=True)]
    x_eff, n_eff = effective_counts(
        *[[s[k] if s else 0 for s in sums] for k in ("events", "n", "clients", "sum_n2", "sum_xn", "sum_x2")]
    )
    low, high = wilson_interval(x_eff, n_eff, 0.95)
    complete = [v and not p for v, p in zip(visible, partial, strict=True)]
    chart, _info = laney_p_chart(x_eff, n_eff, complete=complete)
    # Each visible period against the visible one before it, in one call (elementwise: the same
    # numbers as one call a pair, without a data frame each; 2026-12-07).
    shown_at = [i for i, v in enumerate(visible) if v]
    pairs = dict(zip(shown_at[1:], shown_at, strict=False))
    if pairs:
        now, before = list(pairs), list(pairs.values())
        d = newcombe_difference(x_eff[now], n_eff[now], x_eff[before], n_eff[before])
        differences = dict(zip(now, zip(d["estimate"].tolist(), d["lower"].tolist(), d["upper"].tolist(),
                                        strict=True), strict=True))  # fmt: skip
    points = chart.to_dict("records")  # not .iloc a row each
    for i, row in enumerate(rows):
        row["period"] = row["group"]
        row["partial"] = partial[i]
        row["period_note"] = "ofullständig" if partial[i] else ""
        row["n_effective"] = rounded(float(n_eff[i]), 1) if visible[i] else None
        if visible[i]:
            row["ci_low"], row["ci_high"] = rounded(float(low[i])), rounded(float(high[i]))
        row.update({"diff": None, "diff_low": None, "diff_high": None})
        if i in pairs:
            estimate, lower, upper = differences[i]
            row.update(diff=rounded(float(estimate)), diff_low=rounded(float(lower)),
                       diff_high=rounded(float(upper)))  # fmt: skip
        point = points[i]
        judged = bool(point["judged"]) and visible[i]
        row["centre"] = rounded(float(point["centre"])) if judged else None
        row["spc_lower"] = rounded(float(point["lower"])) if judged else None
        row["spc_upper"] = rounded(float(point["upper"])) if judged else None
        row["signal"] = point["signal"] if judged else None
        if not visible[i]:
            row["verdict"] = None
        elif partial[i]:
            row["verdict"] = PARTIAL
        elif not judged:
            row["verdict"] = "för få perioder att bedöma"
        else:
            row["verdict"] = VERDICTS[point["signal"]]
    scope = scope_description(filters)
    grain_name = "kvartal" if grain == "quarter" else "år"
    caption = _("%(name)s per %(grain)s, %(scope)s") % {
        "name": definition.name,
        "grain": _(grain_name),
        "scope": translated(scope),
    }
    table = ResultTable(
        "trend", caption, TREND_COLUMNS, rows,
        notes=[Phrase("Ökning eller minskning bedöms med ett styrdiagram (p′-diagram med Laneys korrigering): "
                      "en period utanför styrgränserna (3 sigma) eller minst %(run)s perioder i rad på samma "
                      "sida om mittlinjen. Förändringen mot föregående period visas med sitt 95 %% "
                      "konfidensintervall som information; den avgör inte bedömningen.", run=str(RUN_LENGTH)),
               "Perioder som inte är hela (avskurna av det valda datumintervallet eller ännu inte "
               "avslutade vid datats senaste datum) visas men bedöms inte.",
               "En klient som följts upp flera gånger under en period räknas med klusterrobusta "
               "intervall (effektivt antal), så att upprepade svar inte ger för smala intervall.",
               *comparable],
    )  # fmt: skip
    facts = {"indicator": indicator, "indicator_name": definition.name, "grain": grain,
             "from": date_from.isoformat(), "to": date_to.isoformat(), "scope": scope,
             "comparability": comparable}  # fmt: skip
    return Page(caption, {"trend": table}, {"trend": charts.trend(rows, definition.name)}, facts)
