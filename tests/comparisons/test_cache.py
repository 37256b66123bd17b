"""Cached counts are never older than the data (utfall.comparisons.cache).

Each test counts, changes the data the way a user does, and counts again: the second count
must see the change, although the first one was cached.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.comparisons.builders import DataSet
from tests.conftest import TODAY
from tests.followups.helpers import form_data, post_followup
from tests.personas import World
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.core.changes import changing
from utfall.followups.forms import initial_for_correction
from utfall.followups.models import Answer, FollowUp

pytestmark = pytest.mark.django_db


def satisfied(municipality, today: dt.date | None = None) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(n, events) of 'satisfied' over the year up to ``today``, all providers together."""
    today = today or timezone.localdate()
    rows = aggregate(get_indicator("satisfied"), municipality=municipality,
                     date_from=today - dt.timedelta(days=365), date_to=today, by=["provider"])  # fmt: skip
    return sum(r["n"] for r in rows), sum(r["events"] for r in rows)


def test_a_saved_followup_is_counted_at_once(client: Client, world: World) -> None:
    before = satisfied(world.municipality)
    assert satisfied(world.municipality) == before  # now cached
    client.force_login(world.caseworker)
    assert post_followup(client, world.interventions["overdue"]).status_code == 302
    assert satisfied(world.municipality)[0] == before[0] + 1


def test_a_corrected_answer_is_counted_at_once(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"], form_data(q3="yes_mostly"))
    followup = FollowUp.objects.get()
    n, events = satisfied(world.municipality)
    data = {k: v for k, v in initial_for_correction(followup).items() if v not in (None, "")}
    data.update(date=followup.date.isoformat(), reason="Fel svar på fråga 3", q3="no")
    response = client.post(f"/uppfoljningar/{followup.pk}/ratta/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert satisfied(world.municipality) == (n, events - 1)


def test_an_import_is_counted_at_once(municipality) -> None:  # type: ignore[no-untyped-def]
    assert satisfied(municipality, TODAY) == (0, 0)
    data = DataSet()
    intervention = data.intervention("I1", data.provider("A"))
    for answer in ("yes_mostly", "yes_mostly", "no"):
        data.followup(intervention, date=(TODAY - dt.timedelta(days=3)).isoformat(), q3=answer)
    data.load(municipality)
    assert satisfied(municipality, TODAY) == (3, 2)


def test_counts_from_a_write_that_was_rolled_back_are_never_served(client: Client, world: World) -> None:
    before = satisfied(world.municipality)
    client.force_login(world.caseworker)
    with pytest.raises(RuntimeError), transaction.atomic():
        post_followup(client, world.interventions["overdue"])
        assert satisfied(world.municipality)[0] == before[0] + 1  # counted (and cached) inside
        raise RuntimeError("rolled back")
    assert FollowUp.objects.count() == 0
    assert satisfied(world.municipality) == before


def test_a_change_announced_through_core_is_counted_at_once(municipality) -> None:  # type: ignore[no-untyped-def]
    """A bulk writer only tells the core that the data changed; the cache listens."""
    data = DataSet()
    intervention = data.intervention("I1", data.provider("A"))
    data.followup(intervention, date=(TODAY - dt.timedelta(days=3)).isoformat(), q3="no")
    data.load(municipality)
    assert satisfied(municipality, TODAY) == (1, 0)
    with transaction.atomic():
        # As a bulk writer does: rows in past the model signals, bracketed by the core's
        # changing() (the maintained counts take the old share out and the new one in).
        answer = Answer.objects.get(question__code="q3")
        with changing(municipality.pk, [answer.followup.intervention_id]):
            Answer.objects.filter(pk=answer.pk).update(option=answer.question.options.get(code="yes_mostly"))
    assert satisfied(municipality, TODAY) == (1, 1)


def test_counts_read_before_a_write_are_never_cached_as_counts_after_it(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A prefetch outside a request (a command, a report) that counts, then caches: a write
    committed between its count and its caching must not leave the older count cached under
    the newer data's token (the oe6 second reader's note, 2026-12-06). The write is made to
    land in that gap: the real one-scan count runs, then an import adds a follow-up."""
    from utfall.comparisons import queries

    data = DataSet()
    intervention = data.intervention("I1", data.provider("A"))
    data.followup(intervention, date=(TODAY - dt.timedelta(days=3)).isoformat(), q3="yes_mostly")
    data.load(municipality)
    real = queries._aggregate_questions

    def counted_then_written(*args, **kwargs):  # type: ignore[no-untyped-def]
        rows = real(*args, **kwargs)
        data.followup(intervention, date=(TODAY - dt.timedelta(days=2)).isoformat(), q3="no")
        data.load(municipality)
        return rows

    monkeypatch.setattr(queries, "_aggregate_questions", counted_then_written)
    queries.prefetch_questions([get_indicator("satisfied"), get_indicator("influence")], municipality=municipality,
                               date_from=TODAY - dt.timedelta(days=365), date_to=TODAY, by=["provider"])  # fmt: skip
    monkeypatch.undo()
    assert FollowUp.objects.count() == 2
    assert satisfied(municipality, TODAY) == (2, 1)
