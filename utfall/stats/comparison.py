"""Provider comparisons: the API the Django side calls.

``compare_proportions`` and ``compare_ratios`` return a :class:`Comparison` whose rows
have fixed keys (:data:`PROPORTION_ROW_KEYS`, :data:`RATIO_ROW_KEYS`) and have already
been through :func:`utfall.stats.suppression.suppress`. ``to_json_dict`` gives the
"Comparison output" shape of spec/interchange-v1.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from utfall.stats.overdispersion import DEFAULT_METHOD, OverdispersionFit, fit_overdispersion
from utfall.stats.proportions import wilson_interval
from utfall.stats.standardisation import poisson_ratio_ci
from utfall.stats.suppression import DEFAULT_MIN_N, suppress

__all__ = [
    "PROPORTION_ROW_KEYS",
    "RATIO_ROW_KEYS",
    "Comparison",
    "compare_proportions",
    "compare_ratios",
]

PROPORTION_ROW_KEYS = (
    "group",
    "n",
    "events",
    "rate",
    "ci_low",
    "ci_high",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "flag",
    "suppressed",
)
RATIO_ROW_KEYS = (
    "group",
    "n",
    "observed",
    "expected",
    "ratio",
    "ci_low",
    "ci_high",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "flag",
    "suppressed",
)

_DECIMALS = {
    "rate": 4,
    "ratio": 4,
    "ci_low": 4,
    "ci_high": 4,
    "lower_95": 4,
    "upper_95": 4,
    "lower_998": 4,
    "upper_998": 4,
    "expected": 2,
}


@dataclass(frozen=True)
class Comparison:
    """Result of a comparison: target, what was done about overdispersion, and the rows."""

    target: float | None
    overdispersion: dict[str, Any]
    rows: list[dict[str, Any]]
    level: float = 0.95
    fit: OverdispersionFit | None = field(default=None, repr=False)

    def to_json_dict(self, indicator: str, from_: str, to: str, by: str) -> dict[str, Any]:
        """The JSON document of spec/interchange-v1.md "Comparison output".

        Rates, limits and intervals are rounded to 4 decimals, φ and τ² to 4 significant
        decimals; suppressed rows carry null in every count, rate and limit.
        """
        od = self.overdispersion
        return {
            "indicator": indicator,
            "from": from_,
            "to": to,
            "by": by,
            "target": _round(self.target, 4),
            "overdispersion": {
                "method": od["method"],
                "phi": _round(od["phi"], 4),
                "tau2": _round(od["tau2"], 4),
                "excluded": list(od["excluded"]),
            },
            "rows": [
                {k: _round(v, _DECIMALS[k]) if k in _DECIMALS else v for k, v in row.items()}
                for row in self.rows
            ],
        }


def _round(value: Any, decimals: int) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, decimals)
    return value


def _clean(value: Any) -> Any:
    """numpy scalars to plain Python; NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _prepare(groups: Sequence[str], *arrays: ArrayLike) -> list[np.ndarray]:
    out = [np.asarray(a, dtype=np.float64) for a in arrays]
    if any(a.shape != (len(groups),) for a in out):
        raise ValueError("groups and every count array must have the same length")
    if len(set(groups)) != len(groups):
        raise ValueError("group names must be unique")
    return out


def compare_proportions(
    groups: Sequence[str],
    events: ArrayLike,
    n: ArrayLike,
    *,
    target: float | None = None,
    level: float = 0.95,
    overdispersion: str = DEFAULT_METHOD,
    min_n: int = DEFAULT_MIN_N,
    secondary: bool = True,
) -> Comparison:
    """Compare groups' proportions with funnel limits that allow for overdispersion.

    Rows (keys :data:`PROPORTION_ROW_KEYS`): Wilson interval at ``level`` (default 95 %),
    funnel limits at the group's n at 95 % and 99.8 % after adjustment, ``flag`` = "low" /
    "high" outside the 99.8 % limits, then suppression (``min_n``, ``secondary``).
    Groups with n < ``min_n`` are left out of the target and the spread estimate (they
    carry almost no information and must not leak through the target). ``target`` fixes
    the centre; by default it is estimated (robust predictive mean, see
    :mod:`utfall.stats.overdispersion`). ``.overdispersion["excluded"]`` names the groups
    left out of the estimate as outliers.

    Validated through its parts (see :func:`~utfall.stats.proportions.wilson_interval`,
    :func:`~utfall.stats.overdispersion.fit_overdispersion`,
    :func:`~utfall.stats.suppression.suppress`); end-to-end by tests of the JSON shape.
    """
    x, m = _prepare(groups, events, n)
    if np.any(m < 0) or np.any(x < 0) or np.any(x > m):
        raise ValueError("counts must satisfy 0 <= events <= n")
    used = np.flatnonzero(m >= min_n)
    fit = None
    if used.size:
        fit = fit_overdispersion(x[used], m[used], kind="proportion", method=overdispersion, target=target)
    ci_lo, ci_hi = wilson_interval(x, m, level)
    rows: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        row: dict[str, Any] = dict.fromkeys(PROPORTION_ROW_KEYS)
        row.update(group=group, n=int(m[i]), events=int(x[i]) if x[i] == int(x[i]) else x[i])
        row["rate"] = x[i] / m[i] if m[i] > 0 else None
        row["ci_low"], row["ci_high"] = (ci_lo[i], ci_hi[i]) if m[i] > 0 else (None, None)
        if fit is not None and m[i] > 0:
            lo95, hi95 = fit.limits(m[i : i + 1], 0.95)
            lo998, hi998 = fit.limits(m[i : i + 1], 0.998)
            row.update(lower_95=lo95[0], upper_95=hi95[0], lower_998=lo998[0], upper_998=hi998[0])
            row["flag"] = fit.flags(x[i : i + 1], m[i : i + 1])[0]
        rows.append({k: _clean(v) for k, v in row.items()})
    return _finish(fit, used, groups, rows, level, min_n, secondary)


def compare_ratios(
    groups: Sequence[str],
    observed: ArrayLike,
    expected: ArrayLike,
    n: ArrayLike,
    *,
    target: float | None = None,
    level: float = 0.95,
    overdispersion: str = DEFAULT_METHOD,
    min_n: int = DEFAULT_MIN_N,
    secondary: bool = True,
) -> Comparison:
    """Compare case-mix adjusted O/E ratios (``expected`` from
    :mod:`utfall.stats.standardisation`) with funnel limits against E.

    Rows (keys :data:`RATIO_ROW_KEYS`): O/E with exact (O < 10) / Byar's interval at
    ``level``; 95 % and 99.8 % limits at the group's E after the same robust
    random-effects adjustment as proportions, on the log scale (Poisson–lognormal); flag;
    suppression on ``n`` (the number of individuals behind the row).

    Validated through :func:`~utfall.stats.standardisation.poisson_ratio_ci`
    (``reference/isr_phe_expected.csv``) and
    :func:`~utfall.stats.overdispersion.fit_overdispersion`.
    """
    o, e, m = _prepare(groups, observed, expected, n)
    if np.any(o < 0) or np.any(e < 0) or np.any(m < 0):
        raise ValueError("observed, expected and n must be non-negative")
    used = np.flatnonzero((m >= min_n) & (e > 0))
    fit = None
    if used.size:
        fit = fit_overdispersion(o[used], e[used], kind="ratio", method=overdispersion, target=target)
    ci = poisson_ratio_ci(o, e, level=level)
    rows: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        row: dict[str, Any] = dict.fromkeys(RATIO_ROW_KEYS)
        row.update(group=group, n=int(m[i]), observed=int(o[i]) if o[i] == int(o[i]) else o[i], expected=e[i])
        if e[i] > 0:
            row.update(ratio=ci["ratio"].iat[i], ci_low=ci["lower"].iat[i], ci_high=ci["upper"].iat[i])
            if fit is not None:
                lo95, hi95 = fit.limits(e[i : i + 1], 0.95)
                lo998, hi998 = fit.limits(e[i : i + 1], 0.998)
                row.update(lower_95=lo95[0], upper_95=hi95[0], lower_998=lo998[0], upper_998=hi998[0])
                row["flag"] = fit.flags(o[i : i + 1], e[i : i + 1])[0]
        rows.append({k: _clean(v) for k, v in row.items()})
    return _finish(fit, used, groups, rows, level, min_n, secondary)


def _finish(
    fit: OverdispersionFit | None,
    used: np.ndarray,
    groups: Sequence[str],
    rows: list[dict[str, Any]],
    level: float,
    min_n: int,
    secondary: bool,
) -> Comparison:
    if fit is None:
        od: dict[str, Any] = {"method": "none", "phi": None, "tau2": None, "excluded": []}
        target = None
    else:
        od = fit.as_dict()
        od["excluded"] = [groups[int(used[i])] for i in fit.excluded]
        target = fit.target
    rows = suppress(rows, min_n=min_n, secondary=secondary)
    hidden = {r["group"] for r in rows if r["suppressed"]}
    # A group hidden by secondary suppression must not be named as an outlier either.
    od["excluded"] = [g for g in od["excluded"] if g not in hidden]
    return Comparison(target=target, overdispersion=od, rows=rows, level=level, fit=fit)
