"""A small synthetic world with named personas, for the follow-up, API and end-to-end tests.

Two units (norr, soder) in Testkommun and one in Grannkommun. Identity numbers are made
with format_identity_number and turned into pseudonyms at once, as the application does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from utfall.core.identity import format_identity_number, parse_identity_number
from utfall.core.pseudonyms import pseudonymise
from utfall.organisations.models import Municipality, Role, Unit, User
from utfall.registry.models import Client, Intervention, Provider, Service


@dataclass
class World:
    municipality: Municipality
    other_municipality: Municipality
    norr: Unit
    soder: Unit
    abroad: Unit
    provider: Provider
    other_provider: Provider
    users: dict[str, User] = field(default_factory=dict)
    interventions: dict[str, Intervention] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


def identity_number(n: int, *, born: dt.date = dt.date(2009, 3, 14)) -> str:
    return format_identity_number(born, 100 + n)


def make_client(municipality: Municipality, n: int) -> Client:
    number = parse_identity_number(identity_number(n))
    return Client.objects.create(
        municipality=municipality,
        pseudonym=pseudonymise(number, municipality.code),
        sex=number.sex,
        birth_year=number.birth_year,
    )


def make_user(username: str, municipality: Municipality | None, units: list[Unit], *roles: Role) -> User:
    user = User.objects.create_user(username, municipality=municipality)
    user.groups.set(Group.objects.filter(name__in=[str(r) for r in roles]))
    user.units.set(units)
    return user


def make_intervention(
    world: World, iid: str, unit: Unit, *, started_days_ago: int, ended_days_ago: int | None = None,
    service: str = "hvb_youth", n: int = 1, provider: Provider | None = None,
) -> Intervention:  # fmt: skip
    today = timezone.localdate()
    municipality = unit.municipality
    return Intervention.objects.create(
        municipality=municipality,
        intervention_id=iid,
        client=make_client(municipality, n),
        service=Service.objects.get(code=service),
        provider=provider or (world.provider if municipality == world.municipality else world.other_provider),
        unit=unit,
        decided_on=today - dt.timedelta(days=started_days_ago + 3),
        started_on=today - dt.timedelta(days=started_days_ago),
        ended_on=None if ended_days_ago is None else today - dt.timedelta(days=ended_days_ago),
        end_reason="" if ended_days_ago is None else "goals_met",
    )


@pytest.fixture
def world(municipality: Municipality, other_municipality: Municipality) -> World:
    norr = Unit.objects.create(municipality=municipality, code="norr", name="Norrmalm")
    soder = Unit.objects.create(municipality=municipality, code="soder", name="Södermalm")
    abroad = Unit.objects.create(municipality=other_municipality, code="centrum", name="Centrum")
    provider = Provider.objects.create(
        municipality=municipality, provider_id="P1", name="Solgläntans HVB", ownership="private"
    )
    other_provider = Provider.objects.create(
        municipality=other_municipality, provider_id="P1", name="Grannhemmet", ownership="municipal"
    )
    w = World(municipality, other_municipality, norr, soder, abroad, provider, other_provider)
    w.users = {
        "caseworker": make_user("cw", municipality, [norr], Role.CASEWORKER),
        "colleague": make_user("colleague", municipality, [norr], Role.CASEWORKER),
        "other_unit": make_user("soder-cw", municipality, [soder], Role.CASEWORKER),
        "manager": make_user("manager", municipality, [norr], Role.UNIT_MANAGER),
        "foreign": make_user("foreign", other_municipality, [abroad], Role.CASEWORKER),
        "analyst": make_user("analyst", municipality, [norr], Role.ANALYST),
        "procurement": make_user("procurement", municipality, [], Role.PROCUREMENT),
        "outsider": make_user("outsider", None, []),
    }
    w.interventions = {
        "overdue": make_intervention(w, "I-OVERDUE", norr, started_days_ago=240, n=1),
        "fresh": make_intervention(w, "I-FRESH", norr, started_days_ago=20, n=2),
        "ended": make_intervention(w, "I-ENDED", norr, started_days_ago=300, ended_days_ago=40, n=3),
        "soder": make_intervention(w, "I-SODER", soder, started_days_ago=240, n=4),
        "abroad": make_intervention(w, "I-ABROAD", abroad, started_days_ago=240, n=5),
    }
    return w
