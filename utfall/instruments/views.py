"""Pages of instruments: the administrator's editor (new version, edit draft, publish) and the
method support (metodstöd) for the follow-up conversation. The preview of the follow-up form
and the pilot feedback show follow-ups and are in ``utfall.followups.instrument_views``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

import yaml
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from utfall.instruments import access, services
from utfall.instruments.forms import (
    DefinitionForm,
    LocalInstrumentForm,
    OptionFormSet,
    PublishForm,
    QuestionForm,
    SettingsForm,
)
from utfall.instruments.guidance import MEANING
from utfall.instruments.loading import definition_of
from utfall.instruments.models import Instrument, InstrumentVersion, PublishedVersionIsReadOnly, Respondent
from utfall.organisations.models import User


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The editor needs a named permission, not merely being staff (docs/access.md): the
    shared instruments change every municipality's questionnaire (system administrators);
    a municipality's instrument editors change only their own local instruments. Which
    instrument a page may touch is checked by ``editable_version``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.may_use_editor(request.user):
            raise PermissionDenied(_("Bara systemadministratörer kan ändra de gemensamma frågeformulären."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def editable_instrument(request: HttpRequest, code: str) -> Instrument:
    """The instrument if the user may edit it: another municipality's local instrument is not
    found (404), a shared one without the permission is refused (403)."""
    instrument = get_object_or_404(
        Instrument.objects.filter(access.visible_to_municipality(access.municipality_of(request.user))),
        code=code,
    )
    if not access.may_edit(request.user, instrument):
        raise PermissionDenied(_("Du får inte ändra det här frågeformuläret."))
    return instrument


def editable_version(request: HttpRequest, code: str, number: int) -> InstrumentVersion:
    instrument = editable_instrument(request, code)
    return get_object_or_404(
        InstrumentVersion.objects.select_related("instrument"), instrument=instrument, version=number
    )


def _respondent_labels(version: InstrumentVersion) -> list[str]:
    labels = dict(Respondent.choices)
    return [str(labels.get(r, r)) for r in version.respondents]


@require_GET
@staff_required
def index(request: HttpRequest) -> HttpResponse:
    instruments = access.editable(request.user, Instrument.objects.prefetch_related("versions"))
    context: dict[str, Any] = {"instruments": instruments.order_by("municipality_id", "-general", "name")}
    if access.may_edit_local(request.user):
        context["local_form"] = LocalInstrumentForm()
    return render(request, "instruments/index.html", context)


@require_POST
@staff_required
def create_instrument(request: HttpRequest) -> HttpResponse:
    """A new local instrument of the user's own municipality, with an empty first draft."""
    if not access.may_edit_local(request.user):
        raise PermissionDenied(_("Bara kommunens frågeformulärsansvariga kan skapa lokala frågeformulär."))
    municipality = cast(User, request.user).municipality
    form = LocalInstrumentForm(request.POST, municipality=municipality)
    if not form.is_valid():
        instruments = access.editable(request.user, Instrument.objects.prefetch_related("versions"))
        context = {
            "instruments": instruments.order_by("municipality_id", "-general", "name"),
            "local_form": form,
        }
        return render(request, "instruments/index.html", context, status=422)
    instrument = services.create_local_instrument(
        municipality=municipality, code=form.cleaned_data["code"], name=form.cleaned_data["name"]
    )
    messages.success(request, _("Frågeformuläret %(name)s är skapat som utkast.") % {"name": instrument.name})
    return redirect("instruments:edit", code=instrument.code, number=1)


@require_POST
@staff_required
def create_version(request: HttpRequest, code: str) -> HttpResponse:
    instrument = editable_instrument(request, code)
    draft = services.new_version(instrument=instrument)
    messages.success(request, _("Version %(n)s är skapad som utkast.") % {"n": draft.version})
    return redirect("instruments:edit", code=code, number=draft.version)


@require_GET
@staff_required
def version_detail(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = editable_version(request, code, number)
    loss = [] if version.is_read_only else services.history_loss(version)
    form = PublishForm(initial={"published_on": timezone.localdate()}, loss=loss)
    return _version_page(request, version, form)


def _version_page(
    request: HttpRequest, version: InstrumentVersion, publish_form: PublishForm, status: int = 200
) -> HttpResponse:
    context = {
        "version": version,
        "questions": version.questions.prefetch_related("options"),
        "changed": services.differences(version),
        "publish_form": publish_form,
        "loss": publish_form.loss,
        "respondents": _respondent_labels(version),
    }
    return render(request, "instruments/version.html", context, status=status)


def draft_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An editor view of a draft, called with the version instead of its code and number; a
    published version sends the administrator back to its page with a message."""

    @wraps(view)
    def wrapper(request: HttpRequest, code: str, number: int, **kwargs: Any) -> HttpResponse:
        version = editable_version(request, code, number)
        if version.is_read_only:
            messages.error(request, _("Versionen är publicerad och kan inte ändras. Skapa en ny version."))
            return redirect("instruments:version", code=code, number=number)
        return view(request, version, **kwargs)

    return staff_required(wrapper)


def _editor(
    request: HttpRequest, version: InstrumentVersion, settings: SettingsForm, status: int = 200
) -> HttpResponse:
    questions = definition_of(version)["questions"]
    context = {"version": version, "form": settings, "questions": questions}
    return render(request, "instruments/edit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@draft_required
def edit(request: HttpRequest, version: InstrumentVersion) -> HttpResponse:
    """A draft field by field: who answers and for which services (this form), and its
    questions, each edited, moved or removed on its own."""
    if request.method == "GET":
        initial = {"respondents": version.respondents, "services": version.services.all()}
        return _editor(request, version, SettingsForm(initial=initial))
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return _editor(request, version, form, status=422)
    services.update_settings(
        version=version,
        respondents=form.cleaned_data["respondents"],
        services=list(form.cleaned_data["services"]),
    )
    messages.success(request, _("Svarande och insatser är sparade."))
    return redirect("instruments:edit", code=version.instrument.code, number=version.version)


@require_http_methods(["GET", "POST"])
@draft_required
def edit_text(request: HttpRequest, version: InstrumentVersion) -> HttpResponse:
    """The whole draft as its YAML definition (the shape of the shipped files), for bigger changes."""
    if request.method == "GET":
        text = yaml.safe_dump(definition_of(version), allow_unicode=True, sort_keys=False, width=100)
        initial = {"definition": text, "respondents": version.respondents, "services": version.services.all()}
        form = DefinitionForm(initial=initial, instrument=version.instrument)
        return render(request, "instruments/edit_text.html", {"version": version, "form": form})
    form = DefinitionForm(request.POST, instrument=version.instrument)
    if not form.is_valid():
        return render(request, "instruments/edit_text.html", {"version": version, "form": form}, status=422)
    try:
        services.replace_definition(
            version=version,
            questions=form.cleaned_data["definition"],
            respondents=form.cleaned_data["respondents"],
            services=list(form.cleaned_data["services"]),
        )
    except services.DefinitionError as exc:
        form.add_error("definition", str(exc))
        return render(request, "instruments/edit_text.html", {"version": version, "form": form}, status=422)
    messages.success(request, _("Utkastet är sparat."))
    return redirect("instruments:version", code=version.instrument.code, number=version.version)


@require_http_methods(["GET", "POST"])
@draft_required
def edit_question(
    request: HttpRequest, version: InstrumentVersion, question: str | None = None
) -> HttpResponse:
    """One question of a draft: code, text, help text, condition, answer options (which are
    positive, which count). ``question`` None adds a new one last."""
    questions = definition_of(version)["questions"]
    codes = [q["code"] for q in questions]
    if question is not None and question not in codes:
        raise Http404
    position = codes.index(question) if question is not None else len(questions)
    earlier = questions[:position]
    current = questions[position] if question is not None else None
    # An edited question's text is compared with its own code's in the previous published version.
    previous = {c: q.text for c, q in services.previous_questions(version).items() if c == question}
    if request.method == "GET":
        if current is not None:
            form = QuestionForm(initial=QuestionForm.initial_for(current), earlier=earlier, previous=previous)
            options = OptionFormSet(initial=current["options"], prefix="options")
        else:
            form = QuestionForm(earlier=earlier, previous=previous)
            options = OptionFormSet(prefix="options")
        status = 200
    else:
        form = QuestionForm(request.POST, earlier=earlier, previous=previous)
        options = OptionFormSet(request.POST, prefix="options")
        status = 422
        if form.is_valid() and options.is_valid():
            try:
                services.save_question(
                    version=version, original=question, question=form.definition(options.options())
                )
            except services.DefinitionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Frågan %(code)s är sparad.") % {"code": form.cleaned_data["code"]}
                )
                return redirect("instruments:edit", code=version.instrument.code, number=version.version)
    context = {"version": version, "form": form, "options": options, "question": question,
               "number_in_form": position + 1}  # fmt: skip
    return render(request, "instruments/question.html", context, status=status)


@require_POST
@draft_required
def question_action(
    request: HttpRequest, version: InstrumentVersion, question: str, action: str
) -> HttpResponse:
    """Move a draft's question up or down, or remove it."""
    try:
        if action == "upp":
            services.move_question(version=version, code=question, step=-1)
        elif action == "ned":
            services.move_question(version=version, code=question, step=1)
        elif action == "ta-bort":
            services.delete_question(version=version, code=question)
            messages.success(request, _("Frågan %(code)s är borttagen.") % {"code": question})
        else:
            raise Http404
    except services.DefinitionError as exc:
        messages.error(request, str(exc))
    return redirect("instruments:edit", code=version.instrument.code, number=version.version)


@require_POST
@draft_required
def delete_draft(request: HttpRequest, version: InstrumentVersion) -> HttpResponse:
    key = version.key
    services.delete_draft(version=version)
    messages.success(request, _("Utkastet %(key)s är borttaget.") % {"key": key})
    return redirect("instruments:index")


@require_POST
@staff_required
def publish(request: HttpRequest, code: str, number: int) -> HttpResponse:
    version = editable_version(request, code, number)
    form = PublishForm(request.POST, loss=[] if version.is_read_only else services.history_loss(version))
    if not form.is_valid():
        return _version_page(request, version, form, status=422)
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
def method(request: HttpRequest) -> HttpResponse:
    instruments = (
        Instrument.objects.filter(access.visible_to_municipality(access.municipality_of(request.user)))
        .filter(versions__status=InstrumentVersion.Status.PUBLISHED)
        .distinct()
    )
    return render(
        request, "instruments/method.html", {"instruments": instruments.order_by("-general", "name")}
    )


@require_GET
@login_required
def guidance(request: HttpRequest, code: str) -> HttpResponse:
    """How to ask each question of an instrument's newest published version, or of the version
    asked for (``?version=2``: the form links to the version it shows; a draft's only for
    administrators, from the editor's preview)."""
    versions = (
        InstrumentVersion.objects.filter(instrument__code=code)
        .filter(access.visible_versions(access.municipality_of(request.user)))
        .select_related("instrument")
    )
    first = versions.first()
    if first is None or not access.may_edit(request.user, first.instrument):
        versions = versions.filter(status=InstrumentVersion.Status.PUBLISHED)
    asked = request.GET.get("version", "")
    if asked.isdigit():
        version = versions.filter(version=int(asked)).first()
    else:
        version = versions.filter(status=InstrumentVersion.Status.PUBLISHED).order_by("-version").first()
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
