"""Helper of test_sqlite_import.py, run as its own process on one SQLite file.

``setup DIR``: migrate, load providers, contracts and interventions, write follow-ups.csv and
make a caseworker of every unit. ``web DIR``: start ``utfall import`` of the follow-ups in a
second process and, until it ends, act as the caseworker's browser (pages that read cases
and write an audit entry each); print the status codes seen as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def setup(directory: Path) -> None:
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from utfall.demo.generator import generate
    from utfall.interchange.importer import import_files
    from utfall.organisations.models import Municipality, Role, Unit, User

    call_command("migrate", verbosity=0)
    municipality, _ = Municipality.objects.get_or_create(code="samtidig", defaults={"name": "Samtidig"})
    data = generate(size=float(os.environ.get("SIZE", "0.25")), seed=5)
    files = {p.stem: p for p in data.write_csv(directory / "set")}
    report = import_files(
        [files["providers"], files["contracts"], files["interventions"]], municipality=municipality
    )
    assert report.ok, report.issues[:3]
    user = User.objects.create_user("cw", municipality=municipality)
    user.groups.set([Group.objects.get(name=Role.CASEWORKER.value)])
    user.units.set(Unit.objects.filter(municipality=municipality))
    print(json.dumps({"followups": len(data.followups)}))


def web(directory: Path) -> None:
    from django.test import Client

    from utfall.organisations.models import User
    from utfall.registry.models import Intervention

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username="cw"))
    pks = list(Intervention.objects.order_by("pk").values_list("pk", flat=True)[:50])
    importer = subprocess.Popen(
        [sys.executable, "-m", "utfall", "import", "--municipality", "samtidig",
         str(directory / "set" / "followups.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    statuses: dict[str, int] = {}
    slowest = 0.0
    i = 0
    while importer.poll() is None:
        for url in ("/uppfoljningar/", f"/insatser/{pks[i % len(pks)]}/", "/uppfoljningar/historik/"):
            t0 = time.perf_counter()
            status = client.get(url).status_code
            slowest = max(slowest, time.perf_counter() - t0)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        i += 1
    output = importer.stdout.read() if importer.stdout else ""
    print(json.dumps({"statuses": statuses, "slowest": slowest, "import_rc": importer.returncode,
                      "import_output": output[-2000:]}))  # fmt: skip


if __name__ == "__main__":
    import django

    django.setup()
    {"setup": setup, "web": web}[sys.argv[1]](Path(sys.argv[2]))
