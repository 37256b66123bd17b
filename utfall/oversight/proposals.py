"""Deviation proposals: which providers the comparison says should get an in-depth follow-up.

A provider is proposed for a period when, on some indicator, its rate is

1. outside the 99.8 % funnel limit (``outside_998``), or
2. outside the 95 % limit on the same side in this period and the one before it
   (``outside_95_twice``), or
3. below the 95 % lower limit on two or more indicators in the period (``low_on_several``;
   above on two or more for positive deviations: ``high_on_several``).

Low rates are deviations; high rates are listed apart as positive deviations. The rows are
those of :func:`utfall.comparisons.services.compare` by provider over the whole municipality
(no filters), whoever looks: the reference population is always the municipality's, exactly
what the analyst's comparison page shows. Suppressed rows (n below the minimum count) carry
no limits and never propose anyone. Rules and reasons: docs/oversight.md (2026-12-02).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q

from utfall.comparisons.cache import cached
from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.comparisons.queries import BadQuery
from utfall.comparisons.services import compare
from utfall.organisations.models import Municipality
from utfall.oversight.periods import Period
from utfall.registry.models import Intervention, Provider

RULES = {
    "outside_998": "Utanför styrgränsen 99,8 %",
    "outside_95_twice": "Utanför 95 %-gränsen två perioder i följd på samma indikator",
    "low_on_several": "Under 95 %-gränsen på två eller fler indikatorer",
    "high_on_several": "Över 95 %-gränsen på två eller fler indikatorer",
}
#: z at the 95 % and 99.8 % two-sided limits; evidence strength interpolates between them.
Z95, Z998 = 1.959964, 3.090232
ROW_KEYS = ("n", "events", "rate", "ci_low", "ci_high", "lower_95", "upper_95", "lower_998", "upper_998")


def quality_indicators() -> list[str]:
    """Every indicator on which a higher rate is better; coverage is shown beside, not judged."""
    return [code for code, d in all_indicators().items() if d.kind != "coverage"]


def side_of(row: Mapping[str, Any], level: str) -> str | None:
    """ "low" / "high" when the row's rate is outside its limits at ``level`` ("95" or "998")."""
    if row.get("suppressed") or row.get("rate") is None:
        return None
    low, high = row.get(f"lower_{level}"), row.get(f"upper_{level}")
    if low is not None and row["rate"] < low:
        return "low"
    if high is not None and row["rate"] > high:
        return "high"
    return None


def strength(row: Mapping[str, Any], side: str) -> float:
    """How far outside the funnel, on the z scale: 1.96 at the 95 % limit, 3.09 at the 99.8 %
    limit, linear between and beyond (the limits already allow for overdispersion)."""
    rate = float(row["rate"])
    if side == "low":
        at95, at998, beyond = row["lower_95"], row["lower_998"], row["lower_95"] - rate
    else:
        at95, at998, beyond = row["upper_95"], row["upper_998"], rate - row["upper_95"]
    width = abs(at95 - at998)
    if not width:
        return Z998 if beyond > 0 else Z95
    return round(Z95 + (Z998 - Z95) * beyond / width, 2)


def provider_rows(municipality: Municipality, period: Period) -> dict[str, dict[str, dict[str, Any]]]:
    """{indicator: {provider_id: comparison row + target}} for every quality indicator."""

    def compute() -> dict[str, dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for code in quality_indicators():
            try:
                data = compare(
                    municipality=municipality, indicator=code, date_from=period.date_from,
                    date_to=period.date_to, by="provider",
                ).as_json()  # fmt: skip
            except BadQuery:
                continue
            out[code] = {str(r["group"]): {**r, "reference": data["target"]} for r in data["rows"]}
        return out

    return cached(("oversight.provider_rows", municipality.pk, period.label), compute)


@dataclass
class Evidence:
    indicator: str
    name: str
    side: str
    level: str  # "99.8" or "95"
    strength: float
    n: int
    events: int
    rate: float
    ci_low: float | None
    ci_high: float | None
    lower_95: float | None
    upper_95: float | None
    lower_998: float | None
    upper_998: float | None
    reference: float | None
    previous: dict[str, Any] | None


@dataclass
class Proposal:
    provider_id: str
    provider_name: str
    direction: str  # "low" (deviation) or "high" (positive deviation)
    rules: list[str]
    evidence: list[Evidence]
    coverage: dict[str, Any] = field(default_factory=dict)
    clients: int | None = None
    contracts: list[dict[str, Any]] = field(default_factory=list)
    last_case: dict[str, Any] | None = None
    new: bool = True

    @property
    def strength(self) -> float:
        return max((e.strength for e in self.evidence), default=0.0)

    @property
    def tier(self) -> int:
        """3: the 99.8 % rule and another; 2: the 99.8 % rule; 1: the 95 % rules only."""
        if "outside_998" in self.rules:
            return 3 if len(self.rules) > 1 else 2
        return 1

    @property
    def rule_labels(self) -> list[str]:
        return [RULES[r] for r in self.rules]

    def as_json(self) -> dict[str, Any]:
        return {
            "provider_id": self.provider_id,
            "provider_name": self.provider_name,
            "direction": self.direction,
            "rules": list(self.rules),
            "strength": self.strength,
            "tier": self.tier,
            "clients": self.clients,
            "coverage": self.coverage,
            "contracts": self.contracts,
            "last_case": self.last_case,
            "new": self.new,
            "evidence": [asdict(e) for e in self.evidence],
        }


@dataclass
class ProposalSet:
    period: Period
    previous: Period
    deviations: list[Proposal]
    positives: list[Proposal]
    indicators: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "period": self.period.label,
            "from": self.period.date_from.isoformat(),
            "to": self.period.date_to.isoformat(),
            "previous_period": self.previous.label,
            "reference": "kommunens alla utförare (hela kommunen)",
            "indicators": self.indicators,
            "deviations": [p.as_json() for p in self.deviations],
            "positives": [p.as_json() for p in self.positives],
        }


def _evaluate(
    current: Mapping[str, Mapping[str, dict[str, Any]]], previous: Mapping[str, Mapping[str, dict[str, Any]]]
) -> dict[tuple[str, str], tuple[list[str], list[Evidence]]]:
    """{(provider, side): (rules, evidence)} by the three rules."""
    found: dict[tuple[str, str], tuple[list[str], list[Evidence]]] = {}
    outside95: dict[tuple[str, str], int] = {}
    for code, rows in current.items():
        name = get_indicator(code).name
        for provider, row in rows.items():
            side95 = side_of(row, "95")
            if side95 is None:
                continue
            outside95[(provider, side95)] = outside95.get((provider, side95), 0) + 1
            before = previous.get(code, {}).get(provider)
            rules, evidence = found.setdefault((provider, side95), ([], []))
            side998 = side_of(row, "998")
            if side998 == side95 and "outside_998" not in rules:
                rules.append("outside_998")
            if before is not None and side_of(before, "95") == side95 and "outside_95_twice" not in rules:
                rules.append("outside_95_twice")
            shown_before = None
            if before is not None and not before.get("suppressed"):
                shown_before = {k: before.get(k) for k in (*ROW_KEYS, "reference")}
                shown_before["outside_95"] = side_of(before, "95")
            evidence.append(
                Evidence(
                    indicator=code, name=name, side=side95, level="99.8" if side998 == side95 else "95",
                    strength=strength(row, side95), n=row["n"], events=row["events"], rate=row["rate"],
                    ci_low=row["ci_low"], ci_high=row["ci_high"], lower_95=row["lower_95"],
                    upper_95=row["upper_95"], lower_998=row["lower_998"], upper_998=row["upper_998"],
                    reference=row.get("reference"), previous=shown_before,
                )
            )  # fmt: skip
    for (provider, side), count in outside95.items():
        if count >= 2:
            found[(provider, side)][0].append("low_on_several" if side == "low" else "high_on_several")
    order = list(RULES)
    return {
        key: (sorted(rules, key=order.index), sorted(ev, key=lambda e: -e.strength))
        for key, (rules, ev) in found.items()
        if rules
    }


def _coverage(municipality: Municipality, period: Period) -> dict[str, dict[str, Any]]:
    definition = get_indicator("followup_coverage")
    rows = protected_counts(definition, municipality=municipality, date_from=period.date_from,
                     date_to=period.date_to, by=["provider"])  # fmt: skip
    minimum = int(settings.UTFALL_MIN_COUNT)
    out = {}
    for r in rows:
        shown = r["n"] >= minimum
        out[str(r["provider"])] = {
            "n": r["n"] if shown else None,
            "rate": round(r["events"] / r["n"], 4) if shown and r["n"] else None,
        }
    return out


def clients_per_provider(municipality: Municipality, date_from: dt.date, date_to: dt.date) -> dict[str, int]:
    """Distinct clients with an intervention of the provider ongoing in the period (GROUP BY)."""
    ongoing = Q(started_on__lte=date_to) & (Q(ended_on__isnull=True) | Q(ended_on__gte=date_from))
    rows = (
        Intervention.objects.filter(ongoing, municipality=municipality)
        .values("provider__provider_id")
        .annotate(clients=Count("client", distinct=True))
    )
    return {r["provider__provider_id"]: r["clients"] for r in rows}


def _proposals(
    municipality: Municipality, period: Period
) -> dict[tuple[str, str], tuple[list[str], list[Evidence]]]:
    return _evaluate(provider_rows(municipality, period), provider_rows(municipality, period.previous()))


def deviation_proposals(municipality: Municipality, period: Period) -> ProposalSet:
    """The proposals of ``period`` with their evidence, coverage and volume; ``new`` says whether
    the provider was not proposed (on the same side) in the period before."""
    found = _proposals(municipality, period)
    before = _proposals(municipality, period.previous())
    names = dict(Provider.objects.filter(municipality=municipality).values_list("provider_id", "name"))
    coverage = _coverage(municipality, period)
    clients = clients_per_provider(municipality, period.date_from, period.date_to)
    minimum = int(settings.UTFALL_MIN_COUNT)
    deviations: list[Proposal] = []
    positives: list[Proposal] = []
    for (provider, side), (rules, evidence) in found.items():
        count = clients.get(provider, 0)
        proposal = Proposal(
            provider_id=provider, provider_name=names.get(provider, provider), direction=side,
            rules=rules, evidence=evidence, coverage=coverage.get(provider, {"n": None, "rate": None}),
            clients=count if count >= minimum else None, new=(provider, side) not in before,
        )  # fmt: skip
        (deviations if side == "low" else positives).append(proposal)
    for proposals in (deviations, positives):
        proposals.sort(key=lambda p: (-p.tier, -p.strength, p.provider_id))
    return ProposalSet(
        period, period.previous(), deviations, positives, sorted(provider_rows(municipality, period))
    )
