"""One Vega-Lite chart for procurement's pages: a contract's or provider's share per indicator
with its 95 % interval, the municipality's level as a tick and the contract's target as a
second tick. Built from rows already suppressed (hidden rows are not drawn); the table beside it
holds the same numbers. (The site's chart builders live in results, a layer above.)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}".replace(".", ",") + " %"


def against_reference(rows: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    values = [
        {"category": r["name"], "value": r["rate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"],
         "reference": r["reference"], "target": r["target_level"], "interval": f"{_pct(r['ci_low'])} – {_pct(r['ci_high'])}",
         "shown_reference": _pct(r["reference"]), "shown_target": _pct(r["target_level"])}
        for r in rows
        if not r["suppressed"] and r["rate"] is not None
    ]  # fmt: skip
    share = {
        "type": "quantitative",
        "title": _("Andel"),
        "scale": {"domain": [0, 1]},
        "axis": {"format": ".0%"},
    }
    tooltip = [
        {"field": "category", "title": _("Indikator")},
        {"field": "n", "title": "n"},
        {"field": "value", "title": _("Andel"), "format": ".1%"},
        {"field": "interval", "title": _("95 % KI")},
        {"field": "shown_reference", "title": _("Kommunens nivå")},
        {"field": "shown_target", "title": _("Mål i avtalet")},
    ]
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "title": title,
        "description": title
        + _(
            ": andel per indikator med 95 % konfidensintervall; grått streck = kommunens nivå, blått streck = avtalets mål."
        ),
        "width": "container",
        "height": {"step": 26},
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {"font": "DejaVu Sans, sans-serif", "axis": {"labelFontSize": 12, "titleFontSize": 13}},
        "data": {"values": values},
        "encoding": {
            "y": {
                "field": "category",
                "type": "nominal",
                "title": "Indikator",
                "sort": None,
                "axis": {"labelLimit": 220},
            }
        },
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 2},
                "encoding": {"x": {"field": "ci_low", **share}, "x2": {"field": "ci_high"}},
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60, "color": "#1a1a1a"},
                "encoding": {"x": {"field": "value", "type": "quantitative"}, "tooltip": tooltip},
            },
            {
                "mark": {"type": "tick", "color": "#4a4a4a", "thickness": 2},
                "encoding": {"x": {"field": "reference", "type": "quantitative"}},
            },
            {
                "mark": {"type": "tick", "color": "#0b5394", "thickness": 2, "strokeDash": [3, 2]},
                "encoding": {"x": {"field": "target", "type": "quantitative"}},
            },
        ],
    }
    # A tick layer with nothing to draw would be an unlabelled empty svg group: left out.
    spec["layer"] = [
        layer for layer in spec["layer"]
        if layer["mark"]["type"] != "tick"
        or any(v[layer["encoding"]["x"]["field"]] is not None for v in values)
    ]  # fmt: skip
    return spec
