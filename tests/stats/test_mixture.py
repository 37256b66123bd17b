"""The adaptive quadrature of the funnel's mixture against a high-precision integral."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from utfall.stats import mixture
from utfall.stats.overdispersion import OverdispersionFit


def _reference(kind, side, r, m, centre, tau):
    """∫ P(X ≤ r | u) φ(u) du (or P(X ≥ r | u)) by scipy's adaptive quad at 1e-13."""
    if kind == "proportion":
        rate = lambda u: special.expit(centre + tau * u)  # noqa: E731
        cond = (
            (lambda u: stats.binom.cdf(r, m, rate(u)))
            if side == "lower"
            else (lambda u: stats.binom.sf(r - 1, m, rate(u)))
        )
        u0 = (special.logit(np.clip((r + 0.5) / (m + 1), 1e-12, 1 - 1e-12)) - centre) / tau
    else:
        lam = lambda u: m * np.exp(centre + tau * u)  # noqa: E731
        cond = (
            (lambda u: stats.poisson.cdf(r, lam(u)))
            if side == "lower"
            else (lambda u: stats.poisson.sf(r - 1, lam(u)))
        )
        u0 = (np.log((r + 0.5) / m) - centre) / tau
    f = lambda u: cond(u) * stats.norm.pdf(u)  # noqa: E731
    points = sorted({0.0, float(np.clip(u0, -30, 30))})
    return integrate.quad(f, -40, 40, points=points, epsabs=0, epsrel=1e-13, limit=500)[0]


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize(
    ("m", "tau"), [(20, 0.05), (20, 1.0), (100, 0.5), (700, 0.2), (700, 0.5), (5000, 0.2)]
)
def test_tails_agree_with_a_high_precision_integral(kind, m, tau):
    """Relative error of the tails below 5e-5 (below 2e-5 everywhere in a wider grid of
    n 20–5000, τ 0.05–1, three centres, run while building it)."""
    rng = np.random.default_rng(m + int(100 * tau))
    size = m if kind == "proportion" else 0.3 * m
    for centre in (-2.0, 0.4, 2.2):
        for r in np.unique(np.r_[0, rng.integers(0, m + 1, 2)]):
            for side, fn in (("lower", mixture.lower_tail), ("upper", mixture.upper_tail)):
                want = _reference(kind, side, r, size, centre, tau)
                got = float(fn(kind, r, size, centre, tau))
                if want > 1e-12:
                    assert got == pytest.approx(want, rel=5e-5), (side, r, centre)


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_the_probability_of_one_count_and_its_gradient(kind):
    for x, m, centre, tau in (
        (3, 10, 0.4, 0.5),
        (450, 700, 0.4, 0.3),
        (0, 50, -2.0, 1.0),
        (12, 7.3, 0.2, 0.4),
    ):
        if kind == "proportion" and (x > m or m != int(m)):
            continue

        def f(u, x=x, m=m, c=centre, t=tau):
            if kind == "proportion":
                return stats.binom.pmf(x, m, special.expit(c + t * u)) * stats.norm.pdf(u)
            return stats.poisson.pmf(x, m * np.exp(c + t * u)) * stats.norm.pdf(u)

        if kind == "proportion":
            u0 = (special.logit((x + 0.5) / (m + 1)) - centre) / tau
        else:
            u0 = (np.log((x + 0.5) / m) - centre) / tau
        want = integrate.quad(f, -40, 40, points=[0.0, u0], epsabs=0, epsrel=1e-13, limit=500)[0]
        value, d_centre, d_tau = mixture.log_pmf_grad(kind, x, m, centre, tau)
        assert np.exp(value[0]) == pytest.approx(want, rel=1e-7)
        h = 1e-6
        num_c = (
            mixture.log_pmf(kind, x, m, centre + h, tau) - mixture.log_pmf(kind, x, m, centre - h, tau)
        ) / (2 * h)
        num_t = (
            mixture.log_pmf(kind, x, m, centre, tau + h) - mixture.log_pmf(kind, x, m, centre, tau - h)
        ) / (2 * h)
        assert d_centre[0] == pytest.approx(num_c[0], abs=1e-6)
        assert d_tau[0] == pytest.approx(num_t[0], abs=1e-6)


def test_without_spread_the_tails_are_exact():
    r = np.arange(0, 41)
    np.testing.assert_allclose(mixture.lower_tail("proportion", r, 40, special.logit(0.75), 0.0),
                               stats.binom.cdf(r, 40, 0.75), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(mixture.upper_tail("ratio", r, 12.5, np.log(1.2), 0.0),
                               stats.poisson.sf(r - 1, 15.0), rtol=1e-10)  # fmt: skip


def test_quantiles_bracket_the_tail_probability():
    m = np.array([5.0, 60.0, 700.0, 3000.0])
    lo = mixture.quantile("proportion", 0.001, m, 0.4, 0.3, upper=False)
    assert np.all(mixture.lower_tail("proportion", lo, m, 0.4, 0.3) >= 0.001)
    assert np.all(mixture.lower_tail("proportion", lo - 1, m, 0.4, 0.3) < 0.001)
    hi = mixture.quantile("proportion", 0.001, m, 0.4, 0.3, upper=True)
    assert np.all(mixture.upper_tail("proportion", hi, m, 0.4, 0.3) >= 0.001)
    assert np.all(mixture.upper_tail("proportion", hi + 1, m, 0.4, 0.3) < 0.001)


def test_the_old_fixed_rule_misplaces_limits_at_large_n():
    """The audit's finding: the 40-node Gauss–Hermite limits are off at large n (here by 2
    counts, 0.003 on the rate scale, at n = 700, base 0.3, τ = 0.5); the adaptive rule's
    quantile is exactly where the high-precision tail crosses 0.1 %."""
    centre, tau, n = float(special.logit(0.3)), 0.5, 700.0
    old = OverdispersionFit(
        method="robust-re", kind="proportion", target=0.3, phi=1.0, tau2=tau**2, centre=centre
    )
    old_high = float(np.floor(old.limits(np.array([n]), 0.998)[1][0] * n))
    s = float(mixture.quantile("proportion", 0.001, n, centre, tau, upper=True)[0])
    assert (
        _reference("proportion", "upper", s, n, centre, tau)
        >= 0.001
        > _reference("proportion", "upper", s + 1, n, centre, tau)
    )
    assert old_high - s >= 2
