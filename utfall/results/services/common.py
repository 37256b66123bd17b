"""What the analytics pages share: the page type, the user's scope, and the small building
blocks of their tables (proportions with intervals, differences, groups with their total).

Every page function takes the signed-in user first and narrows the query through
:func:`utfall.comparisons.access.scoped_filters` (the one access funnel for aggregates, via
:func:`scope_of`); counts come from :mod:`utfall.comparisons.queries` (GROUP BY in the
database) and every row goes through :func:`utfall.stats.suppression.suppress` before it is
returned. Pages, downloads and the API all call the page functions, so they show the same
numbers. One module per page family sits beside this one (docs/architecture.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied

from utfall.comparisons.access import scoped_filters, split_scope
from utfall.comparisons.indicators import Indicator, all_indicators
from utfall.comparisons.queries import questions_spans, reference_date
from utfall.organisations.models import Municipality
from utfall.results.tables import Column, ResultTable, rounded
from utfall.stats.proportions import newcombe_difference, wilson_interval
from utfall.stats.suppression import suppress

SEX_LABELS = {"female": "Kvinnor", "male": "Män", "other": "Annat"}
FLAG_LABELS = {"low": "Lägre än förväntat", "high": "Högre än förväntat", None: "Inom gränserna"}


def min_n() -> int:
    return int(settings.UTFALL_MIN_COUNT)


def municipality_of(user: Any) -> Municipality:
    municipality = getattr(user, "municipality", None)
    if municipality is None:
        raise PermissionDenied("Kontot är inte kopplat till någon kommun.")
    return municipality


def default_period(municipality: Municipality, *, years: int = 1) -> tuple[dt.date, dt.date]:
    """The last ``years`` years up to the data's reference date (or today)."""
    end = reference_date(municipality) or dt.date.today()
    return end - dt.timedelta(days=365 * years - 1), end


def indicator_choices() -> list[tuple[str, str]]:
    return [(code, ind.name) for code, ind in all_indicators().items()]


# --- small building blocks -------------------------------------------------------------


def proportion_rows(
    counts: Sequence[Mapping[str, Any]], key: str, *, intervals: bool = True
) -> list[dict[str, Any]]:
    """Rows of {group, n, events, rate, ci_low, ci_high} with 95 % Wilson intervals, not yet
    suppressed (a count row flagged ``suppressed`` by protected_counts keeps the flag); without
    ``intervals``, the rows without ci_low and ci_high (a reader of the rate and n alone:
    coverage by provider, whose 750 intervals were a part of a cold comparison page)."""
    x = np.array([r["events"] for r in counts], dtype=np.float64)
    n = np.array([r["n"] for r in counts], dtype=np.float64)
    if intervals:
        low, high = wilson_interval(x, n, 0.95) if len(counts) else (np.array([]), np.array([]))
    out = []
    for i, r in enumerate(counts):
        row = {
            "group": r[key],
            "n": int(r["n"]),
            "events": int(r["events"]),
            "rate": rounded(float(x[i] / n[i])) if n[i] else None,
        }
        if intervals:
            row["ci_low"] = rounded(float(low[i])) if n[i] else None
            row["ci_high"] = rounded(float(high[i])) if n[i] else None
        if r.get("suppressed"):
            # Hidden by the disclosure control of linked tables (comparisons.disclosure):
            # suppress() keeps it hidden.
            row["suppressed"] = True
        out.append(row)
    return out


def difference(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any]:
    """p_a − p_b with Newcombe's interval, only when both rows are shown (never from hidden ones)."""
    empty = {"diff": None, "diff_low": None, "diff_high": None, "verdict": None}
    if not a or not b or a.get("suppressed") or b.get("suppressed") or not a.get("n") or not b.get("n"):
        return empty
    d = newcombe_difference(a["events"], a["n"], b["events"], b["n"]).iloc[0]
    low, high = float(d["lower"]), float(d["upper"])
    verdict = "ingen säker skillnad"
    if low > 0:
        verdict = "högre"
    elif high < 0:
        verdict = "lägre"
    return {
        "diff": rounded(float(d["estimate"])),
        "diff_low": rounded(low),
        "diff_high": rounded(high),
        "verdict": verdict,
    }


#: From this many codes on, a municipality's names are read whole and the codes picked in Python.
MANY_CODES = 100


def names_of(model: Any, municipality: Municipality | None, key: str, codes: set[Any]) -> dict[Any, str]:
    """Each code's name (codes without a row left out). Many codes of one municipality (a
    comparison's 750 providers) are picked from all its rows: a query with an IN list of
    hundreds of values costs more to build and bind than the rows it leaves out (1.7 → 0.7 ms
    for 750 providers, 2026-12-05); the same names."""
    if not codes:
        return {}
    if municipality is not None and len(codes) >= MANY_CODES:
        rows = model.objects.filter(municipality=municipality).values_list(key, "name")
        wanted = {str(code) for code in codes}  # as the IN list compares them: as text
        return {code: name for code, name in rows if code in wanted}
    qs = model.objects.filter(**{f"{key}__in": codes})
    if municipality is not None:
        qs = qs.filter(municipality=municipality)
    return dict(qs.values_list(key, "name"))


def comparability_notes(definitions: Sequence[Indicator]) -> list[str]:
    """For each question indicator that leaves instrument versions out (another question text or
    other positive options than the newest version's), a sentence saying which and why."""
    pairs = [(d.instrument, d.question) for d in definitions if d.kind == "question"]
    if not pairs:
        return []
    # Every indicator question's versions are read at once and cached (queries.questions_spans).
    spans = questions_spans(pairs)
    notes = []
    for d in definitions:
        note = spans[(d.instrument, d.question)].note if d.kind == "question" else ""
        if note:
            notes.append(f"Jämförbarhet, {d.name}: {note}")
    return notes


def scope_of(user: Any, requested: Mapping[str, str | None]) -> tuple[Municipality, dict[str, str]]:
    municipality = municipality_of(user)
    filters = scoped_filters(user, {k: v for k, v in requested.items() if v})
    return municipality, filters


def population_and_scope(
    user: Any, requested: Mapping[str, str | None]
) -> tuple[Municipality, dict[str, str], dict[str, str]]:
    """(municipality, population filters, scope) for a page with a funnel: the scope chooses
    the rows shown, the population the reference (issue 10.1, comparisons.access.split_scope)."""
    municipality = municipality_of(user)
    population, scope = split_scope(user, {k: v for k, v in requested.items() if v})
    return municipality, population, scope


def scope_description(filters: Mapping[str, str], municipality: Municipality | None = None) -> str:
    """The selection in words, by name as the reader knows it ("Södermalm, Solrosen"), never
    by code ("enhet sodermalm"); a code without a name (a target group) keeps its label."""
    from utfall.organisations.models import Unit
    from utfall.registry.models import Provider, Service

    parts = {"unit": "enhet", "provider": "utförare", "service": "insats", "target_group": "målgrupp"}
    models: dict[str, tuple[Any, str]] = {
        "unit": (Unit, "code"),
        "provider": (Provider, "provider_id"),
        "service": (Service, "code"),
    }
    shown = []
    for key, value in filters.items():
        name = ""
        if key in models:
            model, code = models[key]
            qs = model.objects.filter(**{code: value})
            if municipality is not None and key != "service":
                qs = qs.filter(municipality=municipality)
            name = qs.values_list("name", flat=True).first() or ""
        shown.append(name or f"{parts.get(key, key)} {value}")
    return "hela kommunen" if not shown else ", ".join(shown)


@dataclass
class Page:
    """What a page shows: tables (each downloadable) and Vega-Lite charts, plus facts."""

    title: str
    tables: dict[str, ResultTable]
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "facts": self.facts,
            "tables": {name: t.as_json() for name, t in self.tables.items()},
        }


def rate_columns(key: str, label: str) -> list[Column]:
    """n, rate and its 95 % interval of one group in a row of several side by side."""
    return [
        Column(f"{key}_n", f"{label}: n", "count"),
        Column(f"{key}_rate", f"{label}: andel", "rate", interval=(f"{key}_ci_low", f"{key}_ci_high")),
        Column(f"{key}_ci_low", f"{label}: 95 % KI nedre", "rate"),
        Column(f"{key}_ci_high", f"{label}: 95 % KI övre", "rate"),
    ]


def with_total(counts: Sequence[Mapping[str, Any]], key: str, total: str) -> dict[str, dict[str, Any]]:
    """Each group's row and their ``total`` row (Wilson intervals), suppressed together: the
    total is the sum of the groups, so none may be recoverable from the others."""
    whole = {key: total, "n": sum(r["n"] for r in counts), "events": sum(r["events"] for r in counts)}
    return {r["group"]: r for r in suppress(proportion_rows([whole, *counts], key), min_n=min_n())}


def put_cell(row: dict[str, Any], prefix: str, cell: Mapping[str, Any] | None) -> None:
    """One group's n, rate and interval into a row of several side by side (see rate_columns),
    marked ``<prefix>_suppressed`` when hidden."""
    cell = cell or {}
    row[f"{prefix}_suppressed"] = bool(cell.get("suppressed"))
    for name in ("n", "rate", "ci_low", "ci_high"):
        row[f"{prefix}_{name}"] = cell.get(name)
