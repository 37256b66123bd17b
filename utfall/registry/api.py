"""/api/v1/interventions: read and register interventions of the caller's units."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Header, Query, Router, Schema, Status

from utfall.core import audit
from utfall.core.api import MAX_OFFSET, Problem, require_case_access, require_key, with_key_error
from utfall.core.models import AuditEntry
from utfall.followups import queries
from utfall.organisations.models import Municipality, User
from utfall.records import canonical
from utfall.records.rules import catalogue_for
from utfall.registry import services
from utfall.registry.models import Intervention

router = Router(tags=["interventions"])


class InterventionIn(Schema):
    intervention_id: str = Field("", max_length=60, description="Tomt: utfall skapar ett id")
    person_id: str = Field(
        ...,
        max_length=80,
        description="Personnummer/samordningsnummer eller pseudo:<pseudonym>; blir en pseudonym direkt och lagras aldrig",
    )
    sex: str = Field("", max_length=10)
    birth_year: int | None = Field(None, ge=1900, le=2100)
    service: str = Field(..., max_length=60)
    provider_id: str = Field(..., max_length=60)
    contract_id: str = Field("", max_length=60)
    unit: str = Field(..., max_length=60)
    decided_on: dt.date
    started_on: dt.date
    ended_on: dt.date | None = None
    end_reason: str = Field("", max_length=20)
    goals_total: int | None = Field(None, ge=0, le=999)
    goals_fully: int | None = Field(None, ge=0, le=999)
    goals_partly: int | None = Field(None, ge=0, le=999)


class InterventionOut(Schema):
    intervention_id: str
    person_id: str = Field(..., description="pseudo:<pseudonym>")
    sex: str
    birth_year: str
    service: str
    provider_id: str
    contract_id: str
    unit: str
    decided_on: str
    started_on: str
    ended_on: str
    end_reason: str
    goals_total: str
    goals_fully: str
    goals_partly: str


class DueOut(Schema):
    intervention_id: str
    service: str
    provider_id: str
    due_on: dt.date
    at_end: bool
    overdue: bool
    last_followup: dt.date | None


def _records(request: HttpRequest, ids: list[str]) -> list[dict[str, Any]]:
    # Callers passed require_case_access: case workers always belong to a municipality.
    records = canonical.interventions(cast(Municipality, request.user.municipality), ids) if ids else {}  # type: ignore[union-attr]
    return [canonical.public(records[i]) for i in ids]


@router.get("", response=list[InterventionOut], summary="Insatser i dina enheter")
def list_interventions(
    request: HttpRequest,
    ongoing: bool | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    require_case_access(request)
    qs = Intervention.objects.for_user(request.user).order_by("intervention_id")
    if ongoing is not None:
        qs = qs.filter(ended_on__isnull=ongoing)
    ids = list(qs.values_list("intervention_id", flat=True)[offset : offset + limit])
    audit.record(request, action=AuditEntry.Action.LIST, kind="interventions", ids=ids)
    return _records(request, ids)


@router.get("/due", response=list[DueOut], summary="Att följa upp: insatser vars uppföljning snart ska göras")
def due(request: HttpRequest) -> list[dict[str, Any]]:
    require_case_access(request)
    items = queries.filter_and_sort(queries.due_items(request.user, today=timezone.localdate()))
    audit.record(
        request,
        action=AuditEntry.Action.LIST,
        kind="interventions",
        ids=[w.intervention.intervention_id for w in items],
    )
    return [
        {
            "intervention_id": w.intervention.intervention_id,
            "service": w.intervention.service.code,
            "provider_id": w.intervention.provider.provider_id,
            "due_on": w.due_on,
            "at_end": w.at_end,
            "overdue": w.overdue,
            "last_followup": w.last_followup,
        }
        for w in items
    ]


@router.get("/{intervention_id}", response=InterventionOut, summary="En insats")
def get_intervention(request: HttpRequest, intervention_id: str) -> dict[str, Any]:
    require_case_access(request)
    item = get_object_or_404(Intervention.objects.for_user(request.user), intervention_id=intervention_id)
    audit.record(request, action=AuditEntry.Action.VIEW, kind="interventions", ids=[item.intervention_id])
    return _records(request, [item.intervention_id])[0]


@router.post("", response={201: InterventionOut}, summary="Registrera en insats (idempotent)")
def create_intervention(
    request: HttpRequest,
    response: HttpResponse,
    payload: InterventionIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    require_case_access(request)
    key = idempotency_key if idempotency_key and len(idempotency_key) <= 200 else ""
    raw = {
        name: "" if value is None else (value.isoformat() if isinstance(value, dt.date) else str(value))
        for name, value in payload.dict().items()
    }
    checked, issues = services.check_intervention_submission(
        raw,
        user=cast(User, request.user),  # signed in: require_case_access above
        catalogue=catalogue_for(municipality_id=cast(User, request.user).municipality_id),
        idempotency_key=key,
    )
    if issues or checked is None:
        problem = Problem(
            422,
            "Ogiltig insats",
            "Insatsen bryter mot reglerna i utbytesformatet v1.",
            [{"pointer": f"/{column}", "detail": reason} for column, reason, _said in issues],
        )
        raise with_key_error(problem, idempotency_key)
    key = require_key(idempotency_key)
    try:
        item, created = services.register_intervention(
            user=cast(User, request.user),
            checked=checked,
            idempotency_key=key,
        )
    except services.IdempotencyConflict:
        raise Problem(
            422,
            "Idempotency-Key redan använd",
            "Nyckeln har redan använts för en insats med annat innehåll. Använd en ny nyckel.",
        ) from None
    audit.record(request, action=AuditEntry.Action.CREATE, kind="interventions", ids=[item.intervention_id])
    response["Location"] = f"{request.path.rstrip('/')}/{item.intervention_id}"
    if not created:
        response["Idempotent-Replayed"] = "true"
    return Status(201, _records(request, [item.intervention_id])[0])
