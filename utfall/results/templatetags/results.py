"""Template filters for the analytics pages: the page text of a table cell."""

from __future__ import annotations

import re
from html import escape as _escape
from typing import Any

from django import template
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from utfall.comparisons.access import aggregate_scope
from utfall.results.services.coverage import UNKNOWN_CASEWORKER
from utfall.results.tables import (
    Column,
    ResultTable,
    display,
    in_english,
    period_text,
    suppressed_text,
    suppression_rule,
    translated,
)

register = template.Library()
FLAGS = {"low": "▼ Lägre än förväntat", "high": "▲ Högre än förväntat"}
LABEL_KEYS = frozenset({"group", "name", "period", "indicator"})
#: Words of ours in a column of names (the caseworker of interventions nobody followed up, totals).
OWN_NAMES = frozenset({UNKNOWN_CASEWORKER, "Alla", "Alla insatser"})


def _hidden(row: dict[str, Any], column: Column) -> bool:
    return bool(row.get("suppressed")) and column.key not in LABEL_KEYS


def _any_hidden(row: dict[str, Any]) -> bool:
    return any(key.endswith("_suppressed") and value for key, value in row.items())


def _part_hidden(row: dict[str, Any], column: Column) -> bool:
    """A row of several groups side by side (women/men, IHF/MST, one per measure) marks each
    hidden group with ``<prefix>_suppressed``; its cells say so rather than show a dash."""
    return any(
        key.endswith("_suppressed")
        and value
        and (column.key.startswith(key[: -len("suppressed")]) or column.key == key[: -len("_suppressed")])
        for key, value in row.items()
    )


@register.filter
def tr(text: str) -> str:
    """A Swedish label or note of a results table in the page's language."""
    return translated(text if isinstance(text, str) else str(text))


@register.filter
def hidden_note(table: ResultTable) -> str:
    """The footnote of a table with a hidden cell ("dold" and why), else ""."""
    if any(v for row in table.rows for k, v in row.items() if k.endswith("suppressed")):
        from django.conf import settings

        return suppression_rule(int(settings.UTFALL_MIN_COUNT))
    return ""


@register.filter
def cell(row: dict[str, Any], column: Column) -> str:
    return _cell(row, column, in_english())


def _cell(row: dict[str, Any], column: Column, english: bool) -> str:
    if _hidden(row, column):
        return suppressed_text()
    value = row.get(column.key)
    if column.kind == "flag":
        return translated(FLAGS.get(value, "")) if value else ""
    if value is None and column.kind in ("rate", "diff", "count", "ratio", "number", "points"):
        if _part_hidden(row, column) or (column.kind == "diff" and _any_hidden(row)):
            return suppressed_text()  # a difference is hidden with either of its sides
        return "–"
    text = display(value, column.kind, n=_n_of(row, column), english=english)
    if column.key == "period":
        return period_text(text)  # "2025 Q1" in English; the sort key keeps "2025-K1"
    if column.kind == "text" and (column.key not in LABEL_KEYS or text in OWN_NAMES) and text:
        return gettext(text)  # a verdict ("ingen säker skillnad"); names are data and stay
    return text


def _n_of(row: dict[str, Any], column: Column) -> int | None:
    """The n behind a rate in the same row (``rate`` → ``n``, ``women_rate`` → ``women_n``)."""
    if column.kind != "rate" or not (column.key.endswith("rate") or column.n_key):
        return None
    n = row.get(column.n_key or column.key[: -len("rate")] + "n")
    return n if isinstance(n, int) else None


@register.filter
def interval(row: dict[str, Any], column: Column) -> str:
    return _interval(row, column, in_english())


def _interval(row: dict[str, Any], column: Column, english: bool) -> str:
    if column.interval is None or _hidden(row, column):
        return ""
    low, high = (row.get(k) for k in column.interval)
    if low is None or high is None:
        return ""
    n = _n_of(row, column)
    return f"{display(low, column.kind, n=n, english=english)} – {display(high, column.kind, n=n, english=english)}"


@register.filter
def sort_value(row: dict[str, Any], column: Column) -> str:
    value = None if _hidden(row, column) else row.get(column.key)
    return "" if value is None else str(value)


@register.filter
def page_columns(columns: list[Column]) -> list[Column]:
    """Columns shown on the page: an interval's bounds are shown in its estimate's cell."""
    companions = {key for c in columns if c.interval for key in c.interval}
    # Limits and counts of events are in the downloads; an indicator's code beside its name too.
    hidden = {"lower_998", "upper_998", "events"}
    if any(c.key == "name" for c in columns):
        hidden.add("indicator")
    return [c for c in columns if c.key not in companions and c.key not in hidden]


@register.filter
def page_view(table: ResultTable) -> dict[str, Any]:
    """Headers of the page's table, and what :func:`table_body` renders its rows from (a template
    loop per cell with filters costs more than the query on a table of 160 providers)."""
    columns = page_columns(table.columns)
    headers = []
    for c in columns:
        numeric = c.kind not in ("text", "flag")
        # A break may fall after "/" ("Kvinnor/flickor, n"), so that 13 columns fit 1280 px.
        label = translated(c.label).replace("/", "/\u200b")
        headers.append({"key": c.key, "label": label, "num": numeric, "sortable": True, "hidden": c.hidden})
        if c.interval:
            headers.append(
                {"key": f"{c.key}_ci", "label": translated("95 % KI"), "num": True, "sortable": False}
            )
    return {"headers": headers, "rows": table.rows, "columns": columns, "name": table.name}


#: Codes a URL holds as they are (RFC 3986 unreserved characters): reverse() would not quote them.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9._~-]+")
_SPECIAL = frozenset("&<>\"'")


def _escape_text(text: str) -> str:
    """``html.escape``, without its five replacements when the text has nothing to escape (most
    cells are numbers): the same string either way."""
    return _escape(text) if not _SPECIAL.isdisjoint(text) else text


#: Kinds whose missing value reads "–" (or "dold" where a part of the row is hidden).
_NUMBERS = frozenset({"rate", "diff", "count", "ratio", "number", "points"})


def _rate_text(value: Any, n: int | None, english: bool) -> str:
    """``display(value, "rate", n=n, english=english)``, without its dispatch (most cells of a
    comparison are rates)."""
    text = f"{value * 100:.0f}" if n is not None and n < 100 else f"{value * 100:.1f}"
    return (text if english else text.replace(".", ",")) + "\u00a0%"


def _cells_of(view: dict[str, Any]) -> Any:
    """Each row of the table with its cells as (key, text, sort, numeric, css of a first cell or
    of an interval): the texts of :func:`cell` and :func:`interval`, the sort keys of
    :func:`sort_value`, in one pass over the rows with what does not change between rows worked
    out once per table (the language, the word for a hidden cell, the flags' and notes' texts,
    each column's n). The same texts as the filters, cell by cell (tests/results/test_table_body.py);
    anything but the common cases is left to them."""
    english = in_english()  # once per table, not per cell (a thread-local read each)
    hidden_word = suppressed_text()
    points_unit = "\u00a0" + gettext("p.e.")
    texts: dict[tuple[str, type, Any], str] = {}  # flags and notes: a few distinct values per table
    plan = []
    for c in view["columns"]:
        n_key = None
        if c.kind == "rate" and (c.key.endswith("rate") or c.n_key):
            n_key = c.n_key or c.key[: -len("rate")] + "n"
        kind = c.kind if c.key != "period" else "period"  # the period's label: always the filter's way
        plan.append((c, c.key, kind, c.kind not in ("text", "flag"), c.key in LABEL_KEYS, n_key))
    for row in view["rows"]:
        suppressed = bool(row.get("suppressed"))
        parts: bool | None = None  # any "<group>_suppressed": looked at only for a missing number
        cells: list[tuple[str, str, str | None, bool, bool | None]] = []
        for c, key, kind, numeric, label, n_key in plan:
            value = row.get(key)
            if suppressed and not label:
                text, sort = hidden_word, ""
            else:
                sort = "" if value is None else str(value)
                if value is None and kind in _NUMBERS:
                    if parts is None:
                        parts = any(k.endswith("_suppressed") and v for k, v in row.items())
                    text = _cell(row, c, english) if parts else "–"
                elif kind == "rate":
                    n = row.get(n_key) if n_key else None
                    text = _rate_text(value, n if isinstance(n, int) else None, english)
                elif kind == "count" and isinstance(value, int):
                    text = f"{value:,}" if english else f"{value:,}".replace(",", "\u00a0")
                elif kind == "points":
                    text = f"{abs(value) * 100:.1f}"
                    text = (text if english else text.replace(".", ",")) + points_unit
                elif kind == "flag" or (kind == "text" and value is not None):
                    known = (key, value.__class__, value)  # 1, 1.0 and True are one dict key
                    if known not in texts:
                        texts[known] = _cell(row, c, english)  # depends on the value alone
                    text = texts[known]
                else:
                    text = _cell(row, c, english)
            cells.append((key, text, sort, numeric, c.hidden))
            if c.interval:
                if kind == "rate" and not suppressed:
                    low, high = (row.get(k) for k in c.interval)
                    if low is None or high is None:
                        span = ""
                    else:
                        n = row.get(n_key) if n_key else None
                        n = n if isinstance(n, int) else None
                        span = f"{_rate_text(low, n, english)} – {_rate_text(high, n, english)}"
                else:
                    span = _interval(row, c, english)
                cells.append((f"{key}_ci", span, None, True, None))
        yield row, cells


@register.simple_tag
def table_body(view: dict[str, Any], query: str) -> str:
    """The <tbody> rows of a page table as HTML, built in Python (escaped): a template loop per
    cell is the slowest part of a page with 160 providers). Escaped with the standard library's
    ``html.escape``, which Django's ``escape`` calls, without its lazy-string wrapper (half the
    time of 750 rows, 2026-12-02)."""
    out = []
    # A provider's link: one reverse() for the table, the code put in where it needs no quoting
    # (reverse() per row was ~10 % of a 750-row table's time); any other code is reversed as before.
    marker = "P0000"
    template = reverse("results:provider", args=[marker])
    before, _, after = template.partition(marker)
    escaped_query = _escape(query)
    links = view["name"] == "jamforelse"
    for row, row_cells in _cells_of(view):
        flag = row.get("flag")
        css = f' class="flag-{flag}"' if flag else (' class="suppressed"' if row.get("suppressed") else "")
        link = links and not row.get("suppressed")
        cells = []
        for i, (key, text, sort, numeric, first_hidden) in enumerate(row_cells):
            if sort is not None:
                sort = sort if _SPECIAL.isdisjoint(sort) else _escape(sort)
            data_sort = "" if sort is None else f' data-sort="{sort}"'
            text = text if _SPECIAL.isdisjoint(text) else _escape(text)
            if not numeric:
                text = text.replace("/", "/<wbr>")  # "Kontaktperson/kontaktfamilj" may break after "/"
            if i == 0:
                hidden = ' class="visually-hidden"' if first_hidden else ""
                cells.append(f'<th scope="row"{hidden} data-key="{key}"{data_sort}>{text}</th>')
                continue
            if key == "name" and link:
                group = str(row.get("group"))
                plain = _PLAIN_CODE.fullmatch(group) is not None and marker in template
                url = (
                    f"{before}{group}{after}"
                    if plain
                    else reverse("results:provider", args=[row.get("group")])
                )
                text = f'<a href="{_escape(url)}?{escaped_query}">{text}</a>'
            num = ' class="num ci"' if first_hidden is None else (' class="num"' if numeric else "")
            cells.append(f'<td{num} data-key="{key}"{data_sort}>{text}</td>')
        out.append(f"<tr{css}>{''.join(cells)}</tr>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value above is escaped


@register.filter
def has_points(spec: dict[str, Any]) -> bool:
    """Whether a chart has anything to draw: one without a point is not offered (issue 17 point 11),
    the table under it says that there are no data."""

    def values(part: dict[str, Any]) -> list[Any]:
        return list((part.get("data") or {}).get("values") or [])

    points = [layer for layer in spec.get("layer", []) if (layer.get("mark") or {}).get("type") == "point"]
    return bool(values(spec)) or any(values(layer) for layer in points)


@register.filter
def sees_results(user: Any) -> bool:
    try:
        aggregate_scope(user)
    except PermissionDenied:
        return False
    return True
