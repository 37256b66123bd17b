"""Template filters of the report pages and the site's menu."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import PermissionDenied

from utfall.reports.access import report_scope
from utfall.results.tables import display

register = template.Library()


@register.filter
def percent(value: Any) -> str:
    return display(value, "rate")


@register.filter
def sees_reports(user: Any) -> bool:
    try:
        report_scope(user)
    except PermissionDenied:
        return False
    return True
