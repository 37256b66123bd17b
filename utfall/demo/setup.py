"""Load the demo municipality: districts, synthetic data through the real importer, demo users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import Group
from django.db import transaction

from utfall.demo.generator import DISTRICTS, DemoData, as_tables, generate
from utfall.interchange.batch import ImportReport
from utfall.interchange.importer import Importer
from utfall.organisations.models import Municipality, Role, Unit, User
from utfall.registry.models import Intervention

DEMO_MUNICIPALITY = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only; the command refuses to run without DEBUG
DEMO_UNIT = "sodermalm"
DEMO_USERS = [
    # username, roles, superuser
    ("caseworker", [Role.CASEWORKER], False),
    ("manager", [Role.UNIT_MANAGER], False),
    ("analyst", [Role.ANALYST], False),
    ("procurement", [Role.PROCUREMENT], False),
    ("admin", [], True),
]


def demo_municipality() -> Municipality:
    municipality, _ = Municipality.objects.get_or_create(
        code=DEMO_MUNICIPALITY, defaults={"name": "Demostad (syntetiska data)"}
    )
    for code, name in DISTRICTS:
        Unit.objects.update_or_create(municipality=municipality, code=code, defaults={"name": name})
    return municipality


def load_demo_data(
    municipality: Municipality,
    *,
    size: float = 1.0,
    seed: int = 2021,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[DemoData, ImportReport]:
    data = generate(size=size, seed=seed, today=today)
    importer = Importer(municipality=municipality, actor="demo", today=today, progress=progress)
    report = importer.run(tables=as_tables(data))  # type: ignore[arg-type]
    return data, report


def has_data(municipality: Municipality) -> bool:
    return Intervention.objects.filter(municipality=municipality).exists()


@transaction.atomic
def ensure_demo_users(municipality: Municipality) -> list[str]:
    unit = Unit.objects.get(municipality=municipality, code=DEMO_UNIT)
    created = []
    for username, roles, superuser in DEMO_USERS:
        user, new = User.objects.get_or_create(username=username, defaults={"municipality": municipality})
        user.municipality = municipality
        user.is_staff = user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name__in=[str(r) for r in roles]))
        if Role.CASEWORKER in roles or Role.UNIT_MANAGER in roles:
            user.units.set([unit])
        if new:
            created.append(username)
    return created
