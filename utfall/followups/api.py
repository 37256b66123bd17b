"""/api/v1/followups: read and record follow-ups of the caller's units, through the same
rules and domain functions as the form."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status
from pydantic import ValidationError as PydanticError

from utfall.core import audit
from utfall.core.api import (
    MAX_OFFSET,
    RULES_ON_INVALID,
    Problem,
    require_case_access,
    require_key,
    with_key_error,
)
from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number
from utfall.core.models import AuditEntry
from utfall.followups import services
from utfall.followups.catalogues import catalogue_for
from utfall.followups.feedback import record_feedback
from utfall.followups.models import FollowUp
from utfall.organisations.access import sees_cases
from utfall.organisations.models import Municipality
from utfall.records import canonical
from utfall.registry.models import Intervention

router = Router(tags=["followups"])
Short = Field("", max_length=40)


class FollowUpIn(Schema):
    intervention_id: str = Field(..., max_length=60)
    date: dt.date | None = Field(None, description="Standard: i dag")
    instrument: str | None = Field(
        None, max_length=60, description="code@version; standard: insatsens aktuella"
    )
    respondent: str = Field(..., max_length=20, description="client eller guardian")
    status: str = Field(..., max_length=20, description="completed, declined eller unreachable")
    answers: dict[str, str] = Field(default_factory=dict, description="frågekod → svarskod", max_length=50)
    assessment: str = Short
    g1: str = Short
    g2: str = Short
    g3: str = Short
    minutes: int | None = Field(None, ge=0, le=600)
    goals_total: int | None = Field(None, ge=0, le=999)
    goals_fully: int | None = Field(None, ge=0, le=999)
    goals_partly: int | None = Field(None, ge=0, le=999)
    hard_to_understand: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Pilotåterkoppling: frågekoder som klienten tyckte var svåra att förstå (bara vid ny uppföljning)",
    )
    confirm_same_day: bool = Field(
        False,
        description="true: insatsen har redan en uppföljning samma dag och detta är en ny (annars 409)",
    )


class CorrectionIn(FollowUpIn):
    #: The URL names the follow-up; a given id must be its intervention's (issue 17 point 18).
    intervention_id: str | None = Field(  # type: ignore[assignment]
        None, max_length=60, description="Frivillig: adressen anger redan uppföljningen och dess insats"
    )
    reason: str = Field(..., min_length=1, max_length=1000)
    base_version: int = Field(..., ge=1, description="Versionen som rättas (för samtidiga rättelser)")


class FollowUpOut(Schema):
    followup_id: str
    intervention_id: str
    date: str
    instrument: str
    respondent: str
    status: str
    answers: dict[str, str]
    assessment: str
    g1: str
    g2: str
    g3: str
    minutes: int | None
    version: int


class ChangeOut(Schema):
    version: int
    changed_at: dt.datetime
    changed_by: str
    reason: str
    data: dict[str, Any]


class FollowUpDetailOut(FollowUpOut):
    history: list[ChangeOut]


def _out(followup: FollowUp) -> dict[str, Any]:
    record = canonical.followups(followup.municipality, [followup.followup_id])[followup.followup_id]
    return _as_out(record)


def _as_out(record: dict[str, Any]) -> dict[str, Any]:
    """A stored follow-up as the API answers it: ``minutes`` a number (or null), not text."""
    data = canonical.public(record)
    minutes = data.get("minutes")
    return {**data, "minutes": int(minutes) if minutes else None, "version": record["_version"]}


def _raw(payload: FollowUpIn, intervention: Intervention) -> tuple[dict[str, str], bool]:
    version = payload.instrument or ""
    if not version:
        current = services.instrument_for(intervention)
        version = current.key if current else ""
    raw = {
        "followup_id": services.new_followup_id(),
        "date": (payload.date or timezone.localdate()).isoformat(),
        "instrument": version,
        "respondent": payload.respondent,
        "status": payload.status,
        "assessment": payload.assessment,
        "g1": payload.g1,
        "g2": payload.g2,
        "g3": payload.g3,
        "minutes": "" if payload.minutes is None else str(payload.minutes),
        **{code: str(option) for code, option in payload.answers.items()},
    }
    goals = {
        "goals_total": payload.goals_total,
        "goals_fully": payload.goals_fully,
        "goals_partly": payload.goals_partly,
    }
    with_goals = any(v is not None for v in goals.values())
    if with_goals and intervention.ended_on is None:
        raise Problem(
            422,
            "Ogiltig uppföljning",
            errors=[{"pointer": "/goals_total", "detail": "målen anges först när insatsen har avslutats"}],
        )
    raw.update({k: "" if v is None else str(v) for k, v in goals.items()})
    return raw, with_goals


def _check(payload: FollowUpIn, intervention: Intervention) -> tuple[services.CheckedFollowUp, Any]:
    catalogue = catalogue_for(municipality_id=intervention.municipality_id)
    unknown = sorted(set(payload.answers) - set(catalogue.question_codes))
    if unknown:
        raise Problem(
            422,
            "Ogiltig uppföljning",
            errors=[{"pointer": f"/answers/{code}", "detail": "okänd frågekod"} for code in unknown[:20]],
        )
    raw, with_goals = _raw(payload, intervention)
    checked, issues = services.check_followup_submission(
        raw, intervention=intervention, catalogue=catalogue, with_goals=with_goals
    )
    if issues:
        codes = set(catalogue.question_codes)
        raise Problem(
            422,
            "Ogiltig uppföljning",
            "Uppföljningen bryter mot reglerna i utbytesformatet v1.",
            [{"pointer": f"/answers/{c}" if c in codes else f"/{c}", "detail": r} for c, r, _said in issues],
        )
    return checked, catalogue


def _rules_of_invalid_create(request: HttpRequest, body: dict[str, Any]) -> list[dict[str, str]]:
    """The rule errors of a new follow-up whose body broke the schema: the fields that broke
    it are left out (the schema's answer names them), the rest is checked as the form would."""
    if not sees_cases(request.user) or not isinstance(body.get("intervention_id"), str):
        return []
    intervention = (
        Intervention.objects.for_user(request.user)
        .select_related("service")
        .filter(intervention_id=body["intervention_id"])
        .first()
    )
    if intervention is None:
        return []
    required = {"respondent": "", "status": ""}
    try:
        payload = FollowUpIn.model_validate({**required, **body})
    except PydanticError:
        return []
    key = request.headers.get("Idempotency-Key")
    try:
        _check(payload, intervention)
    except Problem as problem:
        return with_key_error(problem, key).errors
    return with_key_error(Problem(422, ""), key).errors


RULES_ON_INVALID[("POST", "/api/v1/followups")] = _rules_of_invalid_create


@router.get("", response=list[FollowUpOut], summary="Uppföljningar i dina enheter")
def list_followups(
    request: HttpRequest,
    intervention_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    require_case_access(request)
    qs = FollowUp.objects.for_user(request.user).order_by("-created_at", "-pk")
    if intervention_id:
        qs = qs.filter(intervention__intervention_id=intervention_id)
    ids = list(qs.values_list("followup_id", flat=True)[offset : offset + limit])
    audit.record(request, action=AuditEntry.Action.LIST, kind="followups", ids=ids)
    if not ids:
        return []
    # require_case_access above: case workers always belong to a municipality.
    records = canonical.followups(cast(Municipality, request.user.municipality), ids)  # type: ignore[union-attr]
    return [_as_out(records[i]) for i in ids]


def _get(request: HttpRequest, followup_id: str, action: str = AuditEntry.Action.VIEW) -> FollowUp:
    require_case_access(request)
    followup = get_object_or_404(
        FollowUp.objects.for_user(request.user).select_related("intervention__service", "municipality"),
        followup_id=followup_id,
    )
    audit.record(request, action=action, kind="followups", ids=[followup.followup_id])
    return followup


@router.get("/{followup_id}", response=FollowUpDetailOut, summary="En uppföljning med tidigare versioner")
def get_followup(request: HttpRequest, followup_id: str) -> dict[str, Any]:
    followup = _get(request, followup_id)
    history = [
        {
            "version": c.version,
            "changed_at": c.changed_at,
            "changed_by": c.changed_by_label,
            "reason": c.reason,
            "data": c.data,
        }
        for c in services.history_of(followup)
    ]
    return {**_out(followup), "history": history}


@router.post("", response={201: FollowUpOut}, summary="Registrera en uppföljning (idempotent)")
def create_followup(
    request: HttpRequest,
    response: HttpResponse,
    payload: FollowUpIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    require_case_access(request)
    intervention = get_object_or_404(
        Intervention.objects.for_user(request.user).select_related("service"),
        intervention_id=payload.intervention_id,
    )
    try:
        checked, catalogue = _check(payload, intervention)
    except Problem as problem:
        raise with_key_error(problem, idempotency_key) from None
    key = require_key(idempotency_key)
    try:
        followup, created = services.record_followup(
            user=request.user,  # type: ignore[arg-type]
            intervention=intervention,
            checked=checked,
            catalogue=catalogue,
            idempotency_key=key,
            confirm_same_day=payload.confirm_same_day,
        )
    except services.SameDayFollowUp:
        raise Problem(
            409,
            "Uppföljning samma dag finns",
            "Insatsen har redan en uppföljning med det här datumet. Skicka confirm_same_day: true "
            "om detta är en ny uppföljning; annars är den redan sparad.",
        ) from None
    except services.IdempotencyConflict:
        raise Problem(
            422,
            "Idempotency-Key redan använd",
            "Nyckeln har redan använts för en uppföljning med annat innehåll. Använd en ny nyckel.",
        ) from None
    if created:
        record_feedback(
            followup=followup, codes=[c for c in payload.hard_to_understand if c in checked.record["answers"]]
        )
    audit.record(request, action=AuditEntry.Action.CREATE, kind="followups", ids=[followup.followup_id])
    response["Location"] = f"{request.path.rstrip('/')}/{followup.followup_id}"
    if not created:
        response["Idempotent-Replayed"] = "true"
        return Status(201, _out(followup))
    # What was just written, as the canonical reader would give it back (saves its queries;
    # tests/api pins that a resent request's answer, read back, is the same).
    record = checked.record
    return Status(
        201,
        _as_out({**record, "answers": dict(sorted(record["answers"].items())), "_version": followup.version}),
    )


@router.post(
    "/{followup_id}/corrections",
    response={201: FollowUpOut},
    summary="Rätta en uppföljning (ny version med skäl)",
)
def correct_followup(request: HttpRequest, followup_id: str, payload: CorrectionIn) -> Status:
    if contains_identity_number(payload.reason):
        raise Problem(
            422,
            "Ogiltig rättelse",
            errors=[{"pointer": "/reason", "detail": f"skälet {IDENTITY_NUMBER_REFUSED}"}],
        )
    followup = _get(request, followup_id, action=AuditEntry.Action.CORRECT)
    if not followup.can_be_corrected_by(request.user):
        raise Problem(
            403, "Ingen behörighet", "Bara den som gjorde uppföljningen eller enhetschefen kan rätta den."
        )
    if (
        payload.intervention_id is not None
        and payload.intervention_id != followup.intervention.intervention_id
    ):
        raise Problem(
            422,
            "Ogiltig rättelse",
            errors=[{"pointer": "/intervention_id", "detail": "en rättelse kan inte byta insats"}],
        )
    checked, catalogue = _check(payload, followup.intervention)
    try:
        corrected, _ = services.correct_followup(
            user=request.user,  # type: ignore[arg-type]
            followup=followup,
            checked=checked,
            catalogue=catalogue,
            reason=payload.reason,
            base_version=payload.base_version,
        )
    except services.StaleVersion:
        raise Problem(
            409, "Versionskonflikt", "Uppföljningen har rättats efter base_version. Hämta den på nytt."
        ) from None
    return Status(201, _out(corrected))
