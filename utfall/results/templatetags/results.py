"""Template filters for the analytics pages: the page text of a table cell."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.exceptions import PermissionDenied

from utfall.comparisons.access import aggregate_scope
from utfall.results.tables import SUPPRESSED_TEXT, Column, display

register = template.Library()
FLAGS = {"low": "▼ Lägre än förväntat", "high": "▲ Högre än förväntat"}
LABEL_KEYS = frozenset({"group", "name", "period", "indicator"})


def _hidden(row: dict[str, Any], column: Column) -> bool:
    return bool(row.get("suppressed")) and column.key not in LABEL_KEYS


@register.filter
def cell(row: dict[str, Any], column: Column) -> str:
    if _hidden(row, column):
        return SUPPRESSED_TEXT
    value = row.get(column.key)
    if column.kind == "flag":
        return FLAGS.get(value, "") if value else ""
    if value is None and column.kind in ("rate", "diff", "count", "ratio", "number"):
        if column.key.startswith(("women_", "men_")) and row.get(column.key.split("_")[0] + "_suppressed"):
            return SUPPRESSED_TEXT
        return "–"
    return display(value, column.kind)


@register.filter
def interval(row: dict[str, Any], column: Column) -> str:
    if column.interval is None or _hidden(row, column):
        return ""
    low, high = (row.get(k) for k in column.interval)
    if low is None or high is None:
        return ""
    return f"{display(low, column.kind)} – {display(high, column.kind)}"


@register.filter
def sort_value(row: dict[str, Any], column: Column) -> str:
    value = None if _hidden(row, column) else row.get(column.key)
    return "" if value is None else str(value)


@register.filter
def page_columns(columns: list[Column]) -> list[Column]:
    """Columns shown on the page: an interval's bounds are shown in its estimate's cell."""
    companions = {key for c in columns if c.interval for key in c.interval}
    hidden = {"lower_998", "upper_998", "events"}
    return [c for c in columns if c.key not in companions and c.key not in hidden]


@register.filter
def sees_results(user: Any) -> bool:
    try:
        aggregate_scope(user)
    except PermissionDenied:
        return False
    return True
