"""GET /api/v1/deviations and /api/v1/cases: the hand-off to the quality management system
as JSON, for a system that pulls with an API token (the same documents as the pages'
downloads, docs/oversight.md)."""

from __future__ import annotations

from typing import Any, Literal, cast

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.organisations.models import Municipality
from utfall.oversight.access import require_case_work, require_proposals
from utfall.oversight.exports import cases_json, proposals_json
from utfall.oversight.models import Case, CaseState
from utfall.oversight.periods import BadPeriod, Period
from utfall.oversight.priority import priority_list

deviations_router = Router(tags=["avvikelser"])
cases_router = Router(tags=["avvikelser"])


class DeviationQuery(Schema):
    period: str
    only_new: bool = False
    sort: Literal["evidence", "volume", "value"] = "evidence"


@deviations_router.get("", response=dict[str, Any], summary="Avvikelseförslag för en period")
def deviations(request: HttpRequest, query: Query[DeviationQuery]) -> Any:
    require_proposals(request.user)
    try:
        period = Period.parse(query.period)
    except BadPeriod as exc:
        raise HttpError(400, str(exc)) from None
    # require_proposals above refused a user without a municipality.
    municipality = cast(Municipality, request.user.municipality)  # type: ignore[union-attr]
    found = priority_list(municipality, period, only_new=query.only_new, sort=query.sort)
    audit.record(request, action=AuditEntry.Action.EXPORT, kind="proposals", ids=[period.label])
    return proposals_json(found)


class CaseQuery(Schema):
    state: Literal["", "open", "investigating", "action_decided", "closed"] = ""


@cases_router.get("", response=dict[str, Any], summary="Fördjupade uppföljningar med åtgärder")
def cases(request: HttpRequest, query: Query[CaseQuery]) -> Any:
    require_case_work(request.user)
    found = Case.objects.of(request.user.municipality_id).select_related("provider", "owner")  # type: ignore[union-attr]
    if query.state in CaseState.values:
        found = found.filter(state=query.state)
    found = found.prefetch_related("contracts", "actions__contract")
    audit.record(
        request, action=AuditEntry.Action.EXPORT, kind="cases", ids=[c.reference for c in found] or ["-"]
    )
    return {"cases": cases_json(found)}
