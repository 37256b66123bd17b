"""Indirect standardisation: expected events from case mix, O/E ratios with exact intervals.

Expected events come either from reference rates per stratum (PHE's ISR) or from a
logistic case-mix model fitted on aggregated cells (statsmodels GLM, binomial family).
Observed/expected ratios get PHE's intervals: exact Poisson (χ²) for O < 10 and Byar's
approximation for O ≥ 10.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from utfall.stats.overdispersion.store import kept_result
from utfall.stats.proportions import z_for_level

__all__ = [
    "RATIO_COLUMNS",
    "case_mix_expected",
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
    fitted: NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """Expected events per group from a logistic case-mix model on aggregated cells.

    ``cells`` has one row per (group, covariate levels) with ``events`` out of ``n``. A
    binomial GLM with a main effect per categorical covariate (not the group) is fitted
    on all cells; E per group = Σ over its cells of n·p̂. Returns ``group, n, observed,
    expected``. With the model's intercept, ΣO = ΣE over all groups. The group and the
    covariates may be categorical columns (the same figures as their values as text, to the
    last bit: ``tests/stats/test_standardisation.py``).

    Validated by the identity with PHE's reference-rate E: a saturated single-stratum
    model reproduces ``expected_from_reference_rates`` on ``reference/isr_phe_*.csv``
    (strata with a non-zero reference rate; rel 1e-6). No external logistic vector exists.

    ``fitted``: :func:`case_mix_expected` of the same cells and covariates, when the caller has
    it already (the model does not depend on the group: the same cells grouped another way need
    no second fit; the same numbers to the last bit).
    """
    expected = case_mix_expected(cells, covariates, events=events, n=n) if fitted is None else fitted
    return _group_expected(cells.loc[cells[n] > 0], expected, group, events, n)


def case_mix_expected(
    cells: pd.DataFrame, covariates: Sequence[str], *, events: str = "events", n: str = "n"
) -> NDArray[np.float64]:
    """n·p̂ of each cell with n > 0 (``cells.loc[cells[n] > 0]``, in its order), p̂ from the
    logistic case-mix model of :func:`expected_from_case_mix` (main effects of the covariates,
    no group term), fitted on all those cells."""
    if not covariates:
        raise ValueError("name at least one case-mix covariate")
    df = cells.loc[cells[n] > 0]
    # The model has no group term, so cells of one covariate pattern share p̂ and the binomial
    # likelihood depends on them only through their summed counts: the fit is made on one row
    # per pattern (the same maximum; at a million follow-ups ~170 rows instead of ~30,000) and
    # p̂ is then put back on every cell. The patterns are found from each covariate's codes
    # (its levels sorted, as ``pd.get_dummies`` of a categorical orders them), in order of first
    # appearance, with the design of main effects (the first level dropped) built for them
    # alone: the same design, rows and sums as grouping the dummies of every cell, without
    # them (2026-12-04, oe2: ~20 → ~10 ms for 17,500 cells; bit-identical, the design passed in
    # Fortran order as the data frame's was, since the fit's arithmetic follows the layout).
    codes: list[NDArray[np.int64]] = []
    sizes: list[int] = []
    for covariate in covariates:
        code, size = _sorted_codes(df[covariate])
        # A missing level has no dummy set, as the first level (get_dummies: all 0).
        codes.append(np.maximum(code, 0))
        sizes.append(size)
    combined = np.zeros(len(df), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        combined = combined * size + code
    # Each cell's pattern, numbered by first appearance (pandas' hash table: the numbers that
    # ranking ``np.unique``'s first positions gave, without its two sorts), and each pattern's
    # first cell: where the highest number so far grows (2026-12-06, oe8).
    pattern_of, distinct = pd.factorize(combined)
    pattern_of = pattern_of.astype(np.int64)
    first = np.flatnonzero(np.diff(np.maximum.accumulate(pattern_of), prepend=-1) > 0)
    patterns = len(distinct)
    x = np.bincount(pattern_of, weights=df[events].to_numpy(float), minlength=patterns)
    m = np.bincount(pattern_of, weights=df[n].to_numpy(float), minlength=patterns)
    design = np.zeros((patterns, 1 + sum(size - 1 for size in sizes)), order="F")
    design[:, 0] = 1.0
    column = 1
    for code, size in zip(codes, sizes, strict=True):
        level = code[first]
        has = np.flatnonzero(level > 0)
        design[has, column + level[has] - 1] = 1.0
        column += size - 1
    endog = np.column_stack([x, m - x])

    def predicted() -> NDArray[np.float64]:
        result = sm.GLM(endog, design, family=sm.families.Binomial()).fit()
        return np.asarray(result.predict(np.asfortranarray(design[pattern_of])))

    # p̂ is a pure function of the design, the summed counts and the cells' patterns: kept between
    # processes with the fits, inside their block (overdispersion.store.kept_result, 2026-12-06,
    # mgroe3), as each pattern's p̂ when every cell of a pattern has the same bits.
    parts = [_VERSIONS, _shaped(design), _shaped(endog), pattern_of.tobytes()]
    p_hat = kept_result(
        "case-mix p", parts, predicted, _by_pattern(first, pattern_of), _of_pattern(pattern_of)
    )
    return np.asarray(df[n].to_numpy(float) * p_hat)


#: What the case-mix predictions depend on besides this package's code and numpy's and scipy's
#: versions (in every stored key): statsmodels' GLM and pandas.
_VERSIONS = f"statsmodels {sm.__version__} pandas {pd.__version__}".encode()


def _shaped(values: NDArray[Any]) -> bytes:
    """An array's dtype, shape, memory order and bytes (as the fit sees them)."""
    layout = f"{values.dtype.str} {values.shape} {'F' if values.flags.f_contiguous else 'C'}"
    return layout.encode() + b"\x1f" + values.tobytes(order="A")


def _by_pattern(
    first: NDArray[np.int64], pattern_of: NDArray[np.int64]
) -> Callable[[NDArray[np.float64]], str | None]:
    """p̂ of every cell as each pattern's p̂ (at its first cell) in little-endian bytes, when the
    cells of each pattern have the same bits (else None: not stored)."""

    def encode(p_hat: NDArray[np.float64]) -> str | None:
        values = np.ascontiguousarray(p_hat[first], dtype="<f8")
        if p_hat.dtype != np.float64 or p_hat.shape != pattern_of.shape:
            return None
        if not np.array_equal(values[pattern_of].view(np.int64), p_hat.view(np.int64)):
            return None
        return json.dumps({"p_by_pattern": base64.b64encode(values.tobytes()).decode("ascii")})

    return encode


def _of_pattern(pattern_of: NDArray[np.int64]) -> Callable[[str], NDArray[np.float64] | None]:
    """:func:`_by_pattern`'s text back as every cell's p̂ (None when it is not such a text)."""

    def decode(text: str) -> NDArray[np.float64] | None:
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or set(data) != {"p_by_pattern"}:
                return None
            values = np.frombuffer(
                base64.b64decode(data["p_by_pattern"].encode("ascii"), validate=True), dtype="<f8"
            )
        except (ValueError, TypeError, AttributeError):
            return None
        if values.size != (int(pattern_of.max()) + 1 if pattern_of.size else 0):
            return None
        return values.astype(np.float64)[pattern_of]

    return decode


def _group_expected(
    df: pd.DataFrame, expected: NDArray[np.float64], group: str, events: str, n: str
) -> pd.DataFrame:
    """The cells' n, events and expected events (``df``: the cells with n > 0) summed by ``group``."""
    groups = df[group]
    # A categorical group column is grouped by its codes (the same groups in the same order of
    # first appearance, and the same sums: a group's cells are added in the same order), its
    # labels put back after; ~30,000 cells: no hashing of each cell's text.
    by_code = isinstance(groups.dtype, pd.CategoricalDtype) and not (groups.cat.codes < 0).any()
    key = groups.cat.codes.to_numpy() if by_code else groups.to_numpy()
    # The three sums in one call (the same sum of each column as a named aggregation each,
    # without its ~1 ms of set-up per column).
    out = pd.DataFrame({group: key, "n": df[n].to_numpy(), "observed": df[events].to_numpy(),
                        "expected": expected}).groupby(group, sort=False).sum()  # fmt: skip
    if by_code:
        out.index = groups.cat.categories[out.index.to_numpy()]
        out.index.name = group
    return out.reset_index().rename(columns={group: "group"})[list(EXPECTED_COLUMNS)]


def _sorted_codes(values: pd.Series) -> tuple[NDArray[np.int64], int]:
    """(each value's level, numbered as ``pd.Categorical(values)`` numbers them — the levels
    present, sorted; −1 for a missing value —, the number of levels). A categorical column is
    numbered from its own codes: only its levels present are sorted, by the same
    ``pd.Categorical`` (the same order), where the text of every cell took ~10 ms per
    covariate at 30,000 cells (2026-12-04, oe3)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        categorical = pd.Categorical(values)
        return categorical.codes.astype(np.int64), len(categorical.categories)
    own = values.cat.codes.to_numpy().astype(np.int64)
    present = np.flatnonzero(np.bincount(own[own >= 0], minlength=len(values.cat.categories)))
    ranked = pd.Categorical(values.cat.categories[present])
    remap = np.full(len(values.cat.categories) + 1, -1, dtype=np.int64)  # the last: a missing value
    remap[present] = ranked.codes
    return remap[own], len(ranked.categories)
