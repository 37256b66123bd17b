"""Template filters of the report pages and the site's menu."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.core.exceptions import PermissionDenied

from utfall.reports.access import report_scope
from utfall.results.tables import decimal, display

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    return display(value, "rate")


@register.filter
def count(value: Any) -> str:
    """A count with a space between thousands ("11 594"; "11,594" in English), issue 17 point 13."""
    return display(value, "count")


@register.filter
def per_cent(value: Any, n: Any = None) -> str:
    """A value already in per cent (Kolada's form, 0–100) without the sign: whole when it rests
    on fewer than 100 answers, one decimal otherwise or when n is unknown (issue 17 point 13)."""
    if value is None:
        return "–"
    step = Decimal("1") if isinstance(n, int) and n < 100 else Decimal("0.1")
    return decimal(str(Decimal(str(value)).quantize(step, rounding=ROUND_HALF_UP)))  # 77.25 → 77.3


@register.filter
def sees_reports(user: Any) -> bool:
    try:
        report_scope(user)
    except PermissionDenied:
        return False
    return True
