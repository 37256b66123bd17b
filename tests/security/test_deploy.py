"""The production deployment as docs/deploy.md describes it: gunicorn with whitenoise and the
documented settings, `utfall check --deploy` clean, and backup and restore of PostgreSQL and
of the pseudonym key (restore into an empty database gives the same export)."""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import TEST_KEY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SECRET = "production-test-" + "Qz8v3" * 10


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # The environment of a server: nothing of the test run's (DEBUG, pytest's, the e2e tests'
    # DJANGO_ALLOW_ASYNC_UNSAFE).
    skipped = ("DEBUG", "PYTEST", "DATABASE_URL", "UTFALL_", "DJANGO_")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    key = tmp_path / "pseudonym.key"
    key.write_text(TEST_KEY)
    key.chmod(0o600)
    return {
        **keep,
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,utfall.example.org",
        "UTFALL_PSEUDONYM_KEY_FILE": str(key),
        "UTFALL_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "UTFALL_CLIENT_IP_HEADER": "X-Forwarded-For",
        "STATIC_ROOT": str(tmp_path / "static"),
        "UTFALL_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'utfall.sqlite3'}",
        **extra,
    }


def utfall(env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utfall", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False, cwd=ROOT)  # fmt: skip


def test_check_deploy_is_clean_with_the_documented_settings(tmp_path: Path) -> None:
    result = utfall(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    port = free_port()
    env = production_env(tmp_path, UTFALL_BIND=f"127.0.0.1:{port}", UTFALL_WORKERS="2")
    for args in (("migrate", "-v0"), ("collectstatic", "--noinput", "-v0")):
        done = utfall(env, *args)
        assert done.returncode == 0, done.stderr
    made = utfall(env, "shell", "-c",
                  "from tests.personas import make_user; from utfall.organisations.models import *; "
                  "u = Unit.objects.create(municipality=Municipality.objects.get(code='default'), code='n', name='N'); "
                  "c = make_user('cw', u.municipality, [u], Role.CASEWORKER); c.set_password('a-long-password-1'); c.save()")  # fmt: skip
    assert made.returncode == 0, made.stderr
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = subprocess.Popen([gunicorn, "--config", str(ROOT / "deploy" / "gunicorn.conf.py")], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield port, env
    finally:
        process.terminate()
        process.wait(timeout=30)


def request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: str = ""
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response


def cookies_of(response: http.client.HTTPResponse) -> SimpleCookie:
    cookies: SimpleCookie = SimpleCookie()
    for header in response.msg.get_all("Set-Cookie") or []:
        cookies.load(header)
    return cookies


def test_the_production_server_serves_tls_headers_static_files_and_asks_for_the_second_factor(server) -> None:  # type: ignore[no-untyped-def]
    port, _env = server
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.5", "Host": "127.0.0.1"}

    plain = request(port, "GET", "/logga-in/")
    assert plain.status == 301 and plain.getheader("Location", "").startswith("https://")

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/logga-in/", headers=proxied)
    page = connection.getresponse()
    html = page.read().decode()
    assert page.status == 200
    assert "max-age=31536000" in page.getheader("Strict-Transport-Security", "")
    assert "no-store" in page.getheader("Cache-Control", "")
    assert "default-src 'self'" in page.getheader("Content-Security-Policy", "")
    css = re.search(r'href="(/static/utfall/utfall\.[0-9a-f]+\.css)"', html)
    assert css, "hashed static names from collectstatic"
    static = request(port, "GET", css.group(1), proxied)
    assert static.status == 200 and "immutable" in static.getheader("Cache-Control", "")

    cookies = cookies_of(page)
    assert all("Secure" in c for c in page.msg.get_all("Set-Cookie") or [])
    token = cookies["csrftoken"].value
    form = f"csrfmiddlewaretoken={token}&username=cw&password=a-long-password-1"
    signed_in = request(port, "POST", "/logga-in/", {
        **proxied, "Cookie": f"csrftoken={token}", "Referer": "https://127.0.0.1/logga-in/",
        "Content-Type": "application/x-www-form-urlencoded"}, form)  # fmt: skip
    assert signed_in.status == 302, signed_in.status
    session = cookies_of(signed_in)
    worklist = request(
        port, "GET", "/uppfoljningar/", {**proxied, "Cookie": f"sessionid={session['sessionid'].value}"}
    )
    assert worklist.status == 302
    assert urlparse(worklist.getheader("Location", "")).path == "/tvastegs/aktivera/"


# --- backup and restore ------------------------------------------------------------------


def postgres_base() -> str | None:
    """A PostgreSQL server to make two scratch databases on: the run's own, else the one
    ./dev test would use (TEST_DATABASE_URL, or root/postgres on 127.0.0.1)."""
    import psycopg

    candidates = [os.environ.get("DATABASE_URL", ""), os.environ.get("TEST_DATABASE_URL", ""),
                  "postgres://root@127.0.0.1:5432/postgres", "postgres://postgres@127.0.0.1:5432/postgres"]  # fmt: skip
    for url in candidates:
        if not url.startswith("postgres"):
            continue
        try:
            psycopg.connect(urlparse(url)._replace(path="/postgres").geturl(), connect_timeout=3).close()
        except psycopg.Error:
            continue
        return url
    return None


def test_backup_and_restore_into_an_empty_database_gives_the_same_export(tmp_path: Path) -> None:
    base = postgres_base()
    if base is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs a PostgreSQL server for the backup and restore test")
        pytest.skip("no PostgreSQL server reachable on 127.0.0.1 (./dev test starts one)")
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump and pg_restore are needed (Debian: postgresql-client)")
    import psycopg

    parsed = urlparse(base)
    suffix = secrets.token_hex(4)
    names = [f"utfall_backup_{suffix}", f"utfall_restored_{suffix}"]
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as db:
        for name in names:
            db.execute(f'CREATE DATABASE "{name}"')
    try:
        original, restored = (parsed._replace(path=f"/{n}", query="").geturl() for n in names)
        env = production_env(tmp_path, DATABASE_URL=original)
        from utfall.demo.generator import generate

        files = generate(size=0.02, seed=11).write_csv(tmp_path / "in")
        assert utfall(env, "migrate", "-v0").returncode == 0
        imported = utfall(env, "import", "--municipality", "default", *map(str, files))
        assert imported.returncode == 0, imported.stderr
        assert utfall(env, "export", str(tmp_path / "before")).returncode == 0

        backup_env = {**env, "DATABASE_URL": original}
        backup = subprocess.run(["bash", str(ROOT / "deploy" / "backup.sh"), str(tmp_path / "backups")],
                                env=backup_env, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert backup.returncode == 0, backup.stderr
        directory = backup.stdout.strip().splitlines()[-1]

        new_key = tmp_path / "new-machine" / "pseudonym.key"
        new_key.parent.mkdir()
        restore_env = {**env, "DATABASE_URL": restored, "UTFALL_PSEUDONYM_KEY_FILE": str(new_key)}
        restore = subprocess.run(["bash", str(ROOT / "deploy" / "restore.sh"), directory], env=restore_env,
                                 capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert restore.returncode == 0, restore.stderr
        assert new_key.read_text() == TEST_KEY and (new_key.stat().st_mode & 0o777) == 0o600
        assert utfall(restore_env, "export", str(tmp_path / "after")).returncode == 0
        for kind in ("providers", "contracts", "interventions", "followups"):
            before = (tmp_path / "before" / f"{kind}.csv").read_bytes()
            assert before == (tmp_path / "after" / f"{kind}.csv").read_bytes(), kind
        # The restored key gives the same pseudonyms: re-importing the same files changes nothing.
        again = utfall(restore_env, "import", "--municipality", "default", *map(str, files))
        assert again.returncode == 0 and " 0 nya" in again.stdout, again.stdout

        refused = subprocess.run(["bash", str(ROOT / "deploy" / "restore.sh"), directory], env=restore_env,
                                 capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert refused.returncode != 0 and "inte tom" in refused.stderr
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            for name in names:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2, reason="threads counted in /proc"
)
def test_the_servers_workers_run_numpys_blas_on_one_thread() -> None:
    """The server's settings leave numpy's BLAS without a thread pool of its own (2026-12-05,
    oe5): the workers answer requests in parallel already, and the pool's threads spun beside each
    request's small matrix products (~20 % of a cold O/E page's CPU at 1M). Read as gunicorn reads
    its settings, then numpy loaded as the application loads it: the process has one thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    code = (
        "import os, runpy; runpy.run_path('deploy/gunicorn.conf.py'); import numpy; "
        "print(len(os.listdir('/proc/self/task')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "1"
