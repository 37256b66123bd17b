"""Benchmark at scale (issue 13.2): import, comparison, trend, women/men, O/E, pages, report and
peak memory at one municipality (≈300k follow-ups), a large city (≈1M) and national (≈10M,
PostgreSQL only), each against DuckDB over a Parquet export of the same answers.

    .venv/bin/pip install -e ".[bench]"     # duckdb, the columnar yardstick
    .venv/bin/python bench/bench_scale.py --sizes 300k,1m --databases sqlite,postgres

Data come from the demo generator (``utfall.demo.generator``), written to interchange CSV files
and stored through the real import (``import_files``: every rule, pseudonymisation, the slices),
in chunks of ≈250k follow-ups so that memory stays bounded at any size. A generated database is
kept and reused: a SQLite file ``<cache-dir>/scale-<size>.sqlite3``, or the PostgreSQL database
``<name>_<size>`` beside the one ``--postgres-url`` names; ``--fresh`` rebuilds. Each size and
database runs in its own processes (one builds, one measures), so the measuring process's peak
memory is its own. Everything is measured cold (the count cache emptied, as after a saved
follow-up or an import) unless the column says warm. Targets on the 2-core reference machine:
comparison within 3× of DuckDB at 1M and 10M, page p95 under 150 ms cold at 1M, import at least
20,000 validated follow-up rows/s on SQLite and PostgreSQL. Every figure is printed as wall
and CPU time (this process's own; on SQLite that includes the database) with the load average.
DuckDB is timed twice: on a fresh connection each time (connect included) and on one reused
connection (the query alone); the ratio to each is printed. ``--build-only`` builds (or
resumes) and measures nothing. ``--clone`` (for the national size) imports the first chunk only
(its rate is the import figure) and copies it in SQL up to the size, the maintained counts
included, in a database of its own (``clone``, ``clone_counts``; docs/performance.md, "A clone
build for the national size"). Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SIZES = {"40k": 40_000, "300k": 300_000, "1m": 1_000_000, "10m": 10_000_000}
CHUNK_FOLLOWUPS = 250_000
FOLLOWUPS_PER_SIZE = 41_100  # generate(size=1.0) gives about this many follow-ups
PROVIDERS = {"40k": 60, "300k": 160, "1m": 750, "10m": 2_500}  # Stockholm buys from ~750
TODAY = dt.date(2026, 6, 30)
#: The compared year: a calendar year, the period ``compare()`` shows (``snap_period``: fixed
#: periods only). Until 2026-12-03 Jul 2025–Jun 2026, which the comparison snapped to 2025 while
#: DuckDB and "counts only" counted the twelve months asked for.
YEAR = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
INDICATOR = "satisfied"
TARGET_RATIO = 3.0
TARGET_PAGE_P95_MS = 150.0
TARGET_IMPORT = 20_000
BENCH_ENV = {
    "UTFALL_PSEUDONYM_KEY": "benchmark-key-not-secret-0123456789abcdef",
    "SECRET_KEY": "bench-scale-only-not-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "testserver,localhost",
    "DJANGO_SETTINGS_MODULE": "utfall.settings",
    # The demo users have no second factor: without this a run with DEBUG off would time the
    # unit manager's redirect to the second-factor page (302 in ~2 ms) instead of the pages.
    "UTFALL_TWO_FACTOR": "false",
    # As the server (deploy/gunicorn.conf.py): numpy's BLAS on one thread, set before numpy loads.
    "OPENBLAS_NUM_THREADS": "1",
}


def database_url(args: argparse.Namespace, size: str, database: str) -> str:
    """A cloned build (``--clone``) has a database of its own: never one the import built."""
    if database == "sqlite":
        clone = "-clone" if args.clone else ""
        return f"sqlite:///{Path(args.cache_dir) / f'scale-{size}{clone}.sqlite3'}"
    base, _, name = args.postgres_url.rpartition("/")
    return f"{base}/{name}_{size}{'_clone' if args.clone else ''}"


def ensure_postgres_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="300k,1m", help="of 300k, 1m, 10m (default 300k,1m; 40k for a quick try)"
    )
    parser.add_argument("--databases", default="sqlite,postgres", help="of sqlite, postgres")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgres://root@127.0.0.1:5432/utfall_bench"),
    )
    parser.add_argument("--cache-dir", default="/tmp/utfall-bench-scale")  # noqa: S108
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    parser.add_argument(
        "--build-only", action="store_true", help="build (or resume) the databases, measure nothing"
    )
    parser.add_argument(
        "--clone",
        action="store_true",
        help="import the first --seed-chunks chunks, then copy them in SQL up to the size (own database; "
        "for the national size: see docs/performance.md)",
    )
    parser.add_argument(
        "--seed-chunks", type=int, default=1, help="chunks imported before cloning (default 1)"
    )
    parser.add_argument(
        "--rebuild",
        choices=["check", "rebuild", "no-check"],
        help="after cloning: copy the counts and check them against a rebuild (default up to 1m), rebuild "
        "them from the raw rows (and check), or copy them without the check (default above 1m: the check "
        "compares a slice at a time, 2.6 GB at 1m, but takes ~5 min CPU per million follow-ups)",
    )
    parser.add_argument(
        "--chunk-followups",
        type=int,
        default=CHUNK_FOLLOWUPS,
        help=f"follow-ups a chunk (default {CHUNK_FOLLOWUPS:,})",
    )
    parser.add_argument("-n", type=int, default=10, help="requests per page and repeats per measure")
    parser.add_argument("--parts", default="services,duckdb,pages", help="what to measure (default all)")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="measure without gc.freeze() after loading (the server freezes)",
    )
    parser.add_argument("--phase", choices=["build", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    if args.phase:
        os.environ.update(
            {k: v for k, v in BENCH_ENV.items() if k not in os.environ or k == "DJANGO_SETTINGS_MODULE"}
        )
        os.environ["DATABASE_URL"] = database_url(args, args.size, args.database)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        import django

        django.setup()
        (build if args.phase == "build" else measure)(args)
        return
    print(f"bench_scale: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; targets: comparison "
          f"≤ {TARGET_RATIO:.0f}× DuckDB at 1M and 10M, page p95 < {TARGET_PAGE_P95_MS:.0f} ms cold at 1M, "
          f"import ≥ {TARGET_IMPORT:,} follow-up rows/s", flush=True)  # fmt: skip
    for size in args.sizes.split(","):
        for database in args.databases.split(","):
            if size == "10m" and database == "sqlite":
                print("\n== 10m on sqlite: skipped (national scale is PostgreSQL only)")
                continue
            print(f"\n== {size} follow-ups on {database}", flush=True)
            if database == "postgres":
                ensure_postgres_database(database_url(args, size, database))
            for phase in ("build",) if args.build_only else ("build", "measure"):
                command = [sys.executable, __file__, "--phase", phase, "--size", size, "--database", database,
                           "--postgres-url", args.postgres_url, "--cache-dir", args.cache_dir, "-n", str(args.n), "--parts", args.parts]  # fmt: skip
                rebuild = args.rebuild or ("check" if SIZES[size] <= 1_000_000 else "no-check")
                cloning = (
                    ["--clone", "--seed-chunks", str(args.seed_chunks), "--rebuild", rebuild]
                    if args.clone
                    else []
                )
                command += [*cloning, "--chunk-followups", str(args.chunk_followups)]
                command += ["--no-freeze"] if args.no_freeze else []
                subprocess.run([*command, *(["--fresh"] if args.fresh else [])], check=True)  # noqa: S603


# -- building ---------------------------------------------------------------------------------


def _chunk(index: int, size: float, providers: int, contract_of: dict[str, str]) -> Any:
    """One chunk of generated data; chunks after the first reuse the first one's providers and
    contracts and carry their own intervention, follow-up and person ids."""
    from utfall.demo.generator import generate

    data = generate(size=size, seed=1300 + index, today=TODAY, providers=providers)
    return as_chunk(data, index, contract_of)


def as_chunk(data: Any, index: int, contract_of: dict[str, str], *, restate_sex: bool = True) -> Any:
    """Generated ``data`` made chunk ``index`` of a build (also bench_import ``--chunks``): the
    first chunk's contracts are remembered in ``contract_of``; a later chunk drops providers and
    contracts, prefixes its intervention and follow-up ids and uses the remembered contracts."""
    if restate_sex:
        for row in data.interventions:
            # A stated sex 'other' (0.4 %) decided by the person's number, not the chunk's draw:
            # the same person in two chunks must not contradict what the first one stored.
            row["sex"] = "other" if zlib.crc32(row["person_id"].encode()) % 250 == 0 else ""
    if index == 0:
        contract_of.update({c["provider_id"]: c["contract_id"] for c in data.contracts})
        return data
    data.providers, data.contracts = [], []
    prefix = f"K{index}"
    for row in data.interventions:
        row["intervention_id"] = f"{prefix}{row['intervention_id']}"
        row["contract_id"] = contract_of.get(row["provider_id"], "")
    for row in data.followups:
        row["followup_id"] = f"{prefix}{row['followup_id']}"
        row["intervention_id"] = f"{prefix}{row['intervention_id']}"
    return data


def build(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from utfall.demo.setup import demo_municipality, ensure_demo_users
    from utfall.followups.models import FollowUp
    from utfall.interchange.importer import import_files

    if args.fresh:
        if connection.vendor == "postgresql":
            call_command("migrate", verbosity=0)
            call_command("flush", interactive=False, verbosity=0)
        else:
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{connection.settings_dict['NAME']}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    municipality = demo_municipality()
    ensure_demo_users(municipality)
    target = SIZES[args.size]
    stored = FollowUp.objects.filter(municipality=municipality).count()
    if stored >= target * 0.9:
        print(f"database: {connection.vendor}, {stored:,} follow-ups stored (reused; --fresh rebuilds)")
        return
    chunks = max(1, math.ceil(target / args.chunk_followups))
    size = target / chunks / FOLLOWUPS_PER_SIZE
    contract_of: dict[str, str] = {}
    # A build stopped half-way resumes after its last whole chunk (chunks are deterministic,
    # and a chunk imported again stores only what is missing: stored rows are unchanged).
    done = min(chunks - 1, int(stored / (target / chunks) + 0.02))
    imported_chunks = chunks
    if args.clone:  # the seed chunks imported, the rest copied (clone_rest)
        imported_chunks = min(chunks, args.seed_chunks)
        copied = FollowUp.objects.filter(municipality=municipality, followup_id__startswith=CLONE_PREFIX)
        done = imported_chunks if copied.exists() else min(imported_chunks - 1, done)
    if done and done < imported_chunks:
        print(f"  resuming after chunk {done} ({stored:,} follow-ups stored)", flush=True)
        _chunk(0, size, PROVIDERS[args.size], contract_of)  # the first chunk's contracts
    imported = {"interventions": [0, 0.0], "followups": [0, 0.0]}
    generating = 0.0
    workdir = Path(args.cache_dir) / f"csv-{args.size}{'-clone' if args.clone else ''}-{connection.vendor}"
    for index in range(done, imported_chunks):
        began = time.perf_counter()
        data = _chunk(index, size, PROVIDERS[args.size], contract_of)
        files = {p.stem: p for p in data.write_csv(workdir)}
        generating += time.perf_counter() - began
        for kinds, measured in ((["providers", "contracts", "interventions"], "interventions"), (["followups"], "followups")):  # fmt: skip
            began = time.perf_counter()
            report = import_files([files[k] for k in kinds if k in files], municipality=municipality)
            assert report.ok, report.issues[:3]
            imported[measured][0] += len(getattr(data, measured))
            imported[measured][1] += time.perf_counter() - began
        print(f"  chunk {index + 1}/{chunks}: {imported['followups'][0]:,} follow-ups stored", flush=True)
        del data
    if args.clone:
        _import_rates(imported, generating, imported_chunks)  # the size's import figure: measured, not copied
        clone_rest(args, municipality, chunks, imported_chunks)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a loaded database
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if not args.clone:
        _import_rates(imported, generating, imported_chunks)
    print(f"peak memory (build): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


def _import_rates(imported: dict[str, list[Any]], generating: float, chunks: int) -> None:
    print(f"generated in {generating:.0f} s ({chunks} chunks)")
    for kind, (rows, seconds) in imported.items():
        if not rows:
            continue
        rate = rows / seconds
        verdict = (
            f"; target {TARGET_IMPORT:,}: {'met' if rate >= TARGET_IMPORT else 'NOT met'}"
            if kind == "followups"
            else ""
        )
        print(f"import {kind:<13} {rows:>10,} rows in {seconds:7.1f} s = {rate:>8,.0f} rows/s{verdict}")


# -- cloning (a build path for the national size) ---------------------------------------------

CLONE_PREFIX = "C"


def _seed(alias: str, column: str) -> str:
    """The condition that a row is imported (not a copy): its external id has no copy prefix."""
    return f"{alias}.{column} NOT LIKE '{CLONE_PREFIX}%'"


def _pseudonym_sql(vendor: str, k: int) -> str:
    """Copy ``k``'s pseudonym of a client: a SHA-256 of the imported pseudonym and the copy's
    number, in the same form as a real one (64 hex digits; no identity number is stored)."""
    if vendor == "postgresql":
        return f"encode(sha256(convert_to(c.pseudonym || ':{int(k)}', 'UTF8')), 'hex')"
    return f"utfall_clone_pseudonym(c.pseudonym, {int(k)})"


def clone_pseudonym(pseudonym: str, k: int) -> str:
    import hashlib

    return hashlib.sha256(f"{pseudonym}:{k}".encode()).hexdigest()


def _copy_rows(cursor: Any, model: Any, alias: str, overrides: dict[str, str], tail: str) -> int:
    """INSERT … SELECT every concrete column of ``model`` from its own table (aliased ``alias``),
    with the expressions in ``overrides`` for the columns that change."""
    from django.db import connection

    q = connection.ops.quote_name
    columns = [f.column for f in model._meta.concrete_fields]
    select = ", ".join(overrides.pop(c, f"{alias}.{q(c)}") for c in columns)
    assert not overrides, f"no such column: {sorted(overrides)}"
    table = q(model._meta.db_table)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(map(q, columns))}) SELECT {select} FROM {table} {alias} {tail}"  # noqa: S608 (our own names and integers)
    )
    return int(cursor.rowcount)


def clone(municipality: Any, copies: int) -> dict[str, int]:
    """Make ``copies`` copies of the municipality's imported interventions, their clients,
    follow-ups, answers and stored outcomes, in SQL (INSERT … SELECT), one transaction a copy.

    Copy ``k`` (1, 2, …) gets new primary keys (the imported rows' keys shifted past the table's
    largest), new clients (a new pseudonym each, the same sex and birth year), external ids
    prefixed ``C<k>`` (as ``as_chunk`` prefixes a chunk's) and other providers: among the
    providers an imported intervention of the same service has, the one ``k`` places further in
    the order of their keys (so every provider's counts differ, and no provider gets a service
    it does not give), with that provider's contract (none stays none). The answers' copied
    facts (date, provider, service, unit, client's sex and birth year, municipality) follow.
    Copies already made are skipped (a stopped build resumes). The maintained counts are not
    touched: rebuild them afterwards (``utfall rebuild-aggregates``). Returns the rows written
    per table."""
    from collections import defaultdict

    from django.core.management.color import no_style
    from django.db import connection, transaction

    from utfall.aggregates.models import InterventionOutcome
    from utfall.followups.models import Answer, FollowUp
    from utfall.registry.models import Client, Contract, Intervention

    q = connection.ops.quote_name
    m = int(municipality.pk)
    vendor = connection.vendor
    if vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.create_function(
            "utfall_clone_pseudonym", 2, clone_pseudonym, deterministic=True
        )
    tables = {model: q(model._meta.db_table) for model in (Client, Intervention, FollowUp, Answer)}
    seed_interventions = f"SELECT i.id FROM {tables[Intervention]} i WHERE i.municipality_id = {m} AND {_seed('i', 'intervention_id')}"  # noqa: S608
    seed_clients = f"SELECT i.client_id AS id FROM {tables[Intervention]} i WHERE i.municipality_id = {m} AND {_seed('i', 'intervention_id')}"  # noqa: S608
    seed_followups = (
        f"SELECT f.id FROM {tables[FollowUp]} f WHERE f.municipality_id = {m} AND {_seed('f', 'followup_id')}"  # noqa: S608
    )
    with connection.cursor() as cursor:
        lowest = {}
        for model, select in (
            (Client, seed_clients),
            (Intervention, seed_interventions),
            (FollowUp, seed_followups),
        ):
            cursor.execute(f"SELECT min(x.id) FROM ({select}) x")  # noqa: S608
            lowest[model] = cursor.fetchone()[0]
        cursor.execute(f"SELECT min(a.id) FROM {tables[Answer]} a WHERE a.followup_id IN ({seed_followups})")  # noqa: S608
        lowest[Answer] = cursor.fetchone()[0]
        if lowest[FollowUp] is None:
            raise ValueError("nothing imported to clone")
        cursor.execute(f"SELECT followup_id FROM {tables[FollowUp]} WHERE id = {int(lowest[FollowUp])}")  # noqa: S608
        first_followup = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT DISTINCT i.service_id, i.provider_id FROM {tables[Intervention]} i "  # noqa: S608
            f"WHERE i.municipality_id = {m} AND {_seed('i', 'intervention_id')}"
        )
        offering: dict[int, list[int]] = defaultdict(list)
        for service, provider in cursor.fetchall():
            offering[service].append(provider)
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS utfall_clone_map (service_id integer, provider_id integer, "
                       "new_provider_id integer, new_contract_id integer)")  # fmt: skip
    contract_of: dict[int, int] = {}
    for provider, contract in Contract.objects.filter(municipality=municipality).order_by("-pk").values_list("provider_id", "pk"):  # fmt: skip
        contract_of[provider] = contract  # the lowest key last: each provider's first contract
    written: dict[str, int] = defaultdict(int)
    for k in range(1, copies + 1):
        prefix = f"'{CLONE_PREFIX}{int(k)}'"
        if FollowUp.objects.filter(
            municipality=municipality, followup_id=f"{CLONE_PREFIX}{k}{first_followup}"
        ).exists():
            print(f"  copy {k}/{copies}: made before (resumed)", flush=True)
            continue
        began = time.perf_counter()
        rows = [
            (service, provider, moved, contract_of.get(moved))
            for service, providers in offering.items()
            for index, provider in enumerate(sorted(providers))
            for moved in [sorted(providers)[(index + k) % len(providers)]]
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM utfall_clone_map")
            cursor.executemany("INSERT INTO utfall_clone_map VALUES (%s, %s, %s, %s)", rows)
            offset = {}
            for model, table in tables.items():
                cursor.execute(f"SELECT max(id) FROM {table}")  # noqa: S608
                offset[model] = int(cursor.fetchone()[0]) - int(lowest[model]) + 1
            mapped = "JOIN utfall_clone_map cm ON cm.service_id = {0}.service_id AND cm.provider_id = {0}.provider_id"
            counts = {
                "clients": _copy_rows(cursor, Client, "c", {
                    "id": f"c.id + {offset[Client]}", "pseudonym": _pseudonym_sql(vendor, k),
                }, f"WHERE c.id IN ({seed_clients})"),
                "interventions": _copy_rows(cursor, Intervention, "i", {
                    "id": f"i.id + {offset[Intervention]}",
                    "intervention_id": f"{prefix} || i.intervention_id",
                    "client_id": f"i.client_id + {offset[Client]}",
                    "provider_id": "cm.new_provider_id",
                    "contract_id": "CASE WHEN i.contract_id IS NULL THEN NULL ELSE cm.new_contract_id END",
                }, f"{mapped.format('i')} WHERE i.municipality_id = {m} AND {_seed('i', 'intervention_id')}"),
                "follow-ups": _copy_rows(cursor, FollowUp, "f", {
                    "id": f"f.id + {offset[FollowUp]}",
                    "followup_id": f"{prefix} || f.followup_id",
                    "intervention_id": f"f.intervention_id + {offset[Intervention]}",
                }, f"WHERE f.municipality_id = {m} AND {_seed('f', 'followup_id')}"),
                "answers": _copy_rows(cursor, Answer, "a", {
                    "id": f"a.id + {offset[Answer]}",
                    "followup_id": f"a.followup_id + {offset[FollowUp]}",
                    "provider_id": "cm.new_provider_id",
                }, f"{mapped.format('a')} WHERE a.followup_id IN ({seed_followups})"),
                "outcomes": _copy_rows(cursor, InterventionOutcome, "o", {
                    "intervention_id": f"o.intervention_id + {offset[Intervention]}",
                }, f"WHERE o.intervention_id IN ({seed_interventions})"),
            }  # fmt: skip
            for statement in connection.ops.sequence_reset_sql(no_style(), list(tables)):
                cursor.execute(statement)  # PostgreSQL: the sequences past the copies' keys
        for name, n in counts.items():
            written[name] += n
        print(f"  copy {k}/{copies}: {counts['follow-ups']:,} follow-ups, {counts['answers']:,} answers, "
               f"{counts['interventions']:,} interventions in {time.perf_counter() - began:.1f} s", flush=True)  # fmt: skip
    return dict(written)


def clone_counts(municipality: Any) -> None:
    """The maintained counts of the copies made by :func:`clone`, in SQL and without reading the
    raw rows: each full table's rows (counts, coverage, outcomes, the rollups by client) once as
    they are and once per copy with the copy's provider, contract and client, summed by key; the
    other rollups again as the sums of their full tables. The same counts as a rebuild (the
    copies' rows have the seed's dates, services, units, clients' sex and birth year; only the
    provider, its contract and the client change), with no key of a table held in Python (a
    rebuild and its check hold them: too much memory at the national size, docs/performance.md).
    One transaction; call it once, on counts that count the imported rows alone."""
    from django.db import connection, transaction

    from utfall.aggregates import counts, coverage, outcome_counts, rollup
    from utfall.aggregates.models import AnswerCount, CoverageCount, FollowUpCount, OutcomeCount
    from utfall.registry.models import Contract, Intervention

    q = connection.ops.quote_name
    m = int(municipality.pk)
    seed = Intervention.objects.filter(municipality=municipality).exclude(
        intervention_id__startswith=CLONE_PREFIX
    )
    first = seed.order_by("pk").values_list("intervention_id", "client_id").first()
    assert first is not None, "nothing imported"
    copies = {  # copy number: its clients' key offset
        int(iid[len(CLONE_PREFIX) : -len(first[0])]): client - first[1]
        for iid, client in Intervention.objects.filter(
            municipality=municipality,
            intervention_id__startswith=CLONE_PREFIX,
            intervention_id__endswith=first[0],
        ).values_list("intervention_id", "client_id")
        if iid[len(CLONE_PREFIX) : -len(first[0])].isdigit()
    }
    offering: dict[int, list[int]] = {}
    for service, provider in seed.order_by().values_list("service_id", "provider_id").distinct():
        offering.setdefault(service, []).append(provider)
    contract_of: dict[int, int] = {}
    for provider, contract in Contract.objects.filter(municipality=municipality).order_by("-pk").values_list("provider_id", "pk"):  # fmt: skip
        contract_of[provider] = contract
    rows = [(0, service, provider, provider, None, 0) for service, ps in offering.items() for provider in ps]
    for k, client_offset in copies.items():
        for service, providers in offering.items():
            ordered = sorted(providers)
            for index, provider in enumerate(ordered):
                moved = ordered[(index + k) % len(ordered)]
                rows.append((k, service, provider, moved, contract_of.get(moved), client_offset))
    full_tables = [
        (AnswerCount, counts.ANSWER_KEY), (FollowUpCount, counts.FOLLOWUP_KEY), (CoverageCount, coverage.KEY),
        (OutcomeCount, outcome_counts.OUTCOME_KEY), *((model, fields) for _, model, fields in rollup.BY_CLIENT),
    ]  # fmt: skip
    mapped = {
        "provider_id": "cm.new_provider_id",
        "contract_id": "CASE WHEN cm.k = 0 THEN t.contract_id WHEN t.contract_id IS NULL THEN NULL "
        "ELSE cm.new_contract_id END",
        "client_id": "t.client_id + cm.client_offset",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS utfall_clone_maps (k integer, service_id integer, "
                       "provider_id integer, new_provider_id integer, new_contract_id integer, client_offset integer)")  # fmt: skip
        cursor.execute("DELETE FROM utfall_clone_maps")
        cursor.executemany("INSERT INTO utfall_clone_maps VALUES (%s, %s, %s, %s, %s, %s)", rows)
        for model, key in full_tables:
            table = q(model._meta.db_table)
            select = ", ".join(f"{mapped.get(f, f't.{q(f)}')} AS {q(f)}" for f in key)
            ordinals = ", ".join(str(i + 1) for i in range(len(key)))
            listed = ", ".join(q(f) for f in (*key, "n"))
            grouped = (
                f"SELECT {select}, sum(t.n) AS n FROM {{source}} t JOIN utfall_clone_maps cm "  # noqa: S608
                f"ON cm.service_id = t.service_id AND cm.provider_id = t.provider_id GROUP BY {ordinals}"
            )
            # PostgreSQL: the rows moved through the DELETE's RETURNING, written once (no temporary table).
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"WITH taken AS (DELETE FROM {table} WHERE municipality_id = {m} RETURNING *) "  # noqa: S608
                    f"INSERT INTO {table} ({listed}) SELECT {listed} FROM ({grouped.format(source='taken')}) g "
                    f"WHERE n <> 0"
                )
                continue
            cursor.execute("DROP TABLE IF EXISTS utfall_clone_counts")
            source = f"(SELECT * FROM {table} WHERE municipality_id = {m})"  # noqa: S608
            cursor.execute(f"CREATE TEMP TABLE utfall_clone_counts AS {grouped.format(source=source)}")
            cursor.execute(f"DELETE FROM {table} WHERE municipality_id = {m}")  # noqa: S608
            cursor.execute(
                f"INSERT INTO {table} ({listed}) SELECT {listed} FROM utfall_clone_counts WHERE n <> 0"  # noqa: S608
            )
        cursor.execute("DROP TABLE IF EXISTS utfall_clone_counts")
        sums = [(model, fields, AnswerCount if full is counts.ANSWER_KEY else FollowUpCount) for model, fields, full in counts.ROLLUPS]  # fmt: skip
        sums += [(model, fields, CoverageCount) for model, fields in coverage.ROLLUPS]
        # A rollup by year (``year`` in its key) sums the full table's months of the year.
        year = (
            "strftime('%Y-01-01', month)"
            if cursor.db.vendor == "sqlite"
            else "date_trunc('year', month)::date"
        )
        for model, fields, full_model in sums:
            table = q(model._meta.db_table)
            listed = ", ".join(q(f) for f in fields)
            picked = ", ".join(year if f == "year" else q(f) for f in fields)
            cursor.execute(f"DELETE FROM {table} WHERE municipality_id = {m}")  # noqa: S608
            cursor.execute(
                f"INSERT INTO {table} ({listed}, n) SELECT {picked}, sum(n) FROM {q(full_model._meta.db_table)} "  # noqa: S608
                f"WHERE municipality_id = {m} GROUP BY {picked}"
            )
        # A table without the option (counts.FOLDED) sums the full table's answers through the
        # option's flags: n those that count, events those that count and are positive.
        for model, fields, _ in counts.FOLDED:
            table = q(model._meta.db_table)
            listed = ", ".join(q(f) for f in fields)
            picked = ", ".join(year if f == "year" else f"c.{q(f)}" for f in fields)
            cursor.execute(f"DELETE FROM {table} WHERE municipality_id = {m}")  # noqa: S608
            cursor.execute(
                f"INSERT INTO {table} ({listed}, n, events) SELECT {picked}, sum(c.n), "  # noqa: S608
                f"sum(CASE WHEN o.positive THEN c.n ELSE 0 END) FROM {q(AnswerCount._meta.db_table)} c "
                f"JOIN instruments_option o ON o.id = c.option_id "
                f"WHERE c.municipality_id = {m} AND o.counts GROUP BY {picked}"
            )
        outcome_counts.refill_rollups()  # by measure: the catalogue's intensities decide a step down


@contextlib.contextmanager
def _without_secondary_indexes(state: Path, models: list[Any]) -> Iterator[None]:
    """PostgreSQL: the tables of ``models`` without their indexes, unique and foreign-key constraints
    (the primary keys kept) while the copies are written, then each made again from its own
    definition (``pg_get_constraintdef``, ``pg_indexes``): one sorted build per index instead of
    an insertion per row, one validation per constraint instead of a check per row. The
    definitions are kept in ``state`` until they are made again: a build stopped in between
    makes them first when it resumes. Making them again checks the copies: the unique ones
    (ids, pseudonyms, one answer per question) and every reference."""
    from django.db import connection

    def restore() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for name, statement in json.loads(state.read_text()):
                began = time.perf_counter()
                cursor.execute(statement)
                print(f"    {name}: {time.perf_counter() - began:.1f} s", flush=True)
            cursor.execute("RESET maintenance_work_mem")
        state.unlink()

    if state.exists():
        print("  making the indexes and constraints a stopped build dropped", flush=True)
        restore()
    tables = [m._meta.db_table for m in models]
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype, conname",
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
            "AND c.conrelid = i.tablename::regclass) ORDER BY i.indexname",
            [tables],
        )
        indexes = cursor.fetchall()
    # Made again: the indexes, then the unique constraints, then the references.
    again = [(name, definition) for _, name, definition in indexes]
    again += [(name, f"ALTER TABLE {q(table)} ADD CONSTRAINT {q(name)} {definition}")
              for table, name, kind, definition in sorted(constraints, key=lambda c: c[2] == "f")]  # fmt: skip
    state.write_text(json.dumps(again))
    with connection.cursor() as cursor:
        for table, name, _, _ in constraints:
            cursor.execute(f"ALTER TABLE {q(table)} DROP CONSTRAINT {q(name)}")
        for _, name, _ in indexes:
            cursor.execute(f"DROP INDEX {q(name)}")
    print(f"  {len(indexes)} indexes and {len(constraints)} constraints dropped while copying", flush=True)
    yield
    restore()


def clone_rest(args: argparse.Namespace, municipality: Any, chunks: int, imported: int) -> None:
    """The chunks after the imported ones as copies of them (:func:`clone`), their maintained
    counts (:func:`clone_counts`), then ``utfall rebuild-aggregates --check`` in a process of its
    own (its peak memory is its own) unless ``--rebuild`` says otherwise: ``rebuild`` rebuilds
    the counts from the raw rows instead of copying them, ``no-check`` skips the check (it compares a
    slice at a time since 2026-12-04, in bounded memory, but takes ~5 min CPU per million
    follow-ups; docs/performance.md)."""
    from django.apps import apps
    from django.db import connection
    from django.db.models import Sum

    from utfall.aggregates.models import CoveragePeriod, FollowUpCount, InterventionOutcome
    from utfall.followups.models import Answer, FollowUp
    from utfall.registry.models import Client, Intervention

    copies = math.ceil(chunks / imported) - 1
    began, began_cpu = time.perf_counter(), time.process_time()
    if connection.vendor == "postgresql":
        state = Path(args.cache_dir) / f"clone-{args.size}-dropped.json"
        with _without_secondary_indexes(state, [Client, Intervention, FollowUp, Answer, InterventionOutcome]):
            written = clone(municipality, copies)
            print(
                f"copied in {time.perf_counter() - began:.0f} s; the indexes and constraints again:",
                flush=True,
            )
    else:
        written = clone(municipality, copies)
    seconds = time.perf_counter() - began
    if written:
        print(f"cloned {copies} copies in {seconds:.0f} s (this process's CPU {time.process_time() - began_cpu:.0f} s): "
              + ", ".join(f"{n:,} {name}" for name, n in written.items())
              + f"; {written.get('follow-ups', 0) / seconds:,.0f} follow-ups/s", flush=True)  # fmt: skip
    followups = FollowUp.objects.filter(municipality=municipality)
    counted = FollowUpCount.objects.filter(municipality=municipality).aggregate(n=Sum("n"))["n"] or 0
    steps = []
    if counted != followups.count():
        if (
            args.rebuild == "rebuild"
            or counted != followups.exclude(followup_id__startswith=CLONE_PREFIX).count()
        ):
            steps.append([])  # counts of something else than the imported rows (a stopped build): rebuild
        else:
            began = time.perf_counter()
            if connection.vendor == "postgresql":
                state = Path(args.cache_dir) / f"clone-{args.size}-dropped-counts.json"
                counted_models = [m for m in apps.get_app_config("aggregates").get_models()
                                  if m not in (CoveragePeriod, InterventionOutcome)]  # fmt: skip
                with _without_secondary_indexes(state, counted_models):
                    clone_counts(municipality)
            else:
                clone_counts(municipality)
            print(f"maintained counts copied in {time.perf_counter() - began:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the planner sees the copies before the rebuild reads them
    connection.close()
    if args.rebuild != "no-check":
        steps.append(["--check"])
    for extra in steps:
        command = [
            sys.executable,
            "-m",
            "utfall",
            "rebuild-aggregates",
            "--municipality",
            municipality.code,
            *extra,
        ]
        began = time.perf_counter()
        child = subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent)  # noqa: S603
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        print(f"rebuild-aggregates {' '.join(extra)}: exit {child.returncode}, {time.perf_counter() - began:.0f} s "
              f"(its CPU {usage.ru_utime + usage.ru_stime:.0f} s), peak memory {usage.ru_maxrss / 1024:,.0f} MB",
              flush=True)  # fmt: skip
        if child.returncode:
            raise SystemExit("the maintained counts differ from a rebuild (above)")


# -- measuring --------------------------------------------------------------------------------


def _timed(repeat: int, work: Any, *, warm_up: bool = True) -> tuple[float, float, Any, list[float]]:
    """(median wall seconds, median CPU seconds of this process, the last result, every run's
    wall seconds), each run cold. On SQLite the database's work is this process's CPU; on
    PostgreSQL it is not.

    ``warm_up``: one untimed run first, as ``_pages`` requests each page once before timing it:
    a fresh process's first call also pays what a server's worker pays once, not per request
    (the indicators' YAML, ~40 ms; the database file's pages read from disk). The timed runs
    are still cold: the count cache emptied and no fit reused before each (docs/performance.md,
    "cmp3"), neither from this process's memory nor stored by an earlier one (the stored fits
    emptied: each run fits as the first request after the counts changed)."""
    from utfall.comparisons.cache import bump
    from utfall.stats.overdispersion import clear_fit_cache

    if warm_up:
        bump()
        clear_fit_cache()
        _forget_stored_fits()
        work()
    times, cpu, result = [], [], None
    for _ in range(repeat):
        bump()  # as after a saved follow-up or an import: no cached count is valid
        clear_fit_cache()
        _forget_stored_fits()
        began, began_cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(times), statistics.median(cpu), result, times


def _forget_stored_fits() -> None:
    """Empty the fits kept between processes (utfall.core.fits): as after the counts changed."""
    from utfall.core.models import StoredFit

    StoredFit.objects.all().delete()


def _percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def export_parquet(args: argparse.Namespace, municipality: Any) -> tuple[Path, int]:
    """The answers (what a comparison counts) as Parquet, written by DuckDB from a CSV dump."""
    import duckdb
    from django.db import connection

    from utfall.followups.models import Answer

    target = (
        Path(args.cache_dir)
        / f"answers-{args.size}{'-clone' if args.clone else ''}-{connection.vendor}.parquet"
    )
    stored = Answer.objects.filter(municipality=municipality).count()
    count = f"SELECT count(*) FROM read_parquet('{target}')"  # noqa: S608 (a path of ours)
    if target.exists() and duckdb.connect().execute(count).fetchone()[0] == stored:  # type: ignore[index]
        return target, stored
    columns = ["question_id", "option_id", "date", "provider_id", "service_id", "unit_id", "client_sex", "client_birth_year"]  # fmt: skip
    dump = target.with_suffix(".csv")
    with connection.cursor() as cursor, dump.open("w", newline="") as fh:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {Answer._meta.db_table} WHERE municipality_id = %s",  # noqa: S608
            [municipality.pk],
        )
        out = csv.writer(fh)
        out.writerow(columns)
        while rows := cursor.fetchmany(50_000):
            out.writerows(rows)
    types = "{'question_id': 'INTEGER', 'option_id': 'INTEGER', 'date': 'DATE', 'provider_id': 'INTEGER', 'service_id': 'INTEGER', 'unit_id': 'INTEGER', 'client_sex': 'VARCHAR', 'client_birth_year': 'SMALLINT'}"  # fmt: skip
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{dump}', header = true, columns = {types})) TO '{target}' (FORMAT parquet)"  # noqa: S608
    )
    dump.unlink()
    return target, stored


def duckdb_counts(
    path: Path, question_ids: list[int], counting: list[int], positive: list[int], con: Any = None
) -> dict[int, tuple[int, int]]:
    """The comparison's counts per provider by DuckDB over the Parquet file: with ``con`` on
    that connection (the query alone), else on a fresh one (connect included: nothing cached
    but the OS's file pages)."""
    import duckdb

    con = con or duckdb.connect()
    rows = con.execute(
        f"""SELECT provider_id, count(*) FILTER (WHERE option_id IN ({",".join(map(str, positive))})) AS events,
                   count(*) AS n
            FROM read_parquet('{path}')
            WHERE question_id IN ({",".join(map(str, question_ids))})
              AND option_id IN ({",".join(map(str, counting))})
              AND date BETWEEN DATE '{YEAR[0]}' AND DATE '{YEAR[1]}'
            GROUP BY provider_id"""  # noqa: S608
    ).fetchall()
    return {int(p): (int(e), int(n)) for p, e, n in rows}


def measure(args: argparse.Namespace) -> None:
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test.utils import override_settings, setup_test_environment

    from utfall.comparisons.indicators import get_indicator
    from utfall.comparisons.queries import aggregate
    from utfall.comparisons.services import compare
    from utfall.demo.setup import demo_municipality
    from utfall.followups.models import FollowUp
    from utfall.organisations.models import User
    from utfall.registry.models import Provider
    from utfall.reports.building import build_report
    from utfall.reports.rendering import render
    from utfall.results.services.gender import women_and_men
    from utfall.results.services.trends import trend

    setup_test_environment()  # the test client's hosts, as in the tests
    warnings.filterwarnings("ignore", message="No directory at")  # collectstatic is not run here
    municipality = demo_municipality()
    analyst = User.objects.get(username="analyst")
    if not args.no_freeze:
        # As the server's master before it forks its workers (deploy/gunicorn.conf.py, and
        # bench_pages.py): the loaded application's objects go to the permanent generation, so
        # a full collection during a request no longer walks them (one request of three waited
        # ~100 ms on one, 2026-12-03: trends cold p50 89, p95 194 ms).
        import gc

        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - imports every view module
        gc.collect()
        gc.freeze()
    n = args.n
    stored = FollowUp.objects.filter(municipality=municipality).count()
    providers = Provider.objects.filter(municipality=municipality).count()
    print(f"database: {connection.vendor}, {stored:,} follow-ups, {providers} providers; "
          f"load average {os.getloadavg()[0]:.1f}; medians of {n} cold runs unless said; "
          f"{'no gc.freeze' if args.no_freeze else 'loaded objects frozen as in the server (gc.freeze)'}",
          flush=True)  # fmt: skip
    year = {"date_from": YEAR[0], "date_to": YEAR[1]}
    measures = {
        "comparison (overdispersion)": lambda: compare(municipality=municipality, indicator=INDICATOR, by="provider", **year),
        "comparison counts only": lambda: aggregate(get_indicator(INDICATOR), municipality=municipality, by=["provider"], **year),
        "O/E (case-mix adjusted)": lambda: compare(municipality=municipality, indicator=INDICATOR, by="provider", adjust=True, **year),
        "trend (quarters, 3 years)": lambda: trend(analyst, indicator=INDICATOR, grain="quarter", date_from=dt.date(2023, 7, 1), date_to=TODAY),
        "women and men": lambda: women_and_men(analyst, indicator=INDICATOR, **year),
        "annual report (html)": lambda: render(build_report(municipality, **year), "html"),
    }  # fmt: skip
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    results: dict[str, Any] = {}
    print(f"{'':<30} {'wall':>9} {'cpu':>9}   (median ms; cpu = this process's own time)")
    parts = set(args.parts.split(","))
    if "services" not in parts:  # the comparisons alone, for the DuckDB ratio
        measures = {k: v for k, v in measures.items() if k.startswith("comparison")}
    for name, work in measures.items() if {"services", "duckdb"} & parts else ():
        report = "report" in name  # seconds a run: one run, no warm-up
        seconds[name], cpu[name], results[name], runs = _timed(1 if report else n, work, warm_up=not report)
        print(f"{name:<30} {seconds[name] * 1000:>9.0f} {cpu[name] * 1000:>9.0f}   load average "
              f"{os.getloadavg()[0]:.1f}; runs {' '.join(f'{t * 1000:.0f}' for t in runs)} ms wall", flush=True)  # fmt: skip
        reset_queries()

    if "duckdb" in parts:
        _against_duckdb(args, municipality, seconds, cpu, results)
    if "pages" in parts:
        # Production settings hash static names through a manifest that only collectstatic
        # writes; the pages are measured with plain static storage (same templates, same work).
        plain = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        with override_settings(STORAGES=plain):
            _pages(analyst, n)
    print(f"peak memory (measure): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip


def _against_duckdb(
    args: argparse.Namespace,
    municipality: Any,
    seconds: dict[str, float],
    cpu: dict[str, float],
    results: dict[str, Any],
) -> None:
    from utfall.comparisons.indicators import get_indicator
    from utfall.instruments.services import comparability
    from utfall.registry.models import Provider

    n = args.n
    began = time.perf_counter()
    path, answers = export_parquet(args, municipality)
    print(
        f"parquet export of {answers:,} answers: {path.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - began:.0f} s, reused when unchanged)"
    )
    spans = comparability(get_indicator(INDICATOR).instrument, get_indicator(INDICATOR).question)
    ids = (list(spans.question_ids), list(spans.counting_option_ids), list(spans.positive_option_ids))
    import duckdb

    measured: dict[str, tuple[float, float]] = {}
    shared = duckdb.connect()
    duckdb_counts(path, *ids, con=shared)  # the file's metadata read once, as a server would
    for label, con in (("with connect", None), ("query alone", shared)):
        times, cpus = [], []
        for _ in range(n):
            began, began_cpu = time.perf_counter(), time.process_time()
            counts = duckdb_counts(path, *ids, con=con)
            times.append(time.perf_counter() - began)
            cpus.append(time.process_time() - began_cpu)
        measured[label] = (statistics.median(times), statistics.median(cpus))
    threads = shared.execute("SELECT current_setting('threads')").fetchone()[0]  # type: ignore[index]
    code_of = dict(Provider.objects.filter(municipality=municipality).values_list("pk", "provider_id"))
    theirs = {code_of[p]: c for p, c in counts.items()}
    ours = {r["provider"]: (r["events"], r["n"]) for r in results["comparison counts only"]}
    same = (
        "the same counts"
        if theirs == ours
        else f"DIFFERENT counts ({len(set(theirs.items()) ^ set(ours.items()))} rows differ)"
    )
    for label, (wall, used) in measured.items():
        print(f"{'duckdb, ' + label:<30} {wall * 1000:>9.0f} {used * 1000:>9.0f}   ({threads} threads; "
              f"{len(theirs)} providers, {sum(c[1] for c in theirs.values()):,} answers: {same})")  # fmt: skip
    ours_ms = seconds["comparison (overdispersion)"] * 1000
    for label, (wall, used) in measured.items():
        ratio = seconds["comparison (overdispersion)"] / wall
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"ratio comparison/duckdb ({label}): {ours_ms:.0f} ms / {wall * 1000:.0f} ms = {ratio:.1f}× wall "
              f"(target ≤ {TARGET_RATIO:.0f}×: {verdict}); counts only "
              f"{seconds['comparison counts only'] / wall:.1f}×; by CPU time "
              f"{cpu['comparison (overdispersion)'] / max(used, 1e-9):.1f}×", flush=True)  # fmt: skip


def _pages(analyst: Any, n: int) -> None:
    from django.db import reset_queries
    from django.test import Client

    from utfall.organisations.models import User

    client = Client()
    client.force_login(analyst)
    manager = Client()  # the demo unit manager (enhetschef): the pages within the unit
    manager.force_login(User.objects.get(username="manager"))
    pages = {
        "comparison": f"/resultat/jamforelse/?indicator={INDICATOR}",
        "comparison, O/E": f"/resultat/jamforelse/?indicator={INDICATOR}&adjust=on",
        "comparison (unit manager)": f"/resultat/jamforelse/?indicator={INDICATOR}",
        "comparison, O/E (unit manager)": f"/resultat/jamforelse/?indicator={INDICATOR}&adjust=on",
        # An outcome indicator's comparison (counted over ended interventions, not answers): the unit
        # manager's reads every provider's outcomes by unit for the disclosure check; not measured
        # before the fifteenth round (2026-12-07).
        "comparison, step down": "/resultat/jamforelse/?indicator=step_down",
        "comparison, step down (unit manager)": "/resultat/jamforelse/?indicator=step_down",
        "trends (quarters)": f"/resultat/utveckling/?indicator={INDICATOR}&grain=quarter",
        # The unit manager's own trend and women and men: the unit's rows and the partitions along
        # the unit (the disclosure check), not measured before the thirteenth round (2026-12-07).
        "trends (unit manager)": f"/resultat/utveckling/?indicator={INDICATOR}&grain=quarter",
        "women and men": f"/resultat/kvinnor-och-man/?indicator={INDICATOR}",
        "women and men (unit manager)": f"/resultat/kvinnor-och-man/?indicator={INDICATOR}",
        "provider page": "/resultat/utforare/P0003/",
        "provider page (unit manager)": "/resultat/utforare/P0003/",
        "API comparison": f"/api/v1/comparisons?indicator={INDICATOR}&by=provider",
    }
    from utfall.comparisons.cache import bump
    from utfall.stats.overdispersion import clear_fit_cache

    # Three ways in, n requests each: "changed" (the count cache emptied, no fit in memory and
    # none stored: the first request after a saved follow-up or an import changed the counts),
    # "cold" (the same, but the fits an earlier request stored are there: a new server process
    # on unchanged counts, or a page whose counts the change did not touch; utfall.core.fits)
    # and "warm" (everything this process has cached).
    print(
        f"{'page':<38} {'changed p50':>11} {'p95':>5} {'cold p50':>9} {'p95':>5} {'warm p50':>9} {'p95':>5}"
        f" {'cpu p50':>8}   (ms, {n} requests each; cpu: this process's own time, changed)"
    )
    worst = {"changed": 0.0, "cold": 0.0}
    unanswered = []  # a page that did not answer 200 was not measured: never "met"
    for name, url in pages.items():
        requester = manager if "unit manager" in name else client
        status = requester.get(url, secure=True).status_code
        timings: dict[str, list[float]] = {"changed": [], "cold": [], "warm": []}
        cpu: list[float] = []
        for way in timings:
            for _ in range(n):
                if way != "warm":
                    bump()
                    clear_fit_cache()
                if way == "changed":
                    _forget_stored_fits()
                began, began_cpu = time.perf_counter(), time.process_time()
                requester.get(url, secure=True)
                timings[way].append((time.perf_counter() - began) * 1000)
                if way == "changed":
                    cpu.append((time.process_time() - began_cpu) * 1000)
                reset_queries()
        (n50, n95), (c50, c95), (w50, w95) = (_percentiles(timings[way]) for way in timings)
        worst["changed"], worst["cold"] = max(worst["changed"], n95), max(worst["cold"], c95)
        if status != 200:
            unanswered.append(name)
        print(
            f"{name:<38} {n50:11.0f} {n95:5.0f} {c50:9.0f} {c95:5.0f} {w50:9.0f} {w95:5.0f}"
            f" {statistics.median(cpu):8.0f}" + ("" if status == 200 else f"   (status {status})")
        )
    for way, what in (("changed", "after the counts changed, nothing stored"),
                      ("cold", "a new process, the fits stored")):  # fmt: skip
        verdict = "met" if worst[way] < TARGET_PAGE_P95_MS and not unanswered else "NOT met"
        if unanswered:
            verdict += f"; not measured, no page: {', '.join(unanswered)}"
        print(
            f"slowest page p95 cold, {what}: {worst[way]:.0f} ms (target < {TARGET_PAGE_P95_MS:.0f} ms: {verdict})",
            flush=True,
        )


if __name__ == "__main__":
    main()
