"""Forms of the instrument editor: a draft's definition and its publication."""

from __future__ import annotations

from typing import Any, cast

import yaml
from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utfall.instruments.models import Instrument, Respondent
from utfall.instruments.services import DefinitionError, check_definition, codes_taken_elsewhere
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
        taken = codes_taken_elsewhere(self.instrument, [str(q["code"]) for q in questions])
        if taken:
            raise forms.ValidationError(
                _("Frågekoden används redan i ett annat frågeformulär: %(codes)s")
                % {"codes": ", ".join(taken)}
            )
        return questions


class LocalInstrumentForm(forms.Form):
    """A municipality's own local instrument: its name and a short code. The stored code is
    prefixed with the municipality's code, so no two tenants' codes can collide."""

    name = forms.CharField(
        label=_("Frågeformulärets namn"),
        max_length=200,
        error_messages={"required": _("Skriv frågeformulärets namn.")},
    )
    code = forms.CharField(
        label=_("Kort kod"),
        max_length=30,
        help_text=_(
            "Små bokstäver a–z, siffror och bindestreck, t.ex. boende-2027. Kommunens kod läggs till först."
        ),
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9-]*$",
                _("Koden får bara innehålla små bokstäver a–z, siffror och bindestreck."),
            )
        ],
        error_messages={"required": _("Skriv en kort kod.")},
    )

    def __init__(self, *args: Any, municipality: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.municipality = municipality

    def clean_code(self) -> str:
        code = cast(str, self.cleaned_data["code"])
        if self.municipality is not None:
            code = f"{self.municipality.code}-{code}"
            if Instrument.objects.filter(code=code).exists():
                raise forms.ValidationError(_("Det finns redan ett frågeformulär med den koden."))
        return code


class PublishForm(forms.Form):
    published_on = forms.DateField(
        label=_("Gäller från"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Ange från vilket datum versionen gäller."),
            "invalid": _("Ange datum som ÅÅÅÅ-MM-DD."),
        },
    )

    confirm_loss = forms.BooleanField(
        label=_("Jag har sett vilken historik som inte längre jämförs och vill publicera ändå"),
        required=False,
    )

    def __init__(self, *args: Any, loss: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What publishing leaves out (services.history_loss).
        self.loss = loss or []

    @property
    def needs_confirmation(self) -> bool:
        """Answers would no longer be counted (or cannot be counted): the user confirms."""
        return any(row["answers"] is None or row["answers"] > 0 for row in self.loss)

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())
        if self.needs_confirmation and not data.get("confirm_loss"):
            self.add_error(
                "confirm_loss",
                _("Publiceringen gör att tidigare svar inte längre jämförs. Bekräfta att du har sett det."),
            )
        return data

    def clean_published_on(self) -> Any:
        value = self.cleaned_data["published_on"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("Startdatumet kan inte ligga bakåt i tiden."))
        return value


class SettingsForm(forms.Form):
    """Who answers a draft's questions and which services it is used for."""

    respondents = DefinitionForm.base_fields["respondents"]
    services = DefinitionForm.base_fields["services"]


CODE = RegexValidator(
    r"^[a-z][a-z0-9_]{0,39}$",
    _("Koden får bara ha små bokstäver a–z, siffror och understreck, börja med en bokstav och "
      "vara högst 40 tecken."),
)  # fmt: skip


class QuestionForm(forms.Form):
    """One question of a draft, field by field; its answer options are an OptionFormSet."""

    code = forms.CharField(
        label=_("Frågekod"), max_length=40, validators=[CODE],
        help_text=_("Kolumnens namn i uppföljningsfilen, t.ex. q6. Unik för alla frågeformulär."),
        error_messages={"required": _("Ange en frågekod.")},
    )  # fmt: skip
    text = forms.CharField(
        label=_("Frågetext"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Som klienten hör den. {provider} ersätts med utförarens namn."),
        error_messages={"required": _("Skriv frågan.")},
    )  # fmt: skip
    help_text = forms.CharField(
        label=_("Hjälptext till handläggaren (valfri)"), required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip
    condition_question = forms.ChoiceField(
        label=_("Ställs bara vid vissa svar på fråga (valfritt)"), required=False,
        help_text=_("Välj en tidigare fråga och, nedan, de svar som gör att den här frågan ställs."),
    )  # fmt: skip
    condition_options = forms.MultipleChoiceField(
        label=_("…när svaret är"), required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("%(value)s är inget svar på en tidigare fråga.")},
    )  # fmt: skip
    change = forms.ChoiceField(
        label=_("Om frågetexten har ändrats sedan förra publicerade versionen"), required=False,
        widget=forms.RadioSelect,
        choices=[
            ("editorial", _("Redaktionell ändring: samma innebörd. Svaren förblir jämförbara med tidigare versioner.")),
            ("substantive", _("Innehållslig ändring: ny innebörd. Frågan börjar en ny serie; tidigare svar jämförs inte med den.")),
        ],
    )  # fmt: skip
    change_reason = forms.CharField(
        label=_("Skäl till ändringen"), required=False, max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Krävs för en redaktionell ändring, t.ex. ”enklare ord, samma fråga”. Sparas med versionen."),
    )  # fmt: skip

    def __init__(
        self, *args: Any, earlier: list[dict[str, Any]], previous: dict[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.earlier = earlier
        #: Question code → its text in the previous published version.
        self.previous = previous or {}
        cast(forms.ChoiceField, self.fields["condition_question"]).choices = [
            ("", _("– ställs alltid –"))
        ] + [(q["code"], f"{q['code']}: {q['text']}") for q in earlier]
        cast(forms.MultipleChoiceField, self.fields["condition_options"]).choices = [
            (f"{q['code']}:{o['code']}", f"{q['code']}: {o['label']}") for q in earlier for o in q["options"]
        ]

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data, never None
        target = data.get("condition_question") or ""
        chosen = data.get("condition_options") or []
        wrong = [c for c in chosen if not c.startswith(f"{target}:")]
        if target and not chosen:
            self.add_error(
                "condition_options", _("Välj minst ett svar på %(q)s som villkor.") % {"q": target}
            )
        elif wrong:
            self.add_error(
                "condition_options",
                _("Villkorets svar ska höra till den valda frågan%(q)s.")
                % {"q": f" ({target})" if target else ""},
            )
        before = self.previous.get(data.get("code") or "")
        if before is not None and (data.get("text") or "").strip() not in ("", before.strip()):
            if not data.get("change"):
                self.add_error(
                    "change",
                    _("Frågetexten har ändrats: ange om ändringen är redaktionell eller innehållslig."),
                )
            elif data["change"] == "editorial" and not (data.get("change_reason") or "").strip():
                self.add_error("change_reason", _("Skriv varför ändringen är redaktionell."))
        return data

    def definition(self, options: list[dict[str, Any]]) -> dict[str, Any]:
        """The question in the shape of the YAML definitions."""
        data = self.cleaned_data
        entry: dict[str, Any] = {"code": data["code"], "text": data["text"].strip(), "options": options}
        if data["help_text"].strip():
            entry["help_text"] = data["help_text"].strip()
        if data["condition_question"]:
            entry["condition"] = {
                "question": data["condition_question"],
                "in": [c.split(":", 1)[1] for c in data["condition_options"]],
            }
        if data.get("change"):
            entry["change"] = data["change"]
            entry["change_reason"] = (data.get("change_reason") or "").strip()
        return entry

    @staticmethod
    def initial_for(question: dict[str, Any]) -> dict[str, Any]:
        condition = question.get("condition") or {}
        return {
            "code": question["code"],
            "text": question["text"],
            "help_text": question.get("help_text", ""),
            "condition_question": condition.get("question", ""),
            "condition_options": [f"{condition.get('question')}:{c}" for c in condition.get("in", [])],
            "change": question.get("change", ""),
            "change_reason": question.get("change_reason", ""),
        }


class OptionForm(forms.Form):
    code = forms.CharField(label=_("Kod"), max_length=40, required=False, validators=[CODE])
    label = forms.CharField(label=_("Svarsalternativ"), max_length=200, required=False)
    positive = forms.BooleanField(label=_("Positivt svar"), required=False)
    counts = forms.BooleanField(label=_("Räknas i nämnaren"), required=False, initial=True)

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data, never None
        if data.get("DELETE"):
            return data
        code, label = data.get("code"), (data.get("label") or "").strip()
        if code and not label:
            self.add_error("label", _("Skriv svarsalternativets text."))
        elif label and not code:
            self.add_error("code", _("Ange en kod för svarsalternativet."))
        if data.get("positive") and not data.get("counts"):
            self.add_error("positive", _("Ett svar som inte räknas kan inte vara positivt."))
        return data


class BaseOptionFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        options = self.options()
        if len(options) < 2:
            raise forms.ValidationError(_("En fråga behöver minst två svarsalternativ."))
        codes = [o["code"] for o in options]
        if len(set(codes)) != len(codes):
            raise forms.ValidationError(_("Två svarsalternativ har samma kod."))
        if not any(o["positive"] for o in options):
            raise forms.ValidationError(_("Markera minst ett svar som positivt (det räknas i indikatorn)."))

    def options(self) -> list[dict[str, Any]]:
        """Filled-in rows not marked for deletion, in order, in the shape of the YAML definitions."""
        out = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            if not data.get("code") or data.get("DELETE"):
                continue
            out.append({"code": data["code"], "label": data["label"].strip(),
                        "positive": bool(data["positive"]), "counts": bool(data["counts"])})  # fmt: skip
        return out


# The stubs type formset_factory's result as a plain BaseFormSet, without the options() it gets here.
OptionFormSet = cast(
    "type[BaseOptionFormSet]",
    forms.formset_factory(
        OptionForm, formset=BaseOptionFormSet, extra=2, can_delete=True, max_num=20, validate_max=True
    ),
)
