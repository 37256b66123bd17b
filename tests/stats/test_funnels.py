from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from utfall.stats.funnels import (
    exact_poisson_ratio_limits,
    normal_proportion_limits,
    phe_axis_grid,
    phe_ratio_limits_by_observed,
    proportion_funnel,
    proportion_significance,
    ratio_significance,
)
from utfall.stats.proportions import wilson_interval

LIMIT_COLUMNS = ["lower_95", "upper_95", "lower_998", "upper_998"]


@pytest.mark.parametrize(
    ("limits_file", "subset", "tol"),
    [
        ("funnel_phe_proportion_limits.csv", None, 5e-7),
        ("funnel_phe_proportion_limits_axis_variation.csv", 31000, 5e-9),
    ],
)
def test_it_matches_phe_proportion_funnel(reference, limits_file, subset, tol):
    units = pd.read_csv(reference / "funnel_phe_proportion_inputs.csv")
    if subset:
        units = units[units["denominator"] < subset]
    expected = pd.read_csv(reference / limits_file)
    target = units["numerator"].sum() / units["denominator"].sum()
    assert target * 100 == pytest.approx(expected["baseline"].iloc[0], abs=tol)
    grid = phe_axis_grid(units["denominator"])
    np.testing.assert_array_equal(grid, expected["population"].to_numpy(float))
    ours = proportion_funnel(grid, target, method="phe")
    for column in LIMIT_COLUMNS:
        np.testing.assert_allclose(ours[column] * 100, expected[column], rtol=0, atol=tol)


def test_it_matches_phe_proportion_significance_bands(reference):
    units = pd.read_csv(reference / "funnel_phe_proportion_inputs.csv")
    target = units["numerator"].sum() / units["denominator"].sum()
    bands = proportion_significance(units["numerator"], units["denominator"], target)
    assert (bands == units["significance"].to_numpy()).all()


def test_it_matches_phe_ratio_funnel(reference):
    expected = pd.read_csv(reference / "funnel_phe_ratio_limits.csv")
    o = expected["observed"].to_numpy(float)
    for level, tag in ((0.95, "2s"), (0.998, "3s")):
        lower_e, upper_e = phe_ratio_limits_by_observed(o, level)
        # PHE bisects on E/(1+O+E) to 1e-7: relative error up to 4.7e-5 at O = 1.
        tol = np.where(o == 1, 5e-5, 4e-6)
        assert np.all(np.abs(lower_e / expected[f"lower_{tag}_exp_events"] - 1) <= tol)
        assert np.all(np.abs(upper_e / expected[f"upper_{tag}_exp_events"] - 1) <= tol)
        ratio = o / lower_e
        assert np.all(np.abs(ratio * 100 / expected[f"lower_{tag}_isr"] - 1) <= tol)


def test_it_matches_phe_ratio_significance_bands(reference):
    units = pd.read_csv(reference / "funnel_phe_ratio_inputs.csv")
    bands = ratio_significance(units["obs"], units["expected"])
    assert (bands == units["significance"].to_numpy()).all()


def test_it_matches_funnelplotr_poisson_limits(reference):
    data = json.loads((reference / "funnelplotr_overdispersion.json").read_text())
    case = data["poisson_limits_SR_unadjusted"]
    e = np.asarray(case["inputs"]["expected"], dtype=float)
    lo95, hi95 = exact_poisson_ratio_limits(e, 0.95)
    lo998, hi998 = exact_poisson_ratio_limits(e, 0.998)
    want = case["expected"]
    np.testing.assert_array_equal(np.round(lo95, 7), want["ll95"])
    np.testing.assert_array_equal(np.round(hi95, 6), want["ul95"])
    np.testing.assert_array_equal(np.round(lo998, 7), want["ll998"])
    np.testing.assert_array_equal(np.round(hi998, 6), want["ul998"])


def test_normal_limits_are_the_score_test_inversion():
    n = np.array([5.0, 20, 90, 1000])
    lo, hi = normal_proportion_limits(0.75, n, 0.95)
    # A proportion sitting on the normal limit has a Wilson bound exactly at the target.
    assert np.allclose(wilson_interval(lo * n, n, 0.95)[1], 0.75, atol=1e-12)
    assert np.allclose(wilson_interval(hi[1:] * n[1:], n[1:], 0.95)[0], 0.75, atol=1e-12)


@given(
    st.floats(min_value=0.01, max_value=0.99),
    st.integers(min_value=1, max_value=100_000),
    st.sampled_from(["phe", "normal"]),
)
def test_limits_stay_in_unit_interval_and_narrow_with_n(target, n, method):
    table = proportion_funnel([n, n + 1, 2 * n + 10], target, method=method)
    for level in ("95", "998"):
        lo, hi = table[f"lower_{level}"].to_numpy(), table[f"upper_{level}"].to_numpy()
        assert np.all((lo >= 0) & (lo <= target + 1e-12) & (hi <= 1) & (hi >= target - 1e-12))
        assert np.all(np.diff(lo) >= -1e-12) and np.all(np.diff(hi) <= 1e-12)
    assert np.all(table["lower_998"] <= table["lower_95"] + 1e-12)
