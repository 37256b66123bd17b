"""Pages of the instrument editor that show follow-ups: the follow-up form of a version, for an
example intervention (the preview), and the pilot feedback per question.

They live here, not in the instruments app, because they render and count follow-ups and
the instruments are a catalogue below the follow-ups (docs/architecture.md). Their
addresses stay under /instrument/ (see ``utfall/followups/urls.py``).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from utfall.followups.feedback import feedback_summary
from utfall.followups.forms import FollowUpForm, new_token
from utfall.instruments.views import editable_version, staff_required
from utfall.organisations.access import roles
from utfall.organisations.models import Role
from utfall.records.rules import catalogue_for
from utfall.registry.models import Intervention, Provider, Service


@require_GET
@staff_required
def preview(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The form exactly as the caseworker sees it, for an example intervention (nothing is saved)."""
    version = editable_version(request, code, number)
    service = version.services.order_by("name").first() or Service(name=_("(ingen insats vald)"))
    example = Intervention(
        intervention_id="EXEMPEL",
        service=service,
        provider=Provider(name=_("Exempelutföraren")),
        started_on=timezone.localdate(),
    )
    initial = {"token": new_token(), "date": timezone.localdate(), "respondent": version.respondents[0]}
    form = FollowUpForm(
        initial=initial,
        intervention=example,
        version=version,
        catalogue=catalogue_for(municipality_id=version.instrument.municipality_id),
    )
    return render(
        request,
        "followups/instrument_preview.html",
        {"version": version, "form": form, "intervention": example},
    )


@require_GET
@login_required
def feedback(request: HttpRequest) -> HttpResponse:
    """Pilot feedback: per question and version, how often the client found it hard to understand."""
    allowed = {Role.ANALYST.value, Role.UNIT_MANAGER.value}
    if not (request.user.is_staff or roles(request.user) & allowed):
        raise PermissionDenied(_("Din roll ger inte tillgång till pilotåterkopplingen."))
    municipality = getattr(request.user, "municipality", None)
    rows = feedback_summary(municipality) if municipality is not None else []
    return render(request, "followups/instrument_feedback.html", {"rows": rows, "municipality": municipality})
