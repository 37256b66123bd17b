"""Load the demo municipality: districts, synthetic data through the real importer, demo users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count

from utfall.demo.generator import DISTRICTS, DemoData, as_tables, generate
from utfall.interchange.batch import ImportReport
from utfall.interchange.importer import Importer
from utfall.organisations.models import Committee, Municipality, Role, Unit, User
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
    ("board", [Role.BOARD], False),  # the social welfare board (nämnd): published reports
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
        if Role.BOARD in roles:  # a board member reads for a committee (docs/access.md)
            committee, _ = Committee.objects.get_or_create(
                municipality=municipality, code="socialnamnden", defaults={"name": "Socialnämnden"}
            )
            committee.members.add(user)
        if new:
            created.append(username)
    return created


#: The demo caseworker's colleagues in the same unit (synthetic names): the imported follow-ups
#: are shared among the three, so coverage per caseworker has figures (issue 17 point 9).
DEMO_COLLEAGUES = [("caseworker2", "Alva", "Exempelsson"), ("caseworker3", "Bo", "Testberg")]


@transaction.atomic
def ensure_demo_caseworkers(municipality: Municipality) -> None:
    """The demo unit's follow-ups, imported without a person, recorded by its three caseworkers
    (one intervention's follow-ups by one of them): the manager's coverage per caseworker then
    shows figures instead of a single "never followed up or imported" row hiding everyone."""
    from django.db.models import F
    from django.db.models.functions import Mod

    from utfall.core.changes import changing
    from utfall.followups.models import FollowUp

    unit = Unit.objects.get(municipality=municipality, code=DEMO_UNIT)
    people = [User.objects.get(username="caseworker", municipality=municipality)]
    for username, first, last in DEMO_COLLEAGUES:
        user, _ = User.objects.get_or_create(username=username, defaults={"municipality": municipality})
        user.municipality, user.first_name, user.last_name = municipality, first, last
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set(Group.objects.filter(name=Role.CASEWORKER))
        user.units.set([unit])
        people.append(user)
    imported = FollowUp.objects.filter(intervention__unit=unit, created_by__isnull=True)
    touched = set(imported.values_list("intervention_id", flat=True))
    if not touched:
        return
    # Bracketed: the maintained counts per caseworker take the old share out and put the new in.
    with changing(municipality.pk, touched, followups_only=True):
        for index, user in enumerate(people):
            picked = imported.annotate(_share=Mod(F("intervention_id"), len(people))).filter(_share=index)
            FollowUp.objects.filter(pk__in=picked.values("pk")).update(created_by=user)


@transaction.atomic
def ensure_demo_procurement(municipality: Municipality) -> str:
    """Payment rules on the contracts that have targets, and a provider account ("provider")
    for the largest of those providers. Returns the provider's name."""
    from utfall.procurement.models import PaymentRule, RuleKind
    from utfall.registry.models import Contract

    with_targets = Contract.objects.filter(municipality=municipality, targets__isnull=False).distinct()
    for contract in with_targets:
        if not contract.payment_rules.exists():
            PaymentRule.objects.create(
                municipality=municipality, contract=contract, name="Bonus för lägre insatsnivå",
                kind=RuleKind.BONUS_SHARE, indicator="step_down", share_percent=2, floor="0.5",
            )  # fmt: skip
            PaymentRule.objects.create(
                municipality=municipality, contract=contract, name="Ersättning per klient som når alla mål",
                kind=RuleKind.PER_CLIENT, indicator="plan_goals_fully", amount=5000,
            )  # fmt: skip
    biggest = with_targets.annotate(size=Count("interventions")).order_by("-size", "contract_id").first()
    if biggest is None:
        return ""
    user, _ = User.objects.get_or_create(username="provider", defaults={"municipality": municipality})
    user.municipality, user.provider = municipality, biggest.provider
    user.set_password(DEMO_PASSWORD)
    user.save()
    user.groups.set(Group.objects.filter(name=Role.PROVIDER))
    return biggest.provider.name
