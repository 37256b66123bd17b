"""Recording and correcting follow-ups: the domain functions the form and the API both call.

A follow-up is checked by the record rules (``utfall.records.rules``), the same
rules an import obeys, so that a record can travel from the form to an export and back
unchanged. Writes are atomic; creation is idempotent per (user, key); a correction keeps
the earlier version as a ``ChangeRecord`` with who and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from utfall.core.changes import adding_followups, changing
from utfall.core.ids import readable_id
from utfall.core.models import ChangeRecord, IdempotencyKey
from utfall.followups.models import Answer, FollowUp, FollowUpStatus
from utfall.instruments.access import visible_versions
from utfall.instruments.models import InstrumentVersion
from utfall.organisations.models import User
from utfall.records import canonical
from utfall.records.rules import (
    Catalogue,
    Record,
    RowChecker,
    check_followup,
    check_followup_of,
    check_goals,
)
from utfall.registry.models import Intervention

#: (column, reason for the interchange and the API, the same in words for a form's reader)
Issues = list[tuple[str, str, str]]
GOAL_COLUMNS = ("goals_total", "goals_fully", "goals_partly")


class IdempotencyConflict(Exception):
    """The key was used before for a request with other content."""

    def __init__(self, kind: str, record_pk: int) -> None:
        super().__init__(f"nyckeln har redan använts för en annan {kind}")
        self.kind, self.record_pk = kind, record_pk


class StaleVersion(Exception):
    """The record changed after the correction form was opened."""


class SameDayFollowUp(Exception):
    """The intervention already has a follow-up on that date, and the caller did not confirm
    that this is another one (a second key for the same conversation is the usual cause)."""


@dataclass
class CheckedFollowUp:
    """A follow-up that passed every rule, ready to be written."""

    record: Record
    goals: dict[str, int | None] | None  # only at the end of an intervention


def instruments_for(intervention: Intervention) -> list[InstrumentVersion]:
    """The instruments the caseworker may use for the intervention: the newest published
    version of each instrument that names its service and has started, the general
    instrument (Stockholm's model) first, then the target-group instruments by name
    (docs/instruments.md)."""
    versions = (
        InstrumentVersion.objects.filter(
            visible_versions(intervention.municipality_id),
            status=InstrumentVersion.Status.PUBLISHED,
            services=intervention.service_id,
            published_on__lte=timezone.localdate(),
        )
        .select_related("instrument")
        .order_by("-published_on", "-version")
    )
    newest: dict[int, InstrumentVersion] = {}
    for version in versions:
        newest.setdefault(version.instrument_id, version)
    return sorted(newest.values(), key=lambda v: (not v.instrument.general, v.instrument.name))


def instrument_for(
    intervention: Intervention, code: str | None = None, offered: list[InstrumentVersion] | None = None
) -> InstrumentVersion | None:
    """The version to use: the named instrument's when it applies, else the default (the first
    of ``instruments_for``, or of ``offered`` when the caller has read it already)."""
    offered = instruments_for(intervention) if offered is None else offered
    for version in offered:
        if version.instrument.code == code:
            return version
    return offered[0] if offered else None


def new_followup_id() -> str:
    """Ids of follow-ups recorded in utfall itself: 'U' and 12 random characters in groups of
    four that can be read aloud (``utfall.core.ids``); they mean nothing."""
    return readable_id("U")


def check_followup_submission(
    raw: dict[str, str], *, intervention: Intervention, catalogue: Catalogue, with_goals: bool
) -> tuple[CheckedFollowUp, Issues]:
    """Check a submitted follow-up (in interchange column names) by the shared rules.

    Returns the canonical record and the issues as (column, reason, said); the record is only
    to be written when there are none.
    """
    raw = {**raw, "intervention_id": intervention.intervention_id}
    row = RowChecker("form", 0, raw, catalogue)
    record = check_followup(row)
    goals = None
    if with_goals:
        total, fully, partly = check_goals(row)
        goals = {"goals_total": total, "goals_fully": fully, "goals_partly": partly}
    issues: Issues = [(i.column, i.reason, i.for_person) for i in row.issues]
    if not issues:
        stored = {"started_on": intervention.started_on.isoformat(), "service": intervention.service.code}
        issues += check_followup_of(record, stored, catalogue)
    return CheckedFollowUp(record, goals), issues


def fingerprint(checked: CheckedFollowUp) -> str:
    """What makes two requests 'the same' for an idempotency key: the content, not the new id."""
    content = {k: v for k, v in checked.record.items() if k not in ("followup_id", "minutes")}
    blob = json.dumps([content, checked.goals], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _write_answers(
    followup: FollowUp, record: Record, catalogue: Catalogue, intervention: Intervention | None = None
) -> None:
    """Write the answers, past the model signals: always inside a bracket of
    ``core.changes``, whose end announces the change. ``intervention``: the follow-up's, with
    its client loaded (saves a query)."""
    questions = catalogue.instruments[record["instrument"]].questions
    # Answers repeat facts of their follow-up, intervention and client for the comparisons
    # (Answer's docstring).
    if intervention is not None:
        client = intervention.client
        provider_id, service_id, unit_id = (
            intervention.provider_id,
            intervention.service_id,
            intervention.unit_id,
        )
        sex, birth_year = client.sex, client.birth_year
    else:
        provider_id, service_id, unit_id, sex, birth_year = Intervention.objects.values_list(
            "provider_id", "service_id", "unit_id", "client__sex", "client__birth_year"
        ).get(pk=followup.intervention_id)
    Answer.objects.bulk_create(
        Answer(
            municipality_id=followup.municipality_id,
            followup=followup,
            question_id=questions[code].pk,
            option_id=questions[code].options[option],
            date=followup.date,
            provider_id=provider_id,
            service_id=service_id,
            unit_id=unit_id,
            client_sex=sex,
            client_birth_year=birth_year,
        )
        for code, option in record["answers"].items()
    )


def _followup_fields(record: Record, catalogue: Catalogue) -> dict[str, Any]:
    return {
        "date": dt.date.fromisoformat(record["date"]),
        "instrument_version_id": catalogue.instruments[record["instrument"]].pk,
        "respondent": record["respondent"],
        "status": record["status"],
        "assessment": record["assessment"],
        "g1": record["g1"],
        "g2": record["g2"],
        "g3": record["g3"],
        "minutes": int(record["minutes"]) if record["minutes"] else None,
    }


def _set_goals(*, user: User, intervention: Intervention, goals: dict[str, int | None], why: str) -> None:
    """Store the plan's goals on the (locked) intervention, keeping the earlier values in the history."""
    if all(getattr(intervention, k) == v for k, v in goals.items()):
        return
    before = canonical.interventions(intervention.municipality, [intervention.intervention_id])
    record = canonical.public(before[intervention.intervention_id])
    ChangeRecord.objects.create(
        municipality_id=intervention.municipality_id,
        kind="interventions",
        record_id=intervention.intervention_id,
        version=ChangeRecord.objects.filter(
            municipality_id=intervention.municipality_id,
            kind="interventions",
            record_id=intervention.intervention_id,
        ).count()
        + 1,
        data=record,
        changed_by=user,
        changed_by_label=user.get_username(),
        reason=why,
    )
    # Bracketed on its own (the follow-up's bracket changes no intervention's facts): the goals
    # are counted in the outcome counts (plan goals), by the intervention's end.
    with changing(intervention.municipality_id, [intervention.pk]):
        for name, value in goals.items():
            setattr(intervention, name, value)
        intervention.save(update_fields=list(goals))


@transaction.atomic
def _record_followup(
    *,
    user: User,
    intervention: Intervention,
    checked: CheckedFollowUp,
    catalogue: Catalogue,
    idempotency_key: str,
    form_seconds: int | None,
    confirm_same_day: bool,
    no_answer_reason: str,
) -> tuple[FollowUp, bool]:
    # Lock the intervention first: its goals may change, and requests for it are written in
    # turn, so a resent request finds the first one's key below (READ COMMITTED sees it).
    locked = (
        Intervention.objects.select_for_update(of=("self",))
        .select_related("service", "client")
        .get(pk=intervention.pk)
    )
    digest = fingerprint(checked)
    earlier = IdempotencyKey.objects.filter(user=user, kind="followups", key=idempotency_key).first()
    if earlier is not None:
        if earlier.fingerprint != digest:
            raise IdempotencyConflict("uppföljning", earlier.record_pk)
        return FollowUp.objects.get(pk=earlier.record_pk), False
    record = checked.record
    if not confirm_same_day and FollowUp.objects.filter(intervention=locked, date=record["date"]).exists():
        raise SameDayFollowUp(locked.intervention_id)
    # The maintained counts add the new rows' share, in this transaction (the goals, counted
    # among the outcomes, are bracketed apart in ``_set_goals``).
    with adding_followups(locked.municipality_id) as added:
        followup = FollowUp.objects.create(
            municipality_id=locked.municipality_id,
            followup_id=record["followup_id"],
            intervention=locked,
            created_by=user,
            form_seconds=form_seconds,
            no_answer_reason=no_answer_reason if not record["answers"] else "",
            **_followup_fields(record, catalogue),
        )
        added.append(followup.pk)
        _write_answers(followup, record, catalogue, locked)
        if checked.goals is not None:
            _set_goals(
                user=user,
                intervention=locked,
                goals=checked.goals,
                why=f"Genomförandeplanens mål vid uppföljning {followup.followup_id}",
            )
    IdempotencyKey.objects.create(
        municipality_id=locked.municipality_id,
        user=user,
        key=idempotency_key,
        kind="followups",
        fingerprint=digest,
        record_pk=followup.pk,
    )
    return followup, True


def record_followup(
    *,
    user: User,
    intervention: Intervention,
    checked: CheckedFollowUp,
    catalogue: Catalogue,
    idempotency_key: str,
    form_seconds: int | None = None,
    confirm_same_day: bool = True,
    no_answer_reason: str = "",
) -> tuple[FollowUp, bool]:
    """Store a checked follow-up once per (user, key). Returns it and whether it is new.

    A second follow-up of the intervention on the same date, under another key, raises
    SameDayFollowUp unless ``confirm_same_day`` (the form asks; see docs/decisions.md).

    A request that arrives again (double click, resent form, retried API call) gets the
    follow-up the first one created. When two arrive at the same moment, the second waits
    for the first one's transaction and then finds its key (IntegrityError on the unique key).
    """
    try:
        return _record_followup(
            user=user,
            intervention=intervention,
            checked=checked,
            catalogue=catalogue,
            idempotency_key=idempotency_key,
            form_seconds=form_seconds,
            confirm_same_day=confirm_same_day,
            no_answer_reason=no_answer_reason,
        )
    except IntegrityError:
        earlier = IdempotencyKey.objects.filter(user=user, kind="followups", key=idempotency_key).first()
        if earlier is None:
            raise
        if earlier.fingerprint != fingerprint(checked):
            raise IdempotencyConflict("uppföljning", earlier.record_pk) from None
        return FollowUp.objects.get(pk=earlier.record_pk), False


@transaction.atomic
def correct_followup(
    *,
    user: User,
    followup: FollowUp,
    checked: CheckedFollowUp,
    catalogue: Catalogue,
    reason: str,
    base_version: int,
    no_answer_reason: str = "",
) -> tuple[FollowUp, bool]:
    """Replace a follow-up's content with a new version; the old one goes to the history.

    ``base_version`` is the version the corrector saw. If the follow-up has changed since,
    a resent identical correction is a no-op (returns False); any other is StaleVersion.
    """
    locked = FollowUp.objects.select_for_update().select_related("intervention").get(pk=followup.pk)
    before = canonical.followups(locked.municipality, [locked.followup_id])[locked.followup_id]
    record = {**checked.record, "followup_id": locked.followup_id}
    if locked.version != base_version:
        if canonical.public(before) == record:
            return locked, False
        raise StaleVersion(locked.followup_id)
    ChangeRecord.objects.create(
        municipality_id=locked.municipality_id,
        kind="followups",
        record_id=locked.followup_id,
        version=locked.version,
        data=canonical.public(before),
        changed_by=user,
        changed_by_label=user.get_username(),
        reason=reason,
    )
    # The new version replaces the old one in the maintained counts, in this transaction.
    with changing(locked.municipality_id, [locked.intervention_id], followups_only=True):
        locked.no_answer_reason = no_answer_reason if not record["answers"] else ""
        for name, value in _followup_fields(record, catalogue).items():
            setattr(locked, name, value)
        locked.version += 1
        locked.save()
        Answer.objects.filter(followup=locked).delete()
        _write_answers(locked, record, catalogue)
        if checked.goals is not None:
            intervention = Intervention.objects.select_for_update().get(pk=locked.intervention_id)
            _set_goals(
                user=user,
                intervention=intervention,
                goals=checked.goals,
                why=f"Rättelse av uppföljning {locked.followup_id}: {reason}",
            )
    return locked, True


def history_of(followup: FollowUp) -> list[ChangeRecord]:
    """Earlier versions of a follow-up, newest first."""
    return list(
        ChangeRecord.objects.filter(
            municipality_id=followup.municipality_id, kind="followups", record_id=followup.followup_id
        ).order_by("-version")
    )


def is_completed(record: Record) -> bool:
    return bool(record["status"] == FollowUpStatus.COMPLETED)
