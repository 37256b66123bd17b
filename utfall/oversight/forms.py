"""The oversight forms: every error names the field as the user sees it."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utfall.oversight.access import case_workers
from utfall.oversight.models import ActionKind, Case, CaseState, RecordKind, Verdict
from utfall.oversight.periods import BadPeriod, Period
from utfall.oversight.priority import SORTS
from utfall.registry.models import Contract, Provider

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def default_period() -> str:
    return str(timezone.localdate().year - 1)


class PeriodForm(forms.Form):
    period = forms.CharField(
        label=_("Period"), help_text=_("Ett år (2025) eller ett halvår (2025H1, 2025H2)."),
        error_messages={"required": _("Ange en period, till exempel 2025.")},
    )  # fmt: skip
    sort = forms.ChoiceField(
        label=_("Ordning"), choices=[(k, _(v)) for k, v in SORTS.items()], required=False
    )
    only_new = forms.BooleanField(label=_("Bara nya sedan förra perioden"), required=False)

    def clean_period(self) -> Period:
        try:
            return Period.parse(self.cleaned_data["period"])
        except BadPeriod as exc:
            raise forms.ValidationError(str(exc)) from None


class OwnerChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        full = obj.get_full_name()
        return f"{full} ({obj.username})" if full else obj.username


class CaseForm(forms.Form):
    """Open a case by hand or from a proposal (then provider and evidence come hidden)."""

    provider = forms.ModelChoiceField(label=_("Utförare"), queryset=Provider.objects.none(),
                                      error_messages={"required": _("Välj utföraren."),
                                                      "invalid_choice": _("Välj en utförare i listan.")})  # fmt: skip
    title = forms.CharField(
        label=_("Rubrik"), max_length=200, error_messages={"required": _("Skriv en rubrik.")}
    )
    reason = forms.CharField(
        label=_("Skäl till uppföljningen"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    owner = OwnerChoiceField(label=_("Ansvarig"), queryset=None,
                             error_messages={"required": _("Välj vem som är ansvarig."),
                                             "invalid_choice": _("Välj en ansvarig i listan.")})  # fmt: skip
    contracts = forms.ModelMultipleChoiceField(label=_("Avtal som berörs"), queryset=Contract.objects.none(),
                                               required=False, widget=forms.CheckboxSelectMultiple)  # fmt: skip
    period = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, user: Any, provider: Provider | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        municipality_id = user.municipality_id
        cast(Any, self.fields["provider"]).queryset = Provider.objects.filter(
            municipality_id=municipality_id
        ).order_by("name")
        cast(Any, self.fields["owner"]).queryset = case_workers(municipality_id)
        contracts = Contract.objects.filter(municipality_id=municipality_id).order_by("contract_id")
        if provider is not None:
            contracts = contracts.filter(provider=provider)
        cast(Any, self.fields["contracts"]).queryset = contracts
        cast(Any, self.fields["contracts"]).label_from_instance = lambda c: (
            f"{c.contract_id} ({c.get_form_display()})"
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider, contracts = cleaned.get("provider"), cleaned.get("contracts")
        if provider is not None and contracts and any(c.provider_id != provider.pk for c in contracts):
            self.add_error("contracts", _("Välj bara avtal med den valda utföraren."))
        return cleaned


class MoveForm(forms.Form):
    state = forms.ChoiceField(label=_("Ny status"), choices=CaseState.choices)
    comment = forms.CharField(label=_("Kommentar"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              help_text=_("Krävs när ärendet avslutas eller flyttas tillbaka."))  # fmt: skip


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Anteckning"), widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": _("Anteckningen är tom.")})  # fmt: skip


class OwnerForm(forms.Form):
    owner = OwnerChoiceField(
        label=_("Ansvarig"), queryset=None, error_messages={"required": _("Välj en ansvarig.")}
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["owner"]).queryset = case_workers(user.municipality_id)


class DocumentForm(forms.Form):
    file = forms.FileField(label=_("Dokument"), error_messages={"required": _("Välj en fil att bifoga."),
                                                             "empty": _("Filen är tom.")})  # fmt: skip


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Åtgärd"), choices=ActionKind.choices,
                             error_messages={"required": _("Välj vilken åtgärd som beslutats.")})  # fmt: skip
    decided_on = forms.DateField(label=_("Beslutsdatum"), widget=DATE,
                                 error_messages={"required": _("Ange beslutsdatum."),
                                                 "invalid": _("Skriv beslutsdatum som ÅÅÅÅ-MM-DD.")})  # fmt: skip
    description = forms.CharField(
        label=_("Beskrivning"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    deadline = forms.DateField(label=_("Tidsfrist"), widget=DATE, required=False,
                               help_text=_("Krävs för en åtgärdsplan."),
                               error_messages={"invalid": _("Skriv tidsfristen som ÅÅÅÅ-MM-DD.")})  # fmt: skip
    reason = forms.CharField(label=_("Skäl"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             help_text=_("Krävs för Ingen åtgärd."))  # fmt: skip
    contract = forms.ModelChoiceField(label=_("Avtal"), queryset=Contract.objects.none(), required=False,
                                      help_text=_("Krävs för hävning."))  # fmt: skip

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["contract"]).queryset = Contract.objects.filter(
            provider=case.provider
        ).order_by("contract_id")
        cast(Any, self.fields["contract"]).label_from_instance = lambda c: c.contract_id
        if not self.is_bound:
            self.initial.setdefault("decided_on", timezone.localdate())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, deadline, decided = cleaned.get("kind"), cleaned.get("deadline"), cleaned.get("decided_on")
        if kind == ActionKind.ACTION_PLAN and deadline is None and "deadline" not in self.errors:
            self.add_error("deadline", _("En åtgärdsplan behöver en tidsfrist."))
        if deadline and decided and deadline < decided:
            self.add_error("deadline", _("Tidsfristen ligger före beslutsdatumet."))
        if kind == ActionKind.NO_ACTION and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Skriv skälet till att ingen åtgärd vidtas."))
        if kind == ActionKind.TERMINATION and cleaned.get("contract") is None:
            self.add_error("contract", _("Välj det avtal som hävs."))
        return cleaned


class DoneForm(forms.Form):
    done_on = forms.DateField(label=_("Genomförd den"), widget=DATE,
                              error_messages={"required": _("Ange när åtgärden genomfördes."),
                                              "invalid": _("Skriv datumet som ÅÅÅÅ-MM-DD.")})  # fmt: skip


class RecordForm(forms.Form):
    kind = forms.ChoiceField(label=_("Slag"), choices=RecordKind.choices)
    date = forms.DateField(label=_("Datum"), widget=DATE, error_messages={"required": _("Ange datum."),
                                                                        "invalid": _("Skriv datumet som ÅÅÅÅ-MM-DD.")})  # fmt: skip
    contract = forms.ModelChoiceField(label=_("Avtal"), queryset=Contract.objects.none(), required=False)
    scope = forms.CharField(label=_("Omfattning"), widget=forms.Textarea(attrs={"rows": 2}),
                            error_messages={"required": _("Beskriv vad uppföljningen omfattade.")})  # fmt: skip
    findings = forms.CharField(label=_("Iakttagelser"), widget=forms.Textarea(attrs={"rows": 4}),
                               error_messages={"required": _("Skriv vad uppföljningen visade.")})  # fmt: skip
    verdict = forms.ChoiceField(label=_("Bedömning"), choices=Verdict.choices)
    file = forms.FileField(label=_("Bilaga"), required=False)

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["contract"]).queryset = Contract.objects.filter(provider=provider).order_by(
            "contract_id"
        )
        cast(Any, self.fields["contract"]).label_from_instance = lambda c: c.contract_id

    def clean_date(self) -> dt.date:
        value: dt.date = self.cleaned_data["date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("Datumet ligger i framtiden."))
        return value


class PlanReviewForm(forms.Form):
    reviewed_on = forms.DateField(label=_("Planen genomgången den"), widget=DATE,
                                  error_messages={"required": _("Ange när planen gicks igenom."),
                                                  "invalid": _("Skriv datumet som ÅÅÅÅ-MM-DD.")})  # fmt: skip
    note = forms.CharField(label=_("Anteckning"), widget=forms.Textarea(attrs={"rows": 3}),
                           error_messages={"required": _("Skriv en kort anteckning om vad genomgången ledde till.")})  # fmt: skip

    def clean_reviewed_on(self) -> dt.date:
        value: dt.date = self.cleaned_data["reviewed_on"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("Datumet ligger i framtiden."))
        return value
