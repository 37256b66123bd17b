"""Benchmark of the outcome indicators (not a test): step down, plan goals and rereferral read
from the maintained outcome counts against the same counts from the interventions and their
stored outcomes (as before 2026-12-03), and the two pages that show them, all cold.

On a database that ``bench_scale.py`` built (a copy: ``migrate`` runs first and fills the
outcome counts, which is timed too):

    cp /tmp/utfall-bench-scale/scale-300k.sqlite3 /tmp/copy.sqlite3
    .venv/bin/python bench/bench_outcomes.py --db /tmp/copy.sqlite3 -n 5
    .venv/bin/python bench/bench_outcomes.py --db /tmp/copy.sqlite3 --pages-only   # any code, e.g. before

CPU time of this process (on SQLite the database's work is this process's own; the machine is
shared, so wall time is noisy) and the load average are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

OUTCOMES = ("step_down", "plan_goals_reached", "plan_goals_fully", "rereferral_6m", "rereferral_12m")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True, help="a SQLite file (a copy: it is migrated)")
    parser.add_argument("-n", type=int, default=5, help="cold repeats per measure (default 5)")
    parser.add_argument(
        "--pages-only", action="store_true", help="only the two pages (any version of the code)"
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(args.db).resolve()}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.settings")
    os.environ.setdefault("DEBUG", "true")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    warnings.filterwarnings("ignore", message="No directory at")
    started, started_cpu = time.perf_counter(), time.process_time()
    call_command("migrate", verbosity=0)
    print(f"bench_outcomes: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; migrate "
          f"{time.perf_counter() - started:.1f} s wall, {time.process_time() - started_cpu:.1f} s cpu", flush=True)  # fmt: skip
    from utfall.demo.setup import demo_municipality
    from utfall.registry.models import Intervention

    municipality = demo_municipality()
    ended = Intervention.objects.filter(municipality=municipality, ended_on__isnull=False).count()
    print(
        f"{Intervention.objects.filter(municipality=municipality).count():,} interventions, {ended:,} ended"
    )
    if not args.pages_only:
        _services(municipality, args.n)
    _pages(args.n)
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


def _cold(fn: Any, n: int) -> tuple[float, float, Any]:
    """(median cpu ms, median wall ms, result) of n cold calls."""
    from utfall.comparisons.cache import bump

    cpu, wall = [], []
    result = None
    for _ in range(n):
        bump()
        began, began_cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpu.append((time.process_time() - began_cpu) * 1000)
        wall.append((time.perf_counter() - began) * 1000)
    return statistics.median(cpu), statistics.median(wall), result


def _services(municipality: Any, n: int) -> None:
    from utfall.aggregates.models import OutcomeByProvider, OutcomeCount
    from utfall.comparisons import queries
    from utfall.comparisons.indicators import get_indicator
    from utfall.results.services.common import default_period

    date_from, date_to = default_period(municipality)
    print(f"outcome counts: {OutcomeCount.objects.count():,} rows, rollup by provider and service "
          f"{OutcomeByProvider.objects.count():,}; period {date_from}–{date_to} (the pages' default)")  # fmt: skip
    print(f"{'indicator, by':<32} {'raw cpu':>8} {'counts cpu':>10} {'raw wall':>9} {'counts wall':>11}  (median ms, {n} cold)")  # fmt: skip
    totals = [0.0, 0.0]
    for code in OUTCOMES:
        indicator = get_indicator(code)
        for by in (["provider"], ["service"], ["provider", "sex"]):

            def raw(indicator: Any = indicator, by: list[str] = by) -> Any:
                qs, prefix, event, year = queries._base(indicator, municipality, date_from, date_to, None)
                return queries._grouped(qs, prefix, event, year, indicator, municipality, date_from, date_to,
                                        by, None, None)  # fmt: skip

            def counted(indicator: Any = indicator, by: list[str] = by) -> Any:
                return queries.aggregate(indicator, municipality=municipality, date_from=date_from,
                                         date_to=date_to, by=by)  # fmt: skip

            raw_cpu, raw_wall, want = _cold(raw, n)
            cpu, wall, got = _cold(counted, n)
            assert got == want, f"{code} by {by}: the counts differ from the interventions'"
            totals[0] += raw_cpu
            totals[1] += cpu
            print(f"{code + ', ' + '+'.join(by):<32} {raw_cpu:8.0f} {cpu:10.0f} {raw_wall:9.0f} {wall:11.0f}")
    print(f"{'all 15 (sum of medians)':<32} {totals[0]:8.0f} {totals[1]:10.0f}   (identical rows: checked)")


def _pages(n: int) -> None:
    from django.test import Client

    from utfall.comparisons.cache import bump
    from utfall.organisations.models import User
    from utfall.stats.overdispersion import clear_fit_cache

    client = Client()
    client.force_login(User.objects.get(username="analyst"))
    pages = {"provider page": "/resultat/utforare/P0003/", "outcomes page": "/resultat/utfallsmatt/"}
    print(
        f"{'page':<16} {'cold cpu p50':>12} {'cold wall p50':>13} {'cold wall p95':>13}  (ms, {n} requests)"
    )
    for name, url in pages.items():
        status = client.get(url, secure=True).status_code
        cpu, wall = [], []
        for _ in range(n):
            bump()
            clear_fit_cache()
            began, began_cpu = time.perf_counter(), time.process_time()
            client.get(url, secure=True)
            cpu.append((time.process_time() - began_cpu) * 1000)
            wall.append((time.perf_counter() - began) * 1000)
        wall.sort()
        p95 = wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))]
        print(f"{name:<16} {statistics.median(cpu):12.0f} {statistics.median(wall):13.0f} {p95:13.0f}"
              + ("" if status == 200 else f"   (status {status})"))  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
