from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from utfall.comparisons.indicators import all_indicators
from utfall.core.identity import IDENTITY_NUMBER_REFUSED, contains_identity_number
from utfall.procurement.models import RULE_INDICATORS, PaymentRule, ProviderReport, RuleKind, too_few_clients

DATE = forms.DateInput(attrs={"type": "date"})


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("Från och med"), widget=DATE)
    date_to = forms.DateField(label=_("Till och med"), widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Periodens slut ligger före dess början."))
        if start and end and (end - start).days > 366 * 5:
            self.add_error("date_to", _("Välj en period på högst fem år."))
        return data


class ContractSearchForm(forms.Form):
    q = forms.CharField(label=_("Sök (avtal, utförare, avtalsförvaltare)"), required=False, max_length=100)
    expiring = forms.TypedChoiceField(
        label=_("Löper ut"), required=False, coerce=int, empty_value=None,
        choices=[("", _("När som helst")), ("6", _("Inom 6 månader")), ("12", _("Inom 12 månader"))],
    )  # fmt: skip


class RuleForm(forms.ModelForm):
    """A proposed rule, for the simulation over every contract."""

    class Meta:
        model = PaymentRule
        fields = [
            "name",
            "kind",
            "indicator",
            "share_percent",
            "floor",
            "amount",
            "min_coverage",
            "min_clients",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].initial = "Föreslagen regel"
        self.fields["kind"].initial = RuleKind.BONUS_SHARE
        self.fields["indicator"].choices = RULE_INDICATORS  # type: ignore[attr-defined]
        self.fields["share_percent"].initial = Decimal("2")
        self.fields["min_coverage"].help_text = "Standard 0,8 (80 %). Under den betalas ingen bonus."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == RuleKind.BONUS_SHARE and data.get("share_percent") is None:
            self.add_error("share_percent", "Ange bonusens storlek i procent av ersättningen.")
        if data.get("kind") == RuleKind.PER_CLIENT and data.get("amount") is None:
            self.add_error("amount", "Ange beloppet per klient i kronor.")
        if data.get("min_clients") is not None and data["min_clients"] < settings.UTFALL_MIN_COUNT:
            self.add_error("min_clients", too_few_clients())
        return data

    def _post_clean(self) -> None:  # the contract is not chosen here: validate the fields only
        with contextlib.suppress(TypeError, ValueError):
            self.instance = self.construct()

    def construct(self) -> PaymentRule:
        data: dict[str, Any] = self.cleaned_data

        def given(key: str, default: Any) -> Any:
            return default if data.get(key) is None else data[key]

        return PaymentRule(
            name=given("name", "") or "Föreslagen regel",
            kind=given("kind", ""),
            indicator=given("indicator", ""),
            share_percent=data.get("share_percent"),
            floor=given("floor", Decimal(0)),
            amount=data.get("amount"),
            min_coverage=given("min_coverage", Decimal("0.8")),
            min_clients=given("min_clients", 10),
        )  # fmt: skip


#: Reported by every provider beside the targets of its contracts: the outcome measures of seed 004.
OWN_MEASURES = ("step_down", "plan_goals_reached", "plan_goals_fully", "satisfied")


def measure_choices(provider: Any = None) -> list[tuple[str, str]]:
    """The measures its contracts require (their targets' indicators), then the outcome measures."""
    known = all_indicators()
    required: list[str] = []
    if provider is not None:
        from utfall.registry.models import ContractTarget

        targets = ContractTarget.objects.filter(contract__provider=provider).order_by("indicator")
        required = list(dict.fromkeys(targets.values_list("indicator", flat=True)))
    codes = [c for c in [*required, *OWN_MEASURES] if c in known and c != "followup_coverage"]
    return [(code, known[code].name) for code in dict.fromkeys(codes)]


def no_identity_number(value: str, label: str) -> str:
    """Free text never holds an identity number (DESIGN.md invariant 1); the message does not repeat it."""
    if value and contains_identity_number(value):
        raise forms.ValidationError(f"{label} {IDENTITY_NUMBER_REFUSED}.")
    return value


class OwnFiguresForm(forms.ModelForm):
    """A provider's own figure for one measure in one period."""

    class Meta:
        model = ProviderReport
        fields = ["indicator", "period_from", "period_to", "events", "n", "comment"]
        widgets = {"period_from": DATE, "period_to": DATE, "comment": forms.Textarea(attrs={"rows": 2})}
        labels = {"events": "Antal med utfallet (täljare)", "n": "Antal räknade (nämnare)"}

    def __init__(self, *args: Any, provider: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["indicator"] = forms.ChoiceField(label="Utfallsmått", choices=measure_choices(provider))

    def clean_comment(self) -> str:
        return no_identity_number(self.cleaned_data.get("comment", ""), "Kommentaren")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        events, n = data.get("events"), data.get("n")
        if events is not None and n is not None and events > n:
            self.add_error("events", "Antal med utfallet kan inte vara fler än antal räknade.")
        if n == 0:
            self.add_error("n", "Antal räknade måste vara minst 1.")
        start, end = data.get("period_from"), data.get("period_to")
        if start and end and start > end:
            self.add_error("period_to", _("Periodens slut ligger före dess början."))
        if end and end > dt.date.today():
            self.add_error("period_to", "Perioden kan inte sluta i framtiden.")
        return data


class ResponseForm(forms.Form):
    indicator = forms.CharField(widget=forms.HiddenInput, max_length=60)
    period_from = forms.DateField(widget=forms.HiddenInput)
    period_to = forms.DateField(widget=forms.HiddenInput)
    text = forms.CharField(label="Ert svar", widget=forms.Textarea(attrs={"rows": 3}), max_length=4000)

    def clean_text(self) -> str:
        return no_identity_number(self.cleaned_data["text"], "Svaret")


OWN_FIGURE_COLUMNS = ["indicator", "period_from", "period_to", "events", "n", "comment"]


class OwnFiguresFileForm(forms.Form):
    file = forms.FileField(label="Fil (CSV, UTF-8)",
                           help_text="Kolumner: indicator, period_from, period_to, events, n och valfritt comment; "
                                     "en rad per mått och period.")  # fmt: skip

    def __init__(self, *args: Any, provider: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider
        self.rows: list[OwnFiguresForm] = []

    def clean_file(self) -> Any:
        """Every row checked as the small form checks it; one bad row stores nothing."""
        import csv
        import io

        upload = self.cleaned_data["file"]
        if upload.size > 1_000_000:
            raise forms.ValidationError("Filen är för stor (högst 1 MB).")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("Filen är inte i UTF-8.") from None
        delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
        unknown = [c for c in reader.fieldnames or [] if c not in OWN_FIGURE_COLUMNS]
        missing = [c for c in OWN_FIGURE_COLUMNS[:5] if c not in (reader.fieldnames or [])]
        if unknown or missing:
            parts = ([f"okänd kolumn {', '.join(unknown)}"] if unknown else []) + (
                [f"kolumn saknas: {', '.join(missing)}"] if missing else []
            )
            raise forms.ValidationError("Rubrikraden stämmer inte: " + "; ".join(parts) + ".")
        errors: list[str] = []
        for line, raw in enumerate(reader, start=2):
            row = OwnFiguresForm({k: (v or "").strip() for k, v in raw.items() if k}, provider=self.provider)
            if row.is_valid():
                self.rows.append(row)
            else:
                for field, messages in row.errors.items():
                    label = row.fields[field].label if field in row.fields else ""
                    errors.extend(f"rad {line}: {label}: {m}" for m in messages)
        if errors:
            raise forms.ValidationError(["Inget sparades.", *errors[:20]])
        if not self.rows:
            raise forms.ValidationError("Filen har inga rader.")
        return upload
