"""The page's table body (one pass over the rows, ``table_body``) shows exactly what the cell
filters say: every cell's text, interval, sort key, class and link, in Swedish and English.

The reference below renders a table cell by cell from the public filters (``cell``,
``interval``, ``sort_value``), as the body was built before 2026-12-04 (branch ``cmp``); the
faster body must give the same HTML byte for byte, for every kind of column and the rows a
results page has: hidden rows, a hidden group beside a shown one, missing numbers, flags,
notes, periods, small and large n.
"""

from __future__ import annotations

import random
from html import escape
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.html import json_script

from utfall.results.services.comparison import COMPARISON_COLUMNS, GOAL_COLUMN, RATIO_COLUMNS
from utfall.results.tables import Column, ResultTable, suppression_rule
from utfall.results.templatetags.results import (
    cell,
    chart_json,
    hidden_note,
    interval,
    page_columns,
    page_view,
    sort_value,
    table_body,
)


def _reference_body(table: ResultTable, query: str) -> str:
    """The rows' HTML from the filters, one cell at a time."""
    out = []
    for row in table.rows:
        cells = []
        for i, c in enumerate(page_columns(table.columns)):
            text = escape(cell(row, c))
            if c.kind in ("text", "flag"):
                text = text.replace("/", "/<wbr>")
            sort = f' data-sort="{escape(sort_value(row, c))}"'
            if i == 0:
                hidden = ' class="visually-hidden"' if c.hidden else ""
                cells.append(f'<th scope="row"{hidden} data-key="{c.key}"{sort}>{text}</th>')
            else:
                if c.key == "name" and table.name == "jamforelse" and not row.get("suppressed"):
                    url = reverse("results:provider", args=[row["group"]])
                    text = f'<a href="{escape(url)}?{escape(query)}">{text}</a>'
                num = ' class="num"' if c.kind not in ("text", "flag") else ""
                cells.append(f'<td{num} data-key="{c.key}"{sort}>{text}</td>')
            if c.interval:
                cells.append(f'<td class="num ci" data-key="{c.key}_ci">{escape(interval(row, c))}</td>')
        flag = row.get("flag")
        css = f' class="flag-{flag}"' if flag else (' class="suppressed"' if row.get("suppressed") else "")
        out.append(f"<tr{css}>{''.join(cells)}</tr>")
    return "\n".join(out)


def _comparison_rows(rng: random.Random, k: int, ratio: bool) -> list[dict[str, Any]]:
    rows = []
    for i in range(k):
        n = rng.choice([3, 7, 42, 99, 100, 101, 640, 2141, 22500])
        value = rng.choice([0.0, 0.05, 0.123449, 0.8125, 0.99995, 1.0, 1.2345])
        row: dict[str, Any] = {
            "group": f"P{i:04d}" if i % 7 else f"X Ä {i}&co",
            "name": rng.choice(["Utförare A", "Omsorg & Co <AB>", "Kontaktperson/kontaktfamilj", "Alla", f"U{i}",
                                 'Vård \'Ek\' & "Son" <AB>/Syd']),
            "n": n, "events": int(n * 0.8), "observed": int(n * 0.7), "expected": n * 0.71234,
            "rate": value, "ratio": value * 1.3, "ci_low": rng.choice([None, 0.1]), "ci_high": 0.95,
            "lower_95": 0.5, "upper_95": 0.9, "lower_998": 0.4, "upper_998": None,
            "flag": rng.choice([None, None, "low", "high"]), "suppressed": n < 5 or i % 11 == 0,
            "coverage": rng.choice([None, 0.5, 0.9]), "coverage_n": rng.choice([None, 50, 150]),
            "coverage_note": rng.choice(["", "låg – osäkert resultat"]),
            "estimate": rng.choice([None, 0.81]), "estimate_low": 0.7, "estimate_high": rng.choice([None, 0.9]),
            "p_below_reference": rng.choice([0.0, 0.31, 1.0]), "p_below_goal": rng.choice([None, 0.2]),
            "detectable_low": rng.choice([None, 0.05, 0.1234]), "detectable_high": rng.choice([None, 0.2]),
        }  # fmt: skip
        if ratio:
            row["detectable_low"] = rng.choice([None, 0.25])
        rows.append(row)
    return rows


def _odd_ratio_rows(rng: random.Random, k: int) -> list[dict[str, Any]]:
    """O/E rows whose numbers are not all plain floats (oe5: the O/E and number columns are
    written apart from the filters when they are): whole numbers, numpy's floats, signs, zero
    below zero, infinities, NaN, large values, text, missing bounds, and a group hidden beside
    a shown one (``<key>_suppressed``)."""
    odd: list[Any] = [None, 0, 1, 2.0, -0.0, -1.25, 0.005, 0.015, 1.005, 1e20, 123456.78915, float("inf"),
                      float("-inf"), float("nan"), np.float64(0.8125), np.float64(1.0), "1,5 <x>", True]  # fmt: skip
    rows = _comparison_rows(rng, k, True)
    for i, row in enumerate(rows):
        for key in ("expected", "ratio", "ci_low", "ci_high", "estimate", "estimate_low", "estimate_high",
                    "detectable_low", "detectable_high"):  # fmt: skip
            if rng.random() < 0.5:
                row[key] = rng.choice(odd)
        if i % 5 == 0:
            hidden = rng.choice(
                ["ratio_suppressed", "estimate_suppressed", "expected_suppressed", "x_suppressed"]
            )
            row[hidden] = rng.random() < 0.7
    return rows


def _side_by_side_rows(rng: random.Random, k: int) -> list[dict[str, Any]]:
    """Women and men in one row, either hidden on its own; and periods, as the trend's table."""
    rows = []
    for i in range(k):
        women_hidden, men_hidden = rng.random() < 0.3, rng.random() < 0.3
        rows.append({
            "period": rng.choice(["2025-K1", "2025-H2", "2025"]), "group": f"S{i}",
            "women_n": None if women_hidden else rng.choice([12, 150]),
            "women_rate": None if women_hidden else 0.4567,
            "women_ci_low": None if women_hidden else 0.3, "women_ci_high": None if women_hidden else 0.6,
            "men_n": None if men_hidden else 88, "men_rate": None if men_hidden else 0.5,
            "men_ci_low": None if men_hidden else 0.4, "men_ci_high": None if men_hidden else 0.61,
            "difference": None if women_hidden or men_hidden else rng.choice([-0.05, 0.0, 0.0312]),
            "women_suppressed": women_hidden, "men_suppressed": men_hidden,
            "suppressed": rng.random() < 0.1, "verdict": rng.choice(["", "ingen säker skillnad"]),
        })  # fmt: skip
    return rows


SIDE_BY_SIDE = [
    Column("period", "Period"),
    Column("group", "Insats", hidden=True),
    Column("women_n", "Kvinnor, n", "count"),
    Column("women_rate", "Kvinnor, andel", "rate", interval=("women_ci_low", "women_ci_high")),
    Column("women_ci_low", "Kvinnor, 95 % KI nedre", "rate"),
    Column("women_ci_high", "Kvinnor, 95 % KI övre", "rate"),
    Column("men_n", "Män, n", "count"),
    Column("men_rate", "Män, andel", "rate", interval=("men_ci_low", "men_ci_high")),
    Column("men_ci_low", "Män, 95 % KI nedre", "rate"),
    Column("men_ci_high", "Män, 95 % KI övre", "rate"),
    Column("difference", "Skillnad kvinnor − män", "diff"),
    Column("verdict", "Bedömning"),
]


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize(
    ("name", "columns", "rows"),
    [
        ("jamforelse", [*COMPARISON_COLUMNS, GOAL_COLUMN], _comparison_rows(random.Random(1), 300, False)),
        ("jamforelse", RATIO_COLUMNS, _comparison_rows(random.Random(2), 200, True)),
        ("jamforelse", RATIO_COLUMNS, _odd_ratio_rows(random.Random(4), 400)),
        ("per_service", SIDE_BY_SIDE, _side_by_side_rows(random.Random(3), 200)),
    ],
)
def test_the_table_body_is_the_cell_filters_html(
    language: str, name: str, columns: list[Column], rows: list[dict[str, Any]]
) -> None:
    table = ResultTable(name, "caption", list(columns), rows)
    query = "indicator=satisfied&from=2025-01-01&to=2025-12-31"
    with translation.override(language):
        body = table_body(page_view(table), query)
        assert body == _reference_body(table, query)
    assert "dold" in body or "hidden" in body  # the hidden cells are there to compare


def test_a_charts_data_block_is_djangos_json_script() -> None:
    """The chart's spec in the page (``chart_json``) is what ``json_script`` wrote, byte for
    byte: ``<``, ``>`` and ``&`` escaped as \\u003C, \\u003E and \\u0026, quotes and other text
    as JSON has them (a provider's name with ``<&"'``, synthetic)."""
    names = ["Vård 'Ek' & \"Son\" <AB>", "</script><script>alert(1)</script>", "Å/Ä & Ö", "\u00a0%", ""]
    spec = {
        "title": "Nöjd <&>",
        "layer": [{"data": {"values": [{"name": n, "value": 0.1 * i, "n": i} for i, n in enumerate(names)]}}],
        "nothing": None,
        "flag": True,
    }
    assert chart_json(spec, "chart-funnel") == json_script(spec, "chart-funnel")
    assert "</script><script>" not in chart_json(spec, "chart-funnel")


@pytest.mark.parametrize(
    ("rows", "noted"),
    [
        ([], False),
        ([{"group": "P1", "n": 40, "suppressed": False}] * 3, False),
        ([{"group": "P1", "n": 40, "suppressed": False}, {"group": "P2", "n": 3, "suppressed": True}], True),
        ([{"group": "S1", "women_n": 3, "women_suppressed": True, "men_suppressed": False}], True),
        ([{"group": "S1", "women_suppressed": False}, {"group": "S2", "men_suppressed": 0}], False),
        ([{"group": "P1", "n": 40}, {"group": "P2", "n": None, "suppressed": 1}], True),
    ],
)
def test_a_table_with_a_hidden_cell_gets_the_rule_as_its_footnote(
    rows: list[dict[str, Any]], noted: bool
) -> None:
    """The footnote ("dold" and why) under a table where a row, or a group in a row of several,
    is hidden; none under a table without."""
    table = ResultTable("jamforelse", "caption", list(COMPARISON_COLUMNS), rows)
    assert hidden_note(table) == (suppression_rule(settings.UTFALL_MIN_COUNT) if noted else "")
