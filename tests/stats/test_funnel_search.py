"""The vectorised funnel search against the plain bisection it replaced.

``_bisect_limits`` below is the per-size algorithm of the pre-vectorised implementation
(bisection on [0, n] / [0, Poisson 1 − 10⁻¹² quantile], then Spiegelhalter's
interpolation); the fast search must give the same limits, and the screened tail flags
the same flags as the full 40-node sums, over sizes, spreads and levels well beyond the
usual ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from utfall.stats.overdispersion import limits as od


def _bisect_limits(kind, centre, tau2, m, level):
    alpha = (1.0 - level) / 2.0
    values = od.mixture_values(kind, centre, tau2)

    def quantile(p):
        lo = np.full(m.shape, -1.0)
        top = stats.poisson.ppf(1.0 - 1e-12, m * values.max()) + 1.0
        hi = m.copy() if kind == "proportion" else top
        while np.any(hi - lo > 1):
            mid = np.floor((lo + hi) / 2.0)
            ok = od.cdf(kind, mid, m, values) >= p
            hi, lo = np.where(ok, mid, hi), np.where(ok, lo, mid)
        return hi

    r = quantile(alpha)
    f_r, f_r1 = od.cdf(kind, r, m, values), od.cdf(kind, r - 1.0, m, values)
    frac = np.where(f_r > f_r1, (f_r - alpha) / np.where(f_r > f_r1, f_r - f_r1, 1.0), 0.0)
    lower = np.clip(r - frac, 0.0, None) / m
    s = quantile(1.0 - alpha)
    surv_s = 1.0 - od.cdf(kind, s - 1.0, m, values)
    surv_next = 1.0 - od.cdf(kind, s, m, values)
    gap = surv_s - surv_next
    frac_u = np.where(gap > 0, (surv_s - alpha) / np.where(gap > 0, gap, 1.0), 0.0)
    upper = (s + np.clip(frac_u, 0.0, 1.0 - 1e-12)) / m
    if kind == "proportion":
        upper = np.clip(upper, 0.0, 1.0)
    return lower, upper


SIZES = {
    "proportion": np.array([1, 2, 3, 5, 7, 10, 19, 40, 41, 90, 150, 300, 1000, 5000], dtype=float),
    "ratio": np.array([0.01, 0.2, 1.0, 2.5, 7.3, 10.0, 33.3, 90.0, 300.0, 1234.5, 5000.0]),
}


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("centre", [-4.0, -0.5, 0.0, 1.1, 3.5])
@pytest.mark.parametrize("tau2", [0.0, 1e-6, 0.02, 0.16, 1.5])
@pytest.mark.parametrize("level", [0.5, 0.95, 0.998, 0.99999])
def test_search_matches_plain_bisection(kind, centre, tau2, level):
    if kind == "ratio":
        centre = centre / 2.0  # O/E between e^-2 and e^1.75
    m = SIZES[kind]
    lo, hi = od.mixture_limits(kind, centre, tau2, m, level)
    want_lo, want_hi = _bisect_limits(kind, centre, tau2, m, level)
    # Not bit for bit: the 40-node sums are formed in batches of a different shape, and
    # the upper limit divides 1 − F (F near 1) by a small gap, so rounding differences of
    # 1e-16 in F show up as ~1e-12 at extreme levels. Both are equally accurate.
    np.testing.assert_allclose(lo, want_lo, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(hi, want_hi, rtol=1e-10, atol=1e-15)


def test_repeated_and_invalid_sizes_keep_their_positions():
    m = np.array([40.0, 0.0, 12.0, 40.0, np.nan, 12.5, 12.0])
    lo, hi = od.mixture_limits("proportion", 1.0, 0.1, m, 0.95)
    assert lo[0] == lo[3] and hi[2] == hi[6]
    assert np.isnan(lo[[1, 4, 5]]).all() and np.isnan(hi[[1, 4, 5]]).all()
    one_lo, one_hi = od.mixture_limits("proportion", 1.0, 0.1, np.float64(12.0), 0.95)
    assert one_lo.shape == () and one_lo == lo[2] and one_hi == hi[2]


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
@pytest.mark.parametrize("tau2", [0.0, 0.05, 0.4])
def test_screened_tail_flags_equal_the_full_sums(kind, tau2):
    rng = np.random.default_rng(5)
    m = rng.integers(1, 400, 3000).astype(float)
    if kind == "proportion":
        x = rng.binomial(m.astype(int), rng.uniform(0.0, 1.0, m.size)).astype(float)
        centre = 1.0
    else:
        m = m * 0.3
        x = rng.poisson(m * rng.uniform(0.0, 3.0, m.size)).astype(float)
        centre = 0.1
    alpha = 0.005
    values = od.mixture_values(kind, centre, tau2)
    below = od.cdf(kind, x, m, values)
    above = 1.0 - od.cdf(kind, x - 1.0, m, values)
    want = (below < alpha) | (above < alpha)
    got = od.tail_flags(kind, centre, tau2, x, m, alpha)
    assert 0 < want.sum() < want.size
    np.testing.assert_array_equal(got, want)
