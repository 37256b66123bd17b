"""The one safeguarded mode search (mixture.concave_argmax) and the integrals built on it, on the
hard cells (large τ·n, extreme base rates, counts at 0 or n) against scipy.integrate.quad.

Before 2026-12-02 log_pmf, log_pmf_grad and posterior_nodes searched the mode with plain
(clipped) Newton steps from u = 0; at large τ·n it ran away (n = 2000, x = 3, base 0.95,
τ = 4: log P(X = x) came out −4521 against −6.24). The first three tests failed then.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from utfall.stats import mixture
from utfall.stats.overdispersion import limits
from utfall.stats.overdispersion.truncated import truncated_loglik

from .test_mixture import _reference

#: (x, n, base rate, τ): where the old search ran away, and the extremes around them.
HARD = [
    (3, 2000, 0.95, 4.0),
    (3, 2000, 0.95, 3.0),
    (3897, 4349, 0.02, 2.2),
    (12, 4005, 0.98, 4.0),
    (0, 5000, 0.98, 4.0),
    (5000, 5000, 0.02, 4.0),
    (1, 1000, 0.9, 4.0),
]


def _quad(g, x, n, centre, tau):
    """∫ g(u) P(X = x | u) φ(u) du by quad at 1e-12, split at the mode of the integrand."""
    u0 = (special.logit(np.clip((x + 0.5) / (n + 1), 1e-12, 1 - 1e-12)) - centre) / tau

    def f(u):
        return g(u) * stats.binom.pmf(x, n, special.expit(centre + tau * u)) * stats.norm.pdf(u)

    points = sorted({0.0, float(np.clip(u0, -30, 30))})
    return integrate.quad(f, -40, 40, points=points, epsabs=0, epsrel=1e-12, limit=500)[0]


@pytest.mark.parametrize(("x", "n", "base", "tau"), HARD)
def test_the_probability_of_one_count_at_the_hard_cells(x, n, base, tau):
    centre = float(special.logit(base))
    want = np.log(_quad(lambda u: 1.0, x, n, centre, tau))
    value, d_centre, _ = mixture.log_pmf_grad("proportion", x, n, centre, tau)
    # 20 adaptive nodes: relative error of P up to 6e-6 here, 4e-5 at x = 0 or n with τ = 4.
    assert value[0] == pytest.approx(want, abs=1e-4)
    assert mixture.log_pmf("proportion", x, n, centre, tau)[0] == pytest.approx(want, abs=1e-4)
    h = 1e-4
    slope = (np.log(_quad(lambda u: 1.0, x, n, centre + h, tau))
             - np.log(_quad(lambda u: 1.0, x, n, centre - h, tau))) / (2 * h)  # fmt: skip
    assert d_centre[0] == pytest.approx(slope, abs=1e-3)


@pytest.mark.parametrize(("x", "n", "base", "tau"), HARD)
def test_the_posterior_of_a_provider_at_the_hard_cells(x, n, base, tau):
    centre = float(special.logit(base))
    total = _quad(lambda u: 1.0, x, n, centre, tau)
    mean = _quad(lambda u: u, x, n, centre, tau) / total
    var = _quad(lambda u: u * u, x, n, centre, tau) / total - mean**2
    points, weights = mixture.posterior_nodes("proportion", [x], [n], centre, tau)
    got_mean = float(np.sum(points * weights))
    assert got_mean == pytest.approx(mean, abs=1e-4)  # worst 5e-5 (x = 0 or n, τ = 4)
    # the variance: rel 1.6e-3 at x = 0 or n with τ = 4 (a one-sided integrand), 1e-6 elsewhere
    assert float(np.sum(points**2 * weights)) - got_mean**2 == pytest.approx(var, rel=5e-3)


@pytest.mark.parametrize(("x", "n", "base", "tau"), HARD)
def test_the_tails_at_the_hard_cells(x, n, base, tau):
    """The tails' searches (u-form and T-form) did not run away on the grid (these pass on the
    old code too); kept honest here. At τ = 4 the 20-node rule is off by up to 2.3e-4
    (relative) on tails near 1 (P(X ≥ 1) at n = 1000, base 0.9), far less on tails near α."""
    centre = float(special.logit(base))
    for r in sorted({0, x, n}):
        for side, fn in (("lower", mixture.lower_tail), ("upper", mixture.upper_tail)):
            want = _reference("proportion", side, r, n, centre, tau)
            if want > 1e-12:
                assert float(fn("proportion", r, n, centre, tau)) == pytest.approx(want, rel=5e-4)


def test_the_truncated_likelihood_at_the_hard_cells():
    """The truncated fit's own node placement (10 nodes) against the quad reference of each
    term (passes on the old code too: its search in η from the centre did not run away)."""
    x = np.array([3.0, 12.0, 1000.0, 0.0])
    n = np.array([2000.0, 4005.0, 2000.0, 5000.0])
    a, b = np.array([1.0, 2.0, 0.0, 0.0]), n - 2.0
    centre, tau = float(special.logit(0.95)), 4.0
    want = 0.0
    for xi, ni, ai, bi in zip(x, n, a, b, strict=True):
        inside = 1.0 - _reference("proportion", "lower", ai - 1, ni, centre, tau) * (ai >= 1)
        inside -= _reference("proportion", "upper", bi + 1, ni, centre, tau)
        want += np.log(_quad(lambda u: 1.0, xi, ni, centre, tau)) - np.log(inside)
    value, _, _ = truncated_loglik("proportion", x, n, np.ones(4, dtype=bool), (a, b), centre, tau)
    assert value == pytest.approx(want, abs=5e-3)  # 2.4e-3 seen: 10 nodes at τ = 4


def test_the_search_never_cycles():
    """−√(1 + z²) is concave with its maximum at 0; plain Newton from |z| > 1 runs away
    (z → −z³), the safeguarded search does not; nor with a half-open or a given bracket."""

    def derivs(z):
        s = np.sqrt(1.0 + z * z)
        return -z / s, -1.0 / s**3

    start = np.array([-30.0, -2.0, -1.0, 0.5, 3.0, 50.0])
    np.testing.assert_allclose(mixture.concave_argmax(derivs, start), 0.0, atol=1e-9)
    np.testing.assert_allclose(mixture.concave_argmax(derivs, start, hi=np.full(6, 60.0)), 0.0, atol=1e-9)
    got = mixture.concave_argmax(derivs, start, np.full(6, -40.0), np.full(6, 70.0))
    np.testing.assert_allclose(got, 0.0, atol=1e-9)


def _flags_the_old_way(kind, centre, tau2, x, m, alpha):
    """The 40-node sums of two scipy.stats CDF arrays (the code before 2026-12-02)."""
    values = limits.mixture_values(kind, centre, tau2)
    if kind == "proportion":
        below = stats.binom.cdf(x[:, None], m[:, None], values) @ limits._WEIGHTS
        above = 1.0 - stats.binom.cdf(x[:, None] - 1, m[:, None], values) @ limits._WEIGHTS
    else:
        below = stats.poisson.cdf(x[:, None], m[:, None] * values) @ limits._WEIGHTS
        above = 1.0 - stats.poisson.cdf(x[:, None] - 1, m[:, None] * values) @ limits._WEIGHTS
    return below, above


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_the_flags_of_the_fit_are_those_of_the_old_sums(kind):
    """tail_flags (34 nodes, the upper tail from the same CDF and P(X = x)) against the old
    40-node sums on a grid: base 0.02–0.98, τ 0–4, n 1–5000, 2,500 groups per cell."""
    rng = np.random.default_rng(11)
    seen = 0
    for base in (0.02, 0.2, 0.5, 0.8, 0.98):
        for tau in (0.0, 0.5, 2.0, 4.0):
            centre = float(special.logit(base)) if kind == "proportion" else float(np.log(2 * base))
            n = np.floor(np.exp(rng.uniform(0, np.log(5001), 2500)))
            m = n if kind == "proportion" else 0.6 * n
            x = np.floor(rng.uniform(0, 1, n.size) ** rng.choice([0.2, 1.0, 5.0], n.size) * (n + 1))
            x = np.minimum(x, n)
            values = limits.mixture_values(kind, centre, tau * tau)
            below, above = _flags_the_old_way(kind, centre, tau * tau, x, m, 0.001)
            np.testing.assert_allclose(limits.cdf(kind, x, m, values), below, rtol=1e-12, atol=1e-15)
            for alpha in (0.001, 0.025):
                want = (below < alpha) | (above < alpha)
                close = (np.abs(below - alpha) < 1e-12) | (np.abs(above - alpha) < 1e-12)
                got = limits.tail_flags(kind, centre, tau * tau, x, m, alpha)
                np.testing.assert_array_equal(got[~close], want[~close])
                seen += int(want.sum())
    assert seen > 1000  # the grid has flags to compare
