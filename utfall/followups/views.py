"""Pages of the caseworker's follow-up: the worklist, the form, a follow-up and its correction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from utfall.core import audit
from utfall.core.models import AuditEntry, ChangeRecord
from utfall.followups import queries, services
from utfall.followups.access import get_followup_for_user
from utfall.followups.catalogues import catalogue_for
from utfall.followups.coverage import DEFINITION
from utfall.followups.feedback import record_feedback
from utfall.followups.forms import (
    GUIDING_QUESTIONS,
    CorrectionForm,
    FollowUpForm,
    initial_for_correction,
    new_token,
)
from utfall.followups.models import Assessment, FollowUp, FollowUpStatus
from utfall.instruments.models import InstrumentVersion, Option, Question
from utfall.organisations.access import is_unit_manager, sees_cases
from utfall.registry.access import get_intervention_for_user
from utfall.registry.models import Intervention

PAGE_SIZE = 50


def case_access_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Only caseworkers and unit managers with a unit reach individual cases at all."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sees_cases(request.user):
            raise PermissionDenied(_("Din roll ger inte tillgång till enskilda ärenden."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _is_htmx(request: HttpRequest) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _with_questions(version: InstrumentVersion) -> InstrumentVersion:
    """The version with its questions and options in two queries."""
    options = Prefetch("options", queryset=Option.objects.order_by("position"))
    questions = Prefetch(
        "questions", queryset=Question.objects.order_by("position").prefetch_related(options)
    )
    return (
        InstrumentVersion.objects.select_related("instrument").prefetch_related(questions).get(pk=version.pk)
    )


@require_GET
@case_access_required
def worklist(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    items = queries.due_items(request.user, today=today)
    params = {name: request.GET.get(name, "") for name in ("service", "provider", "due", "sort")}
    if params["sort"] not in queries.SORTS:
        params["sort"] = "due"
    services_present = sorted(
        {(w.intervention.service.code, w.intervention.service.name) for w in items}, key=lambda s: s[1]
    )
    providers_present = sorted(
        {(w.intervention.provider.provider_id, w.intervention.provider.name) for w in items},
        key=lambda p: p[1],
    )
    shown = queries.filter_and_sort(items, **params)
    page = Paginator(shown, PAGE_SIZE).get_page(request.GET.get("sida"))
    audit.record(
        request,
        action=AuditEntry.Action.LIST,
        kind="interventions",
        ids=[w.intervention.intervention_id for w in page.object_list],
    )
    query = {k: v for k, v in params.items() if v}
    context: dict[str, Any] = {
        "page": page,
        "columns": _columns(query, params["sort"]),
        "page_query": urlencode(query) + "&" if query else "",
        "params": params,
        "total": len(items),
        "overdue": sum(w.overdue for w in items),
        "services": services_present,
        "providers": providers_present,
        "today": today,
    }
    if is_unit_manager(request.user):
        start, rows, total = queries.coverage(request.user, today=today)
        context["coverage"] = {"start": start, "rows": rows, "total": total, "definition": DEFINITION}
    template = "followups/worklist.html#results" if _is_htmx(request) else "followups/worklist.html"
    return render(request, template, context)


def _columns(query: dict[str, str], current: str) -> list[tuple[str, str, str]]:
    """Header cells of the worklist: (label, sort link or "", aria-sort)."""
    columns = []
    for key, label in (
        ("service", _("Insats")),
        ("provider", _("Utförare")),
        ("started", _("Startade")),
        ("", _("Senaste uppföljning")),
        ("due", _("Förfaller")),
    ):
        if not key:
            columns.append((label, "", ""))
            continue
        target = "-due" if key == "due" and current == "due" else key
        url = "?" + urlencode({**query, "sort": target})
        aria = "ascending" if current == key else "descending" if current == f"-{key}" else ""
        columns.append((label, url, aria))
    return columns


@require_GET
@case_access_required
def history(request: HttpRequest) -> HttpResponse:
    """Follow-ups of the user's units, newest first, searchable by id and filtered by provider,
    service, status and date: what was recorded and corrected."""
    followups = FollowUp.objects.for_user(request.user)
    choices = {
        "services": sorted(
            set(
                followups.values_list("intervention__service__code", "intervention__service__name").distinct()
            ),
            key=lambda s: s[1],
        ),
        "providers": sorted(
            set(
                followups.values_list(
                    "intervention__provider__provider_id", "intervention__provider__name"
                ).distinct()
            ),
            key=lambda p: p[1],
        ),
        "statuses": FollowUpStatus.choices,
    }
    params = {
        name: request.GET.get(name, "").strip()
        for name in ("q", "service", "provider", "status", "from", "to")
    }
    errors = []
    if params["q"]:
        q = params["q"].upper().replace(" ", "")
        followups = followups.filter(
            Q(intervention__intervention_id__icontains=q)
            | Q(followup_id__icontains=q)
            | Q(intervention__intervention_id__icontains=params["q"])
        )
    if params["service"]:
        followups = followups.filter(intervention__service__code=params["service"])
    if params["provider"]:
        followups = followups.filter(intervention__provider__provider_id=params["provider"])
    if params["status"]:
        followups = followups.filter(status=params["status"])
    for name, lookup, label in (("from", "date__gte", _("Från")), ("to", "date__lte", _("Till"))):
        if params[name]:
            try:
                followups = followups.filter(**{lookup: dt.date.fromisoformat(params[name])})
            except ValueError:
                errors.append(_("%(label)s: ange datum som ÅÅÅÅ-MM-DD.") % {"label": label})
    followups = followups.select_related(
        "intervention__service", "intervention__provider", "created_by"
    ).order_by("-created_at", "-pk")
    page = Paginator(followups, PAGE_SIZE).get_page(request.GET.get("sida"))
    audit.record(request, action=AuditEntry.Action.LIST, kind="followups", ids=[f.followup_id for f in page])
    query = {k: v for k, v in params.items() if v}
    context = {
        "page": page,
        "params": params,
        "errors": errors,
        "filtered": bool(query),
        "page_query": urlencode(query) + "&" if query else "",
        **choices,
    }
    return render(request, "followups/history.html", context)


def _render_form(
    request: HttpRequest, template: str, form: FollowUpForm, intervention: Intervention, **extra: Any
) -> HttpResponse:
    status = 200 if not form.is_bound or form.is_valid() else 422
    context = {"form": form, "intervention": intervention, "version": form.version, **extra}
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
@case_access_required
def create(request: HttpRequest, pk: int) -> HttpResponse:
    """The follow-up form for one intervention (GET) and its submission (POST)."""
    action = AuditEntry.Action.CREATE if request.method == "POST" else AuditEntry.Action.VIEW
    intervention = get_intervention_for_user(request, pk, action=action)
    offered = services.instruments_for(intervention)
    version = services.instrument_for(intervention, request.GET.get("instrument"), offered)
    if version is None:
        messages.error(request, _("Det finns inget publicerat frågeformulär för den här insatsen."))
        return redirect("registry:intervention", pk=intervention.pk)
    version = _with_questions(version)
    catalogue = catalogue_for(municipality_id=intervention.municipality_id)
    if request.method == "GET":
        initial = {"token": new_token(), "date": timezone.localdate(), "respondent": "client"}
        form = FollowUpForm(initial=initial, intervention=intervention, version=version, catalogue=catalogue)
        return _render_form(request, "followups/form.html", form, intervention, offered=offered)
    form = FollowUpForm(request.POST, intervention=intervention, version=version, catalogue=catalogue)
    if not form.is_valid():
        return _render_form(request, "followups/form.html", form, intervention, offered=offered)
    assert form.checked is not None
    try:
        followup, created = services.record_followup(
            user=request.user,  # type: ignore[arg-type]
            intervention=intervention,
            checked=form.checked,
            catalogue=catalogue,
            idempotency_key=form.idempotency_key(),
            form_seconds=form.seconds_open(),
            confirm_same_day=bool(form.cleaned_data.get("same_day")),
            no_answer_reason=form.cleaned_data.get("no_answer_reason") or "",
        )
    except services.SameDayFollowUp:
        form.add_error(
            "same_day",
            _(
                "Insatsen har redan en uppföljning med det här datumet. Kryssa i rutan om det är en "
                "ny uppföljning; annars är den redan sparad och du kan avbryta."
            ),
        )
        return _render_form(request, "followups/form.html", form, intervention, offered=offered)
    except services.IdempotencyConflict as exc:
        # The same form was sent again with other answers after it was stored: show what was stored.
        messages.warning(request, _("Uppföljningen var redan sparad. Rätta den om något ska ändras."))
        return redirect("followups:detail", pk=exc.record_pk)
    if created:
        record_feedback(followup=followup, codes=form.hard_questions())
        messages.success(request, _("Uppföljningen är sparad."))
    else:
        messages.info(request, _("Uppföljningen var redan sparad; inget sparades två gånger."))
    return redirect("followups:detail", pk=followup.pk)


@require_GET
@case_access_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A follow-up in words, printable for the client's case file (personakten)."""
    followup = get_followup_for_user(request, pk)
    answers = followup.answers.select_related("question", "option").order_by("question__position")
    context = {
        "followup": followup,
        "intervention": followup.intervention,
        "answers": [
            (a.question.text.replace("{provider}", followup.intervention.provider.name), a.option.label)
            for a in answers
        ],
        "history": [_in_words(change, followup) for change in services.history_of(followup)],
        "can_correct": followup.can_be_corrected_by(request.user),
        "guiding": [
            (GUIDING_QUESTIONS[code], getattr(followup, f"get_{code}_display")())
            for code in GUIDING_QUESTIONS
            if getattr(followup, code)
        ],
        "version": followup.instrument_version,
        "now": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    }
    return render(request, "followups/detail.html", context)


def _in_words(change: ChangeRecord, followup: FollowUp) -> dict[str, Any]:
    """An earlier version (stored in its interchange form, as codes) in words: each question's
    text and the chosen option's label from the instrument version it was answered with."""
    data = change.data
    code, _at, number = str(data.get("instrument", "")).partition("@")
    version = (
        InstrumentVersion.objects.filter(instrument__code=code, version=int(number)).first()
        if number.isdigit()
        else None
    ) or followup.instrument_version
    questions = {q.code: q for q in Question.objects.filter(version=version).prefetch_related("options")}
    provider = followup.intervention.provider.name
    answers = []
    for question_code, option_code in data.get("answers", {}).items():
        q = questions.get(question_code)
        labels = {o.code: o.label for o in q.options.all()} if q else {}
        text = q.text.replace("{provider}", provider) if q else question_code
        answers.append((text, labels.get(option_code, option_code)))
    return {
        "change": change,
        "date": data.get("date", ""),
        "status": dict(FollowUpStatus.choices).get(data.get("status", ""), data.get("status", "")),
        "answers": answers,
        "assessment": dict(Assessment.choices).get(data.get("assessment", ""), data.get("assessment", "")),
    }


@require_http_methods(["GET", "POST"])
@case_access_required
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    action = AuditEntry.Action.CORRECT if request.method == "POST" else AuditEntry.Action.VIEW
    followup = get_followup_for_user(request, pk, action=action)
    if not followup.can_be_corrected_by(request.user):
        raise PermissionDenied(_("Bara den som gjorde uppföljningen eller enhetschefen kan rätta den."))
    intervention = followup.intervention
    version = _with_questions(followup.instrument_version)
    catalogue = catalogue_for(municipality_id=followup.municipality_id)
    kwargs: dict[str, Any] = {
        "intervention": intervention,
        "version": version,
        "catalogue": catalogue,
        "followup": followup,
    }
    if request.method == "GET":
        form = CorrectionForm(initial=initial_for_correction(followup), **kwargs)
        return _render_form(request, "followups/correct.html", form, intervention, followup=followup)
    form = CorrectionForm(request.POST, **kwargs)
    if not form.is_valid():
        return _render_form(request, "followups/correct.html", form, intervention, followup=followup)
    assert form.checked is not None
    try:
        _corrected, changed = services.correct_followup(
            user=request.user,  # type: ignore[arg-type]
            followup=followup,
            checked=form.checked,
            catalogue=catalogue,
            reason=form.cleaned_data["reason"],
            base_version=form.cleaned_data["base_version"],
            no_answer_reason=form.cleaned_data.get("no_answer_reason") or "",
        )
    except services.StaleVersion:
        form.add_error(
            None,
            _("Någon annan har rättat uppföljningen efter att du öppnade formuläret. Öppna den på nytt."),
        )
        return _render_form(request, "followups/correct.html", form, intervention, followup=followup)
    if changed:
        messages.success(request, _("Rättelsen är sparad. Den tidigare versionen finns kvar i historiken."))
    else:
        messages.info(request, _("Rättelsen var redan sparad."))
    return redirect("followups:detail", pk=followup.pk)
