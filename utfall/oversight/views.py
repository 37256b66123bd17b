"""The oversight pages: thin views. The access helper fetches, a form validates, a function in
``actions`` writes (with history, audit and webhook), and the page redirects or shows the
form again with what was typed and a specific error."""

from __future__ import annotations

import json
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from utfall.core import audit
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp
from utfall.organisations.models import User
from utfall.oversight import actions, alerts, documents, exports, forms
from utfall.oversight.access import get_case_for_user, require_case_work, require_proposals
from utfall.oversight.models import TRANSITIONS, Case, CaseAction, CaseState, Document, PlanReview
from utfall.oversight.periods import BadPeriod, Period
from utfall.oversight.priority import priority_list
from utfall.registry.models import Provider

CSV = "text/csv; charset=utf-8"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _municipality_id(request: HttpRequest) -> int:
    """The signed-in user's municipality (the access helpers have already required one)."""
    found = _user(request).municipality_id
    if found is None:
        raise PermissionDenied("Kontot är inte kopplat till någon kommun.")
    return found


def _attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _apply_errors(form: Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- proposals and the priority list ------------------------------------------------------


def _proposals(request: HttpRequest) -> tuple[forms.PeriodForm, Any]:
    require_proposals(request.user)
    data = request.GET.copy()
    data.setdefault("period", forms.default_period())
    form = forms.PeriodForm(data)
    if not form.is_valid():
        return form, None
    user = _user(request)
    found = priority_list(user.municipality, form.cleaned_data["period"],  # type: ignore[arg-type]
                          only_new=form.cleaned_data["only_new"], sort=form.cleaned_data["sort"] or "evidence")  # fmt: skip
    return form, found


def _proposal_download(request: HttpRequest, found: Any) -> HttpResponse | None:
    fmt = request.GET.get("format", "")
    if found is None or fmt not in ("csv", "json"):
        return None
    stem = f"avvikelseforslag_{found.period.label}"
    audit.record(request, action=AuditEntry.Action.EXPORT, kind="proposals", ids=[found.period.label])
    if fmt == "csv":
        return _attachment(exports.proposals_csv(found), CSV, f"{stem}.csv")
    body = json.dumps(exports.proposals_json(found), ensure_ascii=False, indent=1)
    return _attachment(body, "application/json", f"{stem}.json")


@login_required
@require_GET
def proposals(request: HttpRequest) -> HttpResponse:
    return _proposal_page(request, "oversight/proposals.html")


@login_required
@require_GET
def priority(request: HttpRequest) -> HttpResponse:
    return _proposal_page(request, "oversight/priority.html")


def _proposal_page(request: HttpRequest, template: str) -> HttpResponse:
    """The proposals and the priority list: the same computation and downloads, two layouts."""
    form, found = _proposals(request)
    download = _proposal_download(request, found)
    if download is not None:
        return download
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, template, {"form": form, "found": found, "query": query.urlencode()},
                  status=200 if form.is_valid() else 400)  # fmt: skip


# --- cases ------------------------------------------------------------------------------


@login_required
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    require_case_work(request.user)
    user = _user(request)
    found = (
        Case.objects.of(user.municipality_id)
        .select_related("provider", "owner")
        .prefetch_related("contracts")
    )
    state = request.GET.get("state", "")
    if state in CaseState.values:
        found = found.filter(state=state)
    mine = request.GET.get("mina") == "1"
    if mine:
        found = found.filter(owner=user)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "json", "actions"):
        audit.record(
            request, action=AuditEntry.Action.EXPORT, kind="cases", ids=[c.reference for c in found] or ["-"]
        )
        stamp = timezone.localdate().isoformat()
        if fmt == "csv":
            return _attachment(exports.cases_csv(found), CSV, f"fordjupade_uppfoljningar_{stamp}.csv")
        if fmt == "actions":
            taken = CaseAction.objects.filter(case__in=found).select_related("case__provider", "contract")
            return _attachment(exports.actions_csv(taken), CSV, f"atgarder_{stamp}.csv")
        rows = exports.cases_json(found.prefetch_related("actions__contract"))
        return _attachment(json.dumps({"cases": rows}, ensure_ascii=False, indent=1), "application/json",
                           f"fordjupade_uppfoljningar_{stamp}.json")  # fmt: skip
    today = timezone.localdate()
    overdue = set(
        CaseAction.objects.filter(case__in=found, done_on__isnull=True, deadline__lt=today).values_list(
            "case_id", flat=True
        )
    )
    page = Paginator(found, 50).get_page(request.GET.get("sida"))
    return render(request, "oversight/cases.html", {"page": page, "state": state, "states": CaseState.choices,
                                                    "overdue": overdue, "mine": mine})  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def case_create(request: HttpRequest) -> HttpResponse:
    require_case_work(request.user)
    user = _user(request)
    source = request.POST if request.method == "POST" else request.GET
    provider = Provider.objects.filter(municipality_id=_municipality_id(request),
                                       provider_id=source.get("utforare", "")).first()  # fmt: skip
    period_text = source.get("period", "")
    proposal = None
    if provider is not None and period_text:
        require_proposals(user)
        try:
            period = Period.parse(period_text)
        except BadPeriod:
            period_text = ""  # not a period: the case is opened by hand
        else:
            found = priority_list(user.municipality, period)  # type: ignore[arg-type]
            shown = found.deviations + found.positives
            proposal = next((p for p in shown if p.provider_id == provider.provider_id), None)
    if request.method == "POST":
        form = forms.CaseForm(request.POST, user=user, provider=provider)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = actions.open_case(
                    request=request, user=user, provider=data["provider"], owner=data["owner"], title=data["title"],
                    reason=data["reason"], contracts=list(data["contracts"]),
                    period=period_text if proposal else "",
                    evidence=proposal.as_json() if proposal else None,
                )  # fmt: skip
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(
                    request, _("Fördjupad uppföljning %(ref)s är öppnad.") % {"ref": case.reference}
                )
                return redirect("oversight:case", pk=case.pk)
        status = 400
    else:
        initial: dict[str, Any] = {
            "owner": user.pk if user in forms.case_workers(_municipality_id(request)) else None
        }
        if provider is not None:
            initial["provider"] = provider.pk
            initial["title"] = f"Fördjupad uppföljning av {provider.name}"
        if proposal is not None:
            initial["reason"] = (
                "Avvikelseförslag " + period_text + ": " + "; ".join(proposal.rule_labels) + "."
            )
            initial["contracts"] = [c.pk for c in provider.contracts.all()] if provider else []  # type: ignore[union-attr]
            initial["period"] = period_text
        form = forms.CaseForm(initial=initial, user=user, provider=provider)
        status = 200
    return render(request, "oversight/case_form.html", {"form": form, "provider": provider, "proposal": proposal,
                                                        "period": period_text}, status=status)  # fmt: skip


def _case_page(request: HttpRequest, case: Case, status: int = 200, **bound: Form) -> HttpResponse:
    user = _user(request)
    today = timezone.localdate()
    context = {
        "case": case,
        "events": case.events.select_related("user"),
        "actions": case.actions.select_related("contract"),
        "documents": case.documents.all(),
        "today": today,
        "next_states": [(s, CaseState(s).label) for s in TRANSITIONS[case.state]],
        "move_form": bound.get("move_form") or forms.MoveForm(),
        "note_form": bound.get("note_form") or forms.NoteForm(),
        "owner_form": bound.get("owner_form") or forms.OwnerForm(initial={"owner": case.owner_id}, user=user),
        "document_form": bound.get("document_form") or forms.DocumentForm(),
        "action_form": bound.get("action_form") or forms.ActionForm(case=case),
        "done_form": bound.get("done_form") or forms.DoneForm(initial={"done_on": today}),
        "max_mb": documents.max_bytes() // (1024 * 1024),
        "allowed": documents.ALLOWED_TEXT,
    }
    audit.record(request, action=AuditEntry.Action.VIEW, kind="cases", ids=[case.reference])
    return render(request, "oversight/case.html", context, status=status)


@login_required
@require_GET
def case(request: HttpRequest, pk: int) -> HttpResponse:
    return _case_page(request, get_case_for_user(request.user, pk))


def _write(request: HttpRequest, pk: int, name: str, form: Form, write: Any, done: str) -> HttpResponse:
    """Validate ``form`` and call ``write(case, cleaned_data)``; the case page again on error."""
    found = get_case_for_user(request.user, pk)
    if form.is_valid():
        try:
            write(found, form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("oversight:case", pk=found.pk)
    return _case_page(request, found, status=400, **{name: form})


@login_required
@require_POST
def case_move(request: HttpRequest, pk: int) -> HttpResponse:
    def write(c: Case, d: dict[str, Any]) -> None:
        actions.move_case(
            request=request, user=_user(request), case=c, state=d["state"], comment=d["comment"]
        )

    return _write(request, pk, "move_form", forms.MoveForm(request.POST), write, _("Status ändrad."))


@login_required
@require_POST
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    def write(c: Case, d: dict[str, Any]) -> None:
        actions.add_note(request=request, user=_user(request), case=c, text=d["text"])

    return _write(request, pk, "note_form", forms.NoteForm(request.POST), write, _("Anteckningen är sparad."))


@login_required
@require_POST
def case_owner(request: HttpRequest, pk: int) -> HttpResponse:
    def write(c: Case, d: dict[str, Any]) -> None:
        actions.change_owner(request=request, user=_user(request), case=c, owner=d["owner"])

    return _write(
        request,
        pk,
        "owner_form",
        forms.OwnerForm(request.POST, user=_user(request)),
        write,
        _("Ansvarig ändrad."),
    )


@login_required
@require_POST
def case_document(request: HttpRequest, pk: int) -> HttpResponse:
    def write(c: Case, d: dict[str, Any]) -> None:
        actions.attach_to_case(request=request, user=_user(request), case=c, upload=d["file"])

    return _write(request, pk, "document_form", forms.DocumentForm(request.POST, request.FILES), write,
                  _("Dokumentet är bifogat."))  # fmt: skip


@login_required
@require_POST
def case_action(request: HttpRequest, pk: int) -> HttpResponse:
    found = get_case_for_user(request.user, pk)

    def write(c: Case, d: dict[str, Any]) -> None:
        actions.decide_action(request=request, user=_user(request), case=c, kind=d["kind"], decided_on=d["decided_on"],
                              description=d["description"], reason=d["reason"], deadline=d["deadline"],
                              contract=d["contract"])  # fmt: skip

    return _write(
        request,
        pk,
        "action_form",
        forms.ActionForm(request.POST, case=found),
        write,
        _("Åtgärden är registrerad."),
    )


@login_required
@require_POST
def action_done(request: HttpRequest, pk: int) -> HttpResponse:
    require_case_work(request.user)
    user = _user(request)
    action = get_object_or_404(
        CaseAction.objects.select_related("case"), pk=pk, case__municipality_id=_municipality_id(request)
    )

    def write(c: Case, d: dict[str, Any]) -> None:
        actions.complete_action(request=request, user=user, action=action, done_on=d["done_on"])

    return _write(
        request,
        action.case_id,
        "done_form",
        forms.DoneForm(request.POST),
        write,
        _("Åtgärden är markerad som genomförd."),
    )


@login_required
@require_GET
def document(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A document, to those who may work on cases of its municipality (404 otherwise)."""
    require_case_work(request.user)
    found = Document.objects.filter(pk=pk, municipality_id=_municipality_id(request)).first()
    if found is None:
        raise Http404("Dokumentet finns inte.")
    try:
        handle = open(documents.path_of(found.stored_name), "rb")  # noqa: SIM115 (FileResponse closes it)
    except FileNotFoundError:
        raise Http404("Dokumentets fil saknas.") from None
    owner = found.case.reference if found.case is not None else f"uppfoljning:{found.record_id}"
    ids = [owner, f"dokument:{found.pk}"]
    audit.record(request, action=AuditEntry.Action.VIEW, kind="documents", ids=ids)
    response = FileResponse(
        handle, as_attachment=True, filename=found.original_name, content_type=found.content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- contract and operations follow-up records ------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def record_create(request: HttpRequest, provider_id: str) -> HttpResponse:
    require_case_work(request.user)
    user = _user(request)
    provider = Provider.objects.filter(
        municipality_id=_municipality_id(request), provider_id=provider_id
    ).first()
    if provider is None:
        raise Http404("Utföraren finns inte.")
    if request.method == "POST":
        form = forms.RecordForm(request.POST, request.FILES, provider=provider)
        if form.is_valid():
            d = form.cleaned_data
            try:
                actions.record_followup(request=request, user=user, provider=provider, kind=d["kind"], date=d["date"],
                                        scope=d["scope"], findings=d["findings"], verdict=d["verdict"],
                                        contract=d["contract"], upload=d.get("file"))  # fmt: skip
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Uppföljningen är registrerad."))
                return redirect(
                    reverse("results:provider", kwargs={"provider_id": provider.provider_id}) + "#uppfoljning"
                )
        status = 400
    else:
        form = forms.RecordForm(provider=provider, initial={"date": timezone.localdate()})
        status = 200
    return render(request, "oversight/record_form.html", {"form": form, "provider": provider,
                                                          "max_mb": documents.max_bytes() // (1024 * 1024),
                                                          "allowed": documents.ALLOWED_TEXT}, status=status)  # fmt: skip


# --- alerts on one follow-up ------------------------------------------------------------


def _require_case_role(request: HttpRequest) -> None:
    from utfall.organisations.access import sees_cases

    if not sees_cases(request.user):
        raise PermissionDenied(
            "Larmen gäller enskilda klienters uppföljningar: för enhetens socialsekreterare och enhetschef."
        )


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    _require_case_role(request)
    found = alerts.alerts_for(request.user, today=timezone.localdate())
    page = Paginator(found, 50).get_page(request.GET.get("sida"))
    audit.record(request, action=AuditEntry.Action.LIST, kind="followups", ids=[f.followup_id for f in page])
    return render(request, "oversight/alerts.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def alert_review(request: HttpRequest, pk: int) -> HttpResponse:
    _require_case_role(request)
    followup = (
        FollowUp.objects.for_user(request.user)
        .select_related("intervention__provider", "intervention__service")
        .filter(pk=pk)
        .first()
    )
    if followup is None:
        audit.refused_if_exists(
            request, FollowUp.objects.all(), kind="followups", id_field="followup_id", pk=pk
        )
        raise Http404("Uppföljningen finns inte.")
    if request.method == "POST":
        form = forms.PlanReviewForm(request.POST)
        if form.is_valid():
            try:
                actions.review_plan(request=request, user=_user(request), followup=followup,
                                    reviewed_on=form.cleaned_data["reviewed_on"], note=form.cleaned_data["note"])  # fmt: skip
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Planen är markerad som genomgången."))
                return redirect("home")
        status = 400
    else:
        form = forms.PlanReviewForm(initial={"reviewed_on": timezone.localdate()})
        status = 200
        audit.record(request, action=AuditEntry.Action.VIEW, kind="followups", ids=[followup.followup_id])
    review = PlanReview.objects.filter(followup=followup).select_related("reviewed_by").first()
    return render(request, "oversight/alert_review.html", {"form": form, "followup": followup, "review": review,
                                                           "reasons": alerts.reasons(followup)}, status=status)  # fmt: skip
