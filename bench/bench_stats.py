"""Timings of compare_proportions / compare_ratios for 100, 400 and 1000 groups, and of
everything one comparison page asks of utfall/stats at 160, 750 and 2,500 groups.

Run as ``.venv/bin/python bench/bench_stats.py`` (``--no-old`` skips the slow reference).
Besides the current code it times the pre-vectorised implementation (one group at a
time), loaded from git at :data:`OLD_COMMIT` (it needs the git history), and prints the
largest relative difference between the two on the same data. The second section
(``--pages-only`` runs it alone) times a whole page's statistics — the comparison with its fit
and limits plus the assessment (posterior, detectable differences, rankability) — for the
proportion page and the case-mix adjusted (O/E) page, and compare_ratios, in CPU and wall
time, against the whole of utfall/stats as of :data:`BEFORE_COMMIT`. A script, not a test.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import os
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
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
#: main before the vectorised assessment (2026-12-02): the "before" of the page section.
BEFORE_COMMIT = "8fc5821e5a13ba4ba6d99884565fcae6208939b6"
PAGE_SIZES = (160, 750, 2500)


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


def load_stats_at(commit: str) -> types.ModuleType | None:
    """The whole utfall/stats package as of ``commit``, importable as ``_stats_<commit[:7]>``
    (its ``utfall.stats`` imports rewritten), from a temporary directory; None without git history."""
    name = f"_stats_{commit[:7]}"
    try:
        listing = subprocess.run(  # noqa: S603 - fixed git command, no user input
            ["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", commit, "utfall/stats"],  # noqa: S607
            check=True, capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        target = Path(tempfile.mkdtemp(prefix="bench_stats_"))
        for path in listing:
            if not path.endswith(".py"):
                continue
            src = subprocess.run(  # noqa: S603 - fixed git command, no user input
                ["git", "-C", str(ROOT), "show", f"{commit}:{path}"],  # noqa: S607
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            out = target / name / Path(path).relative_to("utfall/stats")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(src.replace("utfall.stats", name))
    except (OSError, subprocess.CalledProcessError, ValueError):
        return None
    sys.path.insert(0, str(target))
    return importlib.import_module(name)


def adjusted_data(k: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """k providers, n uniform 5–300, a case mix (expected rate logit-normal around 0.75, sd 0.5),
    O binomial with a logit-normal provider effect (sd 0.3), 2 % planted low; E = n × expected rate."""
    rng = np.random.default_rng(seed)
    n = rng.integers(5, 301, k)
    rate = special.expit(special.logit(0.75) + 0.5 * rng.standard_normal(k))
    effect = 0.3 * rng.standard_normal(k)
    effect[: max(1, k // 50)] = -1.2
    o = rng.binomial(n, special.expit(special.logit(rate) + effect))
    return [f"G{i:04d}" for i in range(k)], o, n * rate, n


def page_work(stats: Any, page: str, data: tuple[Any, ...]) -> Callable[[], object]:
    """What one comparison page asks of utfall/stats (comparisons.services.compare_indicator),
    from a cold fit cache: the comparison (fit, limits) and the assessment of every provider."""
    comparison = importlib.import_module(f"{stats.__name__}.comparison")
    adjusted = importlib.import_module(f"{stats.__name__}.adjusted")
    assessment = importlib.import_module(f"{stats.__name__}.assessment")
    overdispersion = importlib.import_module(f"{stats.__name__}.overdispersion")

    def proportions() -> object:
        overdispersion.clear_fit_cache()
        groups, events, n = data
        reference = comparison.compare_proportions(groups, events, n, min_n=5)
        used = [i for i, row in enumerate(reference.rows) if not row["suppressed"]]
        return reference, assessment.assess(reference.fit, events, n, used=used, goal=0.8)

    def ratio_page() -> object:
        overdispersion.clear_fit_cache()
        groups, o, e, n = data
        adj = adjusted.compare_adjusted(groups, o, e, n, min_n=5)
        return adj, assessment.assess(adj.fit, adj.standardised_events, adj.n, used=adj.used,
                                      scale=adj.overall or 1.0)  # fmt: skip

    def ratios() -> object:
        overdispersion.clear_fit_cache()
        return comparison.compare_ratios(*data, min_n=5)

    def fit() -> object:  # the proportions page's funnel fit alone, and its 99.8 % flags
        overdispersion.clear_fit_cache()
        _, events, n = data
        kept = np.asarray(n) >= 5
        found = overdispersion.fit_overdispersion(np.asarray(events)[kept], np.asarray(n)[kept])
        return found, found.flags(np.asarray(events)[kept], np.asarray(n)[kept])

    pages = {"proportions": proportions, "adjusted O/E": ratio_page, "compare_ratios": ratios}
    return {**pages, "fit (proportions)": fit}[page]


def cpu_and_wall(fn: Callable[[], object], repeat: int) -> tuple[float, float, object]:
    """Best CPU (process_time) and best wall time of ``repeat`` runs, and the last result."""
    cpu, wall, out = math.inf, math.inf, None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall, out


def pages(repeat: int) -> None:
    from utfall import stats as current

    before = load_stats_at(BEFORE_COMMIT)
    if before is None:
        print(f"(utfall/stats at {BEFORE_COMMIT[:7]} not available: needs the git history)")
    print(
        f"\nOne page's statistics, cold fit cache, best of {repeat}; before = utfall/stats at {BEFORE_COMMIT[:7]}"
    )
    print(
        f"{'page':<16}{'groups':>7}{'cpu ms':>9}{'wall ms':>9}{'before cpu':>11}{'before wall':>12}{'ratio cpu':>10}"
    )
    for page in ("fit (proportions)", "proportions", "adjusted O/E", "compare_ratios"):
        for k in PAGE_SIZES:
            maker = {
                "fit (proportions)": proportion_data,
                "proportions": proportion_data,
                "adjusted O/E": adjusted_data,
                "compare_ratios": ratio_data,
            }
            data = maker[page](k, seed=k)
            new = page_work(current, page, data)
            new()  # warm-up (imports)
            cpu, wall, _ = cpu_and_wall(new, repeat)
            line = f"{page:<16}{k:>7}{cpu * 1e3:>9.1f}{wall * 1e3:>9.1f}"
            if before is not None:
                old = page_work(before, page, data)
                old()
                cpu_b, wall_b, _ = cpu_and_wall(old, repeat)
                line += f"{cpu_b * 1e3:>11.1f}{wall_b * 1e3:>12.1f}{cpu_b / cpu:>9.1f}x"
            print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-old", action="store_true", help="skip the per-group reference")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many runs (default 5)")
    parser.add_argument("--pages-only", action="store_true", help="only the page section")
    args = parser.parse_args()
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.pages_only:
        pages(args.repeat)
        return
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
    pages(args.repeat)


if __name__ == "__main__":
    main()
