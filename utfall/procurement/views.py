"""Procurement's pages: thin views over results, payment and costs (docs/procurement.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.core import audit
from utfall.core.identity import contains_identity_number
from utfall.core.models import AuditEntry
from utfall.oversight.models import Case, CaseState
from utfall.oversight.periods import BadPeriod, Period
from utfall.procurement import charts, payment
from utfall.procurement.access import (
    contract_for,
    manages_contracts,
    require_manager,
    require_provider,
    statement_for,
)
from utfall.procurement.costs import OUTCOMES, costs
from utfall.procurement.exports import statement_xlsx
from utfall.procurement.forms import (
    ContractSearchForm,
    OwnFiguresFileForm,
    OwnFiguresForm,
    PeriodForm,
    ResponseForm,
    RuleForm,
)
from utfall.procurement.models import (
    DeviationResponse,
    ProviderReport,
    Statement,
    StatementStatus,
    by_username,
)
from utfall.procurement.results import (
    DEFAULT_INDICATORS,
    contract_periods,
    contract_results,
    default_period,
    indicator_row,
    scoped_row,
    targets_summaries,
)
from utfall.registry.models import Contract, Intervention, add_months

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> Any:
    return request.user


def period_of(request: HttpRequest, default: tuple[dt.date, dt.date]) -> tuple[PeriodForm, dt.date, dt.date]:
    if "date_from" in request.GET or "date_to" in request.GET:
        form = PeriodForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["date_from"], form.cleaned_data["date_to"]
        return form, default[0], default[1]
    form = PeriodForm(initial={"date_from": default[0], "date_to": default[1]})
    return form, default[0], default[1]


@login_required
@require_GET
def contracts(request: HttpRequest) -> HttpResponse:
    """Every contract of the municipality: search, expiring within 6 or 12 months, and each
    contract's results against its targets over the last twelve months."""
    require_manager(request.user)
    form = ContractSearchForm(request.GET)
    today = timezone.localdate()
    qs = (
        Contract.objects.filter(municipality_id=_user(request).municipality_id)
        .select_related("provider", "municipality")
        .prefetch_related("services", "targets")
        .order_by(F("valid_to").asc(nulls_last=True), "contract_id")
    )
    months = None
    if form.is_valid():
        if form.cleaned_data["q"]:
            q = form.cleaned_data["q"]
            qs = qs.filter(Q(contract_id__icontains=q) | Q(provider__name__icontains=q) | Q(manager__icontains=q)
                           | Q(provider__provider_id__iexact=q))  # fmt: skip
        months = form.cleaned_data["expiring"]
        if months:
            qs = qs.filter(valid_to__gte=today, valid_to__lte=add_months(today, months))
    contracts = list(qs[:200])
    start, end = payment.last_year(_user(request).municipality)
    summaries = targets_summaries(contracts, start, end)
    rows = [
        {"contract": c, "services": ", ".join(s.name for s in c.services.all()),
         "days_left": (c.valid_to - today).days if c.valid_to else None, "targets": summaries[c.pk]}
        for c in contracts
    ]  # fmt: skip
    return render(request, "procurement/contracts.html",
                  {"form": form, "rows": rows, "months": months, "today": today, "more": qs.count() > 200,
                   "date_from": start, "date_to": end})  # fmt: skip


def _contract_context(request: HttpRequest, contract: Contract) -> dict[str, Any]:
    form, start, end = period_of(request, default_period(contract))
    targets = list(contract.targets.all())
    periods = contract_periods(contract, until=default_period(contract)[1])
    by_period = [
        {"period": p, "rows": [indicator_row(contract, t.indicator, p.date_from, p.date_to, target=t)
                               for t in targets if t.indicator in all_indicators()]}
        for p in periods
    ]  # fmt: skip
    paid_on = payment.compensation(contract, start, end)
    results = contract_results(contract, start, end)
    return {
        "contract": contract, "form": form, "date_from": start, "date_to": end,
        "results": results, "by_period": by_period, "targets": targets,
        "chart": charts.against_reference(results, _("Avtal %(id)s mot kommunen och målen") % {"id": contract.contract_id}),
        "rules": list(contract.payment_rules.all()), "compensation": paid_on,
        "statements": list(contract.statements.order_by("-period_from", "-version")),
        "manages": manages_contracts(request.user),
    }  # fmt: skip


@login_required
@require_GET
def contract(request: HttpRequest, contract_id: str) -> HttpResponse:
    found = contract_for(request.user, contract_id)
    return render(request, "procurement/contract.html", _contract_context(request, found))


@login_required
@require_POST
def statement_create(request: HttpRequest, contract_id: str) -> HttpResponse:
    require_manager(request.user)
    found = contract_for(request.user, contract_id)
    form = PeriodForm(request.POST)
    back = reverse("procurement:contract", args=[found.contract_id])
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[k].label if k in form.fields else ''}: {' '.join(str(e) for e in v)}".lstrip(": ")
                           for k, v in form.errors.items())  # fmt: skip
        messages.error(request, f"Ingen avräkning skapades. {errors}")
        return redirect(back)
    try:
        statement = payment.draft_statement(found, form.cleaned_data["date_from"], form.cleaned_data["date_to"],
                                            request.user)  # fmt: skip
    except ValueError as exc:
        messages.error(request, f"Ingen avräkning skapades. {exc}")
        return redirect(back)
    messages.success(request, "Avräkningen är beräknad som utkast. Granska och godkänn den.")
    return redirect("procurement:statement", pk=statement.pk)


def _pseudonyms_for(request: HttpRequest, statement: Statement) -> dict[str, str]:
    """Pseudonyms of the counted interventions the reader may see (their own units'), audited."""
    ids = {e["intervention_id"] for r in statement.content["rules"] for e in r["evidence"]}
    visible = dict(
        Intervention.objects.for_user(request.user)
        .filter(contract=statement.contract, intervention_id__in=ids)
        .values_list("intervention_id", "client__pseudonym")
    )
    if visible:
        audit.record(request, action=AuditEntry.Action.VIEW, kind="interventions", ids=sorted(visible))
    return {k: v[:12] for k, v in visible.items()}


def _statement_context(request: HttpRequest, found: Statement) -> dict[str, Any]:
    shown = _pseudonyms_for(request, found)
    rules = []
    for r in found.content["rules"]:
        visible = [dict(e, pseudonym=shown[e["intervention_id"]]) for e in r["evidence"]
                   if e["intervention_id"] in shown]  # fmt: skip
        hidden = [e for e in r["evidence"] if e["intervention_id"] not in shown]
        rules.append({**r, "visible": visible, "hidden_n": len(hidden),
                      "hidden_events": sum(1 for e in hidden if e["event"])})  # fmt: skip
    return {
        "statement": found, "content": found.content, "rules": rules, "manages": manages_contracts(request.user),
        "min_n": settings.UTFALL_MIN_COUNT,
        "versions": Statement.objects.filter(contract=found.contract, period_from=found.period_from,
                                             period_to=found.period_to).order_by("version"),
    }  # fmt: skip


@login_required
@require_GET
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    found = statement_for(request.user, pk)
    return render(request, "procurement/statement.html", _statement_context(request, found))


@login_required
@require_POST
def statement_approve(request: HttpRequest, pk: int) -> HttpResponse:
    require_manager(request.user)
    found = statement_for(request.user, pk)
    try:
        payment.approve(found, request.user)
        messages.success(request, "Avräkningen är godkänd och kan inte längre ändras.")
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("procurement:statement", pk=found.pk)


@login_required
@require_POST
def statement_correct(request: HttpRequest, pk: int) -> HttpResponse:
    require_manager(request.user)
    found = statement_for(request.user, pk)
    try:
        new = payment.correct(found, request.user, request.POST.get("reason", ""))
    except ValueError as exc:
        messages.error(request, f"Ingen rättelse gjordes: {exc}")
        return redirect("procurement:statement", pk=found.pk)
    messages.success(
        request, f"Version {new.version} är beräknad som utkast; den gamla gäller tills den godkänns."
    )
    return redirect("procurement:statement", pk=new.pk)


@login_required
@require_GET
def statement_download(request: HttpRequest, pk: int) -> HttpResponse:
    found = statement_for(request.user, pk)
    body = statement_xlsx(found, _pseudonyms_for(request, found))
    response = HttpResponse(body, content_type=XLSX)
    name = (
        f"avrakning_{found.contract.contract_id}_{found.period_from}_{found.period_to}_v{found.version}.xlsx"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The statement page's own content as a printable PDF (WeasyPrint, as the reports'): the same
    counts, conditions and reasons, the same pseudonyms for the same reader (audited)."""
    from weasyprint import HTML

    found = statement_for(request.user, pk)
    context = _statement_context(request, found) | {"printed": True, "printed_at": timezone.localtime()}
    html = render_to_string("procurement/statement_print.html", context, request=request)
    body = bytes(HTML(string=html).write_pdf())
    response = HttpResponse(body, content_type="application/pdf")
    name = (
        f"avrakning_{found.contract.contract_id}_{found.period_from}_{found.period_to}_v{found.version}.pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def simulate(request: HttpRequest) -> HttpResponse:
    require_manager(request.user)
    form = RuleForm(request.GET if "kind" in request.GET else None)
    result = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            result = payment.simulate(_user(request).municipality, form.construct())
        else:
            status = 400
    return render(request, "procurement/simulate.html", {"form": form, "result": result}, status=status)


@login_required
@require_GET
def cost_page(request: HttpRequest) -> HttpResponse:
    require_manager(request.user)
    municipality = _user(request).municipality
    form, start, end = period_of(request, payment.last_year(municipality))
    rows = costs(municipality, start, end) if form.is_valid() or not form.is_bound else []
    return render(request, "procurement/costs.html", {"form": form, "rows": rows, "outcomes": OUTCOMES,
                                                      "date_from": start, "date_to": end},
                  status=200 if form.is_valid() or not form.is_bound else 400)  # fmt: skip


# --- the provider's own view ----------------------------------------------------------------


def _own_reports(provider: Any) -> list[dict[str, Any]]:
    """The provider's own figures beside the municipality's figure for the same measure and
    period; flagged when the provider's rate lies outside the municipality's 95 % interval."""
    out = []
    for report in ProviderReport.objects.filter(provider=provider).order_by("-period_from", "indicator")[:50]:
        row = scoped_row(provider.municipality, {"provider": provider.provider_id}, report.indicator,
                         report.period_from, report.period_to)  # fmt: skip
        own = report.events / report.n
        flag = ""
        if row["rate"] is not None:
            if own > row["ci_high"]:
                flag = "Högre än kommunens siffra, utanför dess 95 %-intervall"
            elif own < row["ci_low"]:
                flag = "Lägre än kommunens siffra, utanför dess 95 %-intervall"
        out.append({"report": report, "own": round(own, 4), "name": get_indicator(report.indicator).name,
                    "municipal": row, "flag": flag})  # fmt: skip
    return out


def _own_cases(provider: Any, responses: list[DeviationResponse]) -> list[dict[str, Any]]:
    """The in-depth follow-ups (oversight cases) about this provider, read-only: state, dates,
    contracts and the decided actions with their deadlines; never the reason, notes, documents
    or evidence (docs/procurement.md §5). A case opened from a proposal names the indicators
    and the period it was about, and the provider's responses to those deviations sit beside it."""
    today = timezone.localdate()
    out = []
    cases = (
        Case.objects.filter(municipality_id=provider.municipality_id, provider=provider)
        .prefetch_related("contracts", "actions__contract")
        .order_by("-opened_at")
    )
    for case in cases:
        try:
            period = Period.parse(case.period) if case.period else None
        except BadPeriod:
            period = None
        codes = [
            str(e.get("indicator")) for e in (case.evidence or {}).get("evidence", []) if e.get("indicator")
        ]
        deviations = []
        if period is not None:
            for code in dict.fromkeys(c for c in codes if c in all_indicators()):
                answered = [r for r in responses if r.indicator == code
                            and r.period_from <= period.date_to and r.period_to >= period.date_from]  # fmt: skip
                deviations.append(
                    {"indicator": code, "name": get_indicator(code).name, "responses": answered}
                )
        actions = [
            {"action": a, "overdue": a.is_overdue(today) and case.state != CaseState.CLOSED,
             "description": "" if contains_identity_number(a.description) else a.description}
            for a in case.actions.all()
        ]  # fmt: skip
        out.append({"case": case, "period": period, "deviations": deviations, "actions": actions})
    return out


def _provider_context(request: HttpRequest, provider: Any, **forms: Any) -> dict[str, Any]:
    municipality = provider.municipality
    form, start, end = period_of(request, payment.last_year(municipality))
    rows = [scoped_row(municipality, {"provider": provider.provider_id}, code, start, end)
            for code in DEFAULT_INDICATORS]  # fmt: skip
    written = list(DeviationResponse.objects.filter(provider=provider))
    responses = {(r.indicator, r.period_from, r.period_to): r for r in written}
    for row in rows:
        row["response"] = responses.get((row["indicator"], start, end))
    return {
        "provider": provider, "form": form, "date_from": start, "date_to": end, "rows": rows,
        "chart": charts.against_reference(rows, _("%(name)s mot kommunens nivå") % {"name": provider.name}),
        "contracts": Contract.objects.filter(provider=provider).prefetch_related("targets").order_by("valid_from"),
        "statements": Statement.objects.filter(contract__provider=provider).exclude(status=StatementStatus.DRAFT)
        .select_related("contract").order_by("-period_from", "-version"),
        "reports": _own_reports(provider),
        "figures_form": forms.get("figures_form") or OwnFiguresForm(provider=provider),
        "file_form": forms.get("file_form") or OwnFiguresFileForm(provider=provider),
        "responses": DeviationResponse.objects.filter(provider=provider)[:20],
        "cases": _own_cases(provider, written),
    }  # fmt: skip


@login_required
@require_GET
def provider_home(request: HttpRequest) -> HttpResponse:
    provider = require_provider(request.user)
    return render(request, "procurement/provider.html", _provider_context(request, provider))


@login_required
@require_POST
def provider_report(request: HttpRequest) -> HttpResponse:
    provider = require_provider(request.user)
    if "file" in request.FILES:
        return _provider_report_file(request, provider)
    form = OwnFiguresForm(request.POST, provider=provider)
    if not form.is_valid():  # shown again with what was written, nothing stored
        context = _provider_context(request, provider, figures_form=form)
        return render(request, "procurement/provider.html", context, status=400)
    report = form.save(commit=False)
    report.municipality, report.provider, report.reported_by = (
        provider.municipality,
        provider,
        by_username(request.user),
    )
    report.save()
    messages.success(request, "Era siffror är sparade och visas bredvid kommunens.")
    return redirect(reverse("procurement:provider_home") + "#egna-siffror")


def _provider_report_file(request: HttpRequest, provider: Any) -> HttpResponse:
    upload = OwnFiguresFileForm(request.POST, request.FILES, provider=provider)
    if not upload.is_valid():
        return render(request, "procurement/provider.html",
                      _provider_context(request, provider, file_form=upload), status=400)  # fmt: skip
    with transaction.atomic():
        for row in upload.rows:
            report = row.save(commit=False)
            report.municipality, report.provider = provider.municipality, provider
            report.reported_by = by_username(request.user)
            report.save()
    messages.success(request, f"{len(upload.rows)} rader är sparade och visas bredvid kommunens siffror.")
    return redirect(reverse("procurement:provider_home") + "#egna-siffror")


@login_required
@require_POST
def provider_respond(request: HttpRequest) -> HttpResponse:
    provider = require_provider(request.user)
    form = ResponseForm(request.POST)
    if not form.is_valid() or form.cleaned_data["indicator"] not in all_indicators():
        reasons = (
            " ".join(str(e) for e in form.errors.get("text", [])) or "skriv en text (högst 4 000 tecken)."
        )
        messages.error(request, f"Svaret sparades inte: {reasons}")
        return redirect("procurement:provider_home")
    DeviationResponse.objects.create(
        municipality=provider.municipality, provider=provider, indicator=form.cleaned_data["indicator"],
        period_from=form.cleaned_data["period_from"], period_to=form.cleaned_data["period_to"],
        text=form.cleaned_data["text"], written_by=by_username(request.user),
    )  # fmt: skip
    messages.success(request, "Ert svar är sparat och syns för kommunens avtalsförvaltare.")
    return redirect("procurement:provider_home")
