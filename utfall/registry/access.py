"""The access funnel for interventions: fetch one the user may see, and audit the read."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.registry.models import Intervention


def get_intervention_for_user(
    request: HttpRequest, pk: int, *, action: str = AuditEntry.Action.VIEW
) -> Intervention:
    """The intervention if the user may see it; 404 alike for "not there" and "not yours"."""
    qs = Intervention.objects.for_user(request.user).select_related("service", "provider", "unit", "client")
    intervention = qs.filter(pk=pk).first()
    if intervention is None:
        audit.refused_if_exists(
            request, Intervention.objects.all(), kind="interventions", id_field="intervention_id", pk=pk
        )
        raise Http404
    audit.record(request, action=action, kind="interventions", ids=[intervention.intervention_id])
    return intervention
