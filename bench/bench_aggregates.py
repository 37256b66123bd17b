"""Benchmark: the indicator counts read from the maintained count tables against the same
counts computed from the raw rows (issue 13 point 1), on an existing database.

Run: DEBUG=true .venv/bin/python bench/bench_aggregates.py --database-url URL [--municipality CODE]
     [--repeat 5]
Use the database another benchmark built (bench_pages.py's demo SQLite file, bench_compare.py's
million follow-ups). For each count the pages ask (all providers, one indicator, a year; by
quarter; women and men by age group; follow-ups by status; coverage of a calendar year) it
prints the median CPU time from the raw rows and from the count tables, their ratio, and checks
that both give the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--municipality", default="")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from unittest import mock

    from django.db import connection

    from utfall.comparisons import queries
    from utfall.comparisons.cache import bump
    from utfall.comparisons.indicators import get_indicator
    from utfall.followups.models import FollowUp
    from utfall.organisations.models import Municipality

    qs = Municipality.objects.order_by("pk")
    municipality = qs.get(code=args.municipality) if args.municipality else qs.filter(
        pk__in=FollowUp.objects.values("municipality_id")[:1]).get()  # fmt: skip
    newest = (
        FollowUp.objects.filter(municipality=municipality).order_by("-date").values_list("date", flat=True)[0]
    )
    year_end = dt.date(newest.year, newest.month, 1) - dt.timedelta(days=1)  # the last whole month
    year = {"date_from": year_end.replace(day=1) - dt.timedelta(days=334), "date_to": year_end}
    year["date_from"] = year["date_from"].replace(day=1)
    followups = FollowUp.objects.filter(municipality=municipality).count()
    print(f"database: {connection.vendor}; {municipality.code}: {followups:,} follow-ups; "
          f"period {year['date_from']} – {year['date_to']}")  # fmt: skip

    satisfied, approved = get_indicator("satisfied"), get_indicator("assessment_approved")
    cases: dict[str, Callable[[], Any]] = {
        "satisfied by provider": lambda: queries.aggregate(satisfied, municipality=municipality, by=["provider"], **year),
        "assessment by provider": lambda: queries.aggregate(approved, municipality=municipality, by=["provider"], **year),
        "satisfied by quarter": lambda: queries.aggregate(satisfied, municipality=municipality, by=[], period="quarter",
                                                          **year),
        "women/men by age group": lambda: queries.aggregate(satisfied, municipality=municipality,
                                                            by=["service", "age_group", "sex"], **year),
        "case-mix cells (O/E)": lambda: queries.aggregate(satisfied, municipality=municipality,
                                                          by=["provider", "sex", "age_group", "service"], **year),
        "follow-ups by status": lambda: queries.followup_status_counts(municipality=municipality, by="unit", **year),
    }  # fmt: skip
    # Coverage of a calendar year (a maintained period, aggregates.coverage): by provider and by
    # unit from the rollups, by provider × sex × age group from the full table (2026-12-03).
    coverage = get_indicator("followup_coverage")
    calendar = {"date_from": dt.date(year_end.year, 1, 1), "date_to": dt.date(year_end.year, 12, 31)}
    for label, by in (
        ("provider", ["provider"]),
        ("unit", ["unit"]),
        ("provider/sex/age", ["provider", "sex", "age_group"]),
    ):
        cases[f"coverage by {label}"] = lambda by=by: queries.aggregate(coverage, municipality=municipality, by=by,
                                                                        **calendar)  # fmt: skip

    def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
        times, result = [], None
        for _ in range(args.repeat):
            bump()  # no cached counts
            started = time.process_time()  # CPU: other work on a shared machine stays out
            result = fn()
            times.append(time.process_time() - started)
        return statistics.median(times), result

    def raw_only(date_from: dt.date, date_to: dt.date) -> tuple[None, list[tuple[dt.date, dt.date]]]:
        return None, [(date_from, date_to)]

    print(f"{'count (median CPU)':<26} {'raw rows':>10} {'maintained':>11} {'ratio':>7}  same rows; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, fn in cases.items():
        with (
            mock.patch.object(queries, "months_within", raw_only),
            mock.patch.object(queries, "coverage_period", lambda *a, **k: None),
        ):
            raw_time, raw = timed(fn)
        kept_time, kept = timed(fn)
        print(f"{name:<26} {raw_time * 1000:8.0f} ms {kept_time * 1000:8.0f} ms {raw_time / kept_time:6.1f}x  "
              f"{'yes' if raw == kept else 'NO'}")  # fmt: skip


if __name__ == "__main__":
    main()
