"""Registering an intervention that is not imported: checked by the interchange rules, the
identity number turned into a pseudonym at once and never stored (invariant 1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, cast

from django.db import IntegrityError, transaction

from utfall.core.changes import announce_data_changed, changing
from utfall.core.ids import readable_id
from utfall.core.models import ChangeRecord, IdempotencyKey
from utfall.core.pseudonyms import PSEUDONYM_PREFIX
from utfall.organisations.access import case_unit_ids
from utfall.organisations.models import Municipality, Unit, User
from utfall.records.rules import Catalogue, Record, RowChecker, check_intervention
from utfall.registry.models import Client, Contract, Intervention, Provider, Service

#: (column, reason for the API, the same in words for a form's reader)
Issues = list[tuple[str, str, str]]


class IdempotencyConflict(Exception):
    def __init__(self, record_pk: int) -> None:
        super().__init__("nyckeln har redan använts för en annan insats")
        self.record_pk = record_pk


@dataclass
class CheckedIntervention:
    """An intervention that passed every rule. ``record['person_id']`` is already a pseudonym."""

    record: Record
    service: Service
    provider: Provider
    contract: Contract | None
    unit: Unit


def new_intervention_id() -> str:
    """'I' and 12 random characters in groups of four that can be read aloud (``core.ids``)."""
    return readable_id("I")


def _same(column: str, reason: str) -> tuple[str, str, str]:
    """An issue whose reason already reads well to a person at the form."""
    return column, reason, reason


def check_intervention_submission(
    raw: dict[str, str], *, user: User, catalogue: Catalogue, idempotency_key: str = ""
) -> tuple[CheckedIntervention | None, Issues]:
    """Check a new intervention by the shared interchange rules, then its references.

    ``raw`` may carry an identity number in ``person_id``; the returned record has only its
    pseudonym, and no issue text repeats the number.
    """
    raw = {**raw}
    if not raw.get("intervention_id", "").strip():
        raw["intervention_id"] = new_intervention_id()
    # Only case workers register (sees_cases), and they always belong to a municipality.
    municipality = cast(Municipality, user.municipality)
    row = RowChecker("form", 0, raw, catalogue, municipality_code=municipality.code)
    record = check_intervention(row)
    issues: Issues = [(i.column, i.reason, i.for_person) for i in row.issues]
    # Only case workers register (sees_cases), and they always belong to a municipality.
    municipality_id = cast(int, user.municipality_id)
    provider = Provider.objects.filter(
        municipality_id=municipality_id, provider_id=record["provider_id"]
    ).first()
    if record["provider_id"] and provider is None:
        issues.append(_same("provider_id", f"utföraren '{record['provider_id']}' finns inte"))
    contract = None
    if record["contract_id"]:
        contract = Contract.objects.filter(
            municipality_id=municipality_id, contract_id=record["contract_id"]
        ).first()
        if contract is None:
            issues.append(_same("contract_id", f"avtalet '{record['contract_id']}' finns inte"))
        elif provider is not None and contract.provider_id != provider.pk:
            issues.append(_same("contract_id", f"avtalet '{record['contract_id']}' gäller en annan utförare"))
    unit = Unit.objects.filter(
        municipality_id=municipality_id, code=record["unit"], pk__in=case_unit_ids(user)
    ).first()
    if record["unit"] and unit is None:
        issues.append(_same("unit", "du kan bara registrera insatser för dina egna enheter"))
    existing = Intervention.objects.filter(
        municipality_id=municipality_id, intervention_id=record["intervention_id"]
    )
    if idempotency_key:  # a resent request may name the intervention its first sending created
        earlier = IdempotencyKey.objects.filter(user=user, kind="interventions", key=idempotency_key).first()
        existing = existing.exclude(pk=earlier.record_pk) if earlier else existing
    if existing.exists():
        # Only that it cannot be used: whether it exists in a unit the user cannot see is not theirs to know.
        issues.append(
            _same("intervention_id", "id:t kan inte användas; ange ett annat eller lämna fältet tomt")
        )
    pseudonym = record["person_id"][len(PSEUDONYM_PREFIX) :] if record["person_id"] else ""
    if pseudonym and (not record["sex"] or not record["birth_year"]):
        known = Client.objects.filter(municipality_id=municipality_id, pseudonym=pseudonym).first()
        if known is None:
            issues.append(
                _same("person_id", "kön och födelseår saknas och kan inte härledas ur en pseudonym")
            )
    if issues or provider is None or unit is None:
        return None, issues
    service = Service.objects.get(code=record["service"])
    return CheckedIntervention(record, service, provider, contract, unit), []


def fingerprint(checked: CheckedIntervention) -> str:
    content = {k: v for k, v in checked.record.items() if k != "intervention_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _date(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _int(value: str) -> int | None:
    return int(value) if value else None


@transaction.atomic
def _register(*, user: User, checked: CheckedIntervention, idempotency_key: str) -> tuple[Intervention, bool]:
    digest = fingerprint(checked)
    if idempotency_key:
        earlier = (
            IdempotencyKey.objects.select_for_update()
            .filter(user=user, kind="interventions", key=idempotency_key)
            .first()
        )
        if earlier is not None:
            if earlier.fingerprint != digest:
                raise IdempotencyConflict(earlier.record_pk)
            return Intervention.objects.get(pk=earlier.record_pk), False
    r = checked.record
    pseudonym = r["person_id"][len(PSEUDONYM_PREFIX) :]
    # Only case workers register (sees_cases), and they always belong to a municipality.
    municipality_id = cast(int, user.municipality_id)
    client, _ = Client.objects.get_or_create(
        municipality_id=municipality_id,
        pseudonym=pseudonym,
        defaults={"sex": r["sex"], "birth_year": int(r["birth_year"] or 0)},
    )
    intervention = Intervention.objects.create(
        municipality_id=municipality_id,
        intervention_id=r["intervention_id"],
        client=client,
        service=checked.service,
        provider=checked.provider,
        contract=checked.contract,
        unit=checked.unit,
        # Required by check_intervention, so never None in a checked record.
        decided_on=cast(dt.date, _date(r["decided_on"])),
        started_on=cast(dt.date, _date(r["started_on"])),
        ended_on=_date(r["ended_on"]),
        end_reason=r["end_reason"],
        goals_total=_int(r["goals_total"]),
        goals_fully=_int(r["goals_fully"]),
        goals_partly=_int(r["goals_partly"]),
    )
    # A new intervention changes what happened after the client's earlier ones (step down).
    announce_data_changed(municipality_id, [intervention.pk])
    if idempotency_key:
        IdempotencyKey.objects.create(
            municipality_id=municipality_id,
            user=user,
            key=idempotency_key,
            kind="interventions",
            fingerprint=digest,
            record_pk=intervention.pk,
        )
    return intervention, True


def register_intervention(
    *, user: User, checked: CheckedIntervention, idempotency_key: str = ""
) -> tuple[Intervention, bool]:
    """Store a checked intervention (once per key). Returns it and whether it is new."""
    try:
        return _register(user=user, checked=checked, idempotency_key=idempotency_key)
    except IntegrityError:
        earlier = IdempotencyKey.objects.filter(user=user, kind="interventions", key=idempotency_key).first()
        if not idempotency_key or earlier is None:
            raise
        if earlier.fingerprint != fingerprint(checked):
            raise IdempotencyConflict(earlier.record_pk) from None
        return Intervention.objects.get(pk=earlier.record_pk), False


def intervention_defaults(user: Any) -> dict[str, Any]:
    units = Unit.objects.filter(pk__in=case_unit_ids(user)).order_by("name")
    return {"unit": units[0].code if len(units) == 1 else ""}


#: What the caseworker may change on an intervention in the browser; the client and the
#: service stay (another service is another intervention).
EDITABLE = ("provider_id", "decided_on", "started_on", "ended_on", "end_reason",
            "goals_total", "goals_fully", "goals_partly")  # fmt: skip


def check_intervention_change(
    intervention: Intervention, changes: dict[str, str], *, catalogue: Catalogue
) -> tuple[Record | None, Issues]:
    """The stored intervention with ``changes`` (interchange columns, as text) checked by the
    same rules as an import. Returns the new record, or the issues."""
    from utfall.records import canonical

    municipality = intervention.municipality
    stored = canonical.public(
        canonical.interventions(municipality, [intervention.intervention_id])[intervention.intervention_id]
    )
    raw = {**stored, **{k: v for k, v in changes.items() if k in EDITABLE}}
    row = RowChecker("form", 0, raw, catalogue, municipality_code=municipality.code)
    record = check_intervention(row)
    issues: Issues = [(i.column, i.reason, i.for_person) for i in row.issues]
    if not Provider.objects.filter(municipality=municipality, provider_id=record["provider_id"]).exists():
        issues.append(_same("provider_id", f"utföraren '{record['provider_id']}' finns inte"))
    return (None, issues) if issues else (record, [])


@transaction.atomic
def change_intervention(*, user: User, intervention: Intervention, record: Record, reason: str) -> bool:
    """Store a checked change of an intervention (edit or end); the earlier version goes to the
    history with who and why, as a follow-up's correction does. Returns whether anything changed."""
    from utfall.followups.models import Answer
    from utfall.records import canonical

    locked = Intervention.objects.select_for_update().get(pk=intervention.pk)
    before = canonical.public(
        canonical.interventions(locked.municipality, [locked.intervention_id])[locked.intervention_id]
    )
    if before == record:
        return False
    ChangeRecord.objects.create(
        municipality_id=locked.municipality_id,
        kind="interventions",
        record_id=locked.intervention_id,
        version=ChangeRecord.objects.filter(
            municipality_id=locked.municipality_id, kind="interventions", record_id=locked.intervention_id
        ).count()
        + 1,
        data=before,
        changed_by=user,
        changed_by_label=user.get_username(),
        reason=reason,
    )
    with changing(locked.municipality_id, [locked.pk]):  # the maintained counts, in this transaction
        locked.provider = Provider.objects.get(
            municipality_id=locked.municipality_id, provider_id=record["provider_id"]
        )
        locked.decided_on = cast(dt.date, _date(record["decided_on"]))
        locked.started_on = cast(dt.date, _date(record["started_on"]))
        locked.ended_on = _date(record["ended_on"])
        locked.end_reason = record["end_reason"]
        locked.goals_total = _int(record["goals_total"])
        locked.goals_fully = _int(record["goals_fully"])
        locked.goals_partly = _int(record["goals_partly"])
        locked.save()
        # A move to another provider moves the intervention's answers (their copied facts).
        Answer.objects.filter(followup__intervention=locked).refresh_facts()
    return True
