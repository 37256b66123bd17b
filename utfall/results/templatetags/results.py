"""Template filters for the analytics pages: the page text of a table cell."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from html import escape as _escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import template
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from utfall.comparisons.access import aggregate_scope
from utfall.results.services.coverage import UNKNOWN_CASEWORKER
from utfall.results.tables import (
    SWEDISH_NUMBER,
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


class Deferred:
    """The table bodies of a page rendered by ``results.views.render_page``: each body is
    left out of the template as a short marker and put in the finished page once. A template
    copies a 750-provider body (~680 KB, two bytes a character for its "–") at every level it
    passes: the tag, ``{% with %}``, the include, ``{% if %}``, the partial, the blocks (~5 ms of
    a cold comparison page, 2026-12-06, cmp6)."""

    def __init__(self) -> None:
        # Unguessable, so no text of the data can be taken for a marker.
        self.token = secrets.token_hex(8)
        self.bodies: dict[str, str] = {}
        self.pattern = re.compile(f"<!--table-body-{self.token}-[0-9]+-->")

    def marker(self, body: str) -> str:
        marker = f"<!--table-body-{self.token}-{len(self.bodies)}-->"
        self.bodies[marker] = body
        return marker

    def splice(self, text: str) -> str:
        """``text`` with each marker replaced by its body (one pass, one copy of the page)."""
        if not self.bodies:
            return text
        return self.pattern.sub(lambda m: self.bodies[m.group(0)], text)


#: The bodies of the page rendered now (None: written in place, as for any other caller).
DEFERRED: ContextVar[Deferred | None] = ContextVar("utfall_deferred_table_bodies", default=None)
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
    # Each key looked at once, not in every row (750 rows × 25 keys: ~2 ms of a comparison page).
    keys = _keys_ending(table.rows, "suppressed")
    if any(row.get(k) for row in table.rows for k in keys):
        from django.conf import settings

        return suppression_rule(int(settings.UTFALL_MIN_COUNT))
    return ""


@register.filter
def nothing_shown(table: ResultTable) -> bool:
    """Whether a table has hidden rows and no row with a figure: a page of "dold" that needs a
    sentence saying why and what to do (a unit manager's small provider, 2026-12-07)."""
    rows = table.rows
    return any(row.get("suppressed") for row in rows) and not any(
        not row.get("suppressed") and row.get("n") for row in rows
    )


#: Whole calendar years offered when nothing in a shorter period can be shown ("de tre senaste
#: hela kalenderåren" in provider.html).
LONGER_YEARS = 3


@register.simple_tag
def longer_period_query(query: str, facts: dict[str, Any]) -> str:
    """The page's query string for the last :data:`LONGER_YEARS` whole calendar years up to its
    period's end, or "" when its period is already as long (the form snaps it the same way)."""
    try:
        end_year, start = int(str(facts["to"])[:4]), str(facts["from"])
    except (KeyError, ValueError):
        return ""
    first = f"{end_year - LONGER_YEARS + 1}-01-01"
    if start <= first:
        return ""
    params = [
        (k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in ("date_from", "date_to")
    ]
    return urlencode([("date_from", first), ("date_to", f"{end_year}-12-31"), *params])


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


#: Kinds whose missing value reads "–" (or "dold" where a part of the row is hidden).
_NUMBERS = frozenset({"rate", "diff", "count", "ratio", "number", "points"})


def _rate_text(value: Any, n: int | None, english: bool) -> str:
    """``display(value, "rate", n=n, english=english)``, without its dispatch (most cells of a
    comparison are rates)."""
    text = f"{value * 100:.0f}" if n is not None and n < 100 else f"{value * 100:.1f}"
    return (text if english else text.replace(".", ",")) + "\u00a0%"


def _esc(text: str) -> str:
    """``html.escape`` when the text needs it (most cells are numbers): the same string either way."""
    return text if _SPECIAL.isdisjoint(text) else _escape(text)


def _keys_ending(rows: list[dict[str, Any]], suffix: str) -> list[str]:
    """The keys of any of the rows that end with ``suffix``: ``_suppressed``, the hidden groups
    of a row of several side by side (none in a comparison's rows)."""
    return [k for k in set().union(*rows) if k.endswith(suffix)]


def _column_writers(view: dict[str, Any], query: str) -> list[Callable[[dict[str, Any], bool, bool], str]]:
    """For each page column a function of (row, row hidden, a part of the row hidden) that writes
    its cell (and its interval's cell) as HTML: the texts of :func:`cell` and :func:`interval`,
    the sort keys of :func:`sort_value`, escaped, with what does not change between rows worked
    out once per table (the language, the word for a hidden cell, the cell's tags, a hidden
    cell's whole HTML, the flags' and notes' texts, each column's n). The same HTML as the
    filters, cell by cell (tests/results/test_table_body.py); anything but the common cases is
    left to them."""
    english = in_english()  # once per table, not per cell (a thread-local read each)
    hidden_word = suppressed_text()
    points_unit = "\u00a0" + gettext("p.e.")
    # A provider's link: one reverse() for the table, the code put in where it needs no quoting
    # (reverse() per row was ~10 % of a 750-row table's time); any other code is reversed as before.
    marker = "P0000"
    template = reverse("results:provider", args=[marker])
    before, _, after = template.partition(marker)
    link_tail = f"?{_escape(query)}"
    links = view["name"] == "jamforelse"
    writers = []
    for i, c in enumerate(view["columns"]):
        key, label, numeric = c.key, c.key in LABEL_KEYS, c.kind not in ("text", "flag")
        kind = c.kind if key != "period" else "period"  # the period's label: always the filter's way
        n_key = None
        if c.kind == "rate" and (key.endswith("rate") or c.n_key):
            n_key = c.n_key or key[: -len("rate")] + "n"
        if i == 0:
            hidden = ' class="visually-hidden"' if c.hidden else ""
            head, close = f'<th scope="row"{hidden} data-key="{key}" data-sort="', "</th>"
        else:
            num = ' class="num"' if numeric else ""
            head, close = f'<td{num} data-key="{key}" data-sort="', "</td>"
        span_head = f'<td class="num ci" data-key="{key}_ci">' if c.interval else ""
        span_close = "</td>" if c.interval else ""
        word = _esc(hidden_word) if numeric else _esc(hidden_word).replace("/", "/<wbr>")
        hidden_cell = f'{head}">{word}{close}{span_head}{span_close}'
        linked = links and key == "name" and i > 0
        texts: dict[tuple[type, Any], str] = {}  # flags and notes: a few distinct values per table
        writers.append(
            _writer(c, kind, label, numeric, n_key, english, points_unit, head, close, span_head, span_close,
                    hidden_cell, texts, (before, after, template, marker, link_tail) if linked else None)
        )  # fmt: skip
    return writers


def _writer(
    c: Column,
    kind: str,
    label: bool,
    numeric: bool,
    n_key: str | None,
    english: bool,
    points_unit: str,
    head: str,
    close: str,
    span_head: str,
    span_close: str,
    hidden_cell: str,
    texts: dict[tuple[type, Any], str],
    link: tuple[str, str, str, str, str] | None,
) -> Callable[[dict[str, Any], bool, bool], str]:
    key, interval = c.key, c.interval

    def text_of(row: dict[str, Any], value: Any, parts: bool) -> str:
        """The cell's text, not yet escaped (as ``_cells_of`` worked it out before)."""
        if value is None and kind in _NUMBERS:
            return _cell(row, c, english) if parts else "–"
        if kind == "count" and isinstance(value, int):
            return f"{value:,}" if english else f"{value:,}".replace(",", "\u00a0")
        if kind == "points":
            text = f"{abs(value) * 100:.1f}"
            return (text if english else text.replace(".", ",")) + points_unit
        if kind == "text" and label and value is not None:
            text = str(value)  # a name or a code: data, as it is (our own words translated)
            return gettext(text) if text in OWN_NAMES else text
        return _cell(row, c, english)

    # A rate is never a label column (LABEL_KEYS): every rate is _rate_writer's.
    if kind == "rate" and not label:
        return _rate_writer(c, n_key, english, head, close, span_head, span_close, hidden_cell)
    cached = kind == "flag" or (kind == "text" and not label)

    def linked(row: dict[str, Any], text: str) -> str:
        """The cell's text as a link to the row's provider page."""
        before, after, template, marker, tail = link  # type: ignore[misc]
        group = str(row.get("group"))
        plain = _PLAIN_CODE.fullmatch(group) is not None and marker in template
        url = f"{before}{group}{after}" if plain else reverse("results:provider", args=[row.get("group")])
        return f'<a href="{_escape(url)}{tail}">{text}</a>'

    def write(row: dict[str, Any], suppressed: bool, parts: bool) -> str:
        if suppressed and not label:
            return hidden_cell
        value = row.get(key)
        if cached and (kind == "flag" or value is not None):
            known = (value.__class__, value)  # 1, 1.0 and True are one dict key
            text = texts.get(known)
            if text is None:
                # by the value alone
                text = texts[known] = _esc(_cell(row, c, english)).replace("/", "/<wbr>")
        else:
            text = _esc(text_of(row, value, parts))
            if not numeric:
                text = text.replace("/", "/<wbr>")  # "Kontaktperson/kontaktfamilj" may break after "/"
        if link is not None and not suppressed:
            text = linked(row, text)
        sort = "" if value is None else _esc(str(value))
        if not interval:
            return f'{head}{sort}">{text}{close}'
        return f'{head}{sort}">{text}{close}{span_head}{_esc(_interval(row, c, english))}{span_close}'

    if kind in ("ratio", "number") and not label:
        return _ratio_writer(c, kind, english, head, close, span_head, span_close, hidden_cell, write)
    if label and kind == "text" and not interval:

        def write_label(row: dict[str, Any], suppressed: bool, parts: bool) -> str:
            """A code or a name (data, shown as it is, hidden rows too): escaped once for both
            its text and its sort key; our own words and anything but text by ``write``."""
            value = row.get(key)
            if value.__class__ is not str or value in OWN_NAMES:
                return write(row, suppressed, parts)
            sort = _esc(value)
            text = sort.replace("/", "/<wbr>")
            if link is not None and not suppressed:
                text = linked(row, text)
            return f'{head}{sort}">{text}{close}'

        return write_label
    if label or interval or kind not in ("count", "points"):
        return write

    def write_number(row: dict[str, Any], suppressed: bool, parts: bool) -> str:
        """A count or a detectable difference (a whole or a float number): nothing to escape."""
        if suppressed:
            return hidden_cell
        value = row.get(key)
        if kind == "count" and value.__class__ is int:
            text = f"{value:,}" if english else f"{value:,}".replace(",", "\u00a0")
        elif kind == "points" and value.__class__ is float:
            text = f"{abs(value) * 100:.1f}"
            text = (text if english else text.replace(".", ",")) + points_unit
        else:
            return write(row, suppressed, parts)
        return f'{head}{value!r}">{text}{close}'

    return write_number


def _rate_writer(
    c: Column,
    n_key: str | None,
    english: bool,
    head: str,
    close: str,
    span_head: str,
    span_close: str,
    hidden_cell: str,
) -> Callable[[dict[str, Any], bool, bool], str]:
    """:func:`_writer` for a rate (most cells of a comparison): its text and interval have
    nothing to escape (digits, a decimal sign, "–", "\u00a0%")."""
    key = c.key
    low_key, high_key = c.interval or ("", "")

    def write(row: dict[str, Any], suppressed: bool, parts: bool) -> str:
        if suppressed:
            return hidden_cell
        value = row.get(key)
        n = row.get(n_key) if n_key else None
        n = n if isinstance(n, int) else None
        if value is None:
            text, sort = (_esc(_cell(row, c, english)) if parts else "–"), ""
        else:
            text = _rate_text(value, n, english)
            sort = repr(value) if value.__class__ is float else _esc(str(value))
        if not span_head:
            return f'{head}{sort}">{text}{close}'
        low, high = row.get(low_key), row.get(high_key)
        span = (
            ""
            if low is None or high is None
            else f"{_rate_text(low, n, english)} – {_rate_text(high, n, english)}"
        )
        return f'{head}{sort}">{text}{close}{span_head}{span}{span_close}'

    return write


def _ratio_writer(
    c: Column,
    kind: str,
    english: bool,
    head: str,
    close: str,
    span_head: str,
    span_close: str,
    hidden_cell: str,
    fallback: Callable[[dict[str, Any], bool, bool], str],
) -> Callable[[dict[str, Any], bool, bool], str]:
    """:func:`_writer` for an O/E (``ratio``: two decimals) or a ``number`` (one decimal, thousands apart), with
    or without its interval: most cells of the O/E table (5 of its 13 columns, 3,750 cells of
    750 providers), which went through the cell filters (``_cell``, ``display``, ``_interval``,
    escaping) one by one (2026-12-05, oe5). A float and its interval's floats are written here:
    nothing to escape (digits, a sign, a decimal sign, "inf", "nan", "–"); anything else (a
    missing value, an integer, a row with a hidden group beside a shown one) by ``fallback``,
    the general writer, as before."""
    key = c.key
    low_key, high_key = c.interval or ("", "")
    spec = ".2f" if kind == "ratio" else ",.1f"  # display()'s formats, as f-strings use them

    def write(row: dict[str, Any], suppressed: bool, parts: bool) -> str:
        if suppressed:
            return hidden_cell
        value = row.get(key)
        if parts or value.__class__ is not float:
            return fallback(row, suppressed, parts)
        text = format(value, spec)
        if not english:
            text = text.translate(SWEDISH_NUMBER)
        if not span_head:
            return f'{head}{value!r}">{text}{close}'
        low, high = row.get(low_key), row.get(high_key)
        if low is None or high is None:
            span = ""
        elif low.__class__ is float and high.__class__ is float:
            span = f"{format(low, spec)} – {format(high, spec)}"
            if not english:
                span = span.translate(SWEDISH_NUMBER)
        else:
            return fallback(row, suppressed, parts)
        return f'{head}{value!r}">{text}{close}{span_head}{span}{span_close}'

    return write


@register.simple_tag
def table_body(view: dict[str, Any], query: str) -> str:
    """The <tbody> rows of a page table as HTML, built in Python (escaped): a template loop per
    cell is the slowest part of a page with 160 providers). Each column's cell is written by a
    function made once per table (:func:`_column_writers`), a row by joining them. Escaped with
    the standard library's ``html.escape``, which Django's ``escape`` calls, without its
    lazy-string wrapper (half the time of 750 rows, 2026-12-02)."""
    writers = _column_writers(view, query)
    part_keys = _keys_ending(view["rows"], "_suppressed")
    out = []
    for row in view["rows"]:
        suppressed = bool(row.get("suppressed"))
        parts = any(row.get(k) for k in part_keys) if part_keys else False
        flag = row.get("flag")
        css = f' class="flag-{flag}"' if flag else (' class="suppressed"' if suppressed else "")
        out.append(f"<tr{css}>{''.join([w(row, suppressed, parts) for w in writers])}</tr>")
    body = "\n".join(out)
    deferred = DEFERRED.get()
    return mark_safe(body if deferred is None else deferred.marker(body))  # noqa: S308 - every value above is escaped


@register.filter
def chart_json(spec: dict[str, Any], element_id: str) -> str:
    """``spec|json_script:element_id``, the same bytes: Django's ``json_script`` escapes ``<``,
    ``>`` and ``&`` with ``str.translate``, which walks a string character by character in
    Python's slow path (a 750-provider funnel's ~150 KB: ~7 ms of a cold comparison page,
    2026-12-05); three ``replace`` calls give the same string."""
    text = json.dumps(spec, cls=DjangoJSONEncoder)
    text = text.replace(">", "\\u003E").replace("<", "\\u003C").replace("&", "\\u0026")
    return format_html('<script id="{}" type="application/json">{}</script>', element_id, mark_safe(text))  # noqa: S308


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
