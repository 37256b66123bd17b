"""Results per contract and contract period, against the contract's targets and the
municipality's reference: the same counts (``comparisons.queries.aggregate`` with the
``contract`` filter), the same 95 % Wilson intervals, the same funnel (overdispersion fit over
all the municipality's providers, 99.8 % limits) and the same suppression
(``stats.suppression.suppress``) as the comparison pages (docs/procurement.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import protected_counts, snap_period
from utfall.comparisons.indicators import Indicator, all_indicators, get_indicator
from utfall.comparisons.queries import reference_date
from utfall.core.fits import fits_kept_for
from utfall.organisations.models import Municipality
from utfall.registry.models import Contract, add_months
from utfall.stats.overdispersion import DEFAULT_METHOD, fit_overdispersion
from utfall.stats.proportions import wilson_interval
from utfall.stats.suppression import suppress

#: Shown for every contract beside its own targets: the outcome measures of seed 004.
DEFAULT_INDICATORS = ("step_down", "plan_goals_reached", "plan_goals_fully", "satisfied",
                      "assessment_approved", "followup_coverage")  # fmt: skip


def min_n() -> int:
    return int(settings.UTFALL_MIN_COUNT)


def r4(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


@dataclass(frozen=True)
class Period:
    label: str
    date_from: dt.date
    date_to: dt.date


def contract_periods(contract: Contract, until: dt.date | None = None) -> list[Period]:
    """The contract years (avtalsår) from ``valid_from``, up to its end or ``until``."""
    end = contract.valid_to or until or dt.date.today()
    if until is not None:
        end = min(end, until)
    out: list[Period] = []
    start = contract.valid_from
    number = 1
    while start <= end and number <= 50:
        stop = min(add_months(contract.valid_from, 12 * number) - dt.timedelta(days=1), end)
        out.append(
            Period(
                _("Avtalsår %(n)s (%(from)s–%(to)s)")
                % {"n": number, "from": f"{start:%Y-%m-%d}", "to": f"{stop:%Y-%m-%d}"},
                start,
                stop,
            )
        )
        start, number = stop + dt.timedelta(days=1), number + 1
    return out


def default_period(contract: Contract) -> tuple[dt.date, dt.date]:
    """The last twelve months of data within the contract, as a fixed period (snap_period)."""
    end = reference_date_of(contract) or dt.date.today()
    if contract.valid_to and contract.valid_to < end:
        end = contract.valid_to
    start = max(contract.valid_from, end - dt.timedelta(days=364))
    # Shown as the fixed period its counts are for (issue 10.6, comparisons.disclosure).
    period, _ = snap_period(start, max(start, end))
    return period.start, period.end


def reference_date_of(contract: Contract) -> dt.date | None:
    return reference_date(contract.municipality)


def indicator_row(
    contract: Contract, code: str, date_from: dt.date, date_to: dt.date, *, target: Any = None
) -> dict[str, Any]:
    """The contract's row on one indicator (:func:`scoped_row`)."""
    return scoped_row(contract.municipality, {"contract": contract.contract_id}, code, date_from, date_to,
                      target=target)  # fmt: skip


def scoped_row(
    municipality: Municipality, scope: dict[str, str], code: str, date_from: dt.date, date_to: dt.date,
    *, target: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """A contract's or provider's (``scope``) n, rate and 95 % interval on one indicator, the
    municipality's level (the funnel's target over all providers, as on the comparison page)
    and 99.8 % limits at its n, its flag, and its target's verdict. Suppressed rows carry no
    numbers."""
    definition = get_indicator(code)
    mine = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to, by=[],
                     filters=scope)[0]  # fmt: skip
    by_provider = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                            by=["provider"])  # fmt: skip
    with fits_kept_for(municipality.pk):
        return row_from_counts(definition, mine, by_provider, target)


def row_from_counts(
    definition: Indicator, mine: dict[str, Any], by_provider: list[dict[str, Any]], target: Any = None
) -> dict[str, Any]:
    """:func:`scoped_row` from the counts: the scope's ``{events, n}`` and every provider's."""
    code = definition.code
    total_n = sum(r["n"] for r in by_provider)
    total_events = sum(r["events"] for r in by_provider)
    minimum = min_n()
    # The contract's row and the rest of the municipality partition the total: suppressed together.
    shown = suppress(
        [{"group": "contract", "n": mine["n"]}, {"group": "rest", "n": total_n - mine["n"]}], min_n=minimum
    )[0]
    row: dict[str, Any] = {
        "indicator": code, "name": definition.name, "n": None, "events": None, "rate": None,
        "ci_low": None, "ci_high": None, "reference": None, "lower_998": None, "upper_998": None,
        "flag": None, "suppressed": bool(shown["suppressed"]) and mine["n"] > 0,
        "target_level": None, "target_min_n": None, "verdict": "",
    }  # fmt: skip
    sizes = np.array([r["n"] for r in by_provider], dtype=np.float64)
    counts = np.array([r["events"] for r in by_provider], dtype=np.float64)
    used = np.flatnonzero(sizes >= minimum)
    fit = (
        fit_overdispersion(counts[used], sizes[used], kind="proportion", method=DEFAULT_METHOD)
        if used.size
        else None
    )
    if fit is not None:
        row["reference"] = r4(fit.target)
    elif total_n >= minimum:
        row["reference"] = r4(total_events / total_n)
    if target is not None:
        row["target_level"] = float(target.level)
        row["target_min_n"] = int(target.min_n)
    if mine["n"] == 0:
        row["n"] = 0
        row["verdict"] = "Inga data i perioden" if target is not None else ""
        return row
    if row["suppressed"]:
        row["verdict"] = f"Dolt (färre än {minimum})" if target is not None else ""
        return row
    n, events = mine["n"], mine["events"]
    low, high = wilson_interval(np.array([events]), np.array([n]), 0.95)
    row.update(n=n, events=events, rate=r4(events / n), ci_low=r4(low[0]), ci_high=r4(high[0]))
    if fit is not None:
        lo, hi = fit.limits(np.array([n], dtype=np.float64), 0.998)
        row["lower_998"], row["upper_998"] = r4(lo[0]), r4(hi[0])
        row["flag"] = "high" if events / n > hi[0] else ("low" if events / n < lo[0] else None)
    if target is not None:
        row["verdict"] = verdict(events / n, float(low[0]), float(high[0]), n, target.level, target.min_n)
    return row


def verdict(rate: float, low: float, high: float, n: int, level: Decimal, needed: int) -> str:
    level_f = float(level)
    if n < needed:
        return f"För få för att bedöma (n = {n}, avtalet kräver minst {needed})"
    if low >= level_f:
        return "Uppnått, även med hänsyn till osäkerheten"
    if high < level_f:
        return "Inte uppnått, även med hänsyn till osäkerheten"
    return "Uppnått (inom osäkerheten)" if rate >= level_f else "Inte uppnått (inom osäkerheten)"


def contract_results(contract: Contract, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
    """Every target of the contract, then the default outcome measures it has no target for."""
    targets = {t.indicator: t for t in contract.targets.all()}
    known = all_indicators()
    codes = [c for c in targets if c in known] + [c for c in DEFAULT_INDICATORS if c not in targets]
    with fits_kept_for(contract.municipality_id):  # one save for every indicator's fit
        return [indicator_row(contract, code, date_from, date_to, target=targets.get(code)) for code in codes]


def targets_summaries(contracts: list[Contract], date_from: dt.date, date_to: dt.date) -> dict[int, str]:
    """'k av m mål uppnådda' per contract (pk) for the contract list, in one period for all: two
    grouped counts per indicator named in a target (by contract, by provider), not two per contract."""
    if not contracts:
        return {}
    municipality = contracts[0].municipality
    known = all_indicators()
    codes = sorted({t.indicator for c in contracts for t in c.targets.all() if t.indicator in known})
    counts: dict[str, tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]] = {}
    for code in codes:
        definition = known[code]
        grouped = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                                by=["contract"])  # fmt: skip
        by_provider = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                                by=["provider"])  # fmt: skip
        counts[code] = ({r["contract"]: r for r in grouped}, by_provider)
    out = {}
    with fits_kept_for(municipality.pk):
        for contract in contracts:
            rows = []
            for t in contract.targets.all():
                if t.indicator not in counts:
                    continue
                by_contract, providers = counts[t.indicator]
                mine = by_contract.get(contract.contract_id, {"events": 0, "n": 0})
                rows.append(row_from_counts(known[t.indicator], mine, providers, t))
            out[contract.pk] = summary(rows)
    return out


def summary(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    met = sum(1 for r in rows if r["verdict"].startswith("Uppnått"))
    judged = sum(1 for r in rows if r["verdict"].startswith(("Uppnått", "Inte uppnått")))
    text = f"{met} av {len(rows)} mål uppnådda"
    if judged < len(rows):
        text += f" ({len(rows) - judged} kan inte bedömas)"
    return text
