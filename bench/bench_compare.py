"""Benchmark: one comparison of all providers on one indicator for a year, at ~1 million follow-ups.

Run: .venv/bin/python bench/bench_compare.py [--database-url URL] [--followups 1000000]
The database is built once (synthetic data through the real importer, 900 providers as in
Gothenburg) and kept: a SQLite file under /tmp, or the PostgreSQL database named in the URL.
Target (issue 3): under 2 s per comparison on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

TARGET_SECONDS = 2.0
FOLLOWUPS_PER_SIZE = 41_100  # generate(size=1.0) gives about this many follow-ups


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/utfall-bench-compare.sqlite3")
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--providers", type=int, default=900)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from utfall.comparisons.cache import bump
    from utfall.comparisons.services import compare
    from utfall.demo.generator import as_tables, generate
    from utfall.followups.models import FollowUp
    from utfall.interchange.importer import Importer
    from utfall.organisations.models import Municipality
    from utfall.stats.overdispersion import clear_fit_cache

    call_command("migrate", verbosity=0)
    municipality, _ = Municipality.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    today = dt.date(2026, 6, 30)
    stored = FollowUp.objects.filter(municipality=municipality).count()
    if stored < args.followups * 0.9:
        size = args.followups / FOLLOWUPS_PER_SIZE
        print(f"building: generate(size={size:.1f}, providers={args.providers}) …", flush=True)
        t = time.perf_counter()
        data = generate(size=size, seed=99, today=today, providers=args.providers)
        followups = data.followups
        data.followups = []
        Importer(municipality=municipality, today=today).run(tables=as_tables(data))  # type: ignore[arg-type]
        step = 100_000
        for start in range(0, len(followups), step):
            data.providers, data.contracts, data.interventions = [], [], []
            data.followups = followups[start : start + step]
            report = Importer(municipality=municipality, today=today).run(tables=as_tables(data))  # type: ignore[arg-type]
            assert report.ok, report.issues[:3]
            print(f"  {start + len(data.followups):,} follow-ups imported", flush=True)
        print(f"built in {time.perf_counter() - t:.0f} s", flush=True)
        stored = FollowUp.objects.filter(municipality=municipality).count()
    # A freshly loaded database is measured as it is after routine maintenance: statistics
    # gathered and the visibility map set (PostgreSQL's autovacuum does this in production).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    print(
        f"database: {connection.vendor}; {stored:,} follow-ups (each run computes afresh: no cached counts)"
    )
    year = {"date_from": dt.date(2025, 7, 1), "date_to": dt.date(2026, 6, 30)}
    for indicator in ("satisfied", "assessment_approved", "step_down", "followup_coverage"):
        times = []
        for _ in range(args.repeat):
            bump()  # counts are cached per data generation: measure them computed afresh
            clear_fit_cache()
            t = time.perf_counter()
            result = compare(municipality=municipality, indicator=indicator, by="provider", **year)
            times.append(time.perf_counter() - t)
        rows = result.comparison.rows
        n_total = sum(r["n"] or 0 for r in rows)
        print(
            f"{indicator:<22} {len(rows)} providers, n={n_total:,}: median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s (target {TARGET_SECONDS} s; ratio {statistics.median(times) / TARGET_SECONDS:.2f})"
        )


if __name__ == "__main__":
    main()
