"""The analytics pages: thin views. A form validates the query, a function in services/ (one
module per page family) answers it, and the page, its CSV and its XLSX are three renderings
of that one answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from utfall.comparisons.access import aggregate_scope, scoped_filters, sees_staff_performance
from utfall.comparisons.indicators import UnknownIndicator
from utfall.comparisons.queries import BadQuery
from utfall.instruments.services import published_series, series_scope
from utfall.oversight.directions import provider_oversight
from utfall.results import forms
from utfall.results.services.common import Page, min_n, scope_description
from utfall.results.services.comparison import provider_comparison
from utfall.results.services.coverage import coverage as coverage_page
from utfall.results.services.gender import women_and_men
from utfall.results.services.outcomes import outcomes as outcomes_page
from utfall.results.services.provider import get_provider, provider_results
from utfall.results.services.trends import trend
from utfall.results.tables import ResultTable, file_stem, suppression_rule, to_csv, to_xlsx, translated
from utfall.results.templatetags.results import DEFERRED, Deferred

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def answer(
    request: HttpRequest,
    form_class: type[forms.ResultsForm],
    build: Callable[..., Page],
    **kwargs: Any,
) -> tuple[forms.ResultsForm, Page | None]:
    """Validate the query string with the page's form and build the page (None when invalid)."""
    scope = aggregate_scope(request.user)  # PermissionDenied (403) for roles without aggregates
    refuse_outside_scope(request.user, request.GET)
    form = form_class(request.GET, user=request.user, scope=scope)
    if not form.is_valid():
        return form, None
    series = chosen_series(request)
    if series is None:
        form.add_error(None, _("Serien finns inte. Välj en publicerad version i listan."))
        return form, None
    try:
        with series_scope(series):
            return form, build(request.user, **kwargs, **form.query())
    except (BadQuery, UnknownIndicator) as exc:
        form.add_error(None, str(exc))
        return form, None


def chosen_series(request: HttpRequest) -> dict[str, int] | None:
    """``?serie=<instrument>@<version>``: show that published version's series of its question
    indicators instead of the newest's (docs/instruments.md). {} when not asked, None when the
    version is not one the page offers."""
    asked = request.GET.get("serie", "")
    if not asked:
        return {}
    offered = {v.key: v for v in published_series(getattr(request.user, "municipality_id", None))}
    version = offered.get(asked)
    return {version.instrument.code: version.version} if version is not None else None


def series_context(request: HttpRequest, page: Page | None) -> dict[str, Any]:
    """The series selector's choices and the other query parameters it keeps: offered where the
    page names versions left out (or a series was asked for), so other pages pay no query."""
    if not (request.GET.get("serie") or (page is not None and page.facts.get("comparability"))):
        return {}
    choices = [v.key for v in published_series(getattr(request.user, "municipality_id", None))]
    kept = [
        (k, v) for k, values in request.GET.lists() if k not in ("serie", "format", "table") for v in values
    ]
    return {"series_choices": choices, "series_chosen": request.GET.get("serie", ""), "series_kept": kept}


def refuse_outside_scope(user: Any, params: Any) -> None:
    """403 (as /api/v1/comparisons) for a unit or provider outside the user's scope, before the
    form would call it merely an invalid choice. Coverage per named caseworker is for unit
    managers only (comparisons.access.sees_staff_performance)."""
    scoped_filters(user, {key: params[key] for key in ("unit", "provider") if params.get(key)})
    if params.get("by") == "caseworker" and not sees_staff_performance(user):
        raise PermissionDenied(_("Uppföljningsgrad per socialsekreterare är till för enhetschefer."))


def download(page: Page, name: str | None, fmt: str, form: forms.ResultsForm) -> HttpResponse:
    tables = page.tables
    table: ResultTable | None = tables.get(name or "") if name else next(iter(tables.values()))
    if table is None:
        raise Http404("Tabellen finns inte på sidan.")
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    what = page.facts.get("indicator_name", "")
    scope = page.facts.get("scope", "")
    stem = file_stem(table.name, what, scope, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")
    if fmt == "csv":
        title = [
            *([("Indikator", what)] if what else []),
            ("Urval", scope or "hela kommunen"),
            ("Period", f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"),
            *([("Periodens avrundning", form.period_note)] if form.period_note else []),
            ("Röjandekontroll", suppression_rule(min_n())),
        ]
        response = HttpResponse(to_csv(table, title), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.csv"'
    else:
        response = HttpResponse(to_xlsx(table), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response


def respond(
    request: HttpRequest,
    template: str,
    form_class: type[forms.ResultsForm],
    build: Callable[..., Page],
    context: dict[str, Any] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    form, page = answer(request, form_class, build, **kwargs)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        if page is None:
            return render(request, template, {"form": form, "page": None, **(context or {})}, status=400)
        return download(page, request.GET.get("table"), fmt, form)
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    ctx = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        **series_context(request, page),
        **(context or {}),
    }
    if (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    ):
        template = f"{template}#results"
    return render_page(request, template, ctx, status=200 if form.is_valid() else 400)


def render_page(request: HttpRequest, template: str, context: dict[str, Any], status: int) -> HttpResponse:
    """``render()``, with the page's table bodies put in once, after the template (the same bytes;
    templatetags.results.Deferred)."""
    deferred = Deferred()
    token = DEFERRED.set(deferred)
    try:
        text = render_to_string(template, context, request)
    finally:
        DEFERRED.reset(token)
    return HttpResponse(deferred.splice(text), status=status)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = aggregate_scope(request.user)
    context = {"scope": translated(scope_description(scope)), "min_n": min_n()}
    return render(request, "results/index.html", context)


@login_required
@require_GET
def comparison(request: HttpRequest) -> HttpResponse:
    return respond(request, "results/comparison.html", forms.ComparisonForm, provider_comparison)


@login_required
@require_GET
def trends(request: HttpRequest) -> HttpResponse:
    return respond(request, "results/trends.html", forms.TrendForm, trend)


@login_required
@require_GET
def gender(request: HttpRequest) -> HttpResponse:
    return respond(request, "results/gender.html", forms.GenderForm, women_and_men)


@login_required
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    return respond(request, "results/coverage.html", forms.CoverageForm, coverage_page)


@login_required
@require_GET
def outcomes(request: HttpRequest) -> HttpResponse:
    return respond(request, "results/outcomes.html", forms.OutcomesForm, outcomes_page)


@login_required
@require_GET
def provider(request: HttpRequest, provider_id: str) -> HttpResponse:
    found, _ = get_provider(request.user, provider_id)
    return respond(
        request, "results/provider.html", forms.ProviderForm, provider_results,
        {"provider": found, "oversight": provider_oversight(request.user, found)}, provider_id=provider_id,
    )  # fmt: skip
