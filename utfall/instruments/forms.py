"""Forms of the instrument editor: a draft's definition and its publication."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utfall.followups.models import Respondent
from utfall.instruments.models import Instrument, Question
from utfall.instruments.services import DefinitionError, check_definition
from utfall.registry.models import Service


class DefinitionForm(forms.Form):
    """The draft's questions as YAML (the shape of the shipped definitions), respondents, services."""

    definition = forms.CharField(
        label=_("Frågor och svarsalternativ (YAML)"),
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "true", "class": "code"}),
        help_text=_(
            "En fråga: code, text, help_text (valfri), condition: {question: q4, in: [much_better]} "
            "(valfri) och options: code, label, positive: true för positiva svar, counts: false för "
            "'Vet inte'. {provider} ersätts med utförarens namn."
        ),
        error_messages={"required": _("Skriv minst en fråga.")},
    )
    respondents = forms.MultipleChoiceField(
        label=_("Vem svarar?"),
        choices=Respondent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Välj minst en svarande.")},
    )
    services = forms.ModelMultipleChoiceField(
        label=_("Insatser som formuläret används för"),
        queryset=Service.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Välj minst en insats.")},
    )

    def __init__(self, *args: Any, instrument: Instrument, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument

    def clean_definition(self) -> list[dict[str, Any]]:
        try:
            data = yaml.safe_load(self.cleaned_data["definition"])
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (rad {mark.line + 1})" if mark is not None else ""
            raise forms.ValidationError(_("Texten är inte giltig YAML") + where) from None
        try:
            questions = check_definition(data)
        except DefinitionError as exc:
            raise forms.ValidationError(str(exc)) from None
        # The follow-ups file has one column per question code, shared by all instruments.
        codes = [str(q["code"]) for q in questions]
        taken = sorted(
            set(
                Question.objects.filter(code__in=codes)
                .exclude(version__instrument=self.instrument)
                .values_list("code", flat=True)
            )
        )
        if taken:
            raise forms.ValidationError(
                _("Frågekoden används redan i ett annat frågeformulär: %(codes)s")
                % {"codes": ", ".join(taken)}
            )
        return questions


class PublishForm(forms.Form):
    published_on = forms.DateField(
        label=_("Gäller från"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Ange från vilket datum versionen gäller."),
            "invalid": _("Ange datum som ÅÅÅÅ-MM-DD."),
        },
    )

    def clean_published_on(self) -> Any:
        value = self.cleaned_data["published_on"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("Startdatumet kan inte ligga bakåt i tiden."))
        return value
