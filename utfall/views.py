"""Site pages that draw on several apps (the start page counts providers, interventions and
follow-ups), so they sit above the apps (docs/architecture.md)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from utfall.followups.models import FollowUp
from utfall.registry.models import Intervention, Provider


@login_required
def home(request: HttpRequest) -> HttpResponse:
    municipality = getattr(request.user, "municipality", None)
    counts = {}
    if municipality is not None:
        counts = {
            "providers": Provider.objects.filter(municipality=municipality).count(),
            "interventions": Intervention.objects.filter(municipality=municipality).count(),
            "followups": FollowUp.objects.filter(municipality=municipality).count(),
        }
    return render(request, "core/home.html", {"municipality": municipality, "counts": counts})
