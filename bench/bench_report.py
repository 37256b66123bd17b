"""Benchmark: the demo municipality's annual report, built and rendered in each format.

Run: .venv/bin/python bench/bench_report.py [--database-url URL] [--year 2025] [--formats pdf,html,xlsx,docx]
The demo data are loaded once (as `utfall demo`) and kept in a SQLite file under /tmp (or the
PostgreSQL database named in the URL). Each format is timed from a cold count cache (as after
an import) through the finished file, the way `utfall report annual` and the page's button
make it. Target (issue 15): under 30 s per report on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

TARGET_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/utfall-bench-report.sqlite3")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--formats", default="pdf,html,xlsx,docx")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import datetime as dt

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from utfall.comparisons.cache import bump
    from utfall.demo.setup import demo_municipality, has_data, load_demo_data
    from utfall.reports.building import build_report
    from utfall.reports.rendering import render
    from utfall.stats.overdispersion import clear_fit_cache

    municipality = demo_municipality()
    if not has_data(municipality):
        print("Loading the demo municipality …", flush=True)
        started = time.perf_counter()
        load_demo_data(municipality)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    start, end = dt.date(args.year, 1, 1), dt.date(args.year, 12, 31)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'format':<6} {'build s':>8} {'render s':>9} {'total s':>8} {'bytes':>9}  target {TARGET_SECONDS:.0f} s"
    )
    worst = 0.0
    for fmt in args.formats.split(","):
        bump()  # as after an import: no cached count is valid
        clear_fit_cache()
        began = time.perf_counter()
        content = build_report(municipality, date_from=start, date_to=end)
        built = time.perf_counter()
        data = render(content, fmt)
        done = time.perf_counter()
        worst = max(worst, done - began)
        print(
            f"{fmt:<6} {built - began:>8.1f} {done - built:>9.1f} {done - began:>8.1f} {len(data):>9}",
            flush=True,
        )
    verdict = "met" if worst < TARGET_SECONDS else "NOT met"
    print(f"slowest format {worst:.1f} s: target {TARGET_SECONDS:.0f} s {verdict} "
          f"(load average after: {os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
