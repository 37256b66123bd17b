"""The provider report card (issue 15, point 4): one provider, one period, every indicator
against the municipality's reference (the provider's row of each full comparison, with its
interval and the funnel's flag), its trend and contracts, as the report's PDF. Built from
``results.services.provider.provider_results`` for the signed-in user, so the provider's own
account gets its own card and nobody gets a card outside their aggregate scope."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from utfall.results.services.common import min_n, municipality_of
from utfall.results.services.provider import provider_results


def build_card(user: Any, provider_id: str, *, date_from: dt.date, date_to: dt.date, indicator: str,
               grain: str) -> dict[str, Any]:  # fmt: skip
    page = provider_results(user, provider_id, date_from=date_from, date_to=date_to, indicator=indicator,
                            grain=grain)  # fmt: skip
    facts = page.facts
    table = page.tables["indikatorer"]
    shown = [r for r in table.rows if not r.get("suppressed") and r.get("rate") is not None]
    low = [r["name"] for r in shown if r.get("flag") == "low"]
    high = [r["name"] for r in shown if r.get("flag") == "high"]
    summary = [
        f"{facts['provider_name']} ({facts['ownership']}): {len(shown)} indikatorer kan redovisas för perioden "
        f"{date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}; övriga har för få svar (färre än {min_n()}) eller inga.",
        ("Lägre än förväntat (utanför styrgränsen 99,8 %): " + ", ".join(low) + ".") if low
        else "Ingen indikator ligger lägre än förväntat.",
        ("Högre än förväntat: " + ", ".join(high) + ".") if high else "Ingen indikator ligger högre än förväntat.",
        "Kommunens nivå är den förväntade nivån i jämförelsen av alla utförare; varje andel visas med sitt "
        "95 % konfidensintervall och antal svar.",
    ]  # fmt: skip
    sections = [
        {"key": "indikatorer", "heading": "Alla indikatorer mot kommunens nivå", "intro": [],
         "tables": [table.as_json()], "charts": [page.charts["indikatorer"]], "commentary": ""},
        {"key": "utveckling", "heading": f"Utveckling: {facts['indicator_name']}", "intro": [],
         "tables": [page.tables["trend"].as_json()], "charts": [page.charts["trend"]], "commentary": ""},
        {"key": "avtal", "heading": "Avtal", "intro": [], "tables": [page.tables["avtal"].as_json()],
         "charts": [], "commentary": ""},
    ]  # fmt: skip
    return {
        "title": f"Resultatkort: {facts['provider_name']}",
        "kind": "card",
        "municipality": municipality_of(user).name,
        "scope": f"utförare {provider_id}",
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "built_at": timezone.now().isoformat(timespec="seconds"),
        "min_n": min_n(),
        "summary": summary,
        "summary_commentary": "",
        "sections": sections,
        "facts": {},
    }
