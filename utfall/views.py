"""Site pages that draw on several apps (the start page counts providers, interventions and
follow-ups and shows the targets), so they sit above the apps (docs/architecture.md)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from utfall.comparisons.access import aggregate_scope
from utfall.comparisons.queries import reference_date
from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp
from utfall.organisations.access import sees_cases
from utfall.oversight.alerts import alerts_for
from utfall.oversight.deadlines import overdue_for
from utfall.registry.models import Intervention, Provider
from utfall.reports.targets import Judgement, judge_all


def targets_on_start(user: Any) -> list[Judgement]:
    """This year's targets in the user's aggregate scope (the municipality's, or their unit's);
    none for roles without aggregates and for providers (targets are the municipality's)."""
    try:
        scope = aggregate_scope(user)
    except PermissionDenied:
        return []
    if "provider" in scope:
        return []
    year = reference_date(user.municipality)
    if year is None:
        return []
    return judge_all(user.municipality, unit=scope.get("unit"), years={year.year})

#: Alerts listed on the start page; the rest are one link away.
START_ALERTS = 10


@login_required
def home(request: HttpRequest) -> HttpResponse:
    municipality = getattr(request.user, "municipality", None)
    counts = {}
    judgements: list[Judgement] = []
    if municipality is not None:
        counts = {
            "providers": Provider.objects.filter(municipality=municipality).count(),
            "interventions": Intervention.objects.filter(municipality=municipality).count(),
            "followups": FollowUp.objects.filter(municipality=municipality).count(),
        }
        judgements = targets_on_start(request.user)
    today = timezone.localdate()
    alerts: list[FollowUp] = []
    alert_count = 0
    if sees_cases(request.user):
        found = alerts_for(request.user, today=today)
        alert_count = found.count()
        alerts = list(found[:START_ALERTS])
        audit.record(
            request, action=AuditEntry.Action.LIST, kind="followups", ids=[f.followup_id for f in alerts]
        )
    overdue = list(overdue_for(request.user, today)[:20])
    context = {"municipality": municipality, "counts": counts, "alerts": alerts, "alert_count": alert_count,
               "overdue": overdue, "sees_cases": sees_cases(request.user), "judgements": judgements}  # fmt: skip
    return render(request, "core/home.html", context)
