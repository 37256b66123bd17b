"""A restart of PostgreSQL (or any dropped connection) needs no restart of utfall: the production
server's worker tests its kept connection before the next request and opens a new one
(``CONN_HEALTH_CHECKS``). bench/faults.py restarts the real server under load
(docs/performance.md "Load and faults"); here the database drops the worker's connection."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.personas import World
from tests.security.test_deploy import ROOT, free_port, production_env, request
from utfall.core.services import create_api_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_server_answers_after_the_database_dropped_its_connection(tmp_path: Path, world: World) -> None:
    assert connection.vendor == "postgresql"  # collected on the PostgreSQL run only (conftest)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    token = create_api_token(user=world.caseworker, name="restart")
    port = free_port()
    # One worker with one thread: the second request is served by the connection that was dropped
    # (with more threads another thread, with no connection yet, could answer it).
    env = production_env(
        tmp_path, DATABASE_URL=url, UTFALL_BIND=f"127.0.0.1:{port}", UTFALL_WORKERS="1", UTFALL_THREADS="1"
    )
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = subprocess.Popen([gunicorn, "--config", str(ROOT / "deploy" / "gunicorn.conf.py")], env=env,
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    api = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "Host": "127.0.0.1"}
    try:
        for _ in range(150):
            try:
                first = request(port, "GET", "/api/v1/followups", api)
                break
            except OSError:
                time.sleep(0.2)
        assert first.status == 200  # the worker now keeps its connection (CONN_MAX_AGE)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchall(), "the worker's connection was there to drop"
        assert request(port, "GET", "/api/v1/followups", api).status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
