from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import special

from utfall.stats.comparison import (
    PROPORTION_ROW_KEYS,
    RATIO_ROW_KEYS,
    compare_proportions,
    compare_ratios,
)


@pytest.fixture
def providers():
    rng = np.random.default_rng(2026)
    n = rng.integers(20, 91, 40)
    p = special.expit(special.logit(0.75) + 0.4 * rng.standard_normal(40))
    x = rng.binomial(n, p)
    x[0], n[0] = 17, 80  # clearly low
    x[1], n[1] = 2, 3  # too small to show
    return [f"P{i:03d}" for i in range(40)], x, n


def test_rows_have_the_fixed_keys_in_order(providers):
    groups, x, n = providers
    result = compare_proportions(groups, x, n)
    assert all(tuple(row) == PROPORTION_ROW_KEYS for row in result.rows)
    assert result.rows[0]["flag"] == "low"
    assert result.overdispersion["method"] == "truncated-ml"
    assert "P000" in result.overdispersion["excluded"]
    row = result.rows[5]
    assert row["ci_low"] <= row["rate"] <= row["ci_high"]
    assert row["lower_998"] <= row["lower_95"] < result.target < row["upper_95"] <= row["upper_998"]


def test_small_groups_are_suppressed_with_a_partner(providers):
    groups, x, n = providers
    rows = compare_proportions(groups, x, n).rows
    hidden = [r for r in rows if r["suppressed"]]
    assert len(hidden) == 2 and hidden[0]["group"] == "P001"
    assert all(v is None for r in hidden for k, v in r.items() if k not in ("group", "suppressed"))
    assert not any(
        r["suppressed"]
        for r in compare_proportions(groups, x, n, secondary=False).rows
        if r["group"] != "P001"
    )


def test_json_shape_matches_the_interchange_spec(providers):
    groups, x, n = providers
    doc = compare_proportions(groups, x, n).to_json_dict("satisfied", "2025-01-01", "2025-12-31", "provider")
    assert list(doc) == ["indicator", "from", "to", "by", "target", "overdispersion", "rows"]
    assert set(doc["overdispersion"]) >= {"method", "phi", "tau2"}
    row = doc["rows"][0]
    assert row["rate"] == round(17 / 80, 4) and row["events"] == 17 and row["n"] == 80
    assert isinstance(row["suppressed"], bool)
    json.dumps(doc)  # plain Python types only


def test_a_fixed_target_is_respected(providers):
    groups, x, n = providers
    result = compare_proportions(groups, x, n, target=0.8, overdispersion="none")
    assert result.target == 0.8 and result.overdispersion["tau2"] == 0.0


def test_all_groups_too_small_gives_no_limits():
    result = compare_proportions(["A", "B"], [1, 2], [3, 4])
    assert result.target is None and all(r["suppressed"] for r in result.rows)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="same length"):
        compare_proportions(["A"], [1, 2], [3, 4])
    with pytest.raises(ValueError, match="events <= n"):
        compare_proportions(["A", "B"], [5, 2], [3, 4])
    with pytest.raises(ValueError, match="unique"):
        compare_proportions(["A", "A"], [1, 2], [5, 6])


def test_ratio_comparison_rows():
    rng = np.random.default_rng(4)
    e = rng.uniform(5, 60, 30)
    o = rng.poisson(e * np.exp(0.2 * rng.standard_normal(30)))
    o[0] = int(e[0] * 3) + 10
    n = (e * 3).astype(int) + 5
    result = compare_ratios([f"U{i}" for i in range(30)], o, e, n)
    assert all(tuple(row) == RATIO_ROW_KEYS for row in result.rows)
    assert result.rows[0]["flag"] == "high"
    row = result.rows[3]
    assert row["ci_low"] <= row["ratio"] <= row["ci_high"]
    assert row["lower_998"] < 1.1 and row["upper_998"] > 0.9
    doc = result.to_json_dict("step_down", "2025-01-01", "2025-12-31", "provider")
    json.dumps(doc)
