"""Pages of one intervention: its follow-ups, and registering a new one."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from utfall.core import audit
from utfall.core.models import AuditEntry, ChangeRecord
from utfall.followups.services import instrument_for
from utfall.followups.views import case_access_required
from utfall.organisations.models import User
from utfall.records.rules import catalogue_for
from utfall.registry import services
from utfall.registry.access import get_intervention_for_user
from utfall.registry.forms import InterventionChangeForm, InterventionForm
from utfall.registry.models import Provider


@require_GET
@case_access_required
def intervention(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_intervention_for_user(request, pk)
    followups = item.followups.select_related("created_by").order_by("-date", "-pk")
    changes = ChangeRecord.objects.filter(
        municipality_id=item.municipality_id, kind="interventions", record_id=item.intervention_id
    ).order_by("-version")
    # The earlier provider by its name, not its code ("P0022"): the walk of 2026-12-02.
    codes = {str(c.data.get("provider_id", "")) for c in changes}
    names = dict(
        Provider.objects.filter(municipality_id=item.municipality_id, provider_id__in=codes).values_list(
            "provider_id", "name"
        )
    )
    for change in changes:
        change.provider_name = names.get(change.data.get("provider_id"), change.data.get("provider_id", ""))  # type: ignore[attr-defined]
    context = {
        "intervention": item,
        "followups": followups,
        "can_follow_up": instrument_for(item) is not None,
        "changes": changes,
    }
    return render(request, "registry/intervention.html", context)


@sensitive_post_parameters("person_id")
@require_http_methods(["GET", "POST"])
@case_access_required
def intervention_create(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # signed in: case_access_required
    catalogue = catalogue_for(municipality_id=user.municipality_id)
    if request.method == "GET":
        form = InterventionForm(user=user, catalogue=catalogue, initial=services.intervention_defaults(user))
        return render(request, "registry/intervention_form.html", {"form": form})
    form = InterventionForm(request.POST, user=user, catalogue=catalogue)
    if not form.is_valid():
        return render(request, "registry/intervention_form.html", {"form": form}, status=422)
    assert form.checked is not None
    item, _created = services.register_intervention(user=user, checked=form.checked)
    audit.record(request, action=AuditEntry.Action.CREATE, kind="interventions", ids=[item.intervention_id])
    messages.success(request, _("Insatsen är registrerad."))
    return redirect("registry:intervention", pk=item.pk)


@require_http_methods(["GET", "POST"])
@case_access_required
def intervention_change(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit or end an intervention (end date, reason); the earlier version stays in the history."""
    action = AuditEntry.Action.CORRECT if request.method == "POST" else AuditEntry.Action.VIEW
    item = get_intervention_for_user(request, pk, action=action)
    catalogue = catalogue_for()
    if request.method == "GET":
        initial = InterventionChangeForm.initial_of(item)
        if "avsluta" in request.GET and not item.ended_on:
            initial["ended_on"] = timezone.localdate()
        form = InterventionChangeForm(initial=initial, intervention=item, catalogue=catalogue)
        return render(request, "registry/intervention_change.html", {"form": form, "intervention": item})
    form = InterventionChangeForm(request.POST, intervention=item, catalogue=catalogue)
    if not form.is_valid() or form.record is None:
        context = {"form": form, "intervention": item}
        return render(request, "registry/intervention_change.html", context, status=422)
    changed = services.change_intervention(
        user=cast(User, request.user),
        intervention=item,
        record=form.record,
        reason=form.cleaned_data["reason"],
    )
    if changed:
        messages.success(request, _("Ändringen är sparad. Den tidigare versionen finns kvar i historiken."))
    else:
        messages.info(request, _("Inget ändrades."))
    return redirect("registry:intervention", pk=item.pk)
