"""Load benchmark (issue 13 point 3): the production server under caseworkers and analysts.

Starts gunicorn with the production settings (deploy/gunicorn.conf.py, DEBUG off, whitenoise,
TLS as behind the proxy: every request carries ``X-Forwarded-Proto: https``) on a PostgreSQL
database of its own holding the demo municipality, then for a fixed time

* N caseworkers (default 50) submit follow-ups through the API with their own token and a new
  ``Idempotency-Key`` each, and now and then send the same request again (a client's retry),
  which must be answered with the same follow-up;
* M analysts (default 10) sign in through the form and read the results pages.

Each simulated person waits a random time between requests (exponential, mean ``--think-*``,
10 s by default: 50 caseworkers then send ~5 follow-ups a second, 18,000 an hour — a real
caseworker needs minutes per follow-up, and the whole country records well under that in an
hour; ``--think-caseworker 0`` turns it into a stress test of the 2-core machine instead).
Afterwards it prints requests, errors, p50/p95 of submissions and pages, and counts in the
database that every acknowledged submission is stored exactly once with all its answers.
Exit code 0 only when there were no errors and nothing was lost or duplicated.

    .venv/bin/python bench/load.py                       # 60 s, 50 + 10, database utfall_load
    .venv/bin/python bench/load.py --seconds 30 --database-url postgres://root@127.0.0.1:5432/load

The first run loads the demo municipality (size 1.0, about a minute); later runs reuse it
(``--fresh`` drops and recreates the database). Targets (issue 13): zero errors, zero lost or
duplicated follow-ups, p95 of submissions under 200 ms. docs/performance.md, "Load and faults".
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live

TARGET_P95_SUBMIT = 0.200
PAGES = [
    "/resultat/",
    "/resultat/jamforelse/?indicator=satisfied",
    "/resultat/jamforelse/?indicator=satisfied&adjust=on",
    "/resultat/jamforelse/?indicator=step_down&service=ihf",
    "/resultat/utveckling/?indicator=satisfied&grain=quarter",
    "/resultat/kvinnor-och-man/?indicator=satisfied",
    "/resultat/uppfoljningsgrad/?by=unit",
    "/resultat/utfallsmatt/",
    "/resultat/utforare/P0003/",
    "/api/v1/trends?indicator=satisfied",
]


@dataclass
class Tally:
    submit: list[float] = field(default_factory=list)
    resend: list[float] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def caseworker(port: int, run: str, who: live.Caseworker, until: float, think: float, resend: float,
               ledger: live.Ledger, lock: threading.Lock, tally: Tally, rng: random.Random) -> None:  # fmt: skip
    n = 0
    while time.monotonic() < until:
        time.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())) if think else 0)
        if time.monotonic() >= until:
            break
        n += 1
        payload = who.payloads[n % len(who.payloads)]
        key = f"{run}-{who.username}-{n}"
        try:
            reply = live.submit(port, who.token, key, payload)
        except OSError as exc:
            tally.errors.append(f"submit: {type(exc).__name__}")
            continue
        if reply.status != 201:
            tally.errors.append(f"submit: {reply.status} {reply.body[:120]!r}")
            continue
        tally.submit.append(reply.seconds)
        with lock:
            ledger.acknowledged[key] = reply.json()["followup_id"]
            ledger.answers[key] = len(payload["answers"])
        if rng.random() < resend:  # the client did not see the answer and sends it again
            again = live.submit(port, who.token, key, payload)
            tally.resend.append(again.seconds)
            with lock:
                if again.status != 201 or again.headers.get("idempotent-replayed") != "true":
                    tally.errors.append(f"resend: {again.status}")
                elif again.json()["followup_id"] != ledger.acknowledged[key]:
                    ledger.replay_mismatch += 1
                else:
                    ledger.replayed += 1


def analyst(port: int, session: str, until: float, think: float, tally: Tally, rng: random.Random) -> None:
    while time.monotonic() < until:
        time.sleep(min(rng.expovariate(1 / think), max(0.0, until - time.monotonic())) if think else 0)
        if time.monotonic() >= until:
            break
        path = rng.choice(PAGES)
        try:
            reply = live.request(port, "GET", path, {"Cookie": f"sessionid={session}"})
        except OSError as exc:
            tally.errors.append(f"page: {type(exc).__name__}")
            continue
        if reply.status != 200:
            tally.errors.append(f"page {path}: {reply.status}")
            continue
        tally.pages.append(reply.seconds)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/utfall_load")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--caseworkers", type=int, default=50)
    parser.add_argument("--analysts", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (UTFALL_WORKERS)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (UTFALL_THREADS; gthread)")
    parser.add_argument(
        "--think-caseworker", type=float, default=10.0, help="mean seconds between submissions"
    )
    parser.add_argument("--think-analyst", type=float, default=10.0, help="mean seconds between pages")
    parser.add_argument("--resend", type=float, default=0.05, help="share of submissions sent twice")
    parser.add_argument("--size", type=float, default=1.0, help="demo municipality size on a fresh database")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database first")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="utfall-load-"))
    env = live.production_env(args.database_url, workdir, UTFALL_THREADS=str(args.threads))
    if args.fresh:
        live.recreate_database(args.database_url)
    if not live.migrate_and_collect(env):
        return 2
    live.setup_django(env)
    from django.utils import timezone

    live.load_demo(args.size)
    people, analysts = live.make_people(args.caseworkers, args.analysts)
    server = live.Server(env, live.free_port(), args.workers, workdir / "gunicorn.log")
    print(f"gunicorn: {args.workers} workers × {args.threads} threads (gthread) on 127.0.0.1:{server.port}, PostgreSQL; "
          f"{args.caseworkers} caseworkers (mean {args.think_caseworker} s between submissions, "
          f"{args.resend:.0%} sent twice), {args.analysts} analysts (mean {args.think_analyst} s between pages), "
          f"{args.seconds:.0f} s", flush=True)  # fmt: skip
    run, since = f"load-{secrets.token_hex(4)}", timezone.now()
    ledger, lock, tally = live.Ledger(), threading.Lock(), Tally()
    server.start()
    try:
        sessions = [live.sign_in(server.port, name) for name in analysts]
        until = time.monotonic() + args.seconds
        threads = [threading.Thread(target=caseworker, args=(server.port, run, who, until, args.think_caseworker,
                                                             args.resend, ledger, lock, tally, random.Random(i)))
                   for i, who in enumerate(people)]  # fmt: skip
        threads += [threading.Thread(target=analyst, args=(server.port, s, until, args.think_analyst, tally,
                                                           random.Random(1000 + i)))
                    for i, s in enumerate(sessions)]  # fmt: skip
        cpu_before = live.cpu_seconds(server.pids()), live.postgres_cpu_seconds(args.database_url)
        started, load_before = time.monotonic(), os.getloadavg()[0]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        cpu = live.cpu_seconds(server.pids()) - cpu_before[0]
        cpu_db = live.postgres_cpu_seconds(args.database_url) - cpu_before[1]
    finally:
        server.stop()

    load = os.getloadavg()[0]
    requests = len(tally.submit) + len(tally.resend) + len(tally.pages) + len(tally.errors)
    print(f"requests: {requests} in {elapsed:.0f} s ({requests / elapsed:.1f}/s); machine load average "
          f"{load_before:.1f} before, {load:.1f} at the end ({os.cpu_count()} cores, shared with whatever else runs)")  # fmt: skip
    print(f"errors: {len(tally.errors)}" + (f" (first: {tally.errors[:3]})" if tally.errors else ""))
    print(f"submissions: {len(tally.submit)} acknowledged ({len(tally.submit) / elapsed:.1f}/s), "
          f"{live.ms(tally.submit)} (target p95 < {TARGET_P95_SUBMIT * 1000:.0f} ms)")  # fmt: skip
    print(f"resent: {len(tally.resend)}, answered with the same follow-up: {ledger.replayed}, "
          f"with another: {ledger.replay_mismatch}; {live.ms(tally.resend)}")  # fmt: skip
    print(f"pages: {len(tally.pages)}, {live.ms(tally.pages)}")
    inside = live.server_seconds(server.log, "POST", "/api/v1/followups")
    print(f"submissions inside gunicorn (access log, without the listen queue): {live.ms(inside)}")
    print(f"CPU: gunicorn {cpu:.1f} s, PostgreSQL {cpu_db:.1f} s = {(cpu + cpu_db) / max(1, requests) * 1000:.0f} ms "
          f"per request ({(cpu + cpu_db) / elapsed:.2f} of {os.cpu_count()} cores)")  # fmt: skip
    counts = live.count_in_database(run, ledger, since)
    print("in the database: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    p95 = live.percentile(tally.submit, 95)
    bad = (
        tally.errors
        or ledger.replay_mismatch
        or counts["lost"]
        or counts["duplicated"]
        or counts["stored"] != counts["acknowledged"]
        or counts["answers not as sent (half-written)"]
    )
    verdict = "OK" if not bad and p95 < TARGET_P95_SUBMIT else "NOT MET"
    print(f"verdict: {verdict} (errors 0, nothing lost or duplicated, p95 of submissions < 200 ms)")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
