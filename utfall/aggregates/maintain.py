"""Keeping the count tables exact in the writer's transaction.

Writers bracket a write with :func:`utfall.core.changes.changing` (the interventions whose
rows they touch). Before the write this module takes the scope's share of the counts as it
is; after it, the share as it has become; the difference is added to the tables
(:func:`utfall.aggregates.counts.apply`), and the per-intervention outcomes of the clients
concerned (before and after) are stored again. A bare ``announce_data_changed()`` (no scope)
changes no count row: it is what writes that change no count announce for the comparison
cache (a shipped instrument version changes which *stored* question and option ids a
comparison reads, not the counts per id).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models.signals import post_delete, post_save, pre_delete, pre_save

from utfall.aggregates import counts, coverage, outcome_counts, outcomes, rollup, tally
from utfall.core.changes import data_changed, data_changing, followups_added, inside_changing
from utfall.followups.models import FollowUp
from utfall.registry.models import Client, Intervention, Service


def before(*, municipality_id: int, interventions: list[int], state: dict[str, Any], **_: Any) -> None:
    clients = set() if state.get("followups_only") else outcomes.clients_of(interventions)
    state["aggregates"] = (counts.share(municipality_id, interventions), clients)
    coverage.guard()
    state["coverage"] = coverage.share(municipality_id, interventions)
    # The outcome counts of every intervention of these clients: their outcomes are stored again after.
    state["outcome_counts"] = outcome_counts.share_of_clients(clients)
    state["scope"] = interventions


def after(
    *,
    municipality_id: int | None = None,
    interventions: list[int] | None = None,
    state: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    if municipality_id is None or interventions is None or state is None:
        return  # an unscoped announcement: no count row changes
    # Nothing taken out before: the interventions' rows were added (announce_data_changed).
    (old_answers, old_followups), old_clients = state.pop("aggregates", ((Counter(), Counter()), set()))
    new_answers, new_followups = counts.share(municipality_id, interventions)
    new_answers.subtract(old_answers)
    new_followups.subtract(old_followups)
    counts.apply_all(new_answers, new_followups)
    # Interventions created without follow-ups in the bracket (``changing(created=...)``) count
    # nothing yet: only their clients' outcomes change.
    scope = sorted({*interventions, *state.get("created", ())})
    new_clients = outcomes.clients_of(scope)
    # The rollups by client: the rows of every client of the scope (before and after) again;
    # created interventions have no follow-ups yet, so their clients' rows stay as they are.
    rollup.refresh_by_client(old_clients | (outcomes.clients_of(interventions) if state.get("created")
                                            else new_clients))  # fmt: skip
    if "coverage" in state:
        # Coverage counts interventions, not rows: the created ones (no follow-ups yet) count
        # as not followed, added in the database. An announcement without a bracket names
        # interventions that a model save created, whose signal has counted them already
        # (registry.services.register).
        covered = coverage.share(municipality_id, interventions)
        covered.subtract(state.pop("coverage"))
        coverage.apply(covered)
        coverage.add_created(municipality_id, sorted(set(state.get("created", ())) - set(interventions)))
    if not state.get("followups_only"):
        old_outcomes = state.pop("outcome_counts", Counter())
        if new_clients - old_clients:
            # Clients the write brought in (a new intervention, a move to another client): their
            # other interventions' outcomes change too; the scope's own share was taken before,
            # or did not exist.
            old_outcomes += outcome_counts.share_of_clients(new_clients - old_clients, exclude=scope)
        outcomes.refresh_clients(old_clients | new_clients)
        delta = outcome_counts.share_of_clients(old_clients | new_clients)
        delta.subtract(old_outcomes)
        outcome_counts.apply(delta)


def added(*, municipality_id: int, followups: list[int], **_: Any) -> None:
    """New follow-ups (and their answers) were written and nothing else changed
    (``core.changes.adding_followups``, a single submission): their own share is added; no
    other row of their interventions is read, and no per-intervention outcome changes (the
    follow-ups' dates and answers are no intervention's facts)."""
    answers, found = counts.share_of_followups(municipality_id, followups)
    counts.apply_all(answers, found, exact=True)
    if len(followups) == 1 and len(found) == 1:
        # One submission: its rows by client from its own share (every answer is the follow-up's),
        # the rows of earlier follow-ups it makes repeated moved (tally.add_by_client).
        (key,) = found
        at = counts.FOLLOWUP_DELTA.index
        place = counts.ANSWER_DELTA.index
        pairs = [
            (k[place("question_id")], k[place("option_id")]) for k, n in answers.items() for _ in range(n)
        ]
        new = (followups[0], key[at("client_id")], 0, "", key[at("assessment")], key[at("month")],
               key[at("provider_id")], key[at("service_id")], key[at("unit_id")], pairs)  # fmt: skip
        tally.add_by_client(municipality_id, [new], exact=True)
    else:
        rollup.refresh_by_client(FollowUp.objects.filter(pk__in=followups).values_list("intervention__client_id",
                                                                                       flat=True))  # fmt: skip
    coverage.flip(municipality_id, followups)


def _scope_of(instance: Any) -> list[int]:
    if isinstance(instance, Intervention):
        return [instance.pk]
    if isinstance(instance, Client):
        return list(Intervention.objects.filter(client_id=instance.pk).values_list("pk", flat=True))
    return [instance.intervention_id]  # a follow-up


def before_save(sender: Any, instance: Any, **_: Any) -> None:
    """A single save or deletion outside a bracket (the admin, a fixture) is bracketed here."""
    if inside_changing():
        return
    # A new follow-up joins its intervention's existing rows: their share is taken out too.
    scope = _scope_of(instance) if instance.pk is not None or isinstance(instance, FollowUp) else []
    state: dict[str, Any] = {}
    before(municipality_id=instance.municipality_id, interventions=scope, state=state)
    instance._aggregates_state = state


def after_save(sender: Any, instance: Any, **_: Any) -> None:
    if inside_changing():
        return
    state = instance.__dict__.pop("_aggregates_state", {})
    scope = _scope_of(instance) if instance.pk is not None else []
    if isinstance(instance, FollowUp | Client) and "aggregates" in state:
        # A deleted row's scope is read before (its pk is gone); a client's may have grown.
        scope = sorted(set(scope) | set(state["scope"]))
    after(municipality_id=instance.municipality_id, interventions=scope, state=state)


def before_service_save(sender: Any, instance: Service, **_: Any) -> None:
    old = (
        Service.objects.filter(pk=instance.pk).values_list("intensity", flat=True).first()
        if instance.pk
        else None
    )
    instance._old_intensity = old  # type: ignore[attr-defined]


def after_service_save(sender: Any, instance: Service, created: bool = False, **_: Any) -> None:
    """A changed intensity (the admin, a catalogue load) changes which ends were step downs: the
    outcome rollups are filled again from the full table (which keeps the next service)."""
    old = instance.__dict__.pop("_old_intensity", None)
    if not created and old is not None and old != instance.intensity:
        outcome_counts.refill_rollups()


def connect_signals() -> None:
    pre_save.connect(before_service_save, sender=Service, dispatch_uid="utfall-aggregates-service-pre-save")
    post_save.connect(after_service_save, sender=Service, dispatch_uid="utfall-aggregates-service-save")
    data_changing.connect(before, dispatch_uid="utfall-aggregates-before")
    data_changed.connect(after, dispatch_uid="utfall-aggregates-after")
    followups_added.connect(added, dispatch_uid="utfall-aggregates-added")
    for model in (Intervention, Client, FollowUp):
        label = model._meta.label
        pre_save.connect(before_save, sender=model, dispatch_uid=f"utfall-aggregates-{label}-pre-save")
        post_save.connect(after_save, sender=model, dispatch_uid=f"utfall-aggregates-{label}-save")
        pre_delete.connect(before_save, sender=model, dispatch_uid=f"utfall-aggregates-{label}-pre-delete")
        post_delete.connect(after_save, sender=model, dispatch_uid=f"utfall-aggregates-{label}-delete")
