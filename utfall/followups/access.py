"""The access funnel for follow-ups: fetch one the user may see, and audit the read."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp


def get_followup_for_user(request: HttpRequest, pk: int, *, action: str = AuditEntry.Action.VIEW) -> FollowUp:
    """The follow-up if the user may see it; 404 alike for "not there" and "not yours"."""
    qs = FollowUp.objects.for_user(request.user).select_related(
        "intervention__service",
        "intervention__provider",
        "intervention__unit",
        "instrument_version__instrument",
        "created_by",
    )
    followup = qs.filter(pk=pk).first()
    if followup is None:
        audit.refused_if_exists(
            request, FollowUp.objects.all(), kind="followups", id_field="followup_id", pk=pk
        )
        raise Http404
    audit.record(request, action=action, kind="followups", ids=[followup.followup_id])
    return followup
