"""Vega-Lite specifications, built in Python from rows that have already been suppressed.

One spec per chart: the browser draws it with the vendored vega-embed (static/utfall/charts.js),
and a PDF can draw the same spec server-side. Only visible (unsuppressed) rows are drawn;
every chart sits next to a table with the same numbers (the text alternative).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from utfall.results.tables import decimal, display, in_english, period_text, translated
from utfall.stats.adjusted import AverageMixFunnel
from utfall.stats.funnels import chart_sizes
from utfall.stats.overdispersion.limits import OverdispersionFit

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
FLAG_TEXT = {"low": "Lägre än förväntat", "high": "Högre än förväntat", None: "Inom gränserna"}
# Colours with at least 3:1 contrast against white (WCAG 1.4.11); shape carries the flag too.
FLAG_COLOURS = ["#a4000f", "#0b5394", "#6b6b6b"]
FLAG_SHAPES = ["triangle-down", "triangle-up", "circle"]
SEX_COLOURS = ["#8a3c8f", "#1f6f43"]


def _base(title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": SCHEMA,
        "title": title,
        "description": description,
        "width": "container",
        "height": 360,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": {
            "font": "DejaVu Sans, sans-serif",
            "axis": {"labelFontSize": 12, "titleFontSize": 13},
            # From the chart's left edge, not centred over the plot: a long title on a phone
            # starts where the screen does (static/utfall/charts.js wraps it there).
            "title": {"anchor": "start", "frame": "bounds"},
            "legend": {"orient": "bottom", "direction": "vertical", "labelFontSize": 12, "titleFontSize": 12},
        },
    }


def funnel(
    data: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    fit: OverdispersionFit | AverageMixFunnel | None,
    *,
    adjusted: bool,
    title: str,
) -> dict[str, Any]:
    """Funnel plot: each provider a point, 95 % and 99.8 % limits, the target line."""
    size_key, value_key = ("expected", "ratio") if adjusted else ("n", "rate")
    kind = "ratio" if adjusted else "rate"
    flags = {k: _(v) for k, v in FLAG_TEXT.items()}
    english = in_english()  # once, not three times per provider
    points = [
        {
            "id": r["group"],
            "name": r["name"],
            "size": r[size_key],
            "value": r[value_key],
            "n": r["n"],
            # The tooltip's texts are the table's (issue 17 point 13): the same rounding by n.
            "value_text": display(r[value_key], kind, n=r["n"], english=english),
            "interval": f"{display(r['ci_low'], kind, n=r['n'], english=english)} – "
            f"{display(r['ci_high'], kind, n=r['n'], english=english)}",
            "flag": flags[r["flag"]],
        }
        for r in rows
        if not r["suppressed"] and r[value_key] is not None and r[size_key]
    ]
    limits: list[dict[str, Any]] = []
    bands = ["95 %", decimal("99.8") + " %"]
    if fit is not None and points:
        sizes = [p["size"] for p in points]
        limits_of: Callable[[Any, float], tuple[Any, Any]]  # the limits at the grid's sizes
        if isinstance(fit, AverageMixFunnel):
            # O/E: the average case mix's funnel at whole n, drawn at E = n·overall (stats.adjusted).
            grid = fit.chart_sizes(sizes)
            at, limits_of = np.round(grid * fit.overall, 4), fit.limits_at
        else:
            grid = chart_sizes(sizes, whole=True)
            at, limits_of = grid, fit.limits
        # Both levels' lines in one limit search (the same limits as one level at a time; a
        # cold page's 160 new sizes were two searches, ~17 ms of a 750-provider page). The
        # comparison has worked them out with its rows' (stats.comparison, stats.adjusted).
        fit.prepare(grid, (0.95, 0.998))
        for level, band in ((0.95, bands[0]), (0.998, bands[1])):
            low, high = limits_of(grid, level)
            for side, values in (("nedre", low), ("övre", high)):
                for g, v in zip(at.tolist(), values.tolist(), strict=True):
                    if np.isfinite(v):
                        limits.append(
                            {"size": g, "value": round(v, 4), "band": band, "line": f"{band} {side}"}
                        )
    x_title = _("Förväntat antal (E)") if adjusted else _("Antal svar (n)")
    y_axis: dict[str, Any] = {"title": "O/E" if adjusted else _("Andel")}
    if not adjusted:
        y_axis["format"] = ".0%"
    spec = _base(
        title, _("Trattdiagram: %(n)s utförare, styrgränser 95 %% och 99,8 %%.") % {"n": len(points)}
    )
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": limits},
            "mark": {"type": "line", "strokeWidth": 1.5, "color": "#4a4a4a"},
            "encoding": {
                "x": {"field": "size", "type": "quantitative", "title": x_title},
                "y": {"field": "value", "type": "quantitative", "axis": y_axis, "scale": {"zero": False}},
                "detail": {"field": "line"},
                "strokeDash": {
                    "field": "band", "type": "nominal", "title": _("Styrgräns"),
                    "scale": {"domain": bands, "range": [[4, 3], [1, 0]]},
                },
            },
        },
        {
            "data": {"values": points},
            "mark": {"type": "point", "filled": True, "size": 70, "opacity": 0.9},
            "encoding": {
                "x": {"field": "size", "type": "quantitative"},
                "y": {"field": "value", "type": "quantitative"},
                "color": {
                    "field": "flag", "type": "nominal", "title": _("Flagga"),
                    "scale": {"domain": list(flags.values()), "range": FLAG_COLOURS},
                },
                "shape": {
                    "field": "flag", "type": "nominal", "title": _("Flagga"),
                    "scale": {"domain": list(flags.values()), "range": FLAG_SHAPES},
                },
                "tooltip": [
                    {"field": "name", "title": _("Utförare")},
                    {"field": "n", "title": "n"},
                    {"field": "value_text", "title": "O/E" if adjusted else _("Andel")},
                    {"field": "interval", "title": _("95 % KI")},
                    {"field": "flag", "title": _("Flagga")},
                ],
            },
        },
    ]  # fmt: skip
    target = 1.0 if adjusted else data.get("target")
    if target is not None:
        layers.insert(
            1,
            {
                "data": {"values": [{"target": target}]},
                "mark": {"type": "rule", "color": "#0b5394", "strokeWidth": 2},
                "encoding": {"y": {"field": "target", "type": "quantitative"}},
            },
        )
    spec["layer"] = layers
    return spec


def _dot_interval(
    values: list[dict[str, Any]],
    *,
    title: str,
    description: str,
    category: str,
    category_title: str,
    colour: str | None = None,
    colour_title: str = "",
    colours: Sequence[str] | None = None,
    domain: Sequence[str] | None = None,
    horizontal: bool = True,
    percent: bool = True,
) -> dict[str, Any]:
    """Estimates as points with their 95 % interval as a line, one row per category."""
    spec = _base(title, description)
    cat_axis = "y" if horizontal else "x"
    val_axis = "x" if horizontal else "y"
    value_scale: dict[str, Any] = {"type": "quantitative", "title": _("Andel"), "scale": {"domain": [0, 1]}}
    if percent:
        value_scale["axis"] = {"format": ".0%"}
    cat = {
        "field": "category",
        "type": "nominal",
        "title": category_title,
        "sort": None,
        # maxExtent: Vega places the axis title at most this far from the axis (default 200 px),
        # so without it a title beside labels up to 220 px wide overlaps the longest ones.
        "axis": {"labelLimit": 220, "maxExtent": 240},
    }
    encoding: dict[str, Any] = {cat_axis: cat}
    if colour:
        scale: dict[str, Any] = {"range": list(colours)} if colours else {}
        if domain:  # the same colour for the same series in every language (not alphabetical)
            scale["domain"] = list(domain)
        encoding["color"] = {"field": "series", "type": "nominal", "title": colour_title, "scale": scale}
        encoding[f"{cat_axis}Offset"] = {"field": "series"}
    if horizontal:
        spec["height"] = {"step": 28 if colour else 22}
    spec["data"] = {"values": values}
    spec["encoding"] = encoding
    spec["layer"] = [
        {"mark": {"type": "rule", "strokeWidth": 2},
         "encoding": {val_axis: {"field": "ci_low", **value_scale}, f"{val_axis}2": {"field": "ci_high"}}},
        {"mark": {"type": "point", "filled": True, "size": 60},
         "encoding": {
             val_axis: {"field": "value", **value_scale},
             "tooltip": [
                 {"field": "category", "title": category_title},
                 *([{"field": "series", "title": colour_title}] if colour else []),
                 {"field": "n", "title": "n"},
                 {"field": "value_text", "title": _("Andel")},
                 {"field": "interval", "title": _("95 % KI")},
             ],
         }},
    ]  # fmt: skip
    return spec


def _point(category: str, series: str, n: Any, value: Any, low: Any, high: Any) -> dict[str, Any]:
    count = n if isinstance(n, int) else None
    return {"category": category, "series": series, "n": n, "value": value, "ci_low": low, "ci_high": high,
            "value_text": display(value, "rate", n=count),
            "interval": f"{display(low, 'rate', n=count)} – {display(high, 'rate', n=count)}"}  # fmt: skip


def trend(rows: Sequence[Mapping[str, Any]], title: str) -> dict[str, Any]:
    """The indicator per period with its interval, joined by a line, with the p′ chart's centre
    line and control limits (dashed) where periods are judged; incomplete periods are named so."""
    values = []
    for r in rows:
        if r["suppressed"] or r["rate"] is None:
            continue
        point = _point(period_text(r["period"]), "", r["n"], r["rate"], r["ci_low"], r["ci_high"])
        point.update(centre=r.get("centre"), spc_lower=r.get("spc_lower"), spc_upper=r.get("spc_upper"),
                     verdict=translated(r.get("verdict") or ""))  # fmt: skip
        values.append(point)
    spec = _dot_interval(values, title=title,
                         description=_("%(title)s per period med 95 %% konfidensintervall, mittlinje och "
                                       "styrgränser (p′-diagram).") % {"title": title},
                         category="period", category_title=_("Period"), horizontal=False)  # fmt: skip
    spec["layer"].insert(1, {"mark": {"type": "line", "color": "#0b5394"},
                             "encoding": {"y": {"field": "value", "type": "quantitative"}}})  # fmt: skip
    judged = {"field": "centre", "valid": True}
    for field, dash in (("centre", [1, 0]), ("spc_lower", [6, 4]), ("spc_upper", [6, 4])):
        spec["layer"].insert(0, {
            "transform": [{"filter": {**judged, "field": field}}],
            "mark": {"type": "line", "color": "#4a4a4a", "strokeDash": dash, "interpolate": "step"},
            "encoding": {"y": {"field": field, "type": "quantitative"}},
        })  # fmt: skip
    tooltip = spec["layer"][-1]["encoding"].get("tooltip")
    if isinstance(tooltip, list):
        tooltip.append({"field": "verdict", "title": _("Bedömning")})
    return spec


def women_and_men(
    rows: Sequence[Mapping[str, Any]], category_title: str, words: tuple[str, str] = ("Kvinnor", "Män")
) -> dict[str, Any]:
    """Each sex's share per group; ``words`` name the sexes ("Flickor", "Pojkar" for children)."""
    words = (_(words[0]), _(words[1]))
    values = []
    for r in rows:
        for prefix, label in (("women", words[0]), ("men", words[1])):
            if not r[f"{prefix}_suppressed"] and r[f"{prefix}_rate"] is not None:
                values.append(_point(str(r["name"]), label, r[f"{prefix}_n"], r[f"{prefix}_rate"],
                                     r[f"{prefix}_ci_low"], r[f"{prefix}_ci_high"]))  # fmt: skip
    names = {"women": words[0], "men": words[1].lower(), "by": _(category_title).lower()}
    return _dot_interval(values, title=_("%(women)s och %(men)s per %(by)s") % names,
                         description=_("Andelar för %(women)s och %(men)s med 95 %% konfidensintervall.")
                         % {"women": words[0].lower(), "men": words[1].lower()},
                         category="name", category_title=_(category_title), colour="series",
                         colour_title=_("Kön"), colours=SEX_COLOURS, domain=words)  # fmt: skip


def coverage(rows: Sequence[Mapping[str, Any]], category_title: str) -> dict[str, Any]:
    # The caseworker of interventions nobody followed up has no id and a name of ours, translated.
    values = [
        _point(
            str(r["name"]) if r.get("group") != "" else _(r["name"]),
            "",
            r["ongoing_n"],
            r["coverage"],
            r["coverage_ci_low"],
            r["coverage_ci_high"],
        )
        for r in rows
        if r.get("coverage") is not None
    ]
    return _dot_interval(values, title=_("Andel uppföljda per %(by)s") % {"by": _(category_title.lower())},
                         description=_("Andel pågående insatser som följts upp, med 95 % konfidensintervall."),
                         category="name", category_title=_(category_title))  # fmt: skip


def outcomes(rows: Sequence[Mapping[str, Any]], measures: Mapping[str, str]) -> dict[str, Any]:
    values = []
    for r in rows:
        for code, name in measures.items():
            if r.get(f"{code}_rate") is not None:
                values.append(_point(str(r["name"]), translated(name), r[f"{code}_n"], r[f"{code}_rate"],
                                     r[f"{code}_ci_low"], r[f"{code}_ci_high"]))  # fmt: skip
    return _dot_interval(values, title=_("Utfallsmått per insats"),
                         description=_("Utfallsmåtten per insats med 95 % konfidensintervall."),
                         category="name", category_title=_("Insats"), colour="series", colour_title=_("Mått"),
                         colours=["#0b5394", "#a4000f", "#1f6f43"])  # fmt: skip


def family_assessment(rows: Sequence[Mapping[str, Any]], services: Mapping[str, str]) -> dict[str, Any]:
    """Each family question's share, IHF and MST side by side."""
    values = []
    for r in rows:
        for code in services:
            if r.get(f"{code}_rate") is not None:
                values.append(_point(f"{r['respondent']}: {r['name'].removeprefix('IHF/MST: ')}", services[code], r[f"{code}_n"],
                                     r[f"{code}_rate"], r[f"{code}_ci_low"], r[f"{code}_ci_high"]))  # fmt: skip
    return _dot_interval(values, title=_("Bedömning av avslutad IHF/MST-behandling"),
                         description=_("Andel positiva svar per fråga och insats med 95 % konfidensintervall."),
                         category="category", category_title=_("Fråga"), colour="series",
                         colour_title=_("Insats"),
                         colours=["#0b5394", "#a4000f"])  # fmt: skip


def provider_profile(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    values = [
        _point(str(r["name"]), "", r["n"], r["rate"], r["ci_low"], r["ci_high"]) | {"target": r["target"]}
        for r in rows
        if not r["suppressed"] and r["rate"] is not None
    ]
    spec = _dot_interval(values, title=_("Utförarens resultat mot kommunens nivå"),
                         description=_("Utförarens andel per indikator med 95 % konfidensintervall; "
                                       "streck = kommunens förväntade nivå."),
                         category="name", category_title=_("Indikator"))  # fmt: skip
    spec["layer"].append({"mark": {"type": "tick", "color": "#4a4a4a", "thickness": 2},
                          "encoding": {"x": {"field": "target", "type": "quantitative"}}})  # fmt: skip
    return spec
