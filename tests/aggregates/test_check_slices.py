"""``utfall rebuild-aggregates --check`` a slice at a time (months, client, provider and
intervention ranges) finds exactly what one comparison of the whole municipality finds: every
table compared, a stored row outside every raw row's month or range included (issue 13: at
national size the whole municipality's keys do not fit in memory)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F, Model
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.followups.helpers import post_followup
from tests.personas import World
from utfall.aggregates import counts, coverage, outcome_counts, rollup
from utfall.aggregates.models import (
    AnswerCount,
    CoverageCount,
    FollowUpCount,
    InterventionOutcome,
    OutcomeCount,
)
from utfall.aggregates.rebuild import check
from utfall.followups.models import FollowUp
from utfall.organisations.models import Municipality
from utfall.registry.models import Client as Person
from utfall.registry.models import Intervention

pytestmark = pytest.mark.django_db

TABLES: list[type[Model]] = [
    AnswerCount,
    FollowUpCount,
    *(model for model, _, _ in counts.ROLLUPS),
    *(model for model, _, _ in counts.FOLDED),
    *(model for _, model, _ in rollup.BY_CLIENT),
    CoverageCount,
    *(model for model, _ in coverage.ROLLUPS),
    OutcomeCount,
    *(model for model, _ in outcome_counts.ROLLUPS),
]
WHOLE = 10**9  # one slice: the whole municipality at once


def test_a_check_in_slices_finds_every_difference_a_whole_check_finds(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    municipality = world.municipality
    assert check(municipality, clients=1, interventions=1, providers=1).ok

    tampered = []
    for model in TABLES:
        rows = model._default_manager.filter(municipality=municipality).order_by("pk")
        if rows.exists():
            rows.filter(pk=rows.values("pk")[:1]).update(n=F("n") + 1)
            tampered.append(model._meta.model_name)
    for model, _, _ in counts.FOLDED:  # their events too, on another row (2026-12-05)
        rows = model._default_manager.filter(municipality=municipality, events__gt=0).order_by("-pk")
        rows.filter(pk=rows.values("pk")[:1]).update(events=F("events") + 1)
        tampered.append(counts.folded_name(model, "events"))
    # Rows where no raw row is: a month before every follow-up, an intervention's outcome
    # that no intervention has computed (its intervention deleted from the stored side's view).
    stray = AnswerCount.objects.filter(municipality=municipality).order_by("pk").first()
    assert stray is not None
    first = (
        FollowUp.objects.filter(municipality=municipality).order_by("date").values_list("date", flat=True)[0]
    )
    before = (first.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    stray.pk, stray.month, stray.n = None, before, 3
    stray.save()
    ended = (
        Intervention.objects.filter(municipality=municipality, ended_on__isnull=False).order_by("pk").last()
    )
    assert ended is not None
    InterventionOutcome.objects.filter(intervention=ended).update(next_after_days=F("next_after_days") + 1000)
    InterventionOutcome.objects.filter(intervention=ended, next_after_days__isnull=True).update(
        back_after_days=-1
    )

    sliced = check(municipality, clients=2, interventions=3, providers=1)
    whole = check(municipality, clients=WHOLE, interventions=WHOLE, providers=WHOLE)
    assert sliced.differences == whole.differences
    named = {table for table, found in sliced.differences.items() if found}
    # Every table that had a row is named (a row of 0 after a move may keep a +1 at 1: still named).
    assert set(tampered) <= named, set(tampered) - named
    assert {"answercount", "outcomes"} <= named
    assert any(key[1] == before and (want, have) == (0, 3)
               for key, want, have in sliced.differences["answercount"])  # fmt: skip
    assert len(tampered) >= 10, tampered  # the world has rows in most tables
    # Another municipality's tables are untouched and compared apart.
    assert check(world.other_municipality, clients=1, interventions=1, providers=1).ok


def test_a_check_walks_the_municipalitys_own_ids_not_every_id_from_0(world: World) -> None:
    """The slices run from the municipality's smallest id to its largest: the clients of other
    municipalities, made before, do not add a slice each to its check (200 of them took its
    queries from 101 to 1,301, 2026-12-07)."""

    def queries(municipality: Municipality) -> int:
        with CaptureQueriesContext(connection) as seen:
            assert check(municipality, clients=1, interventions=1, providers=1).ok
        return len(seen)

    empty = Municipality.objects.create(code="tom", name="Tom kommun")
    before = {m.code: queries(m) for m in (world.municipality, empty)}
    Person.objects.bulk_create(
        Person(municipality=world.other_municipality, pseudonym=f"{n:064x}", sex="female", birth_year=1990)
        for n in range(200)
    )
    assert {m.code: queries(m) for m in (world.municipality, empty)} == before
