"""Instructions of one cold request or comparison, counted by callgrind (load-independent).

On a shared machine wall and even CPU time move with the load (docs/decisions.md, 2026-12-04,
"Benchmarks warm up, and count instructions when the machine is loaded"); the instructions of the
same code do not (two runs agree within ~1 %). This script re-runs itself under
``valgrind --tool=callgrind --instr-atstart=no`` and counts only the measured region: after one
warm-up, the count cache is bumped and the fit cache cleared (cold, as bench_scale; the fits
stored between processes emptied too unless ``--stored-fits``), then the
work runs between two callgrind client requests (a three-line C helper compiled with gcc into
``$TMPDIR``). Needs valgrind (with ``valgrind/callgrind.h``) and gcc; the database is
``DATABASE_URL`` (a copy, never the benchmark's original).

    DATABASE_URL=sqlite:///copy.sqlite3 DEBUG=true .venv/bin/python bench/bench_instructions.py compare
    DATABASE_URL=sqlite:///copy.sqlite3 DEBUG=true .venv/bin/python bench/bench_instructions.py \\
        '/resultat/jamforelse/?indicator=satisfied' --runs 2
    DATABASE_URL=sqlite:///copy.sqlite3 DEBUG=true .venv/bin/python bench/bench_instructions.py \\
        /resultat/utforare/P0003/ --user manager      # the unit manager's provider page

About 50× slower than a plain run (a few minutes for a page at 1M). Compare main and a branch by
running this file from each worktree.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import gc
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

MARKERS = """#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS; }
"""


def markers() -> Path:
    library = Path(tempfile.gettempdir()) / "utfall-callgrind-markers.so"
    if not library.exists():
        source = library.with_suffix(".c")
        source.write_text(MARKERS)
        subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)  # noqa: S603, S607
    return library


def measured(what: str, runs: int, user: str = "analyst", stored_fits: bool = False) -> None:
    """Inside valgrind: set up as bench_scale's measure, warm up, then ``runs`` cold runs."""
    # The same not-secret keys and hosts as bench_scale (this file's folder is on the path).
    from bench_scale import BENCH_ENV

    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.conf import settings
    from django.db import reset_queries
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment
    from django.urls import get_resolver

    from utfall.comparisons.cache import bump
    from utfall.comparisons.services import compare
    from utfall.core.models import StoredFit
    from utfall.demo.setup import demo_municipality
    from utfall.organisations.models import User
    from utfall.stats.overdispersion import clear_fit_cache

    setup_test_environment()
    warnings.filterwarnings("ignore", message="No directory at")
    get_resolver().url_patterns  # noqa: B018 - imports every view module, as the server
    gc.collect()
    gc.freeze()
    cg = ctypes.CDLL(str(markers()))
    municipality = demo_municipality()
    plain = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain):
        client = Client()
        client.force_login(User.objects.get(username=user))

        def work() -> object:
            if what == "compare":  # bench_scale's "comparison (overdispersion)"
                return compare(municipality=municipality, indicator="satisfied", by="provider",
                               date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))  # fmt: skip
            return client.get(what, secure=True)

        work()
        for _ in range(runs):
            bump()
            clear_fit_cache()
            if not stored_fits:  # as after the counts changed: no fit kept by an earlier process
                StoredFit.objects.all().delete()
            reset_queries()
            cg.cg_start()
            work()
            cg.cg_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", help="'compare', or a URL to request as the demo analyst (or --user)")
    parser.add_argument("--runs", type=int, default=1, help="cold runs counted, each its own figure")
    parser.add_argument(
        "--user", default="analyst", help="the demo user who requests the URL (e.g. 'manager')"
    )
    parser.add_argument(
        "--stored-fits", action="store_true",
        help="keep the fits the warm-up stored (a new process on unchanged counts); by default each run "
        "empties them, as the first request after the counts changed",
    )  # fmt: skip
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measured(args.what, args.runs, args.user, args.stored_fits)
        return
    markers()
    out = Path(tempfile.mkdtemp(prefix="callgrind-"))
    command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}/cg.%p",
               sys.executable, __file__, args.what, "--runs", str(args.runs), "--user", args.user,
               *(["--stored-fits"] if args.stored_fits else []), "--inside"]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    dumps = sorted(p for p in out.iterdir() if p.suffix[1:].isdigit() and p.stem.count(".") == 1)
    for dump in dumps:
        totals = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
        print(
            f"{args.what} as {args.user}: {int(totals.split()[1]) / 1e6:,.1f}M instructions (one cold run"
            f"{', fits stored' if args.stored_fits else ''}; {dump})"
        )


if __name__ == "__main__":
    main()
