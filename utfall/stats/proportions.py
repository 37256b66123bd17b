"""Confidence intervals for proportions and for differences of two proportions.

Everything here is vectorised over numpy arrays and never imports Django. A NaN in
``x`` or ``n`` gives NaN out, so a missing group never raises in a batch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

__all__ = [
    "DIFFERENCE_COLUMNS",
    "PROPORTION_COLUMNS",
    "clopper_pearson_interval",
    "newcombe_difference",
    "proportion_ci",
    "wilson_interval",
    "z_for_level",
]

PROPORTION_COLUMNS = ("x", "n", "estimate", "lower", "upper")
DIFFERENCE_COLUMNS = ("x1", "n1", "x2", "n2", "p1", "p2", "estimate", "lower", "upper")

Method = Literal["wilson", "clopper-pearson"]


@lru_cache(maxsize=64)
def z_for_level(level: float) -> float:
    """Two-sided normal quantile for a confidence level in (0, 1), e.g. 0.95 -> 1.959964.

    Remembered per level (a page asks for two or three levels, ~100 times; scipy's ``ppf`` takes
    ~0.1 ms a call, the value is the same each time; 2026-12-07)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be strictly between 0 and 1, got {level!r}")
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _as_float(a: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(a, dtype=np.float64)


def _check_counts(x: NDArray[np.float64], n: NDArray[np.float64]) -> None:
    with np.errstate(invalid="ignore"):
        if np.any(x < 0) or np.any(n < 0):
            raise ValueError("counts must be non-negative")
        if np.any(x > n):
            raise ValueError("the number of events cannot exceed n")


def wilson_interval(
    x: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wilson score interval for x events out of n, at any confidence level.

    ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``; x may be non-integer (as in
    PHEindicatormethods). n = 0 gives (0, 1); NaN gives NaN.

    Validated against ``reference/wilson_phe.csv`` (PHEindicatormethods, 95 % and 99.8 %,
    including x = 0.445, n = 1 and n = 7.6e9; abs/rel 1e-9) and the ``wilson`` rows of
    ``reference/binom_confint_R.csv`` (R binom::binom.confint; 1e-9, 5e-7 for n = 30).
    """
    xa, na = np.broadcast_arrays(_as_float(x), _as_float(n))
    _check_counts(xa, na)
    z = z_for_level(level)
    z2 = z * z
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = np.clip(z2 + 4.0 * xa * (1.0 - xa / na), 0.0, None)
        centre = 2.0 * xa + z2
        half = z * np.sqrt(inner)
        denom = 2.0 * (na + z2)
        lower = (centre - half) / denom
        upper = (centre + half) / denom
    empty = na == 0
    lower = np.where(empty, 0.0, lower)
    upper = np.where(empty, 1.0, upper)
    return np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def clopper_pearson_interval(
    x: ArrayLike, n: ArrayLike, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Clopper–Pearson ("exact") equal-tailed interval: Beta(α/2; x, n−x+1), Beta(1−α/2; x+1, n−x).

    The bounds are 0 at x = 0 and 1 at x = n. Non-integer x is accepted (the beta
    quantiles are continuous in x).

    Validated against the ``exact`` rows of ``reference/binom_confint_R.csv``
    (R binom::binom.confint; rel 1e-9, 5e-7 for the n = 30 cases).
    """
    xa, na = np.broadcast_arrays(_as_float(x), _as_float(n))
    _check_counts(xa, na)
    alpha = 1.0 - level
    z_for_level(level)  # validates the level
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = special.betaincinv(xa, na - xa + 1.0, alpha / 2.0)
        upper = special.betaincinv(xa + 1.0, na - xa, 1.0 - alpha / 2.0)
    lower = np.where(xa == 0, 0.0, lower)
    upper = np.where(xa == na, 1.0, upper)
    nan = np.isnan(xa) | np.isnan(na)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def proportion_ci(
    x: ArrayLike,
    n: ArrayLike,
    *,
    level: float = 0.95,
    method: Method = "wilson",
) -> pd.DataFrame:
    """Estimate and interval for each proportion, as a table.

    Columns: ``x, n, estimate, lower, upper``. ``method`` is ``"wilson"`` (default; good
    coverage at small n, never outside [0, 1]) or ``"clopper-pearson"`` (conservative).

    Validated as :func:`wilson_interval` and :func:`clopper_pearson_interval`.
    """
    xa, na = np.broadcast_arrays(np.atleast_1d(_as_float(x)), np.atleast_1d(_as_float(n)))
    if method == "wilson":
        lower, upper = wilson_interval(xa, na, level)
    elif method == "clopper-pearson":
        lower, upper = clopper_pearson_interval(xa, na, level)
    else:
        raise ValueError(f"unknown method {method!r}; use 'wilson' or 'clopper-pearson'")
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = np.where(na > 0, xa / np.where(na > 0, na, 1.0), np.nan)
    return pd.DataFrame(
        {"x": xa, "n": na, "estimate": estimate, "lower": lower, "upper": upper},
        columns=list(PROPORTION_COLUMNS),
    )


def newcombe_difference(
    x1: ArrayLike,
    n1: ArrayLike,
    x2: ArrayLike,
    n2: ArrayLike,
    *,
    level: float = 0.95,
) -> pd.DataFrame:
    """Difference p1 − p2 with Newcombe's hybrid score interval (method 10, Newcombe 1998).

    With Wilson bounds (l1, u1), (l2, u2) of each proportion:
    lower = d − sqrt((p1 − l1)² + (u2 − p2)²), upper = d + sqrt((u1 − p1)² + (p2 − l2)²).
    Used for women vs men and this period vs the last. Columns:
    ``x1, n1, x2, n2, p1, p2, estimate, lower, upper``.

    Validated against Newcombe (1998) Stat Med 17:873, Table II, method 10 (all eight
    examples, 4 dp, abs 5e-5) and statsmodels ``confint_proportions_2indep(method="newcomb")``
    (abs 1e-12). No file in ``reference/`` covers it.
    """
    a1, b1, a2, b2 = np.broadcast_arrays(*(np.atleast_1d(_as_float(v)) for v in (x1, n1, x2, n2)))
    l1, u1 = wilson_interval(a1, b1, level)
    l2, u2 = wilson_interval(a2, b2, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(b1 > 0, a1 / np.where(b1 > 0, b1, 1.0), np.nan)
        p2 = np.where(b2 > 0, a2 / np.where(b2 > 0, b2, 1.0), np.nan)
        d = p1 - p2
        lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return pd.DataFrame(
        {
            "x1": a1,
            "n1": b1,
            "x2": a2,
            "n2": b2,
            "p1": p1,
            "p2": p2,
            "estimate": d,
            "lower": np.clip(lower, -1.0, 1.0),
            "upper": np.clip(upper, -1.0, 1.0),
        },
        columns=list(DIFFERENCE_COLUMNS),
    )
