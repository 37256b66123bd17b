"""Benchmark of the results pages (not a test): p50 and p95 per page against the 300 ms target.

Loads the demo municipality into a SQLite file (kept between runs; ``--fresh`` rebuilds it),
then requests every page N times with Django's test client as the demo analyst.

    .venv/bin/python bench/bench_pages.py            # N = 20
    .venv/bin/python bench/bench_pages.py -n 50 --db /tmp/bench-pages.sqlite3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=20, help="requests per page (default 20)")
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "utfall-bench-pages.sqlite3"))
    parser.add_argument("--fresh", action="store_true", help="rebuild the demo database")
    args = parser.parse_args()

    db = Path(args.db)
    if args.fresh and db.exists():
        db.unlink()
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["UTFALL_DEMO"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "utfall.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test client's hosts and templates, as in the tests
    call_command("migrate", verbosity=0)
    from utfall.demo.setup import demo_municipality, ensure_demo_users, has_data, load_demo_data
    from utfall.organisations.models import User

    municipality = demo_municipality()
    if not has_data(municipality):
        print("Loading the demo municipality …", flush=True)
        started = time.perf_counter()
        load_demo_data(municipality)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    ensure_demo_users(municipality)

    client = Client()
    client.force_login(User.objects.get(username="analyst"))
    pages = {
        "start of results": "/resultat/",
        "provider comparison": "/resultat/jamforelse/?indicator=satisfied",
        "provider comparison, O/E": "/resultat/jamforelse/?indicator=satisfied&adjust=on",
        "comparison, one service": "/resultat/jamforelse/?indicator=step_down&service=ihf",
        "trends (quarters)": "/resultat/utveckling/?indicator=satisfied&grain=quarter",
        "trends, one unit (years)": "/resultat/utveckling/?indicator=assessment_approved&grain=year&unit=sodermalm",
        "women and men": "/resultat/kvinnor-och-man/?indicator=satisfied",
        "coverage per unit": "/resultat/uppfoljningsgrad/?by=unit",
        "coverage per provider": "/resultat/uppfoljningsgrad/?by=provider",
        "coverage per caseworker": "/resultat/uppfoljningsgrad/?by=caseworker",
        "outcome measures": "/resultat/utfallsmatt/",
        "provider page": "/resultat/utforare/P0003/",
        "comparison CSV": "/resultat/jamforelse/?indicator=satisfied&format=csv",
        "comparison XLSX": "/resultat/jamforelse/?indicator=satisfied&format=xlsx",
        "API trends": "/api/v1/trends?indicator=satisfied",
    }
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"{'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8}  target {TARGET_MS:.0f} ms  (n = {args.n})"
    )
    failed = 0
    for name, url in pages.items():
        response = client.get(url)  # warm-up
        assert response.status_code == 200, (url, response.status_code)
        times, cpu = [], []
        for _ in range(args.n):
            started, started_cpu = time.perf_counter(), time.process_time()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        ok = p95 < TARGET_MS
        failed += not ok
        print(f"{name:<28} {p50:8.0f} {p95:8.0f} {statistics.median(cpu):8.0f}  {'ok' if ok else 'OVER'}")
    print(f"{len(pages) - failed} of {len(pages)} pages within {TARGET_MS:.0f} ms at p95")
    print(f"load average after: {os.getloadavg()[0]:.1f} (wall times grow with other work on the machine;")
    print("cpu is this process's own time, database included on SQLite)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
