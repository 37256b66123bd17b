"""The maximum-likelihood random-effects fit with truncated outliers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from utfall.stats import mixture
from utfall.stats.randomeffects import centre_for_mean, fit_random_effects, predictive_mean


def _data(seed, k=150, tau=0.4, base=0.7, planted=0):
    rng = np.random.default_rng(seed)
    n = np.rint(np.exp(rng.uniform(np.log(20), np.log(600), k)))
    eta = special.logit(base) + tau * rng.standard_normal(k)
    eta[:planted] -= 2.0
    return rng.binomial(n.astype(int), special.expit(eta)).astype(float), n


def test_it_recovers_the_spread_and_the_centre():
    estimates = [fit_random_effects("proportion", *_data(s), uncertainty=False) for s in range(8)]
    taus = [f.tau for f in estimates]
    assert 0.33 < np.mean(taus) < 0.45
    assert all(abs(f.centre - special.logit(0.7)) < 0.12 for f in estimates)


def test_the_maximum_is_a_maximum_of_the_mixture_likelihood():
    x, n = _data(3)
    fit = fit_random_effects("proportion", x, n, exclude_level=0.999999999, uncertainty=False)
    best = np.sum(mixture.log_pmf("proportion", x, n, fit.centre, fit.tau))
    for dc, dt in ((0.02, 0), (-0.02, 0), (0, 0.02), (0, -0.02)):
        assert np.sum(mixture.log_pmf("proportion", x, n, fit.centre + dc, fit.tau + dt)) < best


def test_planted_outliers_are_left_out_and_do_not_widen_the_spread():
    x, n = _data(5, planted=6)
    fit = fit_random_effects("proportion", x, n, uncertainty=False)
    assert set(range(6)) & set(fit.censored)
    assert fit.tau < 0.55


def test_a_fixed_target_is_the_predictive_mean():
    x, n = _data(7)
    fit = fit_random_effects("proportion", x, n, target=0.65, uncertainty=False)
    assert fit.target == pytest.approx(0.65, abs=1e-9)
    assert predictive_mean("ratio", centre_for_mean("ratio", 1.1, 0.3), 0.3) == pytest.approx(1.1)


def test_the_predictive_with_uncertainty_has_wider_tails_than_the_plug_in():
    x, n = _data(9, k=40)
    plug = fit_random_effects("proportion", x, n, uncertainty=False)
    full = fit_random_effects("proportion", x, n, uncertainty=True)
    assert abs(sum(w for _, _, w in full.components()) - 1) < 1e-9
    big = np.array([800.0])
    low = mixture.quantile("proportion", 0.001, big, plug.centre, plug.tau, upper=False)
    assert full.lower_tail(low - 1, big)[0] > plug.lower_tail(low - 1, big)[0]
