"""The case-mix adjusted (O/E) comparison on the binomial scale (issue 10 point 4).

Each answer is yes or no, so a provider's count of positive answers O is binomial-like, not
Poisson: the old adjusted view (:func:`~utfall.stats.comparison.compare_ratios`, Poisson
around E) had limits about √(1/(1 − p)) times too wide, three times at a base rate of 0.9,
and found 3 of 60 planted providers where the unadjusted view found 17.

Here the adjusted comparison is the unadjusted one with each provider's case mix as an
offset on the logit scale (:func:`~utfall.stats.casemix.adjusted_offsets`,
oᵢ = logit(Eᵢ/nᵢ) − logit(ΣE/Σn)): a provider's true rate is expit(c + oᵢ + τu). Its
*indirectly standardised rate* rᵢ = expit(logit(Oᵢ/nᵢ) − oᵢ) is what it would have had with
the municipality's average case mix; the funnel (any overdispersion method, the same as the
unadjusted view) is fitted to the rᵢ at their nᵢ, and each provider's limits are mapped back
through its own offset to the O/E scale: O/E = expit(logit(limit) + oᵢ)·nᵢ/Eᵢ. The flag is
therefore the offset model's flag exactly (the map is monotone). With no case mix every
offset is 0 and the adjusted view flags exactly the providers the unadjusted view flags.

The provider's own interval is the Wilson interval of O/n scaled by n/E
(:func:`~utfall.stats.casemix.binomial_oe_interval`). The funnel drawn in the chart is the
one for an average case mix (offset 0): limits at n = E/(ΣE/Σn), divided by the overall rate.

Validated: with no case mix the rows' flags equal :func:`compare_proportions`' and the limits
are its limits divided by the overall rate; at base 0.9 it finds planted providers about as
often as the unadjusted view while the Poisson view finds fewer than half
(``tests/stats/test_adjusted.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from utfall.stats.casemix import binomial_oe_interval
from utfall.stats.comparison import (
    _DECIMALS,
    RATIO_ROW_KEYS,
    Comparison,
    _column,
    _counts,
    _prepare,
    _rows,
    round_column,
    shown_in_the_end,
)
from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion import DEFAULT_METHOD, fit_overdispersion
from utfall.stats.overdispersion.limits import OverdispersionFit
from utfall.stats.suppression import DEFAULT_MIN_N, suppress

__all__ = ["AdjustedComparison", "AverageMixFunnel", "compare_adjusted"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class AverageMixFunnel:
    """The adjusted funnel for a provider with the average case mix, on the O/E scale against E
    (what the chart draws). Such a provider with n answers has E = n·overall, and its limits
    are the fit's at n divided by the overall rate. A binomial funnel has limits at whole n
    only (the adaptive limits are NaN at any other size), so the chart's lines are drawn at
    whole n, at E = n·overall (:meth:`chart_sizes`, :meth:`limits_at`): drawn at E/overall
    itself, the O/E chart had no lines from 2026-12-02, when the adaptive limits became the
    default, to 2026-12-06 (tests/stats/test_adjusted_chart.py)."""

    fit: OverdispersionFit
    overall: float

    def chart_sizes(self, expected: ArrayLike) -> FloatArray:
        """The whole average-case-mix sizes n at which a chart of points at these E draws its
        lines (:func:`~utfall.stats.funnels.chart_sizes` of E/overall, whole); a line's point
        at n is drawn at E = n·overall."""
        return chart_sizes(np.asarray(expected, dtype=np.float64) / self.overall, whole=True)

    def limits_at(self, n: ArrayLike, level: float = 0.998) -> tuple[FloatArray, FloatArray]:
        """The O/E limits of a provider with the average case mix and ``n`` (whole) answers."""
        low, high = self.fit.limits(n, level)
        return np.asarray(low) / self.overall, np.asarray(high) / self.overall

    def prepare(self, n: ArrayLike, levels: tuple[float, ...]) -> None:
        """Work out the limits at these n and levels in one search (:meth:`OverdispersionFit.prepare`)."""
        self.fit.prepare(n, levels)


@dataclass(frozen=True)
class AdjustedComparison:
    """The comparison (rows with :data:`RATIO_ROW_KEYS`, suppressed) and what the assessment
    columns need: the fit on standardised rates, the standardised counts and the overall rate."""

    comparison: Comparison
    fit: OverdispersionFit | None
    overall: float
    standardised_events: FloatArray
    n: FloatArray
    used: NDArray[np.int64]

    @property
    def funnel(self) -> AverageMixFunnel | None:
        return None if self.fit is None else AverageMixFunnel(self.fit, self.overall)


def _to_ratio(limit: FloatArray, offset: FloatArray, n: FloatArray, e: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = special.expit(special.logit(np.clip(limit, 0.0, 1.0)) + offset)
        return np.asarray(rate * n / e)


def compare_adjusted(
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
    reference: AdjustedComparison | None = None,
    hidden: Sequence[bool] | None = None,
    chart: bool = False,
    row_limits: bool = True,
) -> AdjustedComparison:
    """Compare case-mix adjusted O/E of yes/no answers with binomial funnel limits.

    Rows as :func:`~utfall.stats.comparison.compare_ratios` (keys :data:`RATIO_ROW_KEYS`):
    O/E with the binomial (Wilson) interval at ``level``; 95 % and 99.8 % limits of the
    provider's own O/E from the offset random-effects funnel; flag; suppression on ``n``.
    ``target`` is an O/E (default estimated, about 1).

    ``reference``: the adjusted comparison of the full population (issue 10.1): its fit and
    overall rate are used instead of fitting on these groups (whose E must come from the
    reference's case-mix model), a group hidden there is hidden here, and only its outliers
    among these groups are named.

    ``hidden``: groups hidden by the disclosure control of linked tables; like every group
    the suppression hides, they are left out of the fit and the overall rate (issue 10.6).

    ``chart``: these rows will be drawn as a funnel chart on a page that shows no row's 95 %
    limits (the O/E comparison page: its table, chart and downloads show the 99.8 % limits and
    the flags). The chart's limits (:meth:`AverageMixFunnel.chart_sizes` of the drawn rows' E)
    are worked out with the rows' 99.8 % ones in one search, and the rows' ``lower_95`` and
    ``upper_95`` are left None (not searched; 2026-12-06, as ``compare_proportions``' chart
    since cmp7). Only a speed matter for what the page shows (tests/stats/test_adjusted_chart.py).
    With a ``reference`` the chart draws these rows against the reference's funnel (a unit
    manager's page): the rows shown in the end (``stats.comparison.shown_in_the_end``).

    ``row_limits=False``: no row's limits and no flag are searched (left None): a reference whose
    own rows a page does not show, read only for its fit, overall rate, outliers and hidden groups
    (the unit manager's O/E page, 2026-12-06).
    """
    o, e, m = _prepare(groups, observed, expected, n)
    if np.any(o < 0) or np.any(e < 0) or np.any(m < 0) or np.any(o > m) or np.any(e > m):
        raise ValueError("counts must satisfy 0 <= observed, expected <= n")
    blank = [{"group": g, "n": int(v), "suppressed": bool(h)}
             for g, v, h in zip(groups, m.tolist(), hidden or [False] * len(groups), strict=True)]  # fmt: skip
    shown = np.array(
        [not r["suppressed"] for r in suppress(blank, min_n=min_n, secondary=secondary)], dtype=bool
    )
    has = (m > 0) & (e > 0)
    fitted = has & shown
    overall = float(e[fitted].sum() / m[fitted].sum()) if fitted.any() else 0.0
    if reference is not None:
        overall = reference.overall
    offset = np.zeros(o.shape)
    rate_std = np.zeros(o.shape)
    if 0.0 < overall < 1.0:
        # Each group's case mix as a logit offset from the (reference's) overall rate; with the
        # groups' own overall rate this is casemix.adjusted_offsets.
        ratio = np.clip(e[has] / m[has], 1e-12, 1 - 1e-12)
        offset[has] = special.logit(ratio) - special.logit(overall)
        with np.errstate(divide="ignore"):
            rate_std[has] = special.expit(special.logit(o[has] / m[has]) - offset[has])
    x_std = rate_std * m
    # Whole counts stay whole (no case mix: exactly the unadjusted counts, not 1e-13 off them).
    whole = np.round(x_std)
    x_std = np.where(np.abs(x_std - whole) < 1e-9, whole, x_std)
    rate_std = np.divide(x_std, m, out=np.zeros(m.shape), where=m > 0)
    used = np.flatnonzero((m >= min_n) & fitted)
    fit = None
    excluded: list[str] = []
    if reference is not None:
        fit = reference.fit
        mine = set(groups)
        excluded = [g for g in reference.comparison.overdispersion["excluded"] if g in mine]
    elif used.size and 0.0 < overall < 1.0:
        t = None if target is None else target * overall
        fit = fit_overdispersion(x_std[used], m[used], kind="proportion", method=overdispersion, target=t)
        excluded = [groups[int(used[i])] for i in fit.excluded]
    ci_lo, ci_hi = binomial_oe_interval(o, np.where(has, e, np.nan), m, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = o / e
    keys = ("lower_95", "upper_95", "lower_998", "upper_998", "flag")
    limits: dict[str, list[object]] = {key: [None] * o.size for key in keys}
    idx = np.flatnonzero(has)
    if fit is not None and idx.size and row_limits:
        levels = [(0.95, "lower_95", "upper_95"), (0.998, "lower_998", "upper_998")]
        drawn = np.zeros(0)
        if chart:
            # The points the chart draws: shown in the end (with a reference: its hidden groups
            # hidden too, as below), with an O/E and an E that is not 0 as the output rounds it.
            there = reference.comparison.rows if reference is not None else ()
            points = has & shown_in_the_end(m, shown, groups, there, min_n, secondary)
            drawn = np.asarray(round_column(e[points].tolist(), _DECIMALS["expected"]), dtype=np.float64)
            drawn = drawn[drawn != 0]
        if drawn.size:
            # 95 % at the chart's sizes only, 99.8 % at the rows' and the chart's, in one search;
            # the page shows no row's 95 % limits (left None), as compare_proportions (cmp7).
            grid = AverageMixFunnel(fit, overall).chart_sizes(drawn)
            fit.prepare_levels({0.95: grid, 0.998: np.concatenate([m[idx], grid])})
            levels = levels[1:]
        else:
            fit.prepare(m[idx], (0.95, 0.998))  # both levels in one search, as compare_proportions
        everywhere = np.ones(idx.size, dtype=bool)
        for lvl, lo_key, hi_key in levels:
            lo, hi = fit.limits(m[idx], lvl)
            lo_r = _to_ratio(np.asarray(lo), offset[idx], m[idx], e[idx])
            hi_r = _to_ratio(np.asarray(hi), offset[idx], m[idx], e[idx])
            for i, a, b in zip(
                idx.tolist(), _column(lo_r, everywhere), _column(hi_r, everywhere), strict=True
            ):
                limits[lo_key][i], limits[hi_key][i] = a, b
            if lvl == 0.998:
                # The flag on the standardised rate is the flag on O/E (a monotone map).
                for i, v, a, b in zip(
                    idx.tolist(), rate_std[idx], np.asarray(lo), np.asarray(hi), strict=True
                ):
                    limits["flag"][i] = "low" if v < a else "high" if v > b else None
    columns: dict[str, list[object]] = {
        "group": list(groups),
        "n": [int(v) for v in m.tolist()],
        "observed": list(_counts(o)),
        "expected": list(_column(e, np.ones(e.shape, dtype=bool))),
        "ratio": list(_column(np.asarray(ratio), has)),
        "ci_low": list(_column(np.asarray(ci_lo), has)),
        "ci_high": list(_column(np.asarray(ci_hi), has)),
        **limits,
    }
    rows = _rows(RATIO_ROW_KEYS, columns, len(groups))  # type: ignore[arg-type]
    rows = [{**r, "suppressed": True} if not s else r for r, s in zip(rows, shown.tolist(), strict=True)]
    if reference is not None:
        # A group hidden in the full comparison stays hidden from a partial view.
        hidden_there = {r["group"] for r in reference.comparison.rows if r["suppressed"]}
        rows = [{**r, "suppressed": True} if r["group"] in hidden_there else r for r in rows]
    rows = suppress(rows, min_n=min_n, secondary=secondary)
    gone = {r["group"] for r in rows if r["suppressed"]}
    if fit is None:
        od: dict[str, object] = {"method": "none", "phi": None, "tau2": None, "excluded": []}
        reference_ratio = None
    else:
        od = dict(fit.as_dict())
        # A group hidden by (secondary) suppression must not be named as an outlier either.
        od["excluded"] = [g for g in excluded if g not in gone]
        reference_ratio = fit.target / overall if overall > 0 else None
    if reference is not None:
        reference_ratio = reference.comparison.target
    comparison = Comparison(target=reference_ratio, overdispersion=od, rows=rows, level=level, fit=fit)
    return AdjustedComparison(comparison, fit, overall, x_std, m, used)
