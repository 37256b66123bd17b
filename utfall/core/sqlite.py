"""What every SQLite connection gets: the audit log's DELETE guard, and a private file.

The audit table's DELETE trigger (migration core 0006) asks ``utfall_audit_delete_allowed()``,
a function this module registers on each connection and that answers no. A connection
without it (the ``sqlite3`` shell) fails the delete too. Only the test suite says yes, so
that Django's flush between transactional tests can empty the table (PostgreSQL flushes
with TRUNCATE, which row triggers do not see); the tests of the guard say no again.

The database file and its WAL and shared-memory files are made readable by their owner
only (0600): they hold pseudonymised individual data.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

#: Set by the test suite only (tests/conftest.py).
ALLOW_AUDIT_DELETE = False


def _allowed() -> int:
    return 1 if ALLOW_AUDIT_DELETE else 0


def private(path: Path) -> None:
    """chmod 0600 the database file and its -wal/-shm companions that exist."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if candidate.exists() and stat.S_IMODE(candidate.stat().st_mode) != 0o600:
                os.chmod(candidate, 0o600)
        except OSError:  # not ours to change (e.g. a read-only copy): SQLite reports the rest
            pass


def on_connect(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor != "sqlite":
        return
    connection.connection.create_function("utfall_audit_delete_allowed", 0, _allowed)
    name = str(connection.settings_dict.get("NAME") or "")
    if name and name != ":memory:" and not name.startswith("file:"):
        private(Path(name))
