"""Funnel-plot control limits without overdispersion: proportions and O/E ratios.

Two families of proportion limits around a target p0:

* ``"normal"``: Spiegelhalter (2005), p0 ± z·sqrt(p0(1 − p0)/n).
* ``"phe"``: PHEindicatormethods' Wilson inversion — the observed proportion at which
  the Wilson interval of p̂ just touches p0 (closed form of PHE's ``sigma_adjustment``).

Both are clipped to [0, 1]. Limits for a provider comparison that allow for real
between-provider spread live in :mod:`utfall.stats.overdispersion`; these are the
building blocks and the reference implementations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from utfall.stats.proportions import wilson_interval, z_for_level
from utfall.stats.standardisation import poisson_ratio_ci

__all__ = [
    "FUNNEL_COLUMNS",
    "LEVELS",
    "chart_sizes",
    "exact_poisson_ratio_limits",
    "normal_proportion_limits",
    "phe_axis_grid",
    "phe_proportion_limits",
    "phe_ratio_limits_by_observed",
    "proportion_funnel",
    "proportion_significance",
    "ratio_significance",
]

#: The two funnel levels used everywhere: 95 % ("2 sigma") and 99.8 % ("3 sigma").
LEVELS = (0.95, 0.998)
FUNNEL_COLUMNS = ("n", "target", "lower_95", "upper_95", "lower_998", "upper_998")

FloatArray = NDArray[np.float64]

#: Points of a funnel chart's limit lines.
CHART_POINTS = 80


def chart_sizes(sizes: ArrayLike, *, whole: bool) -> FloatArray:
    """The sizes (n, or E for ratios) at which a funnel chart draws its limit lines:
    :data:`CHART_POINTS` geometric steps from 0.9 × the smallest drawn size (at least 1) to
    1.05 × the largest, rounded to distinct whole numbers when ``whole`` (proportions: limits
    exist at whole n only). ``sizes`` are the sizes of the points drawn (not empty).

    One definition for the chart (``results.charts.funnel``) and the comparison, which works
    out the limits at these sizes in the same search as its rows' (2026-12-04, branch cmp3:
    a second search for the chart's few new sizes cost nearly as much as the first)."""
    m = np.asarray(sizes, dtype=np.float64)
    grid = np.geomspace(max(float(m.min()) * 0.9, 1.0), float(m.max()) * 1.05, CHART_POINTS)
    return np.unique(np.round(grid)) if whole else grid


def normal_proportion_limits(
    target: float, n: ArrayLike, level: float = 0.998
) -> tuple[FloatArray, FloatArray]:
    """Spiegelhalter's normal-approximation limits p0 ± z·sqrt(p0(1 − p0)/n), clipped to [0, 1].

    Validated by identity: the Wilson interval of a p̂ on this limit has p0 as its bound
    (score-test inversion), checked in tests to 1e-12; no external vector exists.
    """
    z = z_for_level(level)
    na = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(target * (1.0 - target) / na)
    return np.clip(target - half, 0.0, 1.0), np.clip(target + half, 0.0, 1.0)


def phe_proportion_limits(target: float, n: ArrayLike, level: float = 0.998) -> tuple[FloatArray, FloatArray]:
    """PHE's Wilson-inversion funnel limits (``sigma_adjustment``), clipped to [0, 1].

    With z = Φ⁻¹(0.5 + level/2), a = n/z² + 1 and b = 1/z² + 1/n, the limits are
    ``(p0·a ∓ sqrt((p0·a)² − b·p0·(n(p0(n/z² + 2) − 1) + z²(p0 − 1)))) / (b·n)``.

    Validated against ``reference/funnel_phe_proportion_limits.csv`` (×100 scale, abs 5e-7)
    and ``..._axis_variation.csv`` (abs 5e-9), PHEindicatormethods.
    """
    z = z_for_level(level)
    z2 = z * z
    na = np.asarray(n, dtype=np.float64)
    p0 = float(target)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = na / z2 + 1.0
        b = 1.0 / z2 + 1.0 / na
        first = p0 * a
        disc = first**2 - b * p0 * (na * (p0 * (na / z2 + 2.0) - 1.0) + z2 * (p0 - 1.0))
        root = np.sqrt(np.clip(disc, 0.0, None))
        lower = (first - root) / b / na
        upper = (first + root) / b / na
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def proportion_funnel(
    n: ArrayLike,
    target: float,
    *,
    method: Literal["phe", "normal"] = "phe",
) -> pd.DataFrame:
    """95 % and 99.8 % limits at each n, as a table with columns :data:`FUNNEL_COLUMNS`.

    Validated as :func:`phe_proportion_limits` / :func:`normal_proportion_limits`.
    """
    fn = phe_proportion_limits if method == "phe" else normal_proportion_limits
    if method not in ("phe", "normal"):
        raise ValueError(f"unknown method {method!r}; use 'phe' or 'normal'")
    na = np.atleast_1d(np.asarray(n, dtype=np.float64))
    lo95, hi95 = fn(target, na, 0.95)
    lo998, hi998 = fn(target, na, 0.998)
    return pd.DataFrame(
        {
            "n": na,
            "target": float(target),
            "lower_95": lo95,
            "upper_95": hi95,
            "lower_998": lo998,
            "upper_998": hi998,
        },
        columns=list(FUNNEL_COLUMNS),
    )


def _signif(x: float, digits: int, fn: Callable[[float], int]) -> float:
    if x == 0:
        return 0.0
    scale = 10.0 ** (digits - 1 - math.floor(math.log10(abs(x))))
    return float(fn(x * scale) / scale)


def phe_axis_grid(denominators: ArrayLike, points: int = 100) -> FloatArray:
    """PHE's geometric grid of ``points`` denominators for drawing a funnel.

    From max(1, axis_min) to signif_ceiling(1.05·max, 2 digits); axis_min is 0 when
    max > 2·min, else signif_floor(0.95·min, 1 digit). Each next point is
    ``max(round((axis_max/prev)^(1/(points + 1 − j))·prev), prev + 1)``.

    Validated against the ``population`` columns of ``reference/funnel_phe_proportion_limits*.csv``
    (exact).
    """
    den = np.asarray(denominators, dtype=np.float64)
    den = den[~np.isnan(den)]
    lo, hi = float(den.min()), float(den.max())
    axis_min = 0.0 if hi > 2 * lo else _signif(0.95 * lo, 1, math.floor)
    axis_max = _signif(1.05 * hi, 2, math.ceil)
    grid = [max(1.0, axis_min)]
    for j in range(2, points + 1):
        prev = grid[-1]
        step = (axis_max / prev) ** (1.0 / (points + 1 - j)) * prev
        # R's round() is half-to-even like Python's.
        grid.append(max(float(round(step)), prev + 1.0))
    return np.asarray(grid)


def proportion_significance(x: ArrayLike, n: ArrayLike, target: float) -> NDArray[np.object_]:
    """PHE's funnel band of each proportion against ``target``.

    One of ``"High (0.001)"``, ``"High (0.025)"``, ``"Low (0.001)"``, ``"Low (0.025)"``,
    ``"Not significant"``; the 99.8 % test takes precedence. Equivalent to comparing
    p̂ with the Wilson-inversion limits at its own n.

    Validated against ``reference/funnel_phe_proportion_inputs.csv`` (all 303 bands, exact).
    """
    xa = np.asarray(x, dtype=np.float64)
    na = np.asarray(n, dtype=np.float64)
    out = np.full(xa.shape, "Not significant", dtype=object)
    for level, label in ((0.95, "0.025"), (0.998, "0.001")):
        lo, hi = wilson_interval(xa, na, level)
        out[lo > target] = f"High ({label})"
        out[hi < target] = f"Low ({label})"
    return out


def exact_poisson_ratio_limits(
    expected: ArrayLike, level: float = 0.998, target: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """Exact-Poisson funnel limits for O/E plotted against E (FunnelPlotR, ``data_type="SR"``).

    lower = χ²(α/2; 2E·t)/(2E), upper = χ²(1 − α/2; 2E·t + 2)/(2E) for target t.

    Validated against ``poisson_limits_SR_unadjusted`` in
    ``reference/funnelplotr_overdispersion.json`` (rounded to 7/6 dp as asserted there).
    """
    alpha = 1.0 - level
    e = np.asarray(expected, dtype=np.float64)
    mu = e * target
    lower = stats.chi2.ppf(alpha / 2.0, 2.0 * mu) / 2.0 / e
    upper = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * mu + 2.0) / 2.0 / e
    return lower, upper


def phe_ratio_limits_by_observed(observed: ArrayLike, level: float = 0.998) -> tuple[FloatArray, FloatArray]:
    """PHE's ratio funnel indexed by O: the E at which O sits on the lower / upper limit.

    lower E = χ²(1 − α/2; 2O + 2)/2 (exact Poisson upper bound of O), upper E =
    χ²(α/2; 2O)/2. O/E at these E are the limits on the ratio scale.

    Validated against ``reference/funnel_phe_ratio_limits.csv`` (rel 5e-5 at O = 1, else
    4e-6: PHE finds E by bisection, see the reference README).
    """
    alpha = 1.0 - level
    o = np.asarray(observed, dtype=np.float64)
    lower_e = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
    upper_e = stats.chi2.ppf(alpha / 2.0, 2.0 * o) / 2.0
    return lower_e, upper_e


def ratio_significance(observed: ArrayLike, expected: ArrayLike, target: float = 1.0) -> NDArray[np.object_]:
    """PHE's band of O/E against ``target``: exact Poisson CI for O < 10, Byar's for O ≥ 10.

    Validated against ``reference/funnel_phe_ratio_inputs.csv`` (all 300 bands, exact).
    """
    o = np.asarray(observed, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    out = np.full(o.shape, "Not significant", dtype=object)
    for level, label in ((0.95, "0.025"), (0.998, "0.001")):
        ci = poisson_ratio_ci(o, e, level=level)
        out[ci["lower"].to_numpy() > target] = f"High ({label})"
        out[ci["upper"].to_numpy() < target] = f"Low ({label})"
    return out
