"""Pages of instruments: the administrator's editor (new version, edit draft, preview, publish),
pilot feedback per question, and the method support (metodstöd) for the follow-up conversation."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from utfall.followups.forms import FollowUpForm, new_token
from utfall.followups.models import Respondent
from utfall.followups.services import catalogue_for
from utfall.instruments import services
from utfall.instruments.forms import DefinitionForm, PublishForm
from utfall.instruments.guidance import MEANING
from utfall.instruments.loading import definition_of
from utfall.instruments.models import Instrument, InstrumentVersion, PublishedVersionIsReadOnly
from utfall.organisations.access import roles
from utfall.organisations.models import Role
from utfall.registry.models import Intervention, Provider, Service


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The editor is for administrators (staff) only."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied(_("Bara administratörer kan ändra frågeformulär."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _version(code: str, number: int) -> InstrumentVersion:
    return get_object_or_404(
        InstrumentVersion.objects.select_related("instrument"), instrument__code=code, version=number
    )


def _respondent_labels(version: InstrumentVersion) -> list[str]:
    labels = dict(Respondent.choices)
    return [str(labels.get(r, r)) for r in version.respondents]


@require_GET
@staff_required
def index(request: HttpRequest) -> HttpResponse:
    instruments = Instrument.objects.prefetch_related("versions").order_by("-general", "name")
    return render(request, "instruments/index.html", {"instruments": instruments})


@require_POST
@staff_required
def create_version(request: HttpRequest, code: str) -> HttpResponse:
    instrument = get_object_or_404(Instrument, code=code)
    draft = services.new_version(instrument=instrument)
    messages.success(request, _("Version %(n)s är skapad som utkast.") % {"n": draft.version})
    return redirect("instruments:edit", code=code, number=draft.version)


@require_GET
@staff_required
def version_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = _version(code, number)
    context = {
        "version": version,
        "questions": version.questions.prefetch_related("options"),
        "changed": services.differences(version),
        "publish_form": PublishForm(initial={"published_on": timezone.localdate()}),
        "respondents": _respondent_labels(version),
    }
    return render(request, "instruments/version.html", context)


@require_http_methods(["GET", "POST"])
@staff_required
def edit(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = _version(code, number)
    if version.is_read_only:
        messages.error(request, _("Versionen är publicerad och kan inte ändras. Skapa en ny version."))
        return redirect("instruments:version", code=code, number=number)
    if request.method == "GET":
        text = yaml.safe_dump(definition_of(version), allow_unicode=True, sort_keys=False, width=100)
        initial = {"definition": text, "respondents": version.respondents, "services": version.services.all()}
        form = DefinitionForm(initial=initial, instrument=version.instrument)
        return render(request, "instruments/edit.html", {"version": version, "form": form})
    form = DefinitionForm(request.POST, instrument=version.instrument)
    if not form.is_valid():
        return render(request, "instruments/edit.html", {"version": version, "form": form}, status=422)
    services.replace_definition(
        version=version,
        questions=form.cleaned_data["definition"],
        respondents=form.cleaned_data["respondents"],
        services=list(form.cleaned_data["services"]),
    )
    messages.success(request, _("Utkastet är sparat."))
    return redirect("instruments:version", code=code, number=number)


@require_GET
@staff_required
def preview(request: HttpRequest, code: str, number: int) -> HttpResponse:
    """The form exactly as the caseworker sees it, for an example intervention (nothing is saved)."""
    version = _version(code, number)
    service = version.services.order_by("name").first() or Service(name=_("(ingen insats vald)"))
    example = Intervention(
        intervention_id="EXEMPEL",
        service=service,
        provider=Provider(name=_("Exempelutföraren")),
        started_on=timezone.localdate(),
    )
    initial = {"token": new_token(), "date": timezone.localdate(), "respondent": version.respondents[0]}
    form = FollowUpForm(initial=initial, intervention=example, version=version, catalogue=catalogue_for())
    return render(
        request, "instruments/preview.html", {"version": version, "form": form, "intervention": example}
    )


@require_POST
@staff_required
def publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = _version(code, number)
    form = PublishForm(request.POST)
    if not form.is_valid():
        context = {
            "version": version,
            "questions": version.questions.prefetch_related("options"),
            "changed": services.differences(version),
            "publish_form": form,
            "respondents": _respondent_labels(version),
        }
        return render(request, "instruments/version.html", context, status=422)
    try:
        services.publish(version=version, published_on=form.cleaned_data["published_on"])
    except PublishedVersionIsReadOnly:
        messages.error(request, _("Versionen är redan publicerad och kan inte ändras."))
    except services.DefinitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Versionen är publicerad och kan inte längre ändras."))
    return redirect("instruments:version", code=code, number=number)


@require_GET
@login_required
def feedback(request: HttpRequest) -> HttpResponse:
    """Pilot feedback: per question and version, how often the client found it hard to understand."""
    allowed = {Role.ANALYST.value, Role.UNIT_MANAGER.value}
    if not (request.user.is_staff or roles(request.user) & allowed):
        raise PermissionDenied(_("Din roll ger inte tillgång till pilotåterkopplingen."))
    municipality = getattr(request.user, "municipality", None)
    rows = services.feedback_summary(municipality) if municipality is not None else []
    return render(request, "instruments/feedback.html", {"rows": rows, "municipality": municipality})


@require_GET
@login_required
def method(request: HttpRequest) -> HttpResponse:
    instruments = Instrument.objects.filter(versions__status=InstrumentVersion.Status.PUBLISHED).distinct()
    return render(
        request, "instruments/method.html", {"instruments": instruments.order_by("-general", "name")}
    )


@require_GET
@login_required
def guidance(request: HttpRequest, code: str) -> HttpResponse:
    """How to ask each question of an instrument's newest published version."""
    version = (
        InstrumentVersion.objects.filter(instrument__code=code, status=InstrumentVersion.Status.PUBLISHED)
        .select_related("instrument")
        .order_by("-version")
        .first()
    )
    if version is None:
        raise Http404
    questions = []
    for q in version.questions.prefetch_related("options"):
        options = list(q.options.all())
        questions.append(
            {
                "code": q.code,
                "text": q.text.replace("{provider}", _("utföraren")),
                "meaning": (q.help_text or MEANING.get(q.code, "")).replace("{provider}", _("utföraren")),
                "condition": q.condition_question,
                "positive": [o.label for o in options if o.positive],
                "not_counted": [o.label for o in options if not o.counts],
            }
        )
    return render(request, "instruments/guidance.html", {"version": version, "questions": questions})
