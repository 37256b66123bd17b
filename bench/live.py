"""The production server for the load and fault benchmarks (bench/load.py, bench/faults.py).

Not a test and not part of the package: gunicorn started from ``deploy/gunicorn.conf.py`` with
production settings (DEBUG off, the secrets set, static files collected) on a PostgreSQL
database of its own, and a few helpers to talk to it as the reverse proxy would
(``X-Forwarded-Proto: https``; no proxy runs, docs/deploy.md "Check it before opening it").
Every address is on the loopback interface.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
SECRET = "load-benchmark-secret-not-for-production-" + "x9Kq2" * 6
PSEUDONYM_KEY = "load-benchmark-pseudonym-key-not-secret-0123456789"
HOST = "127.0.0.1"
PROXIED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1", "Host": HOST}
PASSWORD = "load-benchmark-password-1"  # noqa: S105 - synthetic users of a benchmark database


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def production_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of the server: production settings, nothing of the caller's."""
    skipped = ("DEBUG", "PYTEST", "DATABASE_URL", "UTFALL_", "DJANGO_")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    return {
        **keep,
        "DEBUG": "false",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": HOST,
        "UTFALL_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "UTFALL_PROXY_SSL_HEADER": "X-Forwarded-Proto",
        "UTFALL_CLIENT_IP_HEADER": "X-Forwarded-For",
        "STATIC_ROOT": str(workdir / "static"),
        "UTFALL_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "utfall.settings",
        **extra,
    }


def setup_django(env: dict[str, str]) -> None:
    """Django in this process, on the server's database and settings (to make users and count)."""
    os.environ.update({k: v for k, v in env.items() if k.startswith(("DEBUG", "SECRET", "ALLOWED", "UTFALL_",
                                                                      "STATIC_ROOT", "DATABASE_URL", "DJANGO_"))})  # fmt: skip
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_database(database_url: str) -> None:
    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres", query="").geturl()
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')


def utfall(env: dict[str, str], *args: str, timeout: int = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "utfall", *args], env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=timeout, check=False, cwd=ROOT)  # fmt: skip


@dataclass
class Server:
    """gunicorn as docs/deploy.md starts it; ``kill()`` is SIGKILL to the master and its workers."""

    env: dict[str, str]
    port: int
    workers: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
        env = {**self.env, "UTFALL_BIND": f"{HOST}:{self.port}", "UTFALL_WORKERS": str(self.workers)}
        with self.log.open("ab") as out:
            # A session of its own: the master and its workers form one process group.
            self.process = subprocess.Popen([gunicorn, "--config", str(ROOT / "deploy" / "gunicorn.conf.py")],  # noqa: S603
                                            env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/logga-in/").status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: no worker finishes its request."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None

    def pids(self) -> list[int]:
        """The master and its workers (to show that nothing was restarted)."""
        if self.process is None:
            return []
        group = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.process.pid:  # the process group id
                group.append(int(stat.parent.name))
        return sorted(group)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    cookies: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


def migrate_and_collect(env: dict[str, str]) -> bool:
    """``migrate`` and ``collectstatic`` as the deployment does them; False (output printed) on failure."""
    for step in (("migrate", "-v0"), ("collectstatic", "--noinput", "-v0")):
        done = utfall(env, *step)
        if done.returncode:
            print(done.stdout, done.stderr, file=sys.stderr)
            return False
    return True


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes | str | None = None, timeout: float = 60) -> Reply:  # fmt: skip
    """One request through a new connection (gunicorn's sync workers close it after each).

    A reply cut off before its end (the server killed between its headers and its body:
    ``http.client.IncompleteRead``, or any other broken HTTP) is no answer, raised as a
    ``ConnectionError`` like a refused or reset connection, so every caller's ``except OSError``
    sends it again (faults.py's burst once lost a client thread, and its retry, to an
    ``IncompleteRead``; 2026-12-06)."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={**PROXIED, **(headers or {})})
        response = connection.getresponse()
        data = response.read()
    except http.client.HTTPException as exc:
        raise ConnectionError(f"{type(exc).__name__}: {exc!r}") from exc
    finally:
        connection.close()
    cookies: SimpleCookie = SimpleCookie()
    for header in response.msg.get_all("Set-Cookie") or []:
        cookies.load(header)
    return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                 time.perf_counter() - started, {k: m.value for k, m in cookies.items()})  # fmt: skip


def sign_in(port: int, username: str, password: str = PASSWORD) -> str:
    """The sign-in form as a browser sends it; returns the session cookie."""
    page = request(port, "GET", "/logga-in/")
    csrf = page.cookies["csrftoken"]
    form = urlencode({"csrfmiddlewaretoken": csrf, "username": username, "password": password})
    done = request(port, "POST", "/logga-in/", {
        "Cookie": f"csrftoken={csrf}", "Referer": f"https://{HOST}/logga-in/",
        "Content-Type": "application/x-www-form-urlencoded"}, form)  # fmt: skip
    if done.status != 302 or "sessionid" not in done.cookies:
        raise RuntimeError(f"{username} could not sign in: {done.status}")
    return done.cookies["sessionid"]


def submit(port: int, token: str, key: str, payload: dict[str, Any], timeout: float = 60) -> Reply:
    return request(port, "POST", "/api/v1/followups", {
        "Authorization": f"Bearer {token}", "Idempotency-Key": key, "Content-Type": "application/json",
    }, json.dumps(payload), timeout=timeout)  # fmt: skip


def percentile(values: Iterable[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(p) - 1]


def ms(values: list[float]) -> str:
    if not values:
        return "no requests"
    return f"p50 {percentile(values, 50) * 1000:.0f} ms, p95 {percentile(values, 95) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


# --- data and people (Django set up in this process) ---------------------------------------


@dataclass
class Caseworker:
    username: str
    token: str
    #: Payloads for the API, one per intervention of the caseworker's unit: the answers of a
    #: stored follow-up of that intervention (valid for its instrument), dated today.
    payloads: list[dict[str, Any]]


def load_demo(size: float) -> None:
    from utfall.demo.setup import demo_municipality, has_data, load_demo_data

    municipality = demo_municipality()
    if not has_data(municipality):
        started = time.perf_counter()
        _data, report = load_demo_data(municipality, size=size)
        if not report.ok:
            raise RuntimeError(f"the demo data did not import: {report.issues[:3]}")
        print(
            f"  demo municipality loaded (size {size}) in {time.perf_counter() - started:.0f} s", flush=True
        )


def make_people(
    caseworkers: int, analysts: int, per_caseworker: int = 20
) -> tuple[list[Caseworker], list[str]]:
    """``load-cw-NN`` caseworkers with a fresh API token each (the sanctioned way past the second
    factor: the API takes tokens, ``utfall api_token``) and ``load-an-NN`` analysts (no second
    factor for their role) with a password, in the demo municipality's districts."""
    from django.contrib.auth.models import Group

    from utfall.core.services import create_api_token, revoke_api_tokens
    from utfall.demo.setup import demo_municipality
    from utfall.organisations.models import Role, Unit, User
    from utfall.records import canonical

    municipality = demo_municipality()
    units = list(Unit.objects.filter(municipality=municipality).order_by("code"))
    made: list[Caseworker] = []
    for i in range(caseworkers):
        unit = units[i % len(units)]
        user, _ = User.objects.get_or_create(
            username=f"load-cw-{i + 1:02d}", defaults={"municipality": municipality}
        )
        user.groups.set(Group.objects.filter(name=str(Role.CASEWORKER)))
        user.units.set([unit])
        revoke_api_tokens(user=user)
        stored = _first_per_intervention(unit, i // len(units), per_caseworker)
        records = canonical.followups(municipality, stored)
        payloads = [_payload(records[f]) for f in stored]
        made.append(Caseworker(user.username, create_api_token(user=user, name="load benchmark"), payloads))
    names = []
    for i in range(analysts):
        user, _ = User.objects.get_or_create(
            username=f"load-an-{i + 1:02d}", defaults={"municipality": municipality}
        )
        user.set_password(PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name=str(Role.ANALYST)))
        names.append(user.username)
    return made, names


def _first_per_intervention(unit: Any, block: int, n: int) -> list[str]:
    from utfall.followups.models import FollowUp

    seen: dict[int, str] = {}
    rows = FollowUp.objects.filter(intervention__unit=unit, status="completed", respondent="client")
    for intervention, followup in rows.order_by("intervention_id", "pk").values_list(
        "intervention_id", "followup_id"
    ):
        seen.setdefault(intervention, followup)
    return list(seen.values())[block * n :][:n]


def _payload(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "intervention_id": record["intervention_id"],
        "instrument": record["instrument"],
        "respondent": record["respondent"],
        "status": record["status"],
        "answers": record["answers"],
        "assessment": record.get("assessment", ""),
        "g1": record.get("g1", ""),
        "g2": record.get("g2", ""),
        "g3": record.get("g3", ""),
        # A caseworker may follow the same intervention up twice a day in a load run.
        "confirm_same_day": True,
    }


@dataclass
class Ledger:
    """What the clients were told: every acknowledged key with the follow-up id it got."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    #: How many answers each key's payload carried (a stored follow-up must have them all).
    answers: dict[str, int] = field(default_factory=dict)
    replayed: int = 0
    replay_mismatch: int = 0


def count_in_database(run: str, ledger: Ledger, since: Any) -> dict[str, int]:
    """Every acknowledged submission present exactly once: the keys of this run and the
    follow-ups made by the load users since ``since``, against what the clients were told."""
    from django.db.models import Count

    from utfall.core.models import IdempotencyKey
    from utfall.followups.models import Answer, FollowUp

    keys = dict(
        IdempotencyKey.objects.filter(kind="followups", key__startswith=f"{run}-").values_list(
            "key", "record_pk"
        )
    )
    made = FollowUp.objects.filter(created_by__username__startswith="load-cw-", created_at__gte=since)
    stored = dict(made.values_list("pk", "followup_id"))
    by_id = dict(made.values_list("followup_id", "pk"))
    told = ledger.acknowledged
    lost = [k for k, fid in told.items() if fid not in by_id or keys.get(k) != by_id[fid]]
    unacknowledged = len(set(stored) - {by_id[f] for f in told.values() if f in by_id})
    duplicated = sum(
        n - 1 for n in made.values("followup_id").annotate(n=Count("pk")).values_list("n", flat=True)
    )
    per_followup = dict(Answer.objects.filter(followup__in=made).values("followup_id").annotate(n=Count("pk"))
                        .values_list("followup_id", "n"))  # fmt: skip
    key_of = {pk: key for key, pk in keys.items()}
    half_written = sum(
        1 for pk in stored if per_followup.get(pk, 0) != ledger.answers.get(key_of.get(pk, ""), -1)
    )
    return {
        "acknowledged": len(told),
        "stored": len(stored),
        "keys stored": len(keys),
        "lost": len(lost),
        "duplicated": duplicated + max(0, len(stored) - len(keys)),
        "stored, not acknowledged": unacknowledged,
        "answers not as sent (half-written)": half_written,
    }


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds of these processes (and of their waited-for children) so far:
    the server's own cost, whatever else the shared machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return total


def postgres_cpu_seconds(database_url: str) -> float:
    """CPU seconds of the PostgreSQL backends now connected to this database."""
    import psycopg

    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres", query="").geturl()
    with psycopg.connect(admin, autocommit=True) as db:
        rows = db.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    return cpu_seconds(pid for (pid,) in rows)


def server_seconds(log: Path, method: str, path: str) -> list[float]:
    """Request times as gunicorn's access log has them (``%(L)s``: inside the worker, without
    the wait in the listen queue) for one method and path."""
    times = []
    for line in log.read_text(errors="replace").splitlines():
        if f'"{method} {path} ' in line and line.endswith("s"):
            try:
                times.append(float(line.rsplit(" ", 1)[1][:-1]))
            except ValueError:
                continue
    return times
