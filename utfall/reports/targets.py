"""Whether a target is met: the indicator's rate over the target's year (up to the data's
reference date) and scope, with its 95 % Wilson interval, after the one suppression.

Met when the whole interval lies on the target's side of the level, not met when the whole
interval lies on the other side, and "cannot be judged yet" when it straddles the level, when
the group is too small to be shown, or when there is no data yet (decided 2026-12-02,
docs/reports.md): a committee is never told a target is met on a difference that chance
explains.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import UnknownIndicator, get_indicator
from utfall.comparisons.queries import reference_date
from utfall.organisations.models import Municipality
from utfall.reports.models import Comparator, Target
from utfall.results.services.common import min_n, proportion_rows
from utfall.stats.suppression import suppress

MET, NOT_MET, UNDECIDED = "met", "not_met", "undecided"
VERDICT_TEXT = {MET: "Uppfyllt", NOT_MET: "Inte uppfyllt", UNDECIDED: "Kan inte bedömas än"}


@dataclass(frozen=True)
class Judgement:
    target: Target
    indicator_name: str
    scope: str
    date_from: dt.date
    date_to: dt.date
    n: int | None
    rate: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str
    reason: str

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT[self.verdict]

    def as_row(self) -> dict[str, Any]:
        t = self.target
        return {
            "indicator": self.indicator_name,
            "scope": self.scope,
            "year": t.year,
            "target": f"{t.get_comparator_display()} {t.level:.1f}".replace(".", ",") + " %",
            "n": self.n,
            "rate": self.rate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "verdict": self.verdict_text,
            "reason": self.reason,
            "suppressed": self.n is None and self.reason.startswith("För få"),
        }


def scope_text(target: Target) -> str:
    parts = []
    if target.service is not None:
        parts.append(target.service.name)
    if target.unit is not None:
        parts.append(target.unit.name)
    return ", ".join(parts) or "hela kommunen"


def judge(target: Target, *, as_of: dt.date | None = None) -> Judgement:
    """The target's verdict over its year, up to ``as_of`` (default: the data's reference date)."""
    municipality = target.municipality
    start = dt.date(target.year, 1, 1)
    end = dt.date(target.year, 12, 31)
    known = as_of or reference_date(municipality) or dt.date.today()
    end = min(end, known)
    try:
        definition = get_indicator(target.indicator)
        name = definition.name
    except UnknownIndicator:
        return _undecided(target, target.indicator, start, end, "Okänd indikator.")
    if end < start:
        return _undecided(target, name, start, start, "Året har inte börjat i underlaget.")
    filters: dict[str, str] = {}
    if target.service is not None:
        filters["service"] = target.service.code
    if target.unit is not None:
        filters["unit"] = target.unit.code
    (total,) = protected_counts(definition, municipality=municipality, date_from=start, date_to=end,
                         by=[], filters=filters)  # fmt: skip
    if not total["n"]:
        return _undecided(target, name, start, end, "Inga svar än under året.")
    (row,) = suppress(proportion_rows([{"all": "", **total}], "all"), min_n=min_n())
    if row["suppressed"]:
        return _undecided(target, name, start, end, f"För få svar (färre än {min_n()}) för att visas.")
    level = float(target.level) / 100
    low, high = row["ci_low"], row["ci_high"]
    above, below = low >= level, high < level
    if target.comparator == Comparator.AT_MOST:
        above, below = high <= level, low > level
    verdict = MET if above else (NOT_MET if below else UNDECIDED)
    reason = {
        MET: "Hela 95 % konfidensintervallet ligger på rätt sida om målnivån.",
        NOT_MET: "Hela 95 % konfidensintervallet ligger på fel sida om målnivån.",
        UNDECIDED: "Konfidensintervallet omfattar målnivån: ännu för osäkert att säga.",
    }[verdict]
    if verdict == UNDECIDED and end < dt.date(target.year, 12, 31):
        reason += f" Underlaget sträcker sig till {end:%Y-%m-%d}."
    return Judgement(target, name, scope_text(target), start, end, row["n"], row["rate"],
                     low, high, verdict, reason)  # fmt: skip


def _undecided(target: Target, name: str, start: dt.date, end: dt.date, reason: str) -> Judgement:
    return Judgement(target, name, scope_text(target), start, end, None, None, None, None, UNDECIDED, reason)


def targets_for(
    municipality: Municipality, *, unit: str | None = None, years: set[int] | None = None
) -> QuerySet[Target]:
    """The municipality's targets; for a unit's scope (a district committee) only that unit's."""
    qs = Target.objects.filter(municipality=municipality).select_related("service", "unit", "municipality")
    if unit is not None:
        qs = qs.filter(unit__code=unit)
    if years:
        qs = qs.filter(year__in=years)
    return qs


def judge_all(municipality: Municipality, *, unit: str | None = None, years: set[int] | None = None,
              as_of: dt.date | None = None) -> list[Judgement]:  # fmt: skip
    return [judge(t, as_of=as_of) for t in targets_for(municipality, unit=unit, years=years)]
