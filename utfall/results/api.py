"""Read API for the analytics pages: the same forms and the same service functions as the
pages, so the JSON carries exactly the numbers the page shows (``tables.<name>.rows``).

Query parameters are the pages' (``indicator``, ``date_from``/``from``, ``date_to``/``to``,
``grain``, ``unit``, ``service``, ``provider``, ``by``); invalid ones give a 400 problem
description naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Router

from utfall.comparisons.access import aggregate_scope
from utfall.comparisons.indicators import UnknownIndicator
from utfall.comparisons.queries import BadQuery
from utfall.core.api import Problem
from utfall.results import forms
from utfall.results.services.common import Page
from utfall.results.services.coverage import coverage as coverage_page
from utfall.results.services.gender import women_and_men
from utfall.results.services.outcomes import outcomes as outcomes_page
from utfall.results.services.provider import get_provider
from utfall.results.services.provider import provider_results as provider_page
from utfall.results.services.trends import trend
from utfall.results.views import refuse_outside_scope

trends_router = Router(tags=["resultat"])
gender_router = Router(tags=["resultat"])
coverage_router = Router(tags=["resultat"])
outcomes_router = Router(tags=["resultat"])
providers_router = Router(tags=["resultat"])


def _answer(
    request: HttpRequest,
    form_class: type[forms.ResultsForm],
    build: Callable[..., Page],
    **kwargs: Any,
) -> dict[str, Any]:
    data = request.GET.copy()
    for short, long in (("from", "date_from"), ("to", "date_to")):
        if short in data and long not in data:
            data[long] = data.pop(short)[0]
    scope = aggregate_scope(request.user)
    refuse_outside_scope(request.user, data)
    form = form_class(data, user=request.user, scope=scope)
    if not form.is_valid():
        errors = [
            {"pointer": f"/{name}" if name != "__all__" else "/", "detail": str(message)}
            for name, messages in form.errors.items()
            for message in messages
        ]
        raise Problem(400, "Ogiltig fråga", "Frågan kunde inte besvaras.", errors)
    try:
        return build(request.user, **kwargs, **form.query()).as_json()
    except (BadQuery, UnknownIndicator) as exc:
        raise Problem(400, "Ogiltig fråga", str(exc)) from None


@trends_router.get("", response=dict[str, Any], summary="En indikator per kvartal eller år, med förändring")
def trends(request: HttpRequest) -> Any:
    return _answer(request, forms.TrendForm, trend)


@gender_router.get("", response=dict[str, Any], summary="Kvinnor och män per insats och åldersgrupp")
def gender(request: HttpRequest) -> Any:
    return _answer(request, forms.GenderForm, women_and_men)


@coverage_router.get("", response=dict[str, Any], summary="Uppföljningsgrad och bortfall")
def coverage(request: HttpRequest) -> Any:
    return _answer(request, forms.CoverageForm, coverage_page)


@outcomes_router.get("", response=dict[str, Any], summary="Utfallsmått efter avslutade insatser")
def outcomes(request: HttpRequest) -> Any:
    return _answer(request, forms.OutcomesForm, outcomes_page)


@providers_router.get("/{provider_id}/results", response=dict[str, Any], summary="En utförares resultat")
def provider_results(request: HttpRequest, provider_id: str) -> Any:
    get_provider(request.user, provider_id)
    return _answer(request, forms.ProviderForm, provider_page, provider_id=provider_id)
