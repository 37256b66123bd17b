"""Fault benchmark (issue 13 point 4): kill the server mid-import and mid-burst, restart PostgreSQL.

On the production server of bench/live.py (gunicorn, production settings, PostgreSQL):

1. **Import killed.** ``utfall import`` of a large follow-ups file runs against the database; as
   soon as its write transaction has begun (PostgreSQL has given it a transaction id) the import
   process and gunicorn get SIGKILL. After the restart nothing of the file may be stored (on
   PostgreSQL an import is one transaction, docs/interchange.md); the same command run again
   stores every row once, and a third run changes nothing.
2. **Burst killed.** Caseworkers submit through the API as fast as they can; gunicorn gets
   SIGKILL in the middle. After the restart every acknowledged submission must be stored once
   with all its answers; then the clients send the unacknowledged ones again with the same
   ``Idempotency-Key`` (as a client retries) and every submission is stored exactly once.
3. **Aggregates.** ``utfall rebuild-aggregates --check`` (when the command exists) must find the
   maintained aggregates equal to a rebuild from the raw rows.
4. **PostgreSQL restarted under load** (only with ``--restart-postgresql``: the server may be
   shared). Caseworkers and analysts keep working while ``pg_ctlcluster … restart`` runs; the
   same gunicorn processes must answer again by themselves, with no error after recovery, and
   the retried submissions must again be stored exactly once.

    .venv/bin/python bench/faults.py --database-url postgres://root@127.0.0.1:5432/faults
    .venv/bin/python bench/faults.py --restart-postgresql     # also step 4

Exit code 0 only when every check holds. docs/performance.md, "Load and faults".
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live

FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  {'ok' if ok else 'FAILED'}: {what}", flush=True)
    if not ok:
        FAILURES.append(what)


@dataclass
class Clients:
    """Caseworkers sending follow-ups; what was acknowledged and what is still owed an answer."""

    run: str
    people: list[live.Caseworker]
    ledger: live.Ledger = field(default_factory=live.Ledger)
    pending: dict[str, tuple[live.Caseworker, dict[str, Any]]] = field(default_factory=dict)
    errors: list[tuple[float, str]] = field(default_factory=list)
    ok_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, port: int, who: live.Caseworker, key: str, payload: dict[str, Any]) -> bool:
        with self.lock:  # what a stored follow-up of this key must hold, acknowledged or not
            self.ledger.answers[key] = len(payload["answers"])
        try:
            reply = live.submit(port, who.token, key, payload, timeout=20)
            failure = "" if reply.status == 201 else f"HTTP {reply.status}"
        except OSError as exc:
            reply, failure = None, type(exc).__name__
        with self.lock:
            if reply is None or failure:
                self.pending[key] = (who, payload)
                self.errors.append((time.monotonic(), failure))
                return False
            self.pending.pop(key, None)
            self.ledger.acknowledged[key] = reply.json()["followup_id"]
            self.ok_at.append(time.monotonic())
            return True

    def work(
        self, port: int, until: float, think: float, seed: int, *, stop_on_failure: bool = False
    ) -> None:
        """Send follow-ups until ``until``. One that got no answer is sent again with the same key
        (after a pause) before anything new; with ``stop_on_failure`` the client gives up at once
        and keeps it owed."""
        rng, n, owed = random.Random(seed), 0, None
        who = self.people[seed % len(self.people)]
        while time.monotonic() < until:
            if owed is None:
                n += 1
                owed = (f"{self.run}-{who.username}-{seed}-{n}", who.payloads[n % len(who.payloads)])
            if not self.send(port, who, *owed):
                if stop_on_failure:
                    return
                time.sleep(0.5)
                continue
            owed = None
            time.sleep(rng.expovariate(1 / think) if think else 0)

    def retry_all(self, port: int) -> int:
        owed = list(self.pending.items())
        for key, (who, payload) in owed:
            self.send(port, who, key, payload)
        return len(owed)


def counts(clients: Clients, since: Any) -> dict[str, int]:
    found = live.count_in_database(clients.run, clients.ledger, since)
    print("  in the database: " + ", ".join(f"{k} {v}" for k, v in found.items()), flush=True)
    return found


def exactly_once(found: dict[str, int], *, all_acknowledged: bool) -> None:
    check(found["lost"] == 0, "every acknowledged submission is stored")
    check(found["duplicated"] == 0, "no submission is stored twice")
    check(found["answers not as sent (half-written)"] == 0, "every stored follow-up has all its answers")
    if all_acknowledged:
        check(
            found["stored"] == found["acknowledged"],
            "after the retries, every submission is stored exactly once",
        )


def import_killed(env: dict[str, str], server: live.Server, url: str, workdir: Path, size: float) -> None:
    from utfall.demo.generator import generate
    from utfall.followups.models import Answer, FollowUp
    from utfall.organisations.models import Municipality

    print(
        f"1. import killed: a follow-ups file of the demo generator (size {size}) into municipality 'faults'"
    )
    municipality, _ = Municipality.objects.get_or_create(
        code="faults", defaults={"name": "Fel (syntetiska data)"}
    )
    data = generate(size=size, seed=13)
    files = {p.stem: p for p in data.write_csv(workdir / "import")}
    done = live.utfall(
        env,
        "import",
        "--municipality",
        "faults",
        *(str(files[k]) for k in ("providers", "contracts", "interventions")),
    )
    if done.returncode:
        raise RuntimeError(f"the registry files did not import: {done.stderr[-500:]}")
    followups = FollowUp.objects.filter(municipality=municipality)
    answers = Answer.objects.filter(municipality=municipality)
    before = (followups.count(), answers.count())
    command = [sys.executable, "-m", "utfall", "import", "--municipality", "faults", str(files["followups"])]
    started = time.monotonic()
    importer = subprocess.Popen(  # noqa: S603
        command, env=env, cwd=live.ROOT, stdout=subprocess.DEVNULL, stderr=(workdir / "import.log").open("wb")
    )
    writing = wait_for_write_transaction(url, importer, timeout=600)
    time.sleep(random.uniform(0.3, 1.5))  # somewhere in the write pass
    killed_at = time.monotonic() - started
    os.kill(importer.pid, signal.SIGKILL)
    server.kill()
    importer.wait()
    print(f"  {len(data.followups)} rows; the write began after {writing:.1f} s; SIGKILL to the import and "
          f"gunicorn at {killed_at:.1f} s")  # fmt: skip
    wait_until_backends_gone(url, timeout=120)
    server.start()
    after = (followups.count(), answers.count())
    check(
        after == before,
        f"nothing of the killed import is stored (follow-ups, answers: {before} before, {after} after)",
    )
    t0 = time.monotonic()
    again = live.utfall(env, "import", "--municipality", "faults", str(files["followups"]))
    took = time.monotonic() - t0
    stored = (followups.count(), answers.count())
    check(again.returncode == 0 and stored[0] == before[0] + len(data.followups),
          f"the same import run again stores every row once ({stored[0] - before[0]} of {len(data.followups)} "
          f"in {took:.0f} s, {stored[1] - before[1]} answers)")  # fmt: skip
    third = live.utfall(env, "import", "--municipality", "faults", str(files["followups"]))
    check(
        third.returncode == 0 and (followups.count(), answers.count()) == stored,
        "a third run changes nothing",
    )


def wait_for_write_transaction(url: str, importer: subprocess.Popen[bytes], timeout: float) -> float:
    """Seconds until a backend of this database other than ours holds a transaction id (it wrote)."""
    import psycopg

    started = time.monotonic()
    name = urlparse(url).path.lstrip("/")
    with psycopg.connect(url, autocommit=True) as db:
        while time.monotonic() - started < timeout:
            if importer.poll() is not None:
                raise RuntimeError(
                    f"the import ended (exit code {importer.returncode}) before its write could be "
                    "interrupted; use a larger --import-size"
                )
            found = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL "
                               "AND pid <> pg_backend_pid()", [name]).fetchone()  # fmt: skip
            if found and found[0]:
                return time.monotonic() - started
            time.sleep(0.05)
    raise RuntimeError("the import did not start writing in time")


def wait_until_backends_gone(url: str, timeout: float) -> None:
    """PostgreSQL notices a killed client when its backend next talks to it; wait for that."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as db:
        while time.monotonic() < deadline:
            row = db.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_xid IS NOT NULL "
                             "AND pid <> pg_backend_pid()", [name]).fetchone()  # fmt: skip
            if row and not row[0]:
                return
            time.sleep(0.2)
    raise RuntimeError("a killed client's transaction is still open in PostgreSQL")


def burst_killed(server: live.Server, people: list[live.Caseworker], threads: int) -> None:
    from django.utils import timezone

    print(
        f"2. burst killed: {threads} clients submitting without pause; SIGKILL to gunicorn once 50 are acknowledged"
    )
    clients, since = Clients(f"fault-{secrets.token_hex(4)}", people), timezone.now()
    started = time.monotonic()
    until = started + 120
    workers = [threading.Thread(target=clients.work, args=(server.port, until, 0, i), kwargs={"stop_on_failure": True})
               for i in range(threads)]  # fmt: skip
    for w in workers:
        w.start()
    while len(clients.ledger.acknowledged) < 50 and time.monotonic() < until:
        time.sleep(0.01)
    server.kill()
    print(f"  killed after {time.monotonic() - started:.1f} s")
    for w in workers:
        w.join()
    print(
        f"  acknowledged {len(clients.ledger.acknowledged)}, unanswered (in flight or refused) {len(clients.pending)}"
    )
    server.start()
    exactly_once(counts(clients, since), all_acknowledged=False)
    owed = clients.retry_all(server.port)
    print(f"  retried {owed} with the same Idempotency-Key; still unanswered {len(clients.pending)}")
    exactly_once(counts(clients, since), all_acknowledged=True)


def aggregates(env: dict[str, str]) -> None:
    print("3. aggregates against a rebuild")
    # `utfall help NAME` does not take the hyphenated spelling; the command's own --help does.
    probe = live.utfall(env, "rebuild-aggregates", "--help")
    if probe.returncode:
        print("  skipped: `utfall rebuild-aggregates` does not exist in this checkout (issue 13 point 1)")
        return
    done = live.utfall(env, "rebuild-aggregates", "--check")
    print("  " + (done.stdout + done.stderr).strip().replace("\n", "\n  "))
    check(done.returncode == 0, "the maintained aggregates equal a rebuild from the raw rows")


def postgresql_restarted(
    server: live.Server, people: list[live.Caseworker], sessions: list[str], command: list[str]
) -> None:
    from django.utils import timezone

    print(f"4. PostgreSQL restarted under load: {' '.join(command)}")
    clients, since = Clients(f"pgrestart-{secrets.token_hex(4)}", people), timezone.now()
    pids = server.pids()
    pages: list[tuple[float, int]] = []

    def analyst(session: str, until: float) -> None:
        while time.monotonic() < until:
            try:
                status = live.request(server.port, "GET", "/resultat/jamforelse/?indicator=satisfied",
                                      {"Cookie": f"sessionid={session}"}, timeout=20).status  # fmt: skip
            except OSError:
                status = 0
            pages.append((time.monotonic(), status))
            time.sleep(0.5)

    start = time.monotonic()
    until = start + 30
    workers = [
        threading.Thread(target=clients.work, args=(server.port, until, 0.3, i)) for i in range(len(people))
    ]
    workers += [threading.Thread(target=analyst, args=(s, until)) for s in sessions]
    for w in workers:
        w.start()
    time.sleep(6)
    restart_at = time.monotonic()
    restarted = subprocess.run(  # noqa: S603
        command,
        capture_output=True,
        text=True,
        check=False,
    )
    restart_done = time.monotonic()
    for w in workers:
        w.join()
    check(
        restarted.returncode == 0,
        f"PostgreSQL restarted ({restart_done - restart_at:.1f} s) {restarted.stderr.strip()}",
    )
    failures = [t for t, _ in clients.errors] + [t for t, s in pages if s != 200]
    last_failure = max(failures, default=restart_at)
    after = [t for t in clients.ok_at if t > last_failure] + [
        t for t, s in pages if s == 200 and t > last_failure
    ]
    print(f"  requests failed: {len(failures)} (submissions {len(clients.errors)}, pages {len(failures) - len(clients.errors)}), "
          f"all between {min(failures, default=restart_at) - restart_at:+.1f} s and {last_failure - restart_at:+.1f} s "
          f"of the restart; {len(after)} answered after it")  # fmt: skip
    check(
        bool(after) and last_failure < until - 5,
        "the server answers again by itself, with no error after recovery",
    )
    check(server.pids() == pids, f"the same gunicorn processes (no restart): {pids}")
    clients.retry_all(server.port)
    from django.db import connection

    connection.close()  # this script's own connection died with the restart
    exactly_once(counts(clients, since), all_acknowledged=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://root@127.0.0.1:5432/utfall_faults")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (UTFALL_WORKERS)")
    parser.add_argument(
        "--import-size", type=float, default=2.0, help="demo generator size of the killed import"
    )
    parser.add_argument("--skip-import", action="store_true", help="leave out step 1 (the slowest)")
    parser.add_argument("--burst", type=int, default=20, help="clients in the killed burst")
    parser.add_argument(
        "--restart-postgresql", action="store_true", help="also step 4 (restarts the server!)"
    )
    parser.add_argument(
        "--restart-command", default="pg_ctlcluster --skip-systemctl-redirect {version} main restart"
    )
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="utfall-faults-"))
    env = live.production_env(args.database_url, workdir)
    live.recreate_database(args.database_url)
    if not live.migrate_and_collect(env):
        return 2
    live.setup_django(env)
    live.load_demo(0.2)
    people, analysts = live.make_people(20, 2)
    server = live.Server(env, live.free_port(), args.workers, workdir / "gunicorn.log")
    print(
        f"gunicorn: {args.workers} workers × {server.env.get('UTFALL_THREADS', '4')} threads (gthread) on 127.0.0.1:{server.port}, PostgreSQL {args.database_url}; log {server.log}"
    )
    server.start()
    try:
        if not args.skip_import:
            import_killed(env, server, args.database_url, workdir, args.import_size)
        burst_killed(server, people, args.burst)
        aggregates(env)
        if args.restart_postgresql:
            version = (
                next(iter(sorted(os.listdir("/etc/postgresql"))), "15")
                if Path("/etc/postgresql").is_dir()
                else "15"
            )
            sessions = [live.sign_in(server.port, name) for name in analysts]
            postgresql_restarted(
                server, people[:10], sessions, args.restart_command.format(version=version).split()
            )
        else:
            print("4. PostgreSQL restart: skipped (--restart-postgresql; it restarts the whole server)")
    finally:
        server.stop()
    print(f"verdict: {'OK' if not FAILURES else 'FAILED: ' + '; '.join(FAILURES)}")
    return 0 if not FAILURES else 1


if __name__ == "__main__":
    sys.exit(main())
