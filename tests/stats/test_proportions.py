from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.proportion import confint_proportions_2indep

from utfall.stats.proportions import (
    clopper_pearson_interval,
    newcombe_difference,
    proportion_ci,
    wilson_interval,
    z_for_level,
)


def test_it_matches_phe_wilson_vectors(reference):
    df = pd.read_csv(reference / "wilson_phe.csv")
    lower, upper = [], []
    for row in df.itertuples():
        lo, hi = wilson_interval(row.x, row.n, row.confidence)
        lower.append(float(lo) * row.multiplier)
        upper.append(float(hi) * row.multiplier)
    np.testing.assert_allclose(lower, df["lower"], rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(upper, df["upper"], rtol=1e-9, atol=1e-9, equal_nan=True)
    assert df["lower"].isna().sum() > 0  # the NA rows were exercised


@pytest.mark.parametrize(
    ("method", "ours"), [("wilson", wilson_interval), ("exact", clopper_pearson_interval)]
)
def test_it_matches_r_binom_confint(reference, method, ours):
    df = pd.read_csv(reference / "binom_confint_R.csv")
    df = df[df["method"] == method]
    assert len(df) == 8
    lo, hi = ours(df["x"].to_numpy(), df["n"].to_numpy(), 0.95)
    tol = np.where(df["precision"] == "full", 1e-9, 5e-7)
    assert np.all(np.abs(lo - df["lower"]) <= tol)
    assert np.all(np.abs(hi - df["upper"]) <= tol)


def test_it_propagates_nan_and_handles_empty_groups():
    lo, hi = wilson_interval([np.nan, 3, 0], [10, np.nan, 0])
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()
    assert (lo[2], hi[2]) == (0.0, 1.0)
    lo, hi = clopper_pearson_interval([np.nan], [10])
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_it_rejects_impossible_counts_and_levels():
    with pytest.raises(ValueError, match="exceed"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="non-negative"):
        wilson_interval(-1, 10)
    with pytest.raises(ValueError, match="level"):
        z_for_level(95)


def test_proportion_ci_returns_fixed_columns():
    table = proportion_ci([17, 30], [41, 40], level=0.998, method="clopper-pearson")
    assert list(table.columns) == ["x", "n", "estimate", "lower", "upper"]
    assert table["estimate"].tolist() == [17 / 41, 0.75]


# Newcombe (1998) Stat Med 17:873-890, Table II, method 10 (4 dp as printed).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_newcombe_difference_matches_the_paper(counts, expected):
    row = newcombe_difference(*counts).iloc[0]
    assert row["lower"] == pytest.approx(expected[0], abs=5e-5)
    assert row["upper"] == pytest.approx(expected[1], abs=5e-5)


def test_newcombe_difference_matches_statsmodels():
    table = newcombe_difference([56, 17, 3], [70, 41, 9], [48, 30, 4], [80, 40, 5], level=0.9)
    for row in table.itertuples():
        lo, hi = confint_proportions_2indep(row.x1, row.n1, row.x2, row.n2, method="newcomb", alpha=0.1)
        assert row.lower == pytest.approx(lo, abs=1e-12)
        assert row.upper == pytest.approx(hi, abs=1e-12)


counts = st.integers(min_value=1, max_value=10_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
levels = st.sampled_from([0.8, 0.9, 0.95, 0.99, 0.998])


@given(counts, levels)
def test_intervals_stay_in_unit_interval_and_contain_the_estimate(xn, level):
    x, n = xn
    for method in (wilson_interval, clopper_pearson_interval):
        lo, hi = method(x, n, level)
        assert 0.0 <= lo <= x / n + 1e-12
        assert x / n - 1e-12 <= hi <= 1.0


@given(counts, counts)
def test_difference_interval_contains_the_difference(a, b):
    row = newcombe_difference(a[0], a[1], b[0], b[1]).iloc[0]
    assert -1.0 <= row["lower"] <= row["estimate"] + 1e-12
    assert row["estimate"] - 1e-12 <= row["upper"] <= 1.0
