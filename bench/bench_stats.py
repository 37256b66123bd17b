"""Timings of compare_proportions / compare_ratios for 100, 400 and 1000 groups.

Run as ``.venv/bin/python bench/bench_stats.py`` (``--no-old`` skips the slow reference).
Besides the current code it times the pre-vectorised implementation (one group at a
time), loaded from git at :data:`OLD_COMMIT` (it needs the git history), and prints the
largest relative difference between the two on the same data. A script, not a test.
"""

from __future__ import annotations

import argparse
import functools
import math
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utfall.stats import comparison  # noqa: E402

#: Last commit of utfall/stats with the per-group funnel limits.
OLD_COMMIT = "695e67f16c6c0d59e4f8c521e43d8d3a2af71c37"
SIZES = (100, 400, 1000)


def proportion_data(k: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """k providers, n uniform 5–300, logit-normal rates around 0.75 (sd 0.4), 2 % planted low."""
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 301, k)
    p = special.expit(special.logit(0.75) + 0.4 * rng.standard_normal(k))
    p[: max(1, k // 50)] = 0.35
    return [f"G{i:04d}" for i in range(k)], rng.binomial(n, p), n


def ratio_data(k: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """k providers, n uniform 5–300, E = n·U(0.1, 0.4), log-normal O/E (sd 0.3), 2 % planted high."""
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 301, k)
    e = n * rng.uniform(0.1, 0.4, k)
    rr = np.exp(0.3 * rng.standard_normal(k))
    rr[: max(1, k // 50)] = 2.5
    return [f"G{i:04d}" for i in range(k)], rng.poisson(e * rr), e, n


def load_old() -> types.ModuleType | None:
    """utfall.stats.comparison as of OLD_COMMIT, with its own overdispersion module."""

    def show(path: str) -> str:
        return subprocess.run(  # noqa: S603 - fixed git command, no user input
            ["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:{path}"],  # noqa: S607
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    try:
        od_src = show("utfall/stats/overdispersion.py")
        cmp_src = show("utfall/stats/comparison.py")
    except (OSError, subprocess.CalledProcessError):
        return None
    modules = {}
    for name, src in (("_old_overdispersion", od_src), ("_old_comparison", cmp_src)):
        src = src.replace("from utfall.stats.overdispersion import", "from _old_overdispersion import")
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(src, f"{OLD_COMMIT[:7]}:{name}", "exec"), module.__dict__)  # noqa: S102
        modules[name] = module
    return modules["_old_comparison"]


def best_of(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def max_rel_diff(new: Any, old: Any) -> tuple[float, int]:
    """Largest relative difference over target, φ, τ² and every float in the rows, and the
    number of rows whose flag, suppression or None-ness differs (must be 0)."""
    worst, mismatches = 0.0, 0
    pairs = [(new.target, old.target)]
    pairs += [(new.overdispersion[k], old.overdispersion[k]) for k in ("phi", "tau2")]
    if new.overdispersion["excluded"] != old.overdispersion["excluded"]:
        mismatches += 1
    for a, b in zip(new.rows, old.rows, strict=True):
        for key in a:
            x, y = a[key], b[key]
            if isinstance(y, float) and isinstance(x, float):
                pairs.append((x, y))
            elif x != y:
                mismatches += 1
    for x, y in pairs:
        if x is None or y is None:
            mismatches += x is not y
            continue
        if x != y:
            worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return worst, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-old", action="store_true", help="skip the per-group reference")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs (default 5)")
    args = parser.parse_args()
    old = None if args.no_old else load_old()
    if old is None and not args.no_old:
        print(f"(reference implementation not available: needs git history with {OLD_COMMIT[:7]})")
    print(
        f"{'function':<20}{'groups':>7}{'new s':>10}{'old s':>10}{'speed-up':>10}{'max rel diff':>14}{'diffs':>7}"
    )
    for name in ("compare_proportions", "compare_ratios"):
        for k in SIZES:
            data = proportion_data(k, seed=k) if name == "compare_proportions" else ratio_data(k, seed=k)
            new_fn = functools.partial(getattr(comparison, name), *data)
            new_fn()  # warm-up (imports, caches)
            t_new, r_new = best_of(new_fn, args.repeat)
            line = f"{name:<20}{k:>7}{t_new:>10.4f}"
            if old is not None:
                t_old, r_old = best_of(functools.partial(getattr(old, name), *data), 1)
                worst, mismatches = max_rel_diff(r_new, r_old)
                line += f"{t_old:>10.3f}{t_old / t_new:>9.0f}x{worst:>14.1e}{mismatches:>7}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
