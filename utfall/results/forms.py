"""The analytics pages' query forms. The API validates its query string with the same forms,
so a page and its API answer the same question the same way (defaults included)."""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from utfall.comparisons.access import sees_staff_performance
from utfall.comparisons.disclosure import PERIOD_RULE, Period, snap_period
from utfall.comparisons.queries import BadQuery
from utfall.comparisons.sql import PERIODS
from utfall.organisations.models import Unit
from utfall.registry.models import Provider, Service
from utfall.results.services.common import default_period, indicator_choices, municipality_of
from utfall.results.tables import Phrase

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_YEARS = 10
GRAIN_CHOICES = [("quarter", _("Kvartal")), ("year", _("År"))]
TARGET_GROUPS = [
    ("children_youth", _("Barn och unga")),
    ("adults_addiction", _("Vuxna med missbruk/beroende")),
    ("income_support", _("Ekonomiskt bistånd")),
]
COVERAGE_BY_CHOICES = [
    ("unit", _("Enhet")),
    ("provider", _("Utförare")),
    ("caseworker", _("Socialsekreterare")),
]
ANY = [("", _("Alla"))]


class ResultsForm(forms.Form):
    """Period fields and the scope-bounded choice lists shared by every page."""

    date_from = forms.DateField(label=_("Från och med"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Till och med"), widget=forms.DateInput(attrs={"type": "date"}))
    years = 1
    #: Choice fields filled from the database, bounded by the user's scope.
    lists: tuple[str, ...] = ()
    #: Set by clean() when the dates were snapped to a fixed period: what is shown instead, in Swedish.
    period_note = ""

    def __init__(self, data: QueryDict | dict[str, Any], *, user: Any, scope: dict[str, str]) -> None:
        data = data.copy()
        data.pop("format", None)
        data.pop("table", None)
        if not data.get("date_from") or not data.get("date_to"):
            start, end = default_period(municipality_of(user), years=self.years)
            data.setdefault("date_from", start.isoformat())
            data.setdefault("date_to", end.isoformat())
            # Both dates are strings here: from the query string, or set just above.
            data["date_from"] = cast(str, data["date_from"]) or start.isoformat()
            data["date_to"] = cast(str, data["date_to"]) or end.isoformat()
        super().__init__(data)
        self.scope = scope
        municipality = municipality_of(user)
        if "indicator" in self.fields:
            self.fields["indicator"].choices = indicator_choices()  # type: ignore[attr-defined]
        if "unit" in self.lists:
            units = Unit.objects.filter(municipality=municipality).order_by("name")
            if "unit" in scope:
                units = units.filter(code=scope["unit"])
            choices = list(units.values_list("code", "name"))
            self.fields["unit"].choices = choices if "unit" in scope else ANY + choices  # type: ignore[attr-defined]
        if "service" in self.lists:
            self.fields["service"].choices = ANY + list(  # type: ignore[attr-defined]
                Service.objects.order_by("name").values_list("code", "name")
            )
        if "provider" in self.lists:
            providers = Provider.objects.filter(municipality=municipality).order_by("name")
            if "provider" in scope:
                providers = providers.filter(provider_id=scope["provider"])
            choices = list(providers.values_list("provider_id", "name"))
            self.fields["provider"].choices = choices if "provider" in scope else ANY + choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                self.add_error("date_to", "Periodens slut ligger före dess början.")
            elif end - start > dt.timedelta(days=366 * MAX_YEARS):
                self.add_error("date_from", f"Välj en period på högst {MAX_YEARS} år.")
            else:
                # Fixed periods only (issue 10.6): other dates become the month, quarter, half-year,
                # year or run of whole years that the page says it shows instead.
                try:
                    period, note = snap_period(start, end)
                    self.period_note = _period_note(start, end, period, note)
                except BadQuery as exc:
                    self.add_error("date_to", str(exc))
                else:
                    data["date_from"], data["date_to"] = period.start, period.end
        return data

    def query(self) -> dict[str, Any]:
        """Keyword arguments for the page's service function."""
        return {k: (v or None) if isinstance(v, str) and k not in ("indicator", "grain", "by") else v
                for k, v in self.cleaned_data.items()}  # fmt: skip


class PlainSelect(forms.Select):
    """A select list written in Python rather than through a template per option: the same
    markup as Django's (the options' value, attributes and label escaped alike), without the
    ~750 template renders of a municipality's providers, which cost the trends page ~25 ms and
    made its garbage collections slow (2026-12-03, docs/performance.md).

    The options are written from the choices, escaped by :func:`_escaped` and joined, not put
    through Django's option dicts, ``format_html`` and ``flatatt`` one by one: a form with 750
    providers ~30 → ~13 ms (2026-12-05). tests/results/test_plain_select.py holds the markup
    equal to what it was and the options equal to Django's own ``Select``."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        select_attrs = self.build_attrs(self.attrs, attrs)
        if self.allow_multiple_selected:
            select_attrs["multiple"] = True
        parts: list[str] = [format_html('<select name="{}"{}>', name, flatatt(select_attrs))]
        # Django's ChoiceWidget.optgroups without a dict per option: the first option whose
        # value (as text) is among the values is selected (every one, for a multiple select).
        wanted = set(self.format_value(value))
        has_selected = False
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            group = isinstance(option_label, (list, tuple))
            if group and option_value:
                parts.append(format_html('\n  <optgroup label="{}">', option_value))
            for sub_value, sub_label in option_label if group else [(option_value, option_label)]:
                text = str(sub_value)
                selected = (not has_selected or self.allow_multiple_selected) and text in wanted
                has_selected |= selected
                parts.append(f'\n  <option value="{_escaped(text)}"{" selected" if selected else ""}>'
                             f"{_escaped(sub_label)}</option>")  # fmt: skip
            if group and option_value:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every part escaped by format_html or _escaped)


def _escaped(text: Any) -> str:
    """``conditional_escape`` without its wrappers: a safe string as it is, anything else
    through ``html.escape`` (Django's ``escape`` is exactly that)."""
    html_of = getattr(text, "__html__", None)
    return str(html_of()) if html_of is not None else html.escape(str(text))


def _indicator(initial: str = "satisfied") -> forms.ChoiceField:
    return forms.ChoiceField(label=_("Indikator"), initial=initial, widget=PlainSelect)


def _optional(label: StrOrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, required=False, widget=PlainSelect)


class BoundDefaults(ResultsForm):
    """Fills a missing choice from its initial value, so a bare URL shows a result at once."""

    def __init__(self, data: QueryDict | dict[str, Any], **kwargs: Any) -> None:
        data = data.copy()
        for name, field in self.base_fields.items():
            if field.initial is not None and not data.get(name) and name not in ("date_from", "date_to"):
                if isinstance(field, forms.BooleanField):
                    continue
                data[name] = field.initial
        super().__init__(data, **kwargs)


class ComparisonForm(BoundDefaults):
    years = 3  # providers are compared on all recent data: one year flags too few real deviations
    lists = ("unit", "service")
    indicator = _indicator()
    service = _optional(_("Insats"))
    target_group = forms.ChoiceField(label=_("Målgrupp"), required=False, choices=[*ANY, *TARGET_GROUPS])
    unit = _optional(_("Enhet"))
    adjust = forms.BooleanField(label=_("Justera för ålder, kön och insats (O/E)"), required=False)
    flagged = forms.BooleanField(label=_("Bara flaggade utförare"), required=False)
    goal = forms.DecimalField(
        label=_("Målnivå i procent (valfri)"), required=False, min_value=1, max_value=99, decimal_places=1,
        localize=True,
        error_messages={"min_value": "Målnivån ska vara minst 1 procent.", "max_value": "Målnivån ska vara högst 99 procent.",
                        "invalid": "Skriv målnivån som ett tal i procent, till exempel 80.",
                        "max_decimal_places": "Målnivån får ha högst en decimal."},
    )  # fmt: skip

    def clean_goal(self) -> float | None:
        goal = self.cleaned_data.get("goal")
        return None if goal is None else float(goal) / 100.0


class TrendForm(BoundDefaults):
    years = 3
    lists = ("unit", "service", "provider")
    indicator = _indicator()
    grain = forms.ChoiceField(label=_("Period"), choices=GRAIN_CHOICES, initial="quarter")
    unit = _optional(_("Enhet"))
    service = _optional(_("Insats"))
    provider = _optional(_("Utförare"))

    def clean_grain(self) -> str:
        grain = self.cleaned_data["grain"]
        assert grain in PERIODS
        return str(grain)


class GenderForm(BoundDefaults):
    lists = ("unit", "service")
    indicator = _indicator()
    service = _optional(_("Insats"))
    unit = _optional(_("Enhet"))


def _period_note(start: dt.date, end: dt.date, period: Period, note: str) -> str:
    """The snapped period's note as a :class:`Phrase` the page translates (issue 17 point 15);
    the disclosure module's own words if they have changed since (then it stays Swedish)."""
    phrase = Phrase("Perioden %(given_from)s–%(given_to)s visas som %(label)s (%(start)s–%(end)s). %(rule)s",
                    given_from=start.isoformat(), given_to=end.isoformat(), label=period.label,
                    start=period.start.isoformat(), end=period.end.isoformat(), rule=PERIOD_RULE)  # fmt: skip
    return phrase if phrase == note else note


class CoverageForm(BoundDefaults):
    by = forms.ChoiceField(label=_("Per"), choices=COVERAGE_BY_CHOICES, initial="unit")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        if not sees_staff_performance(user):  # staff performance is for the unit's managers
            self.fields["by"].choices = [c for c in COVERAGE_BY_CHOICES if c[0] != "caseworker"]  # type: ignore[attr-defined]


class OutcomesForm(BoundDefaults):
    lists = ("unit",)
    unit = _optional(_("Enhet"))


class ProviderForm(BoundDefaults):
    indicator = _indicator()
    grain = forms.ChoiceField(label=_("Period för utvecklingen"), choices=GRAIN_CHOICES, initial="quarter")
