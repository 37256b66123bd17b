"""Benchmark: how long `utfall api_token USER --name X` takes from the shell (issue 17 point 18).

Run: DEBUG=true .venv/bin/python bench/bench_cli_start.py [--database-url URL] [--user admin] [--repeat 5]
The user must exist (e.g. after `utfall demo --no-server`); each run adds a token named
"bench" to it (revoke them with `utfall api_token USER --revoke`). Each command runs in a new process,
as a person runs it; printed per command: wall clock and the child's CPU time (user + system,
from getrusage), with the load average. "cold" runs with an empty bytecode cache (the first run
after an install or upgrade: every module compiled); "warm" with the installed cache.
Target: under 1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one run; exits when the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--user", default="admin")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    utfall = str(Path(sys.executable).with_name("utfall"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "utfall help (Django start)": [utfall, "help"],
        "utfall api_token": [utfall, "api_token", args.user, "--name", "bench"],
    }
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for label, command in commands.items():
        runs = [timed(command, env) for _ in range(args.repeat)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"warm  {label:28s} median wall {wall:.3f} s  CPU {cpu:.3f} s  (n={args.repeat})")
    cache = tempfile.mkdtemp(prefix="utfall-pycache-")
    try:
        wall, cpu = timed([*commands["utfall api_token"]], {**env, "PYTHONPYCACHEPREFIX": cache})
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(f"cold  {'utfall api_token':28s} wall {wall:.3f} s  CPU {cpu:.3f} s  (empty bytecode cache)")
    print(f"load average {os.getloadavg()[0]:.2f}; target: under {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
