"""Timings of the issue 10 additions to a comparison: the assessment columns (empirical Bayes,
rankability with its profile-likelihood interval, detectable differences) and the binomial
adjusted comparison, for 30, 100, 400 and 900 providers (best of --repeat runs; seeded data).

    DEBUG=true .venv/bin/python bench/bench_assessment.py
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from scipy import special

from utfall.stats.adjusted import compare_adjusted
from utfall.stats.assessment import assess
from utfall.stats.comparison import compare_proportions

SIZES = (30, 100, 400, 900)


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'providers':>9}{'compare s':>11}{'assess s':>10}{'adjusted s':>12}{'adj. assess s':>15}")
    for k in SIZES:
        rng = np.random.default_rng(k)
        n = np.round(np.exp(rng.uniform(np.log(5), np.log(800), k)))
        x = rng.binomial(n.astype(int), special.expit(special.logit(0.7) + 0.4 * rng.standard_normal(k)))
        groups = [f"P{i:04d}" for i in range(k)]
        used = np.flatnonzero(n >= 5)
        result = compare_proportions(groups, x, n, min_n=5)
        expected = n * x.sum() / n.sum() * np.exp(0.1 * rng.standard_normal(k))
        expected = np.clip(expected, 0.5, n - 0.5)
        adjusted = compare_adjusted(groups, x, expected, n, min_n=5)
        t_compare = best_of(partial(compare_proportions, groups, x, n, min_n=5), args.repeat)
        t_assess = best_of(partial(assess, result.fit, x, n, used=used, goal=0.8), args.repeat)
        t_adjusted = best_of(partial(compare_adjusted, groups, x, expected, n, min_n=5), args.repeat)
        t_adj_assess = best_of(
            partial(assess, adjusted.fit, adjusted.standardised_events, adjusted.n, used=adjusted.used),
            args.repeat,
        )
        print(
            f"{k:>9}{t_compare:>11.3f}{t_assess:>10.3f}{t_adjusted:>12.3f}{t_adj_assess:>15.3f}", flush=True
        )


if __name__ == "__main__":
    main()
