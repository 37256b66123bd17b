"""Benchmark: procurement's pages on the demo municipality (issue 12).

Run: .venv/bin/python bench/bench_procurement.py [--database-url URL] [--size 1.0] [--repeat 3]
The demo data (with contract terms, targets and payment rules) is loaded once and kept: a SQLite
file under /tmp, or the PostgreSQL database named in the URL. Each figure is measured with the
count cache emptied first (the cold case a user meets after new data). Target: under 2 s per page,
as the comparison (issue 3), on the 2-core reference machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_SECONDS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/utfall-bench-procurement.sqlite3")
    parser.add_argument("--size", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ.setdefault("DEBUG", "true")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from utfall.comparisons.cache import bump
    from utfall.demo.setup import demo_municipality, ensure_demo_procurement, has_data, load_demo_data
    from utfall.procurement import payment
    from utfall.procurement.costs import costs
    from utfall.procurement.models import PaymentRule, RuleKind
    from utfall.procurement.results import contract_results, targets_summaries
    from utfall.registry.models import Contract, Intervention

    call_command("migrate", verbosity=0)
    municipality = demo_municipality()
    if not has_data(municipality):
        print(f"Läser in demodata (size {args.size}) …", flush=True)
        load_demo_data(municipality, size=args.size)
    ensure_demo_procurement(municipality)
    contracts = list(
        Contract.objects.filter(municipality=municipality)
        .select_related("provider", "municipality")
        .prefetch_related("services", "targets")
    )
    # The largest contract with payment rules (targets), so the statement has rules to evaluate.
    ruled = [c for c in contracts if c.payment_rules.exists()] or contracts
    biggest = max(ruled, key=lambda c: c.interventions.count())
    start, end = payment.last_year(municipality)
    rule = PaymentRule(kind=RuleKind.BONUS_SHARE, indicator="step_down", share_percent=2, floor="0.5",
                       name="bench")  # fmt: skip
    n = Intervention.objects.filter(municipality=municipality).count()
    rules = PaymentRule.objects.filter(municipality=municipality).aggregate(n=Count("pk"))["n"]
    print(f"{n} insatser, {len(contracts)} avtal, {rules} regler; period {start}–{end}")

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("avtalslistan (mål för alla avtal)", lambda: targets_summaries(contracts, start, end)),
        (f"avtalssidan ({biggest.contract_id})", lambda: contract_results(biggest, start, end)),
        (f"avräkning ({biggest.contract_id})", lambda: payment.evaluate(biggest, start, end)),
        ("simulering, alla avtal", lambda: payment.simulate(municipality, rule)),
        ("kostnad per gott utfall", lambda: costs(municipality, start, end)),
    ]
    worst = 0.0
    for label, run in cases:
        times = []
        for _ in range(args.repeat):
            bump()  # cold: the count cache emptied, as after new data
            began = time.perf_counter()
            run()
            times.append(time.perf_counter() - began)
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"{label:40s} median {median:6.2f} s   (max {max(times):.2f} s, {args.repeat} körningar)")
    verdict = "inom" if worst < TARGET_SECONDS else "ÖVER"
    print(f"Sämsta median {worst:.2f} s: {verdict} målet {TARGET_SECONDS:.0f} s.")


if __name__ == "__main__":
    main()
