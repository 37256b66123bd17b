"""Outcome measures (seed 004): step-down and plan goals after ended interventions, and the families'
assessment of completed IHF/MST treatment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.organisations.models import Municipality
from utfall.registry.models import Service
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    comparability_notes,
    names_of,
    put_cell,
    rate_columns,
    scope_description,
    scope_of,
    with_total,
)
from utfall.results.tables import Column, Phrase, ResultTable, translated

OUTCOME_INDICATORS = (
    "step_down",
    "plan_goals_reached",
    "plan_goals_fully",
    "rereferral_6m",
    "rereferral_12m",
)
#: Short names for the outcome table's column headers (the full names are in the notes).
OUTCOME_SHORT = {"step_down": "Stegning nedåt", "plan_goals_reached": "Mål nådda helt/delvis",
                 "plan_goals_fully": "Alla mål helt nådda", "rereferral_6m": "Återaktualiserade 6 mån",
                 "rereferral_12m": "Återaktualiserade 12 mån"}  # fmt: skip
OUTCOME_SERVICES = ("ihf", "tfco")
#: Seed 004's third measure: guardians' and children's assessment of a completed IHF (or MST)
#: treatment, from the family instruments' indicators.
FAMILY_INSTRUMENTS = {"family-guardian-2026": "Vårdnadshavare", "family-child-2026": "Barn"}
FAMILY_SERVICES = ("ihf", "mst")


def outcomes(user: Any, *, date_from: dt.date, date_to: dt.date, unit: str | None = None) -> Page:
    """Step-down and implementation-plan goals after ended interventions, in all and per service."""
    municipality, filters = scope_of(user, {"unit": unit})
    per_measure: dict[str, dict[str, dict[str, Any]]] = {}
    services: set[str] = set()
    for code in OUTCOME_INDICATORS:
        counts = protected_counts(get_indicator(code), municipality=municipality, date_from=date_from,
                           date_to=date_to, by=["service"], filters=filters)  # fmt: skip
        per_measure[code] = with_total(counts, "service", "")
        services |= {r["service"] for r in counts}
    names = names_of(Service, None, "code", services)
    order = ["", *OUTCOME_SERVICES, *sorted(services - set(OUTCOME_SERVICES), key=lambda s: names.get(s, s))]
    columns = [Column("name", "Insats"), Column("group", "Kod")]
    for code in OUTCOME_INDICATORS:
        columns += rate_columns(code, OUTCOME_SHORT[code])
    rows = []
    for service in order:
        if service and service not in services:
            continue
        row: dict[str, Any] = {"group": service or "alla", "name": names.get(service, "Alla insatser")}
        for code in OUTCOME_INDICATORS:
            put_cell(row, code, per_measure[code].get(service))
        rows.append(row)
    caption = _("Utfallsmått efter avslutade insatser, %(from)s–%(to)s (%(scope)s)") % {
        "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}", "scope": translated(scope_description(filters))}  # fmt: skip
    table = ResultTable(
        "utfallsmatt", caption, columns, rows,
        notes=[*(Phrase("%(short)s: %(name)s.", short=OUTCOME_SHORT[c], name=get_indicator(c).name)
                 for c in OUTCOME_INDICATORS),
               "Stegning nedåt räknas först 90 dagar efter avslutet (nästa insats kan inte vara känd förr). "
               "Insatser avslutade på grund av flytt räknas inte.",
               "Återaktualisering (lägre är bättre): klienten fick en ny insats inom samma målgrupp inom 6 "
               "respektive 12 månader efter avslutet; räknas först när hela tiden har gått."],
    )  # fmt: skip
    page = Page(caption, {"utfallsmatt": table}, facts={"from": date_from.isoformat(),
                "to": date_to.isoformat(), "scope": scope_description(filters)})  # fmt: skip
    page.charts["utfallsmatt"] = charts.outcomes(rows, OUTCOME_SHORT)
    family = _family_assessment(municipality, date_from, date_to, filters)
    page.tables["bedomning_ihf"] = family
    family_chart = charts.family_assessment(family.rows, names)
    # No empty chart (issue 17 point 11): the chart shows IHF and MST apart, which may both be
    # hidden where their sum is shown; an empty one also fails axe (marks without a name).
    if family_chart["data"]["values"]:
        page.charts["bedomning_ihf"] = family_chart
    return page


def _family_assessment(
    municipality: Municipality, date_from: dt.date, date_to: dt.date, filters: Mapping[str, str]
) -> ResultTable:
    """Guardians' and children's assessment of completed IHF/MST treatment (seed 004): one row
    per question, IHF and MST side by side with both together. The two services partition the
    total, so each row's three cells are suppressed together."""
    indicators = [d for d in all_indicators().values() if d.instrument in FAMILY_INSTRUMENTS]
    # One protected count per question (issue 10.6), not one scan: each cell hidden as everywhere else.
    counted = {d.code: protected_counts(d, municipality=municipality, date_from=date_from, date_to=date_to,
                                        by=["service"], filters=filters) for d in indicators}  # fmt: skip
    names = names_of(Service, None, "code", set(FAMILY_SERVICES))
    columns = [
        Column("group", "Indikator-kod"),
        Column("respondent", "Svarande"),
        Column("name", "Indikator"),
    ]
    parts = [("all", "Båda"), *((s, names.get(s, s)) for s in FAMILY_SERVICES)]
    for key, label in parts:
        columns += rate_columns(key, label)
    rows = []
    for indicator in indicators:
        counts = [r for r in counted[indicator.code] if r["service"] in FAMILY_SERVICES]
        # Nobody asked is nothing to hide: an empty row is shown empty, not as suppressed.
        shown = with_total(counts, "service", "all") if any(r["n"] for r in counts) else {}
        row: dict[str, Any] = {"group": indicator.code, "respondent": FAMILY_INSTRUMENTS[indicator.instrument],
                               "name": indicator.name}  # fmt: skip
        for key, _label in parts:
            put_cell(row, key, shown.get(key))
        rows.append(row)
    caption = _("Vårdnadshavares och barns bedömning av avslutad IHF- och MST-behandling, %(from)s–%(to)s (%(scope)s)") % {
        "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}", "scope": translated(scope_description(filters))}  # fmt: skip
    return ResultTable(
        "bedomning_ihf", caption, columns, rows,
        notes=["Frågorna ställs vid uppföljningen efter avslutad behandling: till vårdnadshavaren "
               "(instrumentet family-guardian-2026) och till barnet från omkring 10 år (family-child-2026). "
               "Andel = andel positiva svar bland dem som svarat; ”vet inte” räknas inte.",
               "IHF och MST tillsammans bildar totalen, så varje rads celler döljs tillsammans när någon "
               "grupp är för liten.", *comparability_notes(indicators)],
    )  # fmt: skip
