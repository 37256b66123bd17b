"""Benchmark: import throughput (follow-up rows per second, validation included).

Run: .venv/bin/python bench/bench_import.py [--size 1.0] [--database-url URL]
Default: a fresh SQLite file in a temporary directory. Target (issue 13.2, raised from issue 2's
5,000): at least 20,000 validated follow-up rows per second on SQLite and PostgreSQL on the 2-core
reference machine. Besides the wall-clock rate it prints the rate by this process's CPU time
(reading, checking, the driver; on SQLite the database too), which other work on a shared
machine does not change.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

TARGET_ROWS_PER_SECOND = 20_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=float, default=1.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="utfall-bench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    os.environ.setdefault("SECRET_KEY", "bench-import-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from utfall.demo.generator import generate
    from utfall.interchange.importer import import_files
    from utfall.organisations.models import Municipality

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    municipality, _ = Municipality.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    data = generate(size=args.size, seed=11)
    files = {p.stem: p for p in data.write_csv(workdir / "set")}
    print(
        f"database: {connection.vendor}; {len(data.interventions)} interventions, {len(data.followups)} follow-ups"
    )

    t0 = time.perf_counter()
    report = import_files(
        [files["providers"], files["contracts"], files["interventions"]], municipality=municipality
    )
    t1, c1 = time.perf_counter(), time.process_time()
    assert report.ok, report.issues[:3]
    print(
        f"interventions: {len(data.interventions)} rows in {t1 - t0:.2f} s = {len(data.interventions) / (t1 - t0):,.0f} rows/s"
    )

    report = import_files([files["followups"]], municipality=municipality)
    t2, c2 = time.perf_counter(), time.process_time()
    assert report.ok, report.issues[:3]
    rate = len(data.followups) / (t2 - t1)
    print(
        f"follow-ups:    {len(data.followups)} rows in {t2 - t1:.2f} s = {rate:,.0f} rows/s "
        f"(target {TARGET_ROWS_PER_SECOND:,}; ratio {rate / TARGET_ROWS_PER_SECOND:.2f}); "
        f"by this process's CPU time {len(data.followups) / (c2 - c1):,.0f} rows/s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    report = import_files([files["followups"]], municipality=municipality)
    t3 = time.perf_counter()
    assert report.ok and not report.created
    print(
        f"re-import, unchanged: {len(data.followups)} rows in {t3 - t2:.2f} s = "
        f"{len(data.followups) / (t3 - t2):,.0f} rows/s"
    )


if __name__ == "__main__":
    main()
