"""Time `utfall demo --no-server` into a fresh SQLite file (issue 13, the write path's cost).

Prints wall clock, the CPU time of the command (resource.getrusage of the child) and the
machine's load average before and after, then checks the maintained count tables against a
rebuild (`utfall rebuild-aggregates --check`). docs/performance.md, "Load and faults".

    .venv/bin/python bench/demo_time.py [--size 1.0] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UTFALL = str(Path(sys.executable).with_name("utfall"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=1.0)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="utfall-demo-time-"))
    url = args.database_url or f"sqlite:///{workdir / 'demo.sqlite3'}"
    env = {**os.environ, "DEBUG": "true", "DATABASE_URL": url, "UTFALL_DATA_DIR": str(workdir)}
    before = os.getloadavg()
    started = time.perf_counter()
    subprocess.run([UTFALL, "demo", "--no-server", "--size", str(args.size)], env=env, cwd=ROOT, check=True,  # noqa: S603
                   stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = os.getloadavg()
    print(f"demo size {args.size} on {url.split(':')[0]}: {wall:.0f} s wall, "
          f"{usage.ru_utime + usage.ru_stime:.0f} s CPU of the command; "
          f"load average {before[0]:.1f} before, {after[0]:.1f} after (2 cores)")  # fmt: skip
    check = subprocess.run([UTFALL, "rebuild-aggregates", "--check"], env=env, cwd=ROOT, capture_output=True,  # noqa: S603
                           text=True)  # fmt: skip
    print(f"rebuild-aggregates --check: exit {check.returncode}; {check.stdout.strip()[-300:]}")
    return check.returncode


if __name__ == "__main__":
    raise SystemExit(main())
