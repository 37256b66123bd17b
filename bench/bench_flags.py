"""Seeded simulation of provider flags: false flags under the null and recall of planted outliers.

Run as ``.venv/bin/python bench/bench_flags.py --sets 100`` (a few minutes: the grid before,
``robust-re``, and after, ``truncated-ml``, on the same seeds, a summary against the goal and
the fit time on 160 providers); ``--sets 400`` (the default) for the full run docs/statistics.md
quotes, ``--quick`` for a smoke run, ``--estimator NAME`` (repeatable) for one method. A
script, not a test (issue 10, point 2).

Every data set has ``--providers`` providers (default 100) with sizes drawn log-uniformly
from 5 to 800 answers (about 27 % have n ≥ 200, the audit's "large provider" class). True
rates are logit-normal around ``base`` with spread ``tau`` on the logit scale; nothing else
differs between providers under the **null**. In a **planted** data set, ``--planted``
providers (default 5) are also shifted by log(OR) on the logit scale (OR 0.33: worse;
OR 3: better), on top of their own random effect. Recall is the share of planted providers
flagged in their direction; "false among the rest" is the share of the others flagged.

Each data set goes through :func:`utfall.stats.comparison.compare_proportions` (what the
pages use; min_n 5) with the named overdispersion method, or with ``--estimator ml`` through
the candidate fit of :mod:`utfall.stats.randomeffects` (``ml-plugin``: without the spread's
uncertainty). The grid is base {0.3, 0.6, 0.9} ×
τ {0.2, 0.5}. Monte Carlo standard errors are printed for the headline figures; the last
lines name the worst cell.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utfall.stats.comparison import compare_proportions  # noqa: E402
from utfall.stats.overdispersion import METHODS, clear_fit_cache, fit_overdispersion  # noqa: E402
from utfall.stats.randomeffects import fit_random_effects  # noqa: E402

#: "truncated-ml" (the default since issue 10.2) and "robust-re" (before): compare_proportions
#: as the pages call it with that overdispersion method; "ml" / "ml-plugin": the phase-A
#: candidate fit (utfall.stats.randomeffects), with and without the spread's uncertainty,
#: flagged by its predictive tails below 0.1 %.
ESTIMATORS = ("truncated-ml", "robust-re", "ml", "ml-plugin")

BASES = (0.3, 0.6, 0.9)
TAUS = (0.2, 0.5)
SIZE_RANGE = (5, 800)
LARGE = 200


@dataclass
class Cell:
    base: float
    tau: float
    null_flagged: float = 0.0
    null_flagged_se: float = 0.0
    null_large: float = 0.0
    null_large_se: float = 0.0
    null_sets_excluding: float = 0.0
    tau2_ratio: float = 0.0
    recall_low: float = float("nan")
    recall_low_se: float = float("nan")
    recall_high: float = float("nan")
    recall_high_se: float = float("nan")
    false_planted: float = float("nan")


def sizes(rng: np.random.Generator, k: int) -> np.ndarray:
    """Provider sizes, log-uniform on [5, 800] (rounded)."""
    lo, hi = SIZE_RANGE
    return np.rint(np.exp(rng.uniform(np.log(lo), np.log(hi), k))).astype(np.int64)


def data_set(
    rng: np.random.Generator, base: float, tau: float, k: int, planted: int, odds_ratio: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, sizes and a mask of planted providers (the first ``planted``)."""
    n = sizes(rng, k)
    eta = special.logit(base) + tau * rng.standard_normal(k)
    is_planted = np.zeros(k, dtype=bool)
    is_planted[:planted] = True
    eta[is_planted] += np.log(odds_ratio)
    return rng.binomial(n, special.expit(eta)), n, is_planted


def _mean_se(per_set: list[float]) -> tuple[float, float]:
    a = np.asarray(per_set, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0


def flags_for(
    estimator: str, groups: list[str], x: np.ndarray, n: np.ndarray
) -> tuple[np.ndarray, bool, float]:
    """Flags ("low"/"high"/None), whether any group was left out of the fit, and τ̂²."""
    if estimator in METHODS:
        result = compare_proportions(groups, x, n, overdispersion=estimator)
        flags = np.array([r["flag"] for r in result.rows], dtype=object)
        return flags, bool(result.overdispersion["excluded"]), float(result.overdispersion["tau2"] or 0.0)
    fit = fit_random_effects("proportion", x.astype(float), n.astype(float), uncertainty=estimator == "ml")
    flags = np.full(x.size, None, dtype=object)
    flags[fit.lower_tail(x, n) < 0.001] = "low"
    flags[fit.upper_tail(x, n) < 0.001] = "high"
    return flags, bool(fit.censored), fit.tau**2


def run_cell(
    base: float, tau: float, *, sets: int, k: int, planted: int, seed: int, estimator: str = "truncated-ml"
) -> Cell:
    rng = np.random.default_rng([seed, round(base * 100), round(tau * 100)])
    groups = [f"G{i:04d}" for i in range(k)]
    cell = Cell(base, tau)
    flagged, large, excluding, ratio = [], [], [], []
    total_large = flagged_large = 0
    for _ in range(sets):
        x, n, _ = data_set(rng, base, tau, k, 0, 1.0)
        found, left_out, tau2 = flags_for(estimator, groups, x, n)
        flags = found != None  # noqa: E711
        flagged.append(flags.mean())
        big = n >= LARGE
        total_large += int(big.sum())
        flagged_large += int(flags[big].sum())
        if big.any():
            large.append(flags[big].mean())
        excluding.append(left_out)
        ratio.append(tau2 / tau**2)
    cell.null_flagged, cell.null_flagged_se = _mean_se(flagged)
    cell.null_large = flagged_large / max(total_large, 1)
    cell.null_large_se = _mean_se(large)[1]
    cell.null_sets_excluding = float(np.mean(excluding))
    cell.tau2_ratio = float(np.median(ratio))
    recalls: dict[float, list[float]] = {}
    false: list[float] = []
    for odds_ratio in (1 / 3, 3.0):
        if odds_ratio < 1 and tau != 0.2:
            continue  # the issue asks for OR 0.33 at τ = 0.2 (at τ = 0.5 no funnel can see it)
        hits = []
        for _ in range(sets):
            x, n, is_planted = data_set(rng, base, tau, k, planted, odds_ratio)
            flags = flags_for(estimator, groups, x, n)[0]
            want = "low" if odds_ratio < 1 else "high"
            hits.append(float(np.mean(flags[is_planted] == want)))
            false.append(float(np.mean(flags[~is_planted] != None)))  # noqa: E711
        recalls[odds_ratio] = hits
    if 1 / 3 in recalls:
        cell.recall_low, cell.recall_low_se = _mean_se(recalls[1 / 3])
    cell.recall_high, cell.recall_high_se = _mean_se(recalls[3.0])
    cell.false_planted = float(np.mean(false))
    return cell


def _print_grid(cells: list[Cell], took: list[float]) -> None:
    header = (
        f"{'base':>5} {'tau':>4} | {'null flagged %':>15} {'n>=200 %':>14} {'sets excl.':>10} "
        f"{'med tau2^/tau2':>14} | {'recall OR .33 %':>16} {'recall OR 3 %':>14} {'false %':>8} | {'s':>5}"
    )
    print(header)
    print("-" * len(header))
    for c, seconds in zip(cells, took, strict=True):
        low = "–" if np.isnan(c.recall_low) else f"{100 * c.recall_low:5.1f} ± {100 * c.recall_low_se:3.1f}"
        print(
            f"{c.base:5.1f} {c.tau:4.1f} | {100 * c.null_flagged:7.2f} ± {100 * c.null_flagged_se:4.2f} "
            f"{100 * c.null_large:6.2f} ± {100 * c.null_large_se:4.2f} {100 * c.null_sets_excluding:9.0f}% "
            f"{c.tau2_ratio:14.2f} | {low:>16} "
            f"{100 * c.recall_high:6.1f} ± {100 * c.recall_high_se:3.1f} {100 * c.false_planted:8.2f} | {seconds:5.0f}",
            flush=True,
        )


def _summary(estimator: str, cells: list[Cell]) -> str:
    worst = max(cells, key=lambda c: c.null_flagged)
    worst_large = max(cells, key=lambda c: c.null_large)
    lows = [c.recall_low for c in cells if not np.isnan(c.recall_low)]
    return (
        f"{estimator:>13}: worst cell overall {100 * worst.null_flagged:.2f} % (base {worst.base}, tau {worst.tau}); "
        f"worst cell n >= {LARGE} {100 * worst_large.null_large:.2f} % (base {worst_large.base}, "
        f"tau {worst_large.tau}); recall at OR 0.33 (tau 0.2) {100 * min(lows):.1f}–{100 * max(lows):.1f} %"
    )


def fit_times(k: int = 160, repeats: int = 10, seed: int = 7) -> dict[str, tuple[float, float]]:
    """Median CPU seconds on ``k`` providers (τ 0.3, base 0.3 / 0.6 / 0.9): (the fit alone, one
    whole comparison: fit, limits at both levels, rows), memo cleared before each. CPU time,
    not wall time: the machine is shared, and a fit is single-threaded numpy."""
    rng = np.random.default_rng(seed)
    groups = [f"G{i:04d}" for i in range(k)]
    data = [data_set(rng, base, 0.3, k, 0, 1.0) for base in (0.3, 0.6, 0.9)]
    out = {}
    for method in ("robust-re", "truncated-ml"):
        fits, comparisons = [], []
        for _ in range(repeats):
            for x, n, _ in data:
                clear_fit_cache()
                start = time.process_time()
                fit_overdispersion(x.astype(float), n.astype(float), method=method)
                fits.append(time.process_time() - start)
                clear_fit_cache()
                start = time.process_time()
                compare_proportions(groups, x, n, overdispersion=method)
                comparisons.append(time.process_time() - start)
        out[method] = (float(np.median(fits)), float(np.median(comparisons)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400, help="data sets per cell and scenario")
    parser.add_argument("--providers", type=int, default=100)
    parser.add_argument("--planted", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--quick", action="store_true", help="40 data sets per cell (a smoke run)")
    parser.add_argument(
        "--estimator", action="append", choices=ESTIMATORS,
        help="repeat to compare; default: robust-re (before) and truncated-ml (after)",
    )  # fmt: skip
    parser.add_argument("--no-timing", action="store_true", help="skip the fit-time comparison")
    args = parser.parse_args()
    sets = 40 if args.quick else args.sets
    estimators = args.estimator or ["robust-re", "truncated-ml"]
    summaries = []
    for estimator in estimators:
        print(
            f"bench_flags: {sets} data sets per cell and scenario, {args.providers} providers each, "
            f"n log-uniform {SIZE_RANGE[0]}–{SIZE_RANGE[1]}, {args.planted} planted; seed {args.seed}; "
            f"estimator {estimator}"
        )
        cells, took = [], []
        for base in BASES:
            for tau in TAUS:
                clear_fit_cache()
                start = time.perf_counter()
                cells.append(run_cell(
                    base, tau, sets=sets, k=args.providers, planted=args.planted, seed=args.seed,
                    estimator=estimator,
                ))  # fmt: skip
                took.append(time.perf_counter() - start)
        _print_grid(cells, took)
        summaries.append(_summary(estimator, cells))
        print()
    print("summary (goal: every cell <= 0.5 % overall and among n >= 200; recall at OR 0.33 >= 29 %)")
    for line in summaries:
        print(line)
    if not args.no_timing:
        times = fit_times()
        before, after = times["robust-re"], times["truncated-ml"]
        print(
            f"160 providers, median CPU time: fit robust-re {1000 * before[0]:.0f} ms, truncated-ml "
            f"{1000 * after[0]:.0f} ms ({after[0] / before[0]:.1f}×); whole comparison {1000 * before[1]:.0f} ms, "
            f"{1000 * after[1]:.0f} ms ({after[1] / before[1]:.1f}×)"
        )


if __name__ == "__main__":
    main()
