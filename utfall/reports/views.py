"""Report pages: the list, a report (page and downloads), its commentary, publishing and
correcting, and the targets. Analysts write; board members (nämnd) read the published reports
of their committee's scope (reports.access)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from utfall.comparisons.indicators import all_indicators
from utfall.reports import opendata, services
from utfall.reports.access import ReportScope, report_scope, require_writer
from utfall.reports.building import FORMATS
from utfall.reports.forms import CommentaryForm, NewReportForm, TargetForm
from utfall.reports.models import Report, ReportStatus, Target
from utfall.reports.rendering import CONTENT_TYPES, context_of
from utfall.reports.rendering import render as render_as
from utfall.reports.targets import judge_all
from utfall.results.tables import file_stem as file_stem_of


def reports_for(scope: ReportScope) -> QuerySet[Report]:
    """The one access funnel for reports: analysts see every report of the municipality; a
    board member only the published ones of their committee's scope."""
    qs = Report.objects.filter(municipality=scope.municipality).select_related("committee__unit", "unit")
    if scope.writes:
        return qs
    qs = qs.filter(status=ReportStatus.PUBLISHED)
    if scope.unit is not None:
        return qs.filter(unit__code=scope.unit) | qs.filter(unit=None, committee__unit__code=scope.unit)
    return qs


def get_report_for_user(request: HttpRequest, pk: int) -> tuple[Report, ReportScope]:
    scope = report_scope(request.user)
    try:
        return reports_for(scope).get(pk=pk), scope
    except Report.DoesNotExist:
        raise Http404("Rapporten finns inte.") from None


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request.user)
    form = NewReportForm(municipality=scope.municipality) if scope.writes else None
    context = {"reports": reports_for(scope), "scope": scope, "form": form}
    return render(request, "reports/index.html", context)


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    scope = require_writer(request.user)
    form = NewReportForm(request.POST, municipality=scope.municipality)
    if not form.is_valid():
        context = {"reports": reports_for(scope), "scope": scope, "form": form}
        return render(request, "reports/index.html", context, status=400)
    report = services.create_report(municipality=scope.municipality, user=request.user, **form.cleaned_data)
    messages.success(request, f"Utkastet {report.title} är skapat.")
    return redirect("reports:detail", pk=report.pk)


def _detail(request: HttpRequest, report: Report, scope: ReportScope, *, status: int = 200,
            failed: dict[str, Any] | None = None) -> HttpResponse:  # fmt: skip
    content = services.content_of(report)
    context = {
        **context_of(content),
        "object": report,
        "scope": scope,
        "formats": FORMATS[1:],
        "failed": failed,
    }
    return render(request, "reports/detail.html", context, status=status)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    report, scope = get_report_for_user(request, pk)
    fmt = request.GET.get("format", "")
    if not fmt:
        return _detail(request, report, scope)
    if fmt not in FORMATS:
        raise Http404("Okänt format.")
    data = render_as(services.content_of(report), fmt)
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{file_stem(report)}.{fmt}"'
    return response


def file_stem(report: Report) -> str:
    """A file name that says what it holds: rapport_arsrapport_2025_socialnamnden_v1_utkast."""
    import re
    import unicodedata

    text = f"{report.get_kind_display()} {report.date_from:%Y-%m-%d} {report.date_to:%Y-%m-%d}"
    who = (
        report.committee.name
        if report.committee
        else (report.unit.name if report.unit else report.municipality.name)
    )
    text += f" {who} version {report.version} {'publicerad' if report.is_published else 'utkast'}"
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9-]+", "_", ascii_text).strip("_").lower()


@login_required
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    report, scope = get_report_for_user(request, pk)
    if not scope.writes:
        raise PermissionDenied("Bara utredare skriver kommentarer.")
    form = CommentaryForm(request.POST)
    if not form.is_valid():
        failed = {"section": request.POST.get("section", ""), "text": request.POST.get("text", ""),
                  "errors": [e for errs in form.errors.values() for e in errs]}  # fmt: skip
        return _detail(request, report, scope, status=400, failed=failed)
    try:
        services.save_commentary(report=report, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        failed = {**form.cleaned_data, "errors": exc.messages}
        return _detail(request, report, scope, status=409, failed=failed)
    messages.success(request, "Kommentaren är sparad i utkastet.")
    return redirect(f"{request.path.rsplit('kommentar/', 1)[0]}#h-{form.cleaned_data['section']}")


@login_required
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    report, scope = get_report_for_user(request, pk)
    if not scope.writes:
        raise PermissionDenied("Bara utredare publicerar rapporter.")
    try:
        services.publish(report=report, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("reports:detail", pk=report.pk)
    messages.success(request, "Rapporten är publicerad och ändras inte längre.")
    return redirect("reports:detail", pk=report.pk)


@login_required
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    report, scope = get_report_for_user(request, pk)
    if not scope.writes:
        raise PermissionDenied("Bara utredare rättar rapporter.")
    try:
        draft = services.new_version(report=report, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("reports:detail", pk=report.pk)
    messages.success(
        request, f"En ny version ({draft.version}) är skapad som utkast; den publicerade finns kvar."
    )
    return redirect("reports:detail", pk=draft.pk)


@login_required
@require_http_methods(["GET", "POST"])
def targets(request: HttpRequest) -> HttpResponse:
    """The targets of the user's scope with their verdicts; analysts and board members set new ones."""
    scope = report_scope(request.user)
    form = TargetForm(municipality=scope.municipality, unit=scope.unit)
    status = 200
    if request.method == "POST":
        form = TargetForm(request.POST, municipality=scope.municipality, unit=scope.unit)
        if form.is_valid():
            target: Target = form.save(commit=False)
            target.set_by = request.user  # type: ignore[assignment]
            target.save()
            messages.success(request, "Målet är sparat.")
            return redirect("reports:targets")
        status = 400
    judgements = judge_all(scope.municipality, unit=scope.unit)
    return render(request, "reports/targets.html", {"form": form, "judgements": judgements, "scope": scope},
                  status=status)  # fmt: skip


def _year(request: HttpRequest, scope: ReportScope) -> int:
    from utfall.comparisons.queries import reference_date

    known = reference_date(scope.municipality) or dt.date.today()
    try:
        year = int(request.GET.get("ar") or known.year)
    except ValueError:
        year = known.year
    return year if 2000 <= year <= 2100 else known.year


@login_required
@require_GET
def open_data(request: HttpRequest) -> HttpResponse:
    """The municipality's (or the committee's unit's) indicators in Kolada's shape, CSV or JSON."""
    scope = report_scope(request.user)
    year = _year(request, scope)
    rows = opendata.open_rows(scope.municipality, year, unit=scope.unit)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "json"):
        body = opendata.as_csv(rows) if fmt == "csv" else opendata.as_json(rows)
        kind = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        response = HttpResponse(body, content_type=kind)
        stem = file_stem_of("oppna-data", scope.municipality.name, scope.unit or "", str(year))
        response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
        return response
    context = {"rows": rows, "year": year, "scope": scope, "genders": opendata.GENDERS,
               "names": {c: i.name for c, i in all_indicators().items()}}  # fmt: skip
    return render(request, "reports/open_data.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def national(request: HttpRequest) -> HttpResponse:
    """Our indicators beside other municipalities' published values (the national reference);
    analysts import the others' files here."""
    scope = report_scope(request.user)
    year = _year(request, scope)
    error, status = "", 200
    if request.method == "POST":
        if not scope.writes:
            raise PermissionDenied("Bara utredare läser in andra kommuners filer.")
        upload = request.FILES.get("fil")
        if upload is None:
            error, status = "Välj en fil (Fil) att läsa in.", 400
        else:
            try:
                text = upload.read().decode("utf-8")
                result = opendata.import_reference(scope.municipality, text, label=upload.name or "")
            except UnicodeDecodeError:
                error, status = "Filen ska vara UTF-8-kodad text (CSV eller JSON).", 400
            except opendata.BadReferenceFile as exc:
                error, status = f"Filen lästes inte in, inget ändrades. {exc}", 400
            else:
                messages.success(
                    request, f"{result.rows} värden från {len(result.municipalities)} kommuner inlästa."
                )
                return redirect(f"{request.path}?ar={year}")
    table = opendata.national_table(scope.municipality, year, unit=scope.unit)
    context = {"table": table, "year": year, "scope": scope, "error": error}
    return render(request, "reports/national.html", context, status=status)


@login_required
@require_GET
def provider_card(request: HttpRequest, provider_id: str) -> HttpResponse:
    """The provider's report card as PDF (or ?format=html), for procurement and the provider itself."""
    from utfall.comparisons.access import aggregate_scope
    from utfall.reports.card import build_card
    from utfall.results import forms as result_forms
    from utfall.results.services.provider import get_provider

    scope = aggregate_scope(request.user)  # 403 for roles without aggregates
    provider, _ = get_provider(request.user, provider_id)  # 404 / 403 outside the scope
    form = result_forms.ProviderForm(request.GET, user=request.user, scope=scope)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label if k in form.fields else ''}: {' '.join(str(e) for e in v)}".lstrip(": ")
                           for k, v in form.errors.items())  # fmt: skip
        return HttpResponse(f"Fel i frågan: {errors}", status=400, content_type="text/plain; charset=utf-8")
    content = build_card(request.user, provider_id, **form.query())
    fmt = "html" if request.GET.get("format") == "html" else "pdf"
    response = HttpResponse(render_as(content, fmt), content_type=CONTENT_TYPES[fmt])
    start, end = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    stem = file_stem_of("resultatkort", provider.name, f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}")
    response["Content-Disposition"] = (
        f'{"inline" if fmt == "html" else "attachment"}; filename="{stem}.{fmt}"'
    )
    return response


@login_required
@require_GET
def pilot(request: HttpRequest) -> HttpResponse:
    """The pilot evaluation: page, or ?format=pdf."""
    from utfall.organisations.models import Unit
    from utfall.reports.pilot import build_pilot

    scope = report_scope(request.user)
    year = _year(request, scope)
    unit = (
        Unit.objects.filter(municipality=scope.municipality, code=scope.unit).first() if scope.unit else None
    )
    content = build_pilot(
        scope.municipality, date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31), unit=unit
    )
    if request.GET.get("format") == "pdf":
        response = HttpResponse(render_as(content, "pdf"), content_type=CONTENT_TYPES["pdf"])
        stem = file_stem_of("pilotutvardering", scope.municipality.name, scope.unit or "", str(year))
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    context = {**context_of(content), "year": year}
    return render(request, "reports/pilot.html", context)
