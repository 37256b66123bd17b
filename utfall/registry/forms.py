"""Registering an intervention in the browser (when it is not imported from the case system)."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number
from utfall.organisations.access import case_unit_ids
from utfall.organisations.models import Unit, User
from utfall.records.rules import Catalogue
from utfall.registry.models import Contract, EndReason, Intervention, Provider, Service
from utfall.registry.services import (
    CheckedIntervention,
    check_intervention_change,
    check_intervention_submission,
)

# A text field, as the follow-up's date (followups/forms.py): Chromium's type=date takes the year,
# month and day as three parts that typing "2026-11-20" does not fill (the keyboard walk of 2026-12-02).
DATE = forms.DateInput(format="%Y-%m-%d", attrs={"inputmode": "numeric", "autocomplete": "off", "size": "10"})
DATE_HELP = _("ÅÅÅÅ-MM-DD")
DATE_ERRORS = {"invalid": _("Ange datum som ÅÅÅÅ-MM-DD.")}
COUNT = forms.NumberInput(attrs={"inputmode": "numeric"})


class ProviderSelect(forms.Select):
    """The provider list, each option marked with the services its contracts cover, so the
    page offers only the providers of the chosen service (utfall.js; issue 17 point 6)."""

    services_of: dict[str, str] = {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            option["attrs"]["data-services"] = self.services_of.get(str(value), "")
        return option


class InterventionForm(forms.Form):
    person_id = forms.CharField(
        label=_("Personnummer eller samordningsnummer"),
        help_text=_("ÅÅÅÅMMDD-NNNN. Numret blir en pseudonym direkt och sparas aldrig."),
        max_length=13,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"}),
    )
    intervention_id = forms.CharField(
        label=_("Insatsens id i verksamhetssystemet"),
        help_text=_("Frivilligt. Lämnas tomt skapar utfall ett id."),
        required=False,
        max_length=60,
    )
    service = forms.ChoiceField(label=_("Insats"))
    provider_id = forms.ChoiceField(
        label=_("Utförare"),
        widget=ProviderSelect(attrs={"data-filter-by": "service"}),
        help_text=_("Visar utförarna med avtal för den valda insatsen."),
    )
    unit = forms.ChoiceField(label=_("Ansvarig enhet"))
    decided_on = forms.DateField(
        label=_("Beslutsdatum"), widget=DATE, help_text=DATE_HELP, error_messages=DATE_ERRORS
    )
    started_on = forms.DateField(
        label=_("Startdatum"), widget=DATE, help_text=DATE_HELP, error_messages=DATE_ERRORS
    )
    ended_on = forms.DateField(
        label=_("Slutdatum"),
        required=False,
        widget=DATE,
        help_text=_("ÅÅÅÅ-MM-DD. Tomt medan insatsen pågår."),
        error_messages=DATE_ERRORS,
    )
    end_reason = forms.ChoiceField(
        label=_("Avslutsorsak"), required=False, choices=[("", "—"), *EndReason.choices]
    )
    goals_total = forms.IntegerField(
        label=_("Antal mål i genomförandeplanen"), required=False, min_value=0, max_value=999, widget=COUNT
    )
    goals_fully = forms.IntegerField(
        label=_("Varav helt uppnådda"), required=False, min_value=0, max_value=999, widget=COUNT
    )
    goals_partly = forms.IntegerField(
        label=_("Varav delvis uppnådda"), required=False, min_value=0, max_value=999, widget=COUNT
    )

    def __init__(self, *args: Any, user: User, catalogue: Catalogue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user, self.catalogue = user, catalogue
        self.checked: CheckedIntervention | None = None
        cast(forms.ChoiceField, self.fields["service"]).choices = [
            ("", "—"),
            *Service.objects.order_by("name").values_list("code", "name"),
        ]
        # Only case workers register (sees_cases), and they always belong to a municipality.
        municipality_id = cast(int, user.municipality_id)
        providers = Provider.objects.filter(municipality_id=municipality_id).order_by("name")
        cast(forms.ChoiceField, self.fields["provider_id"]).choices = [
            ("", "—"),
            *providers.values_list("provider_id", "name"),
        ]
        services_of: dict[str, set[str]] = {}
        covered = Contract.objects.filter(municipality_id=municipality_id).values_list(
            "provider__provider_id", "services__code"
        )
        for provider_id, service_code in covered:
            if service_code:
                services_of.setdefault(provider_id, set()).add(service_code)
        widget = cast(ProviderSelect, self.fields["provider_id"].widget)
        widget.services_of = {p: " ".join(sorted(codes)) for p, codes in services_of.items()}
        units = Unit.objects.filter(pk__in=case_unit_ids(user)).order_by("name")
        cast(forms.ChoiceField, self.fields["unit"]).choices = list(units.values_list("code", "name"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        covers = cast(ProviderSelect, self.fields["provider_id"].widget).services_of.get(
            cleaned["provider_id"]
        )
        if covers and cleaned["service"] not in covers.split():
            self.add_error("provider_id", _("Utföraren har inget avtal för den valda insatsen."))
            return cleaned
        raw = {name: "" if value is None else str(value) for name, value in cleaned.items()}
        for name in ("decided_on", "started_on", "ended_on"):
            raw[name] = cleaned[name].isoformat() if cleaned.get(name) else ""
        self.checked, issues = check_intervention_submission(raw, user=self.user, catalogue=self.catalogue)
        for column, _reason, said in issues:
            self.add_error(column if column in self.fields else None, said)
        return cleaned


class InterventionChangeForm(forms.Form):
    """Edit or end an intervention: provider, dates, end reason, goals; and why (kept in the history)."""

    provider_id = forms.ChoiceField(label=_("Utförare"))
    decided_on = forms.DateField(
        label=_("Beslutsdatum"), widget=DATE, help_text=DATE_HELP, error_messages=DATE_ERRORS
    )
    started_on = forms.DateField(
        label=_("Startdatum"), widget=DATE, help_text=DATE_HELP, error_messages=DATE_ERRORS
    )
    ended_on = forms.DateField(
        label=_("Slutdatum"),
        required=False,
        widget=DATE,
        help_text=_("ÅÅÅÅ-MM-DD. Fyll i för att avsluta insatsen."),
        error_messages=DATE_ERRORS,
    )
    end_reason = forms.ChoiceField(
        label=_("Avslutsorsak"), required=False, choices=[("", "—"), *EndReason.choices]
    )
    goals_total = forms.IntegerField(
        label=_("Antal mål i genomförandeplanen"), required=False, min_value=0, max_value=999, widget=COUNT
    )
    goals_fully = forms.IntegerField(
        label=_("Varav helt uppnådda"), required=False, min_value=0, max_value=999, widget=COUNT
    )
    goals_partly = forms.IntegerField(
        label=_("Varav delvis uppnådda"), required=False, min_value=0, max_value=999, widget=COUNT
    )
    reason = forms.CharField(
        label=_("Varför ändras insatsen?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Skriv varför insatsen ändras.")},
    )

    def __init__(self, *args: Any, intervention: Intervention, catalogue: Catalogue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.intervention, self.catalogue = intervention, catalogue
        self.record: dict[str, Any] | None = None
        providers = Provider.objects.filter(municipality_id=intervention.municipality_id).order_by("name")
        cast(forms.ChoiceField, self.fields["provider_id"]).choices = list(
            providers.values_list("provider_id", "name")
        )

    @staticmethod
    def initial_of(intervention: Intervention) -> dict[str, Any]:
        return {
            "provider_id": intervention.provider.provider_id,
            "decided_on": intervention.decided_on,
            "started_on": intervention.started_on,
            "ended_on": intervention.ended_on,
            "end_reason": intervention.end_reason,
            "goals_total": intervention.goals_total,
            "goals_fully": intervention.goals_fully,
            "goals_partly": intervention.goals_partly,
        }

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"])
        if contains_identity_number(reason):
            raise forms.ValidationError(_("Skälet %(refused)s.") % {"refused": IDENTITY_NUMBER_REFUSED})
        return reason

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        changes = {
            name: value.isoformat() if hasattr(value, "isoformat") else "" if value is None else str(value)
            for name, value in cleaned.items()
            if name != "reason"
        }
        self.record, issues = check_intervention_change(self.intervention, changes, catalogue=self.catalogue)
        for column, _reason, said in issues:
            self.add_error(column if column in self.fields else None, said)
        return cleaned
