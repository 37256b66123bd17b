"""The default overdispersion method, ``truncated-ml`` (issue 10 point 2), and adaptive limits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from utfall.stats import mixture
from utfall.stats.comparison import compare_proportions, compare_ratios
from utfall.stats.overdispersion import clear_fit_cache, fit_overdispersion
from utfall.stats.overdispersion.limits import adaptive_limits, mixture_limits
from utfall.stats.overdispersion.truncated import _acceptance, truncated_loglik


def _null(rng: np.random.Generator, k: int, base: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    n = np.rint(np.exp(rng.uniform(np.log(5), np.log(800), k)))
    p = special.expit(special.logit(base) + tau * rng.standard_normal(k))
    return rng.binomial(n.astype(int), p).astype(float), n


def _direct_loglik(kind, x, m, kept, bounds, c, tau):
    a, b = bounds
    own = mixture.log_pmf(kind, x[kept], m[kept], c, tau)
    below = mixture.lower_tail(kind, a[kept] - 1.0, m[kept], c, tau)
    above = mixture.upper_tail(kind, b[kept] + 1.0, m[kept], c, tau)
    return float(np.sum(own) - np.sum(np.log1p(-(below + above))))


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_the_truncated_likelihood_and_its_gradient_match_direct_quadrature(kind):
    rng = np.random.default_rng(10)
    k = 60
    m = np.rint(np.exp(rng.uniform(np.log(5), np.log(900), k)))
    if kind == "proportion":
        x = rng.binomial(m.astype(int), special.expit(0.8 + 0.4 * rng.standard_normal(k))).astype(float)
        c, tau = 0.8, 0.4
    else:
        m = m * 0.3  # expected counts, not whole
        x = rng.poisson(m * np.exp(0.1 + 0.3 * rng.standard_normal(k))).astype(float)
        c, tau = 0.1, 0.3
    bounds = _acceptance(kind, m, c, tau, 0.005)
    kept = (x >= bounds[0]) & (x <= bounds[1])
    kept[:3] = False  # left out as if outliers
    value, d_c, d_tau = truncated_loglik(kind, x, m, kept, bounds, c, tau)
    assert value == pytest.approx(_direct_loglik(kind, x, m, kept, bounds, c, tau), rel=1e-7)
    h = 1e-5
    num_c = (
        _direct_loglik(kind, x, m, kept, bounds, c + h, tau)
        - _direct_loglik(kind, x, m, kept, bounds, c - h, tau)
    ) / (2 * h)
    num_t = (
        _direct_loglik(kind, x, m, kept, bounds, c, tau + h)
        - _direct_loglik(kind, x, m, kept, bounds, c, tau - h)
    ) / (2 * h)
    assert d_c == pytest.approx(num_c, rel=1e-4, abs=1e-3)
    assert d_tau == pytest.approx(num_t, rel=1e-4, abs=1e-3)


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_groups_of_one_size_share_tails_only_when_they_share_the_kept_region(kind):
    """The fit works out each tail once per distinct (size, kept region): groups of a size with
    different regions must each keep their own (the value against direct quadrature, per group)."""
    rng = np.random.default_rng(11)
    k = 90
    m = rng.choice([12.0, 40.0, 40.0, 300.0, 900.0], k)
    if kind == "proportion":
        x = rng.binomial(m.astype(int), special.expit(0.5 + 0.3 * rng.standard_normal(k))).astype(float)
        c, tau = 0.5, 0.3
    else:
        m = m * 0.25
        x = rng.poisson(m * np.exp(0.2 + 0.3 * rng.standard_normal(k))).astype(float)
        c, tau = 0.2, 0.3
    a, b = _acceptance(kind, m, c, tau, 0.005)
    a, b = a.copy(), b.copy()
    a[::3] = np.maximum(a[::3] - 1.0, 0.0)  # a third of each size with a wider region
    b[1::3] += 2.0
    kept = (x >= a) & (x <= b)
    value, _, _ = truncated_loglik(kind, x, m, kept, (a, b), c, tau)
    assert value == pytest.approx(_direct_loglik(kind, x, m, kept, (a, b), c, tau), rel=1e-7)
    # and twice the groups give twice the likelihood (each tail counted once per group)
    twice = truncated_loglik(
        kind, np.tile(x, 2), np.tile(m, 2), np.tile(kept, 2), (np.tile(a, 2), np.tile(b, 2)), c, tau
    )
    assert twice[0] == pytest.approx(2 * value, rel=1e-12)


def test_adaptive_limits_without_spread_are_the_exact_limits():
    n = np.arange(1, 1200, 3.0)
    for level in (0.95, 0.998):
        got = adaptive_limits("proportion", 1.2, 0.0, n, level)
        want = mixture_limits("proportion", 1.2, 0.0, n, level)  # exact binomial (tested against scipy)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        e = n * 0.37
        got = adaptive_limits("ratio", 0.1, 0.0, e, level)
        want = mixture_limits("ratio", 0.1, 0.0, e, level)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def _quad_lower(r: int, n: int, c: float, tau: float) -> float:
    def f(u: float) -> float:
        return float(stats.binom.cdf(r, n, special.expit(c + tau * u)) * stats.norm.pdf(u))

    return float(integrate.quad(f, -12, 12, epsabs=1e-14, epsrel=1e-12, limit=400)[0])


@pytest.mark.parametrize("n", [40, 300, 700])
def test_adaptive_limits_sit_at_the_exact_tail_counts(n):
    """A count below the lower limit has P(X ≤ x) < 0.1 % under the mixture (scipy quad), the
    first count inside does not: the 40-node rule gets this wrong by counts at n ≈ 700."""
    c, tau, alpha = 1.8, 0.5, 0.001
    lo, _ = adaptive_limits("proportion", c, tau * tau, np.array([float(n)]), 0.998)
    inside = int(np.ceil(lo[0] * n - 1e-9))
    assert _quad_lower(inside - 1, n, c, tau) < alpha <= _quad_lower(inside, n, c, tau)


def test_the_fit_recovers_the_spread_and_the_target():
    rng = np.random.default_rng(21)
    x, n = _null(rng, 400, 0.75, 0.4)
    fit = fit_overdispersion(x, n)
    assert fit.method == "truncated-ml" and fit.quadrature == "adaptive"
    assert np.sqrt(fit.tau2) == pytest.approx(0.4, abs=0.06)
    assert fit.target == pytest.approx(float(x.sum() / n.sum()), abs=0.02)
    fixed = fit_overdispersion(x, n, target=0.7)
    assert fixed.target == 0.7
    lo, hi = fixed.limits(np.array([100.0]), 0.95)
    assert lo[0] < 0.7 < hi[0]


def test_a_planted_provider_is_left_out_and_flagged():
    rng = np.random.default_rng(22)
    x, n = _null(rng, 80, 0.8, 0.2)
    n[0], x[0] = 300, 150  # 0.5 against about 0.8
    result = compare_proportions([f"P{i:02d}" for i in range(80)], x, n)
    assert result.rows[0]["flag"] == "low"
    assert "P00" in result.overdispersion["excluded"]


def test_ratios_use_the_same_method():
    rng = np.random.default_rng(23)
    e = rng.uniform(2, 80, 60)
    o = rng.poisson(e * np.exp(0.25 * rng.standard_normal(60))).astype(float)
    o[0] = 3 * e[0] + 20
    result = compare_ratios([f"R{i:02d}" for i in range(60)], o, e, np.full(60, 50.0))
    assert result.overdispersion["method"] == "truncated-ml"
    assert result.rows[0]["flag"] == "high"
    assert 0.8 < result.target < 1.25


def _large_flag_rate(method: str, sets: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    flagged = large = 0
    for _ in range(sets):
        x, n = _null(rng, 100, 0.9, 0.5)
        clear_fit_cache()
        fit = fit_overdispersion(x, n, method=method)
        big = n >= 200
        flags = np.array(fit.flags(x[big], n[big]), dtype=object)
        flagged += int(np.sum(flags != None))  # noqa: E711
        large += int(big.sum())
    return flagged / large


def test_large_providers_are_not_flagged_too_often_under_the_null():
    """The audit's defect (issue 10.2): with no real differences, "leave out and refit" shrank
    τ̂² and flagged several per cent of providers with n ≥ 200 (nominal 0.2 %). Seeded, 100
    providers per data set as in the grid, base 0.9, τ 0.5 (the old method's worst cell); the
    grid with every cell is bench/bench_flags.py."""
    before = _large_flag_rate("robust-re", 40, 31)
    after = _large_flag_rate("truncated-ml", 40, 31)
    assert before > 0.015  # the defect, reproduced
    assert after <= 0.005
