"""What a flag cannot say, end to end on simulated comparisons with known truth (issue 10.3)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, assess
from utfall.stats.comparison import compare_proportions


def _comparison(rng, k, base, tau, low=20, high=400):
    n = np.round(np.exp(rng.uniform(np.log(low), np.log(high), k)))
    truth = special.expit(special.logit(base) + tau * rng.standard_normal(k))
    x = rng.binomial(n.astype(int), truth).astype(float)
    groups = [f"P{i:03d}" for i in range(k)]
    result = compare_proportions(groups, x, n, min_n=5)
    return n, x, truth, result


def _column(assessment, key):
    return np.array([np.nan if r[key] is None else r[key] for r in assessment.rows])


@pytest.mark.slow
def test_shrunken_estimates_are_closer_to_the_truth_and_their_intervals_cover_it():
    rng = np.random.default_rng(20261202)
    covered = total = 0
    raw_error = shrunk_error = 0.0
    for _ in range(6):
        n, x, truth, result = _comparison(rng, 120, 0.7, 0.4, low=5, high=200)
        a = assess(result.fit, x, n, used=np.flatnonzero(n >= 5))
        est, lo, hi = _column(a, "estimate"), _column(a, "estimate_low"), _column(a, "estimate_high")
        raw_error += float(np.sum((x / n - truth) ** 2))
        shrunk_error += float(np.sum((est - truth) ** 2))
        covered += int(np.sum((lo <= truth) & (truth <= hi)))
        total += truth.size
    assert shrunk_error < 0.7 * raw_error
    assert 0.90 <= covered / total <= 0.985


@pytest.mark.slow
def test_the_probability_of_being_below_the_reference_and_a_goal_is_calibrated():
    """Among providers given P(below) ≈ q, about a share q are truly below."""
    rng = np.random.default_rng(7)
    probs, below, probs_goal, below_goal = [], [], [], []
    for _ in range(6):
        n, x, truth, result = _comparison(rng, 120, 0.6, 0.5)
        a = assess(result.fit, x, n, used=np.flatnonzero(n >= 5), goal=0.7)
        probs += _column(a, "p_below_reference").tolist()
        below += (truth < result.target).tolist()
        probs_goal += _column(a, "p_below_goal").tolist()
        below_goal += (truth < 0.7).tolist()
    for p, b in ((np.array(probs), np.array(below)), (np.array(probs_goal), np.array(below_goal))):
        assert abs(p.mean() - b.mean()) < 0.04
        # Calibration in bins: the observed share lies near the mean probability of each bin.
        for lo, hi in ((0.0, 0.2), (0.2, 0.8), (0.8, 1.0)):
            inside = (p >= lo) & (p < hi) if hi < 1 else (p >= lo)
            assert inside.sum() > 40
            assert abs(b[inside].mean() - p[inside].mean()) < 0.08
        # And it separates: providers given above 0.8 are mostly truly below, under 0.2 mostly not.
        assert b[p > 0.8].mean() > 0.8 and b[p < 0.2].mean() < 0.2


def test_a_provider_at_its_detectable_rate_is_flagged_with_80_percent_power():
    rng = np.random.default_rng(3)
    n, x, _, result = _comparison(rng, 80, 0.8, 0.2)
    a = assess(result.fit, x, n, used=np.flatnonzero(n >= 5))
    short = _column(a, "detectable_low")
    excess = _column(a, "detectable_high")
    sim = np.random.default_rng(4)
    checked = 0
    for i in np.flatnonzero(n >= 100)[:6]:
        m = np.full(20000, n[i])
        for delta, side in ((short[i], "low"), (excess[i], "high")):
            if np.isnan(delta):
                continue
            p = result.target - delta if side == "low" else result.target + delta
            draws = sim.binomial(int(n[i]), p, 20000).astype(float)
            flagged = np.mean(np.array(result.fit.flags(draws, m)) == side)
            assert flagged == pytest.approx(0.8, abs=0.03)
            checked += 1
    assert checked >= 8
    # Larger providers can be told apart at smaller differences.
    order = np.argsort(n)
    small, large = order[:10], order[-10:]
    assert np.nanmean(short[large]) < np.nanmean(short[small])


@pytest.mark.slow
def test_reliability_interval_covers_the_truth_and_the_verdict_follows_it():
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(12):
        n, x, _, result = _comparison(rng, 60, 0.7, 0.4)
        a = assess(result.fit, x, n, used=np.flatnonzero(n >= 5))
        s2 = np.median(1.0 / (n * 0.7 * 0.3))
        true_rho = 0.16 / (0.16 + s2)
        r = a.reliability_dict()
        assert r is not None and r["rankability_low"] <= r["rankability"] <= r["rankability_high"]
        covered += r["rankability_low"] <= true_rho <= r["rankability_high"]
    assert covered >= 9
    # No real differences and few answers: the indicator cannot tell providers apart.
    n, x, _, result = _comparison(np.random.default_rng(5), 40, 0.8, 0.0, low=10, high=40)
    r = assess(result.fit, x, n, used=np.flatnonzero(n >= 5)).reliability_dict()
    assert r is not None and r["verdict"] == "cannot"
    assert r["sentence"].startswith("Indikatorn kan inte skilja utförare åt")
    # Large real differences and many answers: it can.
    n, x, _, result = _comparison(np.random.default_rng(6), 40, 0.6, 1.0, low=300, high=800)
    r = assess(result.fit, x, n, used=np.flatnonzero(n >= 5)).reliability_dict()
    assert r is not None and r["verdict"] == "well"


def test_groups_without_answers_and_no_fit_give_empty_columns():
    a = assess(None, [3, 4], [10, 10], used=[0, 1])
    assert all(r[k] is None for r in a.rows for k in ASSESSMENT_ROW_KEYS) and a.reliability_dict() is None
    result = compare_proportions(["A", "B", "C", "D"], [5, 8, 0, 12], [10, 12, 0, 20], min_n=5)
    a = assess(result.fit, [5, 8, 0, 12], [10, 12, 0, 20], used=[0, 1, 3])
    assert all(v is None for v in a.rows[2].values())
    assert a.rows[0]["p_below_goal"] is None  # no goal given


def test_every_answer_the_same_gives_no_spread_and_no_reliability():
    result = compare_proportions(["A", "B", "C", "D"], [20, 30, 12, 40], [20, 30, 12, 40], min_n=5)
    a = assess(result.fit, [20, 30, 12, 40], [20, 30, 12, 40], used=[0, 1, 2, 3], goal=0.9)
    assert a.reliability_dict() is None
    assert [r["estimate"] for r in a.rows] == [1.0] * 4
    assert [r["p_below_goal"] for r in a.rows] == [0.0] * 4


def test_assess_each_gives_each_comparisons_row_as_assess_does():
    """A provider page assesses its row of ~30 comparisons at once (``assess_each``): each row
    is the one ``assess`` gives on that comparison's own fit, over every method, outliers the
    fit left out, a fit without spread, every answer the same, no fit and no answers."""
    from utfall.stats.assessment import assess_each
    from utfall.stats.overdispersion import METHODS, fit_overdispersion

    rng = np.random.default_rng(20261207)
    cases = []  # (fit, x, n, used, position)
    for method in METHODS:
        for base, tau in ((0.15, 0.0), (0.5, 0.4), (0.85, 1.2)):
            n, x, _, _ = _comparison(rng, 30, base, tau)
            if method == METHODS[0] and tau:  # a clear outlier the fit leaves out
                x[3], n[3] = 0.0, 400.0
            fit = fit_overdispersion(x, n, kind="proportion", method=method)
            used = np.arange(n.size)
            for position in (0, 3, 17):
                cases.append((fit, x, n, used, position))
    same = fit_overdispersion([20, 30, 12, 40], [20, 30, 12, 40], kind="proportion")
    cases.append((same, np.array([20.0, 30, 12, 40]), np.array([20.0, 30, 12, 40]), np.arange(4), 1))
    cases.append((None, np.array([3.0, 4]), np.array([10.0, 10]), np.arange(2), 0))
    flat = cases[0][0]
    cases.append((flat, np.array([0.0, 5]), np.array([0.0, 10]), np.arange(2), 0))  # no answers
    outliers = [
        bool(fit is not None and fit.excluded) and position in used[list(fit.excluded)].tolist()
        for fit, _, _, used, position in cases
    ]
    assert any(outliers), "the cases hold an outlier the fit left out"
    assert any(fit is not None and fit.tau2 <= 0 for fit, *_ in cases), "and a fit without spread"
    rows = assess_each([c[0] for c in cases], [c[1][c[4]] for c in cases], [c[2][c[4]] for c in cases],
                       outlier=outliers)  # fmt: skip
    for (fit, x, n, used, position), row in zip(cases, rows, strict=True):
        want = assess(fit, x, n, used=used, only=[position], reliability=False).rows[position]
        assert set(row) == set(want)
        for key in ASSESSMENT_ROW_KEYS:
            if want[key] is None:
                assert row[key] is None, key
            else:
                # The posterior modes' Newton steps run until every row has converged: the
                # same values to far below the pages' four decimals.
                assert row[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
