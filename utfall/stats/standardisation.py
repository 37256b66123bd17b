"""Indirect standardisation: expected events from case mix, O/E ratios with exact intervals.

Expected events come either from reference rates per stratum (PHE's ISR) or from a
logistic case-mix model fitted on aggregated cells (statsmodels GLM, binomial family).
Observed/expected ratios get PHE's intervals: exact Poisson (χ²) for O < 10 and Byar's
approximation for O ≥ 10.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from utfall.stats.proportions import z_for_level

__all__ = [
    "RATIO_COLUMNS",
    "expected_from_case_mix",
    "expected_from_reference_rates",
    "poisson_count_interval",
    "poisson_ratio_ci",
]

RATIO_COLUMNS = ("observed", "expected", "ratio", "lower", "upper", "method")
EXPECTED_COLUMNS = ("group", "n", "observed", "expected")

#: Below this many observed events the interval is exact Poisson, at or above it Byar's.
BYARS_FROM = 10


def poisson_count_interval(
    observed: ArrayLike, level: float = 0.95
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Interval for a Poisson count O: exact (χ²) when O < 10, Byar's when O ≥ 10 (as PHE).

    exact: χ²(α/2; 2O)/2 (0 at O = 0), χ²(1 − α/2; 2O + 2)/2.
    Byar's: O(1 − 1/(9O) − z/(3√O))³, (O + 1)(1 − 1/(9(O + 1)) + z/(3√(O + 1)))³.

    Validated through :func:`poisson_ratio_ci` against ``reference/isr_phe_expected.csv``.
    """
    o = np.asarray(observed, dtype=np.float64)
    z = z_for_level(level)
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        exact_lo = np.where(o > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * o) / 2.0, 0.0)
        exact_hi = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * o + 2.0) / 2.0
        byars_lo = o * (1.0 - 1.0 / (9.0 * o) - z / (3.0 * np.sqrt(o))) ** 3
        byars_hi = (o + 1.0) * (1.0 - 1.0 / (9.0 * (o + 1.0)) + z / (3.0 * np.sqrt(o + 1.0))) ** 3
    use_byars = o >= BYARS_FROM
    return np.where(use_byars, byars_lo, exact_lo), np.where(use_byars, byars_hi, exact_hi)


def poisson_ratio_ci(
    observed: ArrayLike,
    expected: ArrayLike,
    *,
    level: float = 0.95,
    refvalue: float = 1.0,
) -> pd.DataFrame:
    """O/E (times ``refvalue``) with its interval; columns :data:`RATIO_COLUMNS`.

    ``method`` is ``"exact"`` for O < 10 and ``"byars"`` for O ≥ 10. Multiply by a reference
    rate to get PHE's indirectly standardised rate.

    Validated against ``reference/isr_phe_expected.csv`` (PHEindicatormethods
    ``calculate_ISRatio``/``calculate_ISRate``: ratios ×1 and ×100, rates per 1000 and
    100000, 95 % and 99.8 %; rel 1e-9).
    """
    o = np.atleast_1d(np.asarray(observed, dtype=np.float64))
    e = np.atleast_1d(np.asarray(expected, dtype=np.float64))
    lo, hi = poisson_count_interval(o, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = o / e * refvalue
        lower = lo / e * refvalue
        upper = hi / e * refvalue
    return pd.DataFrame(
        {
            "observed": o,
            "expected": e,
            "ratio": ratio,
            "lower": lower,
            "upper": upper,
            "method": np.where(o >= BYARS_FROM, "byars", "exact"),
        },
        columns=list(RATIO_COLUMNS),
    )


def expected_from_reference_rates(
    cells: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    group: str = "group",
    stratum: str = "stratum",
    events: str = "events",
    n: str = "n",
    ref_events: str = "ref_events",
    ref_n: str = "ref_n",
) -> pd.DataFrame:
    """E per group = Σ over strata of n × (reference events / reference n) (PHE's ISR).

    A missing count or n counts as 0. Returns columns ``group, n, observed, expected``.

    Validated against ``reference/isr_phe_inputs.csv`` + ``isr_phe_refdata.csv`` →
    ``isr_phe_expected.csv`` (E = 835.88356123117433 for each area; rel 1e-12).
    """
    rates = reference.set_index(stratum)[ref_events] / reference.set_index(stratum)[ref_n]
    df = cells.copy()
    df[events] = df[events].fillna(0)
    df[n] = df[n].fillna(0)
    df["_e"] = df[n] * df[stratum].map(rates)
    if df["_e"].isna().any():
        missing = sorted(set(df.loc[df["_e"].isna(), stratum]))
        raise ValueError(f"no reference rate for strata {missing}")
    out = df.groupby(group, sort=False).agg(n=(n, "sum"), observed=(events, "sum"), expected=("_e", "sum"))
    return out.reset_index().rename(columns={group: "group"})[list(EXPECTED_COLUMNS)]


def expected_from_case_mix(
    cells: pd.DataFrame,
    covariates: Sequence[str],
    *,
    group: str = "group",
    events: str = "events",
    n: str = "n",
) -> pd.DataFrame:
    """Expected events per group from a logistic case-mix model on aggregated cells.

    ``cells`` has one row per (group, covariate levels) with ``events`` out of ``n``. A
    binomial GLM with a main effect per categorical covariate (not the group) is fitted
    on all cells; E per group = Σ over its cells of n·p̂. Returns ``group, n, observed,
    expected``. With the model's intercept, ΣO = ΣE over all groups.

    Validated by the identity with PHE's reference-rate E: a saturated single-stratum
    model reproduces ``expected_from_reference_rates`` on ``reference/isr_phe_*.csv``
    (strata with a non-zero reference rate; rel 1e-6). No external logistic vector exists.
    """
    if not covariates:
        raise ValueError("name at least one case-mix covariate")
    df = cells.loc[cells[n] > 0].copy()
    design = pd.get_dummies(df[list(covariates)].astype("category"), drop_first=True, dtype=np.float64)
    design.insert(0, "const", 1.0)
    # The model has no group term, so cells of one covariate pattern share p̂ and the binomial
    # likelihood depends on them only through their summed counts: the fit is made on one row
    # per pattern (the same maximum; at a million follow-ups ~300 rows instead of ~20,000) and
    # p̂ is then put back on every cell.
    pattern = design.columns.tolist()
    collapsed = design.assign(_x=df[events].to_numpy(float), _m=df[n].to_numpy(float))
    collapsed = collapsed.groupby(pattern, sort=False, as_index=False)[["_x", "_m"]].sum()
    endog = np.column_stack([collapsed["_x"].to_numpy(), (collapsed["_m"] - collapsed["_x"]).to_numpy()])
    result = sm.GLM(endog, collapsed[pattern].to_numpy(), family=sm.families.Binomial()).fit()
    df["_e"] = df[n].to_numpy(float) * result.predict(design.to_numpy())
    out = df.groupby(group, sort=False).agg(n=(n, "sum"), observed=(events, "sum"), expected=("_e", "sum"))
    return out.reset_index().rename(columns={group: "group"})[list(EXPECTED_COLUMNS)]
