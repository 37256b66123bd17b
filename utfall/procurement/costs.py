"""Cost per good outcome, per provider and service (docs/procurement.md, "Kostnad per gott utfall").

The cost is bookkeeping, not an estimate: each intervention under a priced contract costs its
days in the period × the price per day, or the price per intervention when it started in the
period. Cost per intervention and per client are these sums divided by counts. The share of
clients with a good outcome *is* an estimate (a proportion p of n counted), so the cost per client
with a good outcome, ``(cost per client) / p``, carries an interval: the 95 % Wilson interval
of p mapped through the decreasing function ``c / p`` (``c / p_high`` to ``c / p_low``). A
monotone map of an interval keeps its coverage, so the interval inherits the Wilson interval's
validation (stats reference vectors, ``tests/stats/reference/wilson_phe.csv``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Q

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import get_indicator
from utfall.organisations.models import Municipality
from utfall.registry.models import Intervention, PriceUnit
from utfall.stats.proportions import wilson_interval
from utfall.stats.suppression import suppress

OUTCOMES = (("step_down", "lägre insatsnivå"), ("plan_goals_reached", "når planens mål"),
            ("satisfied", "nöjd"))  # fmt: skip


def cost_per_outcome(c: float, events: int, n: int) -> tuple[float | None, float | None, float | None]:
    """(estimate, low, high) of c / p for p = events / n with its 95 % Wilson interval; an
    interval end is None (unbounded) when p's lower bound is 0."""
    if n == 0:
        return None, None, None
    low_p, high_p = wilson_interval(np.array([events]), np.array([n]), 0.95)
    estimate = c * n / events if events else None
    return estimate, c / float(high_p[0]), (c / float(low_p[0]) if low_p[0] > 0 else None)


def costs(
    municipality: Municipality, date_from: dt.date, date_to: dt.date, filters: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per provider and service with priced interventions in the period."""
    filters = filters or {}
    qs = (
        Intervention.objects.filter(municipality=municipality, contract__price__isnull=False,
                                    started_on__lte=date_to)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=date_from))
    )  # fmt: skip
    if "provider" in filters:
        qs = qs.filter(provider__provider_id=filters["provider"])
    groups: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"interventions": 0, "clients": set(), "cost": Decimal(0), "days": 0}
    )
    fields = ("provider__provider_id", "provider__name", "service__code", "service__name", "client_id",
              "started_on", "ended_on", "contract__price", "contract__price_unit")  # fmt: skip
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for i in qs.values(*fields).order_by("provider__provider_id", "service__code", "pk"):
        key = (i["provider__provider_id"], i["service__code"])
        names[key] = (i["provider__name"], i["service__name"])
        first, last = max(i["started_on"], date_from), min(i["ended_on"] or date_to, date_to)
        days = (last - first).days + 1
        if i["contract__price_unit"] == PriceUnit.DAY:
            cost = i["contract__price"] * days
        elif i["contract__price_unit"] == PriceUnit.INTERVENTION and i["started_on"] >= date_from:
            cost = i["contract__price"]
        else:
            cost = Decimal(0)
        group = groups[key]
        group["interventions"] += 1
        group["clients"].add(i["client_id"])
        group["cost"] += cost
        group["days"] += days
    outcome_counts = {
        code: {(r["provider"], r["service"]): r for r in protected_counts(
            get_indicator(code), municipality=municipality, date_from=date_from, date_to=date_to,
            by=["provider", "service"], filters=filters)}
        for code, _ in OUTCOMES
    }  # fmt: skip
    minimum = int(settings.UTFALL_MIN_COUNT)
    rows = []
    for key in sorted(groups):
        group = groups[key]
        clients = len(group["clients"])
        cost = float(group["cost"])
        row: dict[str, Any] = {
            "provider": key[0], "provider_name": names[key][0], "service": key[1], "service_name": names[key][1],
            "n": group["interventions"], "clients": clients, "days": group["days"], "cost": round(cost),
            "per_intervention": round(cost / group["interventions"]), "per_client": round(cost / clients),
        }  # fmt: skip
        for code, _ in OUTCOMES:
            counted = outcome_counts[code].get(key, {"events": 0, "n": 0})
            shown = counted["n"] >= minimum
            estimate, low, high = cost_per_outcome(cost / clients, counted["events"], counted["n"])
            row[f"{code}_n"] = counted["n"] if shown else None
            row[f"{code}_rate"] = round(counted["events"] / counted["n"], 4) if shown else None
            row[f"{code}_cost"] = round(estimate) if shown and estimate is not None else None
            row[f"{code}_low"] = round(low) if shown and low is not None else None
            row[f"{code}_high"] = round(high) if shown and high is not None else None
        rows.append(row)
    # Small groups are hidden like every other aggregate (secondary suppression per provider).
    hidden = suppress(
        [{"group": r["provider"] + "/" + r["service"], "n": r["n"]} for r in rows], min_n=minimum
    )
    for row, h in zip(rows, hidden, strict=True):
        row["suppressed"] = bool(h["suppressed"])
        if row["suppressed"]:
            for k in list(row):
                if k not in ("provider", "provider_name", "service", "service_name", "suppressed"):
                    row[k] = None
    return rows
