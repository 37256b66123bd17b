"""Every write of oversight, as keyword-only functions in one transaction each: the change,
its line in the case history, its audit entry and its webhook event (docs/oversight.md).

Views and commands call these; nothing else saves a case, an action or a document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp
from utfall.organisations.models import User
from utfall.oversight import documents, webhooks
from utfall.oversight.models import (
    ActionKind,
    Case,
    CaseAction,
    CaseEvent,
    CaseOrigin,
    CaseState,
    Document,
    FollowUpRecord,
    PlanReview,
    case_number_for,
)
from utfall.registry.models import Contract, Provider

KIND_CASES = "cases"


def case_summary(case: Case) -> dict[str, Any]:
    """What leaves the system about a case (exports, webhooks): no client data is in a case."""
    return {
        "case": case.reference,
        "provider_id": case.provider.provider_id,
        "provider_name": case.provider.name,
        "contracts": sorted(c.contract_id for c in case.contracts.all()),
        "title": case.title,
        "origin": case.origin,
        "period": case.period,
        "state": case.state,
        "owner": case.owner.get_username(),
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
    }


def action_summary(action: CaseAction) -> dict[str, Any]:
    return {
        "case": action.case.reference,
        "provider_id": action.case.provider.provider_id,
        "kind": action.kind,
        "kind_label": action.get_kind_display(),
        "description": action.description,
        "reason": action.reason,
        "contract": action.contract.contract_id if action.contract else None,
        "decided_on": action.decided_on.isoformat(),
        "deadline": action.deadline.isoformat() if action.deadline else None,
        "done_on": action.done_on.isoformat() if action.done_on else None,
    }


def _municipality_id(user: User) -> int:
    if user.municipality_id is None:
        raise ValidationError("Kontot är inte kopplat till någon kommun.")
    return user.municipality_id


def _event(case: Case, user: User, kind: str, text: str = "", **data: Any) -> CaseEvent:
    return CaseEvent.objects.create(
        municipality_id=case.municipality_id, case=case, user=user, kind=kind, text=text, data=data
    )


def _audit(
    request: HttpRequest | None, user: User, action: str, ids: list[str], kind: str = KIND_CASES
) -> None:
    if request is not None:
        audit.record(request, action=action, kind=kind, ids=ids, user=user)
    elif user.municipality_id is not None:
        AuditEntry.objects.create(municipality_id=user.municipality_id, user=user, username=user.get_username(),
                                  action=action, kind=kind, record_ids=ids, where="utfall (kommando)")  # fmt: skip


@transaction.atomic
def open_case(
    *,
    request: HttpRequest | None,
    user: User,
    provider: Provider,
    owner: User,
    title: str,
    reason: str = "",
    contracts: list[Contract] | None = None,
    period: str = "",
    evidence: dict[str, Any] | None = None,
) -> Case:
    """A new case, from a proposal (``evidence`` and ``period`` given) or by hand."""
    if provider.municipality_id != user.municipality_id or owner.municipality_id != user.municipality_id:
        raise ValidationError("Utföraren och den ansvarige ska höra till din kommun.")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    municipality_id=user.municipality_id, number=case_number_for(user.municipality_id),
                    provider=provider, title=title, reason=reason, owner=owner, opened_by=user,
                    origin=CaseOrigin.PROPOSAL if evidence else CaseOrigin.MANUAL, period=period,
                    evidence=evidence or {},
                )  # fmt: skip
            break
        except IntegrityError:  # two cases opened at once took the same number: take the next
            continue
    else:
        raise ValidationError("Ärendet kunde inte få ett nummer; försök igen.")
    if contracts:
        case.contracts.set(contracts)
    _event(case, user, CaseEvent.Kind.OPENED, reason, owner=owner.get_username(), origin=case.origin)
    _audit(request, user, AuditEntry.Action.CREATE, [case.reference])
    webhooks.emit(case.municipality_id, "case.opened", {**case_summary(case), "evidence": case.evidence})
    return case


@transaction.atomic
def move_case(*, request: HttpRequest | None, user: User, case: Case, state: str, comment: str = "") -> Case:
    """Move the case to ``state`` along :data:`~utfall.oversight.models.TRANSITIONS`."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.can_move_to(state):
        raise ValidationError(
            f"Ett ärende med status {case.get_state_display().lower()} kan inte flyttas till "
            f"{CaseState(state).label.lower()}."
        )
    if state == CaseState.ACTION_DECIDED and not case.actions.exists():
        raise ValidationError(
            "Registrera minst en åtgärd (eller ”Ingen åtgärd” med skäl) innan status blir Åtgärd beslutad."
        )
    backwards = (case.state, state) in {(CaseState.INVESTIGATING, CaseState.OPEN),
                                         (CaseState.ACTION_DECIDED, CaseState.INVESTIGATING),
                                         (CaseState.CLOSED, CaseState.INVESTIGATING)}  # fmt: skip
    if (backwards or state == CaseState.CLOSED) and not comment.strip():
        raise ValidationError("Skriv en kommentar: den krävs när ett ärende avslutas eller flyttas tillbaka.")
    before = case.state
    case.state = state
    case.closed_at = timezone.now() if state == CaseState.CLOSED else None
    case.save(update_fields=["state", "closed_at", "updated_at"])
    _event(case, user, CaseEvent.Kind.STATE, comment.strip(), before=before, after=state)
    _audit(request, user, AuditEntry.Action.CORRECT, [case.reference])
    webhooks.emit(case.municipality_id, "case.state_changed", {**case_summary(case), "before": before})
    return case


@transaction.atomic
def add_note(*, request: HttpRequest | None, user: User, case: Case, text: str) -> CaseEvent:
    if not text.strip():
        raise ValidationError("Anteckningen är tom.")
    event = _event(case, user, CaseEvent.Kind.NOTE, text.strip())
    Case.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    _audit(request, user, AuditEntry.Action.CREATE, [case.reference])
    return event


@transaction.atomic
def change_owner(*, request: HttpRequest | None, user: User, case: Case, owner: User) -> Case:
    if owner.municipality_id != case.municipality_id:
        raise ValidationError("Den ansvarige ska höra till din kommun.")
    before = case.owner.get_username()
    case.owner = owner
    case.save(update_fields=["owner", "updated_at"])
    _event(case, user, CaseEvent.Kind.OWNER, "", before=before, after=owner.get_username())
    _audit(request, user, AuditEntry.Action.CORRECT, [case.reference])
    return case


@transaction.atomic
def decide_action(
    *,
    request: HttpRequest | None,
    user: User,
    case: Case,
    kind: str,
    decided_on: dt.date,
    description: str = "",
    reason: str = "",
    deadline: dt.date | None = None,
    contract: Contract | None = None,
) -> CaseAction:
    """Record an action; the rules of each kind are checked here as well as in the form."""
    errors: dict[str, str] = {}
    if case.state == CaseState.CLOSED:
        raise ValidationError("Ärendet är avslutat. Återöppna det först.")
    if kind == ActionKind.ACTION_PLAN and deadline is None:
        errors["deadline"] = "En åtgärdsplan behöver en tidsfrist."
    if deadline is not None and deadline < decided_on:
        errors["deadline"] = "Tidsfristen ligger före beslutsdagen."
    if kind == ActionKind.NO_ACTION and not reason.strip():
        errors["reason"] = "Skriv skälet till att ingen åtgärd vidtas."
    if kind == ActionKind.TERMINATION and contract is None:
        errors["contract"] = "Välj det avtal som hävs."
    if contract is not None and contract.provider_id != case.provider_id:
        errors["contract"] = "Avtalet hör till en annan utförare."
    if errors:
        raise ValidationError(errors)
    action = CaseAction.objects.create(
        municipality_id=case.municipality_id,
        case=case, kind=kind, description=description.strip(), reason=reason.strip(), contract=contract,
        decided_on=decided_on, deadline=deadline, created_by=user,
    )  # fmt: skip
    _event(case, user, CaseEvent.Kind.ACTION, description.strip() or reason.strip(), action=action.pk,
           action_kind=kind, deadline=deadline.isoformat() if deadline else None)  # fmt: skip
    _audit(request, user, AuditEntry.Action.CREATE, [case.reference])
    webhooks.emit(case.municipality_id, "action.decided", action_summary(action))
    return action


@transaction.atomic
def complete_action(
    *, request: HttpRequest | None, user: User, action: CaseAction, done_on: dt.date
) -> CaseAction:
    if action.done_on is not None:
        raise ValidationError("Åtgärden är redan markerad som genomförd.")
    if done_on < action.decided_on:
        raise ValidationError({"done_on": "Datumet ligger före beslutsdagen."})
    action.done_on = done_on
    action.save(update_fields=["done_on"])
    _event(action.case, user, CaseEvent.Kind.ACTION_DONE, "", action=action.pk, done_on=done_on.isoformat())
    _audit(request, user, AuditEntry.Action.CORRECT, [action.case.reference])
    webhooks.emit(action.case.municipality_id, "action.completed", action_summary(action))
    return action


def _store_document(upload: UploadedFile, user: User, **owner: Any) -> Document:
    try:
        data, content_type = documents.check(upload)
    except documents.DocumentRefused as exc:
        raise ValidationError({"file": str(exc)}) from None
    stored, digest = documents.store(data)
    try:
        return Document.objects.create(
            municipality_id=_municipality_id(user), stored_name=stored,
            original_name=documents.safe_filename(upload.name or ""), content_type=content_type,
            size=len(data), sha256=digest, uploaded_by=user, **owner,
        )  # fmt: skip
    except Exception:
        documents.path_of(stored).unlink(missing_ok=True)
        raise


@transaction.atomic
def attach_to_case(*, request: HttpRequest | None, user: User, case: Case, upload: UploadedFile) -> Document:
    document = _store_document(upload, user, case=case)
    _event(case, user, CaseEvent.Kind.DOCUMENT, document.original_name, document=document.pk)
    _audit(request, user, AuditEntry.Action.CREATE, [case.reference, f"dokument:{document.pk}"])
    return document


@transaction.atomic
def record_followup(
    *,
    request: HttpRequest | None,
    user: User,
    provider: Provider,
    kind: str,
    date: dt.date,
    scope: str,
    findings: str,
    verdict: str,
    contract: Contract | None = None,
    upload: UploadedFile | None = None,
) -> FollowUpRecord:
    """A contract or operations follow-up of the provider, with an optional attachment."""
    if contract is not None and contract.provider_id != provider.pk:
        raise ValidationError({"contract": "Avtalet hör till en annan utförare."})
    record = FollowUpRecord.objects.create(
        municipality_id=_municipality_id(user), provider=provider, contract=contract, kind=kind, date=date,
        scope=scope.strip(), findings=findings.strip(), verdict=verdict, created_by=user,
    )  # fmt: skip
    if upload is not None:
        _store_document(upload, user, record=record)
    _audit(request, user, AuditEntry.Action.CREATE, [f"uppfoljning:{record.pk}"], kind="records")
    webhooks.emit(record.municipality_id, "record.created", {
        "provider_id": provider.provider_id, "contract": contract.contract_id if contract else None,
        "kind": kind, "date": date.isoformat(), "verdict": verdict,
    })  # fmt: skip
    return record


@transaction.atomic
def attach_to_record(
    *, request: HttpRequest | None, user: User, record: FollowUpRecord, upload: UploadedFile
) -> Document:
    document = _store_document(upload, user, record=record)
    _audit(
        request,
        user,
        AuditEntry.Action.CREATE,
        [f"uppfoljning:{record.pk}", f"dokument:{document.pk}"],
        kind="records",
    )
    return document


@transaction.atomic
def review_plan(
    *, request: HttpRequest | None, user: User, followup: FollowUp, reviewed_on: dt.date, note: str
) -> PlanReview:
    """ "Plan reviewed" for an alerting follow-up (once; the alert then leaves the start page)."""
    if PlanReview.objects.filter(followup=followup).exists():
        raise ValidationError("Planen är redan markerad som genomgången för den här uppföljningen.")
    if not note.strip():
        raise ValidationError({"note": "Skriv en kort anteckning om vad genomgången ledde till."})
    if reviewed_on < followup.date:
        raise ValidationError({"reviewed_on": "Datumet ligger före uppföljningen."})
    review = PlanReview.objects.create(
        municipality_id=followup.municipality_id, followup=followup, reviewed_on=reviewed_on,
        note=note.strip(), reviewed_by=user,
    )  # fmt: skip
    _audit(request, user, AuditEntry.Action.CREATE, [followup.followup_id], kind="followups")
    return review
