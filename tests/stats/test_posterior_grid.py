"""The faster assessment statistics (2026-12-02) against the old computation on a grid of settings.

``tests/stats/old_assessment.py`` is the code as it was (801-point posterior grid with linear
interpolation of the CDF; profile likelihood with Brent's method for the interval of τ). The
grid: base rates 0.05–0.95, spreads τ from 0 to 4, group sizes 1–2000 (and every count from 0
to n at the extremes), 10–2500 groups. Tolerances (docs/statistics.md, 2026-12-02):

* posterior mean 1e-6, P(below reference/goal) 1e-5 (both computations integrate the same
  density to O(h⁴); the differences measured are below 4e-6);
* interval ends 5e-4 on the rate scale: the old linear interpolation of the CDF was off by up
  to 2e-4 at τ = 4 (the new ends agree with ``scipy.integrate.quad`` to 2e-5, tested below);
* the ends of τ's profile-likelihood interval: Brent's tolerance of the old search,
  1e-4 + 1e-3·τ (the new search stops at 1e-6).

Groups where the old mode search cycled (plain Newton at large τ·n, e.g. n = 2000, x = 3,
base 0.95, τ = 4) are left out of the comparison with the old code: its results were wrong
there; the new code is compared with ``scipy.integrate.quad`` at such groups instead.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, optimize, special

from tests.stats.old_assessment import old_modes, old_posterior, old_profile, old_tau_interval
from utfall.stats import mixture
from utfall.stats.assessment import profile_loglik
from utfall.stats.empirical_bayes import posterior_summary, rankability
from utfall.stats.overdispersion import fit_overdispersion

BASES = (0.05, 0.2, 0.5, 0.8, 0.95)
TOLERANCE = {
    "estimate": 1e-6,
    "lower": 5e-4,
    "upper": 5e-4,
    "p_below_reference": 1e-5,
    "p_below_target": 1e-5,
}


def _counts(rng: np.random.Generator, base: float, tau: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = np.rint(np.exp(rng.uniform(0.0, np.log(2000.0), k)))
    n[:4] = [1.0, 2.0, 2000.0, 2000.0][: min(4, k)]
    p = special.expit(special.logit(base) + tau * rng.standard_normal(k))
    x = rng.binomial(n.astype(np.int64), p).astype(np.float64)
    x[:2] = [0.0, n[1]]  # all no, all yes
    x[2:4] = [0.0, 2000.0][: max(0, min(2, k - 2))]
    return x, n


@pytest.mark.slow
def test_posterior_summary_matches_the_old_grid_everywhere():
    rng = np.random.default_rng(750)
    worst = dict.fromkeys(TOLERANCE, (0.0, ""))
    left_out = 0
    for base, tau, k in itertools.product(BASES, (0.02, 0.2, 0.5, 1.0, 2.0, 4.0), (10, 2500)):
        x, n = _counts(rng, base, tau, k)
        centre = float(special.logit(base))
        new = posterior_summary("proportion", x, n, centre, tau, reference=base, target=0.5)
        old = old_posterior(x, n, centre, tau, reference=base, target=0.5)
        _, fine = old_modes(x, n, centre, tau)
        left_out += int((~fine).sum())
        for key in TOLERANCE:
            diff = np.abs(new[key].to_numpy() - old[key])[fine]
            j = int(np.argmax(diff))
            if diff[j] > worst[key][0]:
                cell = f"base {base}, τ {tau}, {k} groups, x {x[fine][j]:.0f} of n {n[fine][j]:.0f}"
                worst[key] = (float(diff[j]), cell)
    print("worst cells:", worst, "groups the old search got wrong:", left_out)
    for key, (diff, cell) in worst.items():
        assert diff <= TOLERANCE[key], f"{key}: {diff:.2e} at {cell}"


def _exact(
    x: float, n: float, centre: float, tau: float, reference: float
) -> tuple[float, float, float, float]:
    """Posterior mean, 95 % interval and P(below reference) by scipy.integrate.quad."""
    u0 = mixture.posterior_mode("proportion", np.array([x]), np.array([n]), np.array([centre]), tau)[0][0]

    def dens(u: float) -> float:
        lf = mixture._log_f("proportion", np.array(x), np.array(n), np.array(centre + tau * u))[0]
        lf0 = mixture._log_f("proportion", np.array(x), np.array(n), np.array(centre + tau * u0))[0]
        return float(np.exp(lf - lf0 - 0.5 * (u * u - u0 * u0)))

    span = (u0 - 40.0, u0 + 40.0)
    opts = {"limit": 800, "epsabs": 0.0, "epsrel": 1e-10, "points": [u0 - 1.0, u0, u0 + 1.0]}
    total = integrate.quad(dens, *span, **opts)[0]

    def cdf(v: float) -> float:
        pts = [p for p in opts["points"] if span[0] < p < v]  # type: ignore[attr-defined]
        extra = {**opts, "points": pts or None}
        return integrate.quad(dens, span[0], v, **extra)[0] / total

    mean = integrate.quad(lambda u: dens(u) * special.expit(centre + tau * u), *span, **opts)[0] / total
    lo = optimize.brentq(lambda v: cdf(v) - 0.025, *span, xtol=1e-12)
    hi = optimize.brentq(lambda v: cdf(v) - 0.975, *span, xtol=1e-12)
    below = cdf((special.logit(reference) - centre) / tau)
    return mean, float(special.expit(centre + tau * lo)), float(special.expit(centre + tau * hi)), below


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize(
    ("x", "n", "base", "tau"),
    [(3, 2000, 0.95, 4.0), (0, 50, 0.95, 4.0), (2, 2, 0.95, 4.0), (0, 26, 0.05, 4.0), (1, 1, 0.5, 1.0),
     (333, 1748, 0.3, 2.0), (140, 300, 0.5, 0.02)],
)  # fmt: skip
def test_posterior_summary_against_quad(x, n, base, tau):
    """Including groups where the old search cycled (the first two: the old estimates were
    0.87 and 0.048 against true 0.0018 and 0.011)."""
    centre = float(special.logit(base))
    row = posterior_summary("proportion", [x], [n], centre, tau, reference=base).iloc[0]
    mean, lo, hi, below = _exact(float(x), float(n), centre, tau, base)
    assert row["estimate"] == pytest.approx(mean, abs=1e-7)
    assert row["lower"] == pytest.approx(lo, abs=2e-5)
    assert row["upper"] == pytest.approx(hi, abs=2e-5)
    assert row["p_below_reference"] == pytest.approx(below, abs=2e-5)


@pytest.mark.slow
def test_rankability_interval_matches_the_old_search_everywhere():
    """As :func:`utfall.stats.assessment.assess` computes it: τ̂ from the default fit, the
    profile over the groups the fit kept."""
    rng = np.random.default_rng(2500)
    worst, cell, compared, skipped = 0.0, "", 0, 0
    for base, tau, k in itertools.product((0.05, 0.5, 0.95), (0.0, 0.3, 1.0, 2.0), (10, 100, 750, 2500)):
        x, n = _counts(rng, base, tau, k)
        fit = fit_overdispersion(x, n)
        kept = np.setdiff1d(np.arange(k), list(fit.excluded))
        if kept.size < 3 or not 0.0 < fit.target < 1.0:
            continue
        tau_hat = float(np.sqrt(max(fit.tau2, 0.0)))
        xk, nk = x[kept], n[kept]
        new = rankability("proportion", nk, tau_hat, fit.target, profile_loglik(xk, nk, fit.centre))
        ends = [t for t in (new.tau_lower, new.tau_upper) if t > 0]
        if not all(old_modes(xk, nk, fit.centre, t)[1].all() for t in ends):
            skipped += 1  # the old profile's mode search cycled there: its values were wrong
            continue
        try:
            old = old_tau_interval(tau_hat, old_profile(xk, nk, fit.centre))
        except ValueError:
            skipped += 1
            continue
        compared += 1
        for a, b in zip((new.tau_lower, new.tau_upper), old, strict=True):
            excess = abs(a - b) - (1e-4 + 1e-3 * abs(a))
            if abs(a - b) > worst:
                worst, cell = abs(a - b), f"base {base}, τ {tau}, {k} groups: new {a:.6f}, old {b:.6f}"
            assert excess <= 1e-6, f"τ interval end {a} against {b} (base {base}, τ {tau}, {k} groups)"
    print(f"worst τ end difference {worst:.2e} at {cell}; {compared} cells compared, {skipped} skipped")
    assert compared >= 30
