"""Forms of the report pages: a new report, a section's commentary, a target."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from utfall.comparisons.indicators import all_indicators
from utfall.organisations.models import Committee, Municipality, Unit
from utfall.registry.models import Service
from utfall.reports.models import Comparator, ReportKind, Target


class NewReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Typ av rapport"), choices=[(k, _(v)) for k, v in ReportKind.choices])
    date_from = forms.DateField(label=_("Från och med"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Till och med"), widget=forms.DateInput(attrs={"type": "date"}))
    committee = forms.ModelChoiceField(label=_("Nämnd"), queryset=Committee.objects.none(), required=False,
                                       empty_label=_("Ingen (hela kommunen eller vald enhet)"))  # fmt: skip
    unit = forms.ModelChoiceField(label=_("Enhet"), queryset=Unit.objects.none(), required=False,
                                  empty_label=_("Hela kommunen"))  # fmt: skip

    def __init__(self, *args: Any, municipality: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["committee"].queryset = Committee.objects.filter(municipality=municipality)  # type: ignore[attr-defined]
        self.fields["unit"].queryset = Unit.objects.filter(municipality=municipality)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", _("Periodens slut ligger före dess början."))
            elif end - start > dt.timedelta(days=366):
                self.add_error("date_from", _("En rapport gäller högst ett år."))
        committee, unit = data.get("committee"), data.get("unit")
        if committee is not None and unit is not None and committee.unit_id not in (None, unit.pk):
            self.add_error(
                "unit", _("Enheten ligger utanför nämndens (%(name)s) ansvar.") % {"name": committee.name}
            )
        return data


class CommentaryForm(forms.Form):
    section = forms.CharField(max_length=80, widget=forms.HiddenInput)
    text = forms.CharField(label=_("Kommentar"), required=False, max_length=20000,
                           widget=forms.Textarea(attrs={"rows": 5}))  # fmt: skip


class TargetForm(forms.ModelForm):  # type: ignore[type-arg]
    indicator = forms.ChoiceField(label=_("Indikator"))

    class Meta:
        model = Target
        fields = ["indicator", "year", "comparator", "level", "service", "unit", "note"]
        labels = {"comparator": _("Målet är att andelen är"), "level": _("Målnivå (%)"), "year": _("År"),
                  "service": _("Insats"), "unit": _("Enhet"), "note": _("Kommentar")}  # fmt: skip

    def __init__(self, *args: Any, municipality: Municipality, unit: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["indicator"].choices = [(c, i.name) for c, i in all_indicators().items()]  # type: ignore[attr-defined]
        self.fields["service"].queryset = Service.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["service"].empty_label = _("Alla insatser")  # type: ignore[attr-defined]
        units = Unit.objects.filter(municipality=municipality)
        if unit is not None:  # a district committee sets targets for its own unit
            units = units.filter(code=unit)
            self.fields["unit"].required = True
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["unit"].empty_label = _("Hela kommunen")  # type: ignore[attr-defined]
        self.fields["comparator"].choices = Comparator.choices  # type: ignore[attr-defined]
        self.instance.municipality = municipality

    def validate_unique(self) -> None:
        super().validate_unique()
        exists = Target.objects.filter(
            municipality=self.instance.municipality,
            indicator=self.cleaned_data.get("indicator"),
            year=self.cleaned_data.get("year") or 0,
            service=self.cleaned_data.get("service"),
            unit=self.cleaned_data.get("unit"),
        ).exclude(pk=self.instance.pk)
        if exists.exists():
            self.add_error(
                "indicator", _("Det finns redan ett mål för den här indikatorn, året, insatsen och enheten.")
            )
