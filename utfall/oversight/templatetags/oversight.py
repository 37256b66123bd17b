"""Template helpers of the oversight pages: rates as Swedish percentages, and whether the menu
shows the oversight pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import get_language, gettext

from utfall.oversight.access import sees_proposals, works_on_cases

register = template.Library()


@register.filter
def pct(value: Any) -> str:
    """0.3 → "30,0 %" ("30.0%" in the English interface); nothing → "–"."""
    if value is None or value == "":
        return "–"
    if (get_language() or "sv").startswith("en"):
        return f"{float(value) * 100:.1f}%"
    return f"{float(value) * 100:.1f} %".replace(".", ",")


@register.filter
def rules_text(labels: list[str]) -> str:
    """A proposal's rules as the page reads them: "; "-joined, in the interface's language (the
    CSV, JSON and webhooks keep the Swedish of :data:`utfall.oversight.proposals.RULES`)."""
    return "; ".join(gettext(label) for label in labels)


@register.filter
def oversight_home(user: Any) -> str:
    """The menu's entry to oversight for the user: proposals, cases, or none ("")."""
    if sees_proposals(user):
        return "oversight:proposals"
    if works_on_cases(user):
        return "oversight:cases"
    return ""


@register.filter
def overdue(action: Any, today: Any) -> bool:
    return bool(action.is_overdue(today))


@register.filter
def state_label(value: str) -> str:
    from utfall.oversight.models import CaseState

    try:
        return str(CaseState(value).label)
    except ValueError:
        return value


@register.filter
def rule_label(code: str) -> str:
    from utfall.oversight.proposals import RULES

    return gettext(RULES.get(code, code))
