"""Issue 16 point 5: on SQLite, web requests keep working while an import writes.

Two processes on one SQLite file, as in production: ``utfall import`` of ~10,000 follow-ups
and a caseworker's browser reading case pages (each read writes an audit entry, so each
needs the write lock for a moment). Before the import committed in slices, the reads got
"database is locked" (500) once the import's single write transaction outlasted the busy
timeout; here the busy timeout is short (3 s) and the import must still never starve them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripts") / "sqlite_import_web.py"


def run(step: str, directory: Path, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), step, str(directory)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
def test_case_pages_answer_while_an_import_writes_to_the_same_sqlite_file(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "utfall.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'utfall.sqlite3'}",
        "UTFALL_PSEUDONYM_KEY": "concurrency-test-key-not-secret-0123456789",
        "UTFALL_SQLITE_BUSY_TIMEOUT_MS": "3000",
        "UTFALL_IMPORT_COMMIT_ROWS": "2000",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PYTEST_VERSION", None)
    made = run("setup", tmp_path, env)
    assert int(made["followups"]) > 5000  # type: ignore[call-overload]
    seen = run("web", tmp_path, env)
    assert seen["import_rc"] == 0, seen["import_output"]
    statuses = seen["statuses"]
    assert isinstance(statuses, dict)
    assert set(statuses) == {"200"}, seen
    assert sum(statuses.values()) >= 6, seen  # the pages were really asked during the import
