"""The case-mix adjusted (O/E) comparison on the binomial scale (issue 10.4)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from utfall.stats.adjusted import compare_adjusted
from utfall.stats.comparison import compare_proportions, compare_ratios


def _data(rng, k=40, base=0.9, planted=3):
    n = np.round(np.exp(rng.uniform(np.log(30), np.log(600), k)))
    logit = special.logit(base) + 0.2 * rng.standard_normal(k)
    logit[:planted] += np.log(0.33)
    x = rng.binomial(n.astype(int), special.expit(logit)).astype(float)
    return [f"P{i:02d}" for i in range(k)], x, n


def test_without_case_mix_it_is_the_unadjusted_comparison():
    rng = np.random.default_rng(1)
    groups, x, n = _data(rng)
    plain = compare_proportions(groups, x, n, min_n=5)
    overall = x.sum() / n.sum()
    adjusted = compare_adjusted(groups, x, n * overall, n, min_n=5)
    for a, b in zip(plain.rows, adjusted.comparison.rows, strict=True):
        assert a["flag"] == b["flag"]
        assert b["lower_998"] == pytest.approx(a["lower_998"] / overall, rel=1e-9)
        assert b["upper_998"] == pytest.approx(a["upper_998"] / overall, rel=1e-9)
        assert b["ratio"] == pytest.approx(a["rate"] / overall)
    assert adjusted.comparison.target == pytest.approx(plain.target / overall)


@pytest.mark.slow
def test_at_base_0_9_it_finds_planted_providers_as_often_as_the_unadjusted_view():
    """The audit: 3/60 planted providers found by the (Poisson) adjusted view, 17/60 unadjusted,
    on data with no case mix. The binomial view finds the same as the unadjusted one."""
    rng = np.random.default_rng(20261202)
    found = {"plain": 0, "binomial": 0, "poisson": 0}
    for _ in range(20):
        groups, x, n = _data(rng)
        overall = x.sum() / n.sum()
        rows = {
            "plain": compare_proportions(groups, x, n, min_n=5).rows,
            "binomial": compare_adjusted(groups, x, n * overall, n, min_n=5).comparison.rows,
            "poisson": compare_ratios(groups, x, n * overall, n, min_n=5).rows,
        }
        for view, got in rows.items():
            found[view] += sum(r["flag"] == "low" for r in got[:3])
    assert found["plain"] >= 15  # 60 planted providers at OR 0.33
    assert abs(found["binomial"] - found["plain"]) <= 2
    assert found["poisson"] < found["binomial"] / 2


def test_case_mix_moves_the_limits_with_each_providers_offset():
    """Two providers with the same n and O/E but different case mix (expected 0.5 against 0.95)
    get different limits: the binomial variance is largest where p̂ is near 0.5."""
    groups = ["A", "B", *[f"C{i}" for i in range(20)]]
    n = np.array([200.0, 200.0, *([100.0] * 20)])
    e = np.array([100.0, 190.0, *([80.0] * 20)])
    rng = np.random.default_rng(2)
    o = np.array([100.0, 190.0, *rng.binomial(100, 0.8, 20)])
    rows = {r["group"]: r for r in compare_adjusted(groups, o, e, n, min_n=5).comparison.rows}
    width_a = rows["A"]["upper_998"] - rows["A"]["lower_998"]
    width_b = rows["B"]["upper_998"] - rows["B"]["lower_998"]
    assert width_a > 2 * width_b
    assert rows["B"]["upper_998"] <= 200 / 190 + 1e-9  # O/E can never exceed n/E
    assert rows["A"]["ci_low"] < 1 < rows["A"]["ci_high"]


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        compare_adjusted(["A"], [5], [12], [10])


def test_a_partial_view_is_judged_against_the_full_populations_funnel():
    """Issue 10.1 for the adjusted view: a viewer who sees some providers gets their rows with
    the same limits, flags and reference as in the full comparison."""
    rng = np.random.default_rng(4)
    groups, x, n = _data(rng, k=30)
    e = n * x.sum() / n.sum() * np.exp(0.05 * rng.standard_normal(30))
    e = np.minimum(e, n - 0.5)
    full = compare_adjusted(groups, x, e, n, min_n=5)
    part = compare_adjusted(groups[:4], x[:4], e[:4], n[:4], min_n=5, reference=full)
    assert part.comparison.target == full.comparison.target
    for mine, theirs in zip(part.comparison.rows, full.comparison.rows[:4], strict=True):
        for key in ("ratio", "lower_998", "upper_998", "flag"):
            assert mine[key] == theirs[key]
