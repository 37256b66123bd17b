"""The provider comparison: every provider on one indicator, with funnel limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.services import compare
from utfall.followups.coverage import DEFINITION as COVERAGE_DEFINITION
from utfall.organisations.models import Municipality
from utfall.registry.models import Provider
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    comparability_notes,
    min_n,
    names_of,
    population_and_scope,
    proportion_rows,
    scope_description,
)
from utfall.results.tables import Column, Phrase, ResultTable, translated
from utfall.stats.suppression import suppress

#: A provider's results are marked uncertain when it follows up fewer than this share of
#: the share the municipality as a whole follows up in the same period (docs/results.md).
LOW_COVERAGE_RATIO = 0.6

COMPARISON_COLUMNS = [
    Column("group", "Utförar-id"),
    Column("name", "Utförare"),
    Column("n", "n", "count"),
    Column("events", "Antal positiva", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("lower_998", "Styrgräns 99,8 %, nedre", "rate"),
    Column("upper_998", "Styrgräns 99,8 %, övre", "rate"),
    Column("flag", "Flagga", "flag"),
    Column("coverage", "Uppföljningsgrad", "rate", n_key="coverage_n"),
    Column("coverage_note", "Anmärkning"),
    # What a flag cannot say (issue 10.3): docs/statistics.md.
    Column("estimate", "Skattad verklig andel", "rate", interval=("estimate_low", "estimate_high")),
    Column("estimate_low", "Skattad andel, 95 % KI nedre", "rate"),
    Column("estimate_high", "Skattad andel, 95 % KI övre", "rate"),
    Column("p_below_reference", "Sannolikhet under referensnivån", "rate"),
    Column("detectable_low", "Minsta skillnad som kan upptäckas, lägre", "points"),
    Column("detectable_high", "Minsta skillnad som kan upptäckas, högre", "points"),
]
GOAL_COLUMN = Column("p_below_goal", "Sannolikhet under målnivån", "rate")
RATIO_COLUMNS = [
    Column("group", "Utförar-id"),
    Column("name", "Utförare"),
    Column("n", "n", "count"),
    Column("observed", "Observerat (O)", "count"),
    Column("expected", "Förväntat (E)", "number"),
    Column("ratio", "O/E", "ratio", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "ratio"),
    Column("ci_high", "95 % KI, övre", "ratio"),
    Column("lower_998", "Styrgräns 99,8 %, nedre", "ratio"),
    Column("upper_998", "Styrgräns 99,8 %, övre", "ratio"),
    Column("flag", "Flagga", "flag"),
    Column("coverage", "Uppföljningsgrad", "rate", n_key="coverage_n"),
    Column("coverage_note", "Anmärkning"),
    Column("estimate", "Skattad verklig O/E", "ratio", interval=("estimate_low", "estimate_high")),
    Column("estimate_low", "Skattad O/E, 95 % KI nedre", "ratio"),
    Column("estimate_high", "Skattad O/E, 95 % KI övre", "ratio"),
    Column("p_below_reference", "Sannolikhet under referensnivån", "rate"),
    Column("detectable_low", "Minsta skillnad i O/E som kan upptäckas, lägre", "ratio"),
    Column("detectable_high", "Minsta skillnad i O/E som kan upptäckas, högre", "ratio"),
]
ASSESSMENT_NOTES = [
    "Skattad verklig andel: utförarens andel efter att slumpen vid få svar har dragits mot "
    "kommunens nivå (empirisk Bayes), med 95 % intervall. Sannolikheten under referensnivån är "
    "sannolikheten att utförarens verkliga andel ligger under kommunens förväntade nivå.",
    "Minsta skillnad som kan upptäckas: hur mycket lägre (högre) än referensnivån utförarens "
    "verkliga andel måste vara för att flaggas i 8 fall av 10 vid dess antal svar. "
    "– betyder att ingen skillnad alls kan flaggas vid så få svar.",
]


def _low_coverage(
    municipality: Municipality,
    date_from: dt.date,
    date_to: dt.date,
    filters: Mapping[str, str],
) -> tuple[dict[str, tuple[float | None, int]], set[str]]:
    """Each provider's coverage in the population of ``filters`` (the same whoever looks, like
    the comparison's rows; absent when suppressed), and the providers that follow up clearly
    less than that population as a whole."""

    def counted(where: Mapping[str, str]) -> list[dict[str, Any]]:
        return protected_counts(get_indicator("followup_coverage"), municipality=municipality, date_from=date_from,
                         date_to=date_to, by=["provider"], filters=where)  # fmt: skip

    everyone = counted(filters)
    total_n = sum(r["n"] for r in everyone)
    if not total_n:
        return {}, set()
    overall = sum(r["events"] for r in everyone) / total_n
    # The population's counts, like the comparison's rows: the same figure whoever looks. Only
    # the rate and n are used (the same suppression, which reads n and the flags alone).
    rows = suppress(proportion_rows(everyone, "provider", intervals=False), min_n=min_n())
    shown = {r["group"]: (r["rate"], r["n"]) for r in rows if not r["suppressed"]}
    low = {g for g, (rate, _n) in shown.items() if rate is not None and rate < LOW_COVERAGE_RATIO * overall}
    return shown, low


def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


def _reliability_note(reliability: Mapping[str, Any]) -> str:
    """The indicator's reliability in words, for the page, the downloads and the reports."""
    return Phrase(
        "Tillförlitlighet: %(share)s av skillnaderna mellan utförarna är verkliga "
        "(95 %% KI %(low)s–%(high)s). %(sentence)s",
        share=_percent(reliability["rankability"]),
        low=_percent(reliability["rankability_low"]),
        high=_percent(reliability["rankability_high"]),
        sentence=reliability["sentence"],
    )


def provider_comparison(
    user: Any,
    *,
    indicator: str,
    date_from: dt.date,
    date_to: dt.date,
    service: str | None = None,
    target_group: str | None = None,
    unit: str | None = None,
    adjust: bool = False,
    goal: float | None = None,
    flagged: bool = False,
) -> Page:
    """Every provider on one indicator, with funnel limits; the same rows as /api/v1/comparisons.
    ``flagged``: the table lists only the flagged providers (the funnel and the facts still show
    every provider, so the flags keep their context)."""
    municipality, population, scope = population_and_scope(
        user, {"service": service, "target_group": target_group, "unit": unit}
    )
    filters = {**population, **scope}
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    # The reference (target, limits) is the population's; the scope only chooses the rows.
    result = compare(
        municipality=municipality, indicator=indicator, date_from=date_from, date_to=date_to,
        by="provider", filters=population, scope=scope, adjust=adjust, goal=None if adjust else goal, chart=True,
    )  # fmt: skip
    data = result.as_json()
    names = names_of(Provider, municipality, "provider_id", {r["group"] for r in data["rows"]})
    shares, low = _low_coverage(municipality, date_from, date_to, population)
    if definition.kind == "coverage":
        low = set()  # the indicator is coverage itself
    rows = []
    for row in data["rows"]:
        note = "låg – osäkert resultat" if row["group"] in low and not row["suppressed"] else ""
        share, share_n = (None, None) if row["suppressed"] else shares.get(row["group"], (None, None))
        rows.append({**row, "name": names.get(row["group"], row["group"]), "coverage": share,
                     "coverage_n": share_n, "coverage_note": note})  # fmt: skip
    rows.sort(key=lambda r: (r["suppressed"], r["name"]))
    caption = _("%(name)s: utförare %(from)s–%(to)s (%(scope)s)") % {
        "name": definition.name, "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}",
        "scope": translated(scope_description(filters, municipality)),
    }  # fmt: skip
    columns = list(RATIO_COLUMNS if adjust else COMPARISON_COLUMNS)
    if goal is not None and not adjust:
        columns.append(GOAL_COLUMN)
    reliability = data.get("reliability")
    shown = [r for r in rows if r["flag"] in ("low", "high")] if flagged else rows
    only_flagged = (
        [f"Visar bara flaggade utförare: {len(shown)} av {len(rows)}. Trattdiagrammet visar alla."]
        if flagged
        else []
    )
    table = ResultTable(
        "jamforelse", caption, columns, shown,
        notes=[
            *only_flagged,
            "Flagga: utanför styrgränsen 99,8 % efter justering för överspridning.",
            str(COVERAGE_DEFINITION),
            *ASSESSMENT_NOTES,
            *([_reliability_note(reliability)] if reliability else []),
            *comparable,
        ],
    )  # fmt: skip
    spec = charts.funnel(data, rows, result.funnel, adjusted=adjust, title=definition.name)
    facts = {
        "indicator": indicator,
        "indicator_name": definition.name,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "scope": scope_description(filters, municipality),
        "target": data["target"],
        "overdispersion": data["overdispersion"],
        "adjusted": adjust,
        "flagged_low": sum(1 for r in rows if r["flag"] == "low"),
        "flagged_high": sum(1 for r in rows if r["flag"] == "high"),
        "providers": len(rows),
        "suppressed": sum(1 for r in rows if r["suppressed"]),
        "comparability": comparable,
        "reliability": reliability,
        "goal": goal if not adjust else None,
    }
    return Page(caption, {"jamforelse": table}, {"funnel": spec}, facts)
