"""Benchmark: import throughput (rows per second, validation included).

Run: .venv/bin/python bench/bench_import.py [--size 1.0] [--database-url URL] [--no-check]
[--chunks K] [--profile FILE] [--profile-interventions FILE] (cProfile of the last chunk's
follow-ups' or interventions' import, read with ``python -m pstats FILE``) [--parts] (where each
import's time goes: see below)
Default: a fresh SQLite file in a temporary directory (the PostgreSQL database named by the URL
is emptied first). Target (issue 13.2): at least 20,000 validated follow-up rows per second on
SQLite and PostgreSQL on the 2-core reference machine.

Runs with DEBUG off, as in production (Django's debug cursor would log every statement). Prints,
for the interventions (with providers and contracts) and for the follow-ups: the rate by the
clock, and the rate by CPU time, the figure other work on a shared machine does not change:
this process's own (reading, checking, the driver; on SQLite the database too) and, on
PostgreSQL, this process's plus its server backend's (read from /proc, same machine). The load
average is printed beside every figure. Afterwards the maintained aggregates are compared with
a rebuild from the raw rows (``--no-check`` skips it).

``--chunks K`` imports K generated chunks one after the other into the same database (the first
as above; each later one with its own seed and its own intervention, follow-up and person ids
and the first one's providers and contracts, as ``bench_scale.py`` builds its sizes) and prints
each chunk's rates with the rows already stored: the interventions' and follow-ups' import on a
database that already holds data, which should go as fast as on an empty one.

``--parts`` prints, under each import, the CPU seconds of its parts (no profiler, so the figures
are the run's own): reading and checking the rows, resolving their references, writing; within
the writing the count tables (``Tally.apply``) and coverage (``coverage.flip``); and the SQL
statements' wall time in all and that of the raw rows' own INSERTs (follow-ups, answers,
interventions, clients), the floor of storing the rows whatever the counts cost
(docs/performance.md, 2026-12-07, thirteenth round). On PostgreSQL the bulk rows go by COPY, which
is not a statement: there the SQL figure leaves them out, and the server's own CPU is apart.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

TARGET_ROWS_PER_SECOND = 20_000


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) of a local PostgreSQL backend; 0 when it cannot be read."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: The parts ``--parts`` times: (label, module, owner in it or "", function).
PARTS = (
    ("reading and checking", "utfall.interchange.importer", "Importer", "read"),
    ("references", "utfall.interchange.importer", "Importer", "resolve"),
    ("writing", "utfall.interchange.importer", "Importer", "write"),
    ("of which counts (Tally.apply)", "utfall.aggregates.tally", "Tally", "apply"),
    ("of which coverage (coverage.flip)", "utfall.aggregates.coverage", "", "flip"),
)
#: The raw rows' tables: their INSERTs are the floor of an import whatever the counts cost.
RAW_TABLES = ("followups_followup", "followups_answer", "registry_intervention", "registry_client")


@contextmanager
def _parts() -> Iterator[dict[str, float]]:
    """CPU seconds per :data:`PARTS` and wall seconds of the SQL statements, while inside."""
    import importlib

    from django.db import connection

    spent: dict[str, float] = {}
    undo = []
    for label, module, owner, name in PARTS:
        home = importlib.import_module(module)
        target = getattr(home, owner) if owner else home
        original = getattr(target, name)

        def timed(*args: Any, _original: Any = original, _label: str = label, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return _original(*args, **kwargs)
            finally:
                spent[_label] = spent.get(_label, 0.0) + time.process_time() - began

        setattr(target, name, timed)
        undo.append((target, name, original))

    def statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            took = time.perf_counter() - began
            spent["SQL"] = spent.get("SQL", 0.0) + took
            spent["statements"] = spent.get("statements", 0) + 1
            if sql.startswith("INSERT INTO") and any(f'"{t}"' in sql.split("(")[0] for t in RAW_TABLES):
                spent["raw"] = spent.get("raw", 0.0) + took

    try:
        with connection.execute_wrapper(statement):
            yield spent
    finally:
        for target, name, original in undo:
            setattr(target, name, original)


def _print_parts(spent: dict[str, float]) -> None:
    shown = "; ".join(f"{label} {spent.get(label, 0.0):.2f}" for label, *_ in PARTS)
    print(f"    parts, CPU s: {shown}; SQL statements {spent.get('SQL', 0.0):.2f} s wall in "
          f"{int(spent.get('statements', 0)):,}, of which the raw rows' INSERTs {spent.get('raw', 0.0):.2f}",
          flush=True)  # fmt: skip


def _measure(
    label: str, rows: int, run: Any, backend: int | None, profile: str = "", parts: bool = False
) -> None:
    timing = _parts() if parts else nullcontext({})
    with timing as spent:
        _run_measured(label, rows, run, backend, profile)
    if parts:
        _print_parts(spent)


def _run_measured(label: str, rows: int, run: Any, backend: int | None, profile: str) -> None:
    wall, cpu, server = time.perf_counter(), time.process_time(), _backend_cpu(backend)
    if profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU: other work on the machine is left out
        report = profiler.runcall(run)
        profiler.dump_stats(profile)
    else:
        report = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = _backend_cpu(backend) - server
    assert report.ok, report.issues[:3]
    line = (
        f"{label:14s} {rows:>7,} rows in {wall:6.2f} s = {rows / wall:>7,.0f} rows/s; "
        f"CPU {cpu:5.2f} s = {rows / cpu:>7,.0f} rows/s"
    )
    if backend is not None:
        line += f"; with the server's {server:5.2f} s CPU {rows / (cpu + server):>7,.0f} rows/s"
    print(f"{line}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)


def _chunk(index: int, chunks: int, size: float, contract_of: dict[str, str]) -> Any:
    """The generated data of chunk ``index`` (``bench_scale.as_chunk``): chunks after the first
    have their own ids and the first one's providers and contracts."""
    from bench_scale import as_chunk

    from utfall.demo.generator import generate

    return as_chunk(generate(size=size, seed=11 + index), index, contract_of, restate_sex=chunks > 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=float, default=1.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-check", action="store_true", help="skip the aggregates' check")
    parser.add_argument(
        "--profile", default="", help="write cProfile stats of the follow-ups' import to this file"
    )
    parser.add_argument(
        "--profile-interventions", default="", help="cProfile stats of the last chunk's interventions' import"
    )
    parser.add_argument("--chunks", type=int, default=1, help="chunks imported one after the other")
    parser.add_argument("--parts", action="store_true", help="print each import's parts (CPU) and SQL time")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="utfall-bench-"))
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.setdefault("UTFALL_PSEUDONYM_KEY", "benchmark-key-not-secret-0123456789abcdef")
    os.environ["DJANGO_SETTINGS_MODULE"] = "utfall.settings"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-import-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from utfall.followups.models import FollowUp
    from utfall.interchange.importer import import_files
    from utfall.organisations.models import Municipality
    from utfall.registry.models import Intervention

    if connection.vendor == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    municipality, _ = Municipality.objects.get_or_create(code="bench", defaults={"name": "Bench"})

    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    contract_of: dict[str, str] = {}
    for index in range(args.chunks):
        last = index == args.chunks - 1
        data = _chunk(index, args.chunks, args.size, contract_of)
        files = {p.stem: p for p in data.write_csv(workdir / f"set-{index}")}
        print(
            f"database: {connection.vendor}; chunk {index + 1}/{args.chunks}: {len(data.interventions):,} "
            f"interventions, {len(data.followups):,} follow-ups, into a database holding "
            f"{Intervention.objects.count():,} interventions and {FollowUp.objects.count():,} follow-ups; "
            f"target {TARGET_ROWS_PER_SECOND:,} follow-ups/s",
            flush=True,
        )
        registry = [files[k] for k in ("providers", "contracts", "interventions") if k in files]
        _measure(
            "interventions",
            len(data.interventions),
            lambda registry=registry: import_files(registry, municipality=municipality),
            backend,
            args.profile_interventions if last else "",
            args.parts,
        )
        followups = [files["followups"]]
        _measure(
            "follow-ups",
            len(data.followups),
            lambda followups=followups: import_files(followups, municipality=municipality),
            backend,
            args.profile if last else "",
            args.parts,
        )
    _measure(
        "re-import",
        len(data.followups),
        lambda: import_files(followups, municipality=municipality),
        backend,
        parts=args.parts,
    )
    if not args.no_check:
        from utfall.aggregates.rebuild import check

        found = check(municipality)
        print("aggregates equal to a rebuild:", "yes" if found.ok else "NO\n" + "\n".join(found.lines()))


if __name__ == "__main__":
    main()
