"""Empirical-Bayes estimates, probabilities, rankability and detectable differences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, special, stats

from utfall.stats import mixture
from utfall.stats.empirical_bayes import detectable_difference, posterior_summary, rankability
from utfall.stats.randomeffects import fit_random_effects


def _posterior_reference(x, n, centre, tau, reference):
    like = lambda u: stats.binom.pmf(x, n, special.expit(centre + tau * u)) * stats.norm.pdf(u)  # noqa: E731
    total = integrate.quad(like, -12, 12, epsabs=0, epsrel=1e-12, limit=400)[0]
    mean = integrate.quad(
        lambda u: special.expit(centre + tau * u) * like(u), -12, 12, epsabs=0, epsrel=1e-12, limit=400
    )[0]
    u_ref = (special.logit(reference) - centre) / tau
    below = integrate.quad(like, -12, u_ref, epsabs=0, epsrel=1e-12, limit=400)[0]
    return mean / total, below / total


def test_posterior_mean_and_probability_agree_with_direct_integration():
    x, n = np.array([3, 40, 150, 0]), np.array([10, 60, 300, 8])
    centre, tau, reference = 0.5, 0.4, 0.6
    table = posterior_summary("proportion", x, n, centre, tau, reference=reference, target=0.7)
    for i in range(4):
        mean, below = _posterior_reference(x[i], n[i], centre, tau, reference)
        assert table["estimate"][i] == pytest.approx(mean, abs=1e-5)
        assert table["p_below_reference"][i] == pytest.approx(below, abs=1e-5)
    assert (table["lower"] < table["estimate"]).all() and (table["estimate"] < table["upper"]).all()
    assert (table["p_below_target"] >= table["p_below_reference"]).all()  # target above reference


def test_shrinkage_beats_the_raw_rates_on_efron_morris(reference):
    data = pd.read_csv(reference / "efron_morris_1975_baseball.csv")
    x, n = data["hits"].to_numpy(float), data["at_bats"].to_numpy(float)
    fit = fit_random_effects("proportion", x, n, uncertainty=False)
    table = posterior_summary("proportion", x, n, fit.centre, fit.tau, reference=fit.target)
    truth = data["remaining_avg_em"]
    raw_error = float(np.sum((x / n - truth) ** 2))
    eb_error = float(np.sum((table["estimate"] - truth) ** 2))
    assert raw_error == pytest.approx(0.0753, abs=5e-4)
    assert eb_error < raw_error / 3
    assert (np.diff(table["estimate"]) <= 1e-12).all()  # the file is sorted by hits


def test_intervals_cover_the_true_rates():
    rng = np.random.default_rng(8)
    covered, total = 0, 0
    for _ in range(40):
        n = rng.integers(10, 300, 60)
        eta = 0.4 + 0.4 * rng.standard_normal(60)
        x = rng.binomial(n, special.expit(eta))
        table = posterior_summary("proportion", x, n, 0.4, 0.4, reference=0.6)
        truth = special.expit(eta)
        covered += int(((table["lower"] <= truth) & (truth <= table["upper"])).sum())
        total += 60
    assert 0.93 < covered / total < 0.97


@pytest.mark.slow
def test_rankability_interval_covers_the_truth():
    rng = np.random.default_rng(21)
    hits = 0
    for _ in range(30):
        n = np.rint(np.exp(rng.uniform(np.log(20), np.log(400), 50)))
        x = rng.binomial(n.astype(int), special.expit(0.3 + 0.3 * rng.standard_normal(50))).astype(float)
        fit = fit_random_effects("proportion", x, n, uncertainty=False)

        def profile(t, x=x, n=n, start=fit.centre):
            res = optimize.minimize_scalar(lambda c: -np.sum(mixture.log_pmf("proportion", x, n, c, t)),
                                           bracket=(start - 0.1, start + 0.1))  # fmt: skip
            return -float(res.fun)

        r = rankability("proportion", n, fit.tau, fit.target, profile)
        hits += r.tau_lower <= 0.3 <= r.tau_upper
        assert r.lower <= r.value <= r.upper
    assert hits / 30 >= 0.85


def test_the_sentence_says_when_providers_cannot_be_told_apart():
    r = rankability("proportion", np.full(40, 30.0), 0.05, 0.6, lambda t: -((t - 0.05) ** 2) * 2000)
    assert r.verdict == "cannot" and "kan inte skilja" in r.sentence
    r = rankability("proportion", np.full(40, 3000.0), 0.5, 0.6, lambda t: -((t - 0.5) ** 2) * 2000)
    assert r.verdict == "well"


def test_detectable_difference_has_the_stated_power():
    n = np.array([20.0, 100.0, 700.0])
    low = mixture.quantile("proportion", 0.001, n, 0.4, 0.2, upper=False) - 1  # largest count flagged low
    high = mixture.quantile("proportion", 0.001, n, 0.4, 0.2, upper=True) + 1  # smallest flagged high
    reference = float(special.expit(0.4))
    short, excess = detectable_difference("proportion", n, low, high, reference)
    for i in range(3):
        if not np.isnan(short[i]):
            assert stats.binom.cdf(low[i], n[i], reference - short[i]) == pytest.approx(0.8, abs=1e-9)
        if not np.isnan(excess[i]):
            assert stats.binom.sf(high[i] - 1, n[i], reference + excess[i]) == pytest.approx(0.8, abs=1e-9)
    assert short[2] < short[1]  # larger providers reveal smaller shortfalls
    short_r, _ = detectable_difference("ratio", [50.0], [35.0], [70.0], 1.0)
    assert stats.poisson.cdf(35, 50 * (1 - short_r[0])) == pytest.approx(0.8, abs=1e-9)
