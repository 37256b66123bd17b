"""Women and men: their rates side by side per service and per age group, with the difference."""

from __future__ import annotations

import datetime as dt
from typing import Any

from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.registry.models import Service
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    comparability_notes,
    difference,
    min_n,
    names_of,
    proportion_rows,
    scope_description,
    scope_of,
)
from utfall.results.tables import Column, ResultTable
from utfall.stats.suppression import suppress

GENDER_COLUMNS_TAIL = [
    Column("women_n", "Kvinnor, n", "count"),
    Column("women_rate", "Kvinnor, andel", "rate", interval=("women_ci_low", "women_ci_high")),
    Column("women_ci_low", "Kvinnor, 95 % KI nedre", "rate"),
    Column("women_ci_high", "Kvinnor, 95 % KI övre", "rate"),
    Column("men_n", "Män, n", "count"),
    Column("men_rate", "Män, andel", "rate", interval=("men_ci_low", "men_ci_high")),
    Column("men_ci_low", "Män, 95 % KI nedre", "rate"),
    Column("men_ci_high", "Män, 95 % KI övre", "rate"),
    Column("diff", "Skillnad kvinnor − män", "diff", interval=("diff_low", "diff_high")),
    Column("diff_low", "Skillnad, 95 % KI nedre", "diff"),
    Column("diff_high", "Skillnad, 95 % KI övre", "diff"),
    Column("verdict", "Bedömning"),
]


def women_and_men(
    user: Any,
    *,
    indicator: str,
    date_from: dt.date,
    date_to: dt.date,
    service: str | None = None,
    unit: str | None = None,
) -> Page:
    """Women's and men's rates side by side per service and per age group, with the difference.

    Within each service (or age group) the sexes partition its total, which is published
    elsewhere, so each one's rows are suppressed together (secondary suppression included:
    a small "annat" group hides the smaller of the other two rather than be recoverable).
    """
    municipality, filters = scope_of(user, {"service": service, "unit": unit})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    tables = {}
    for by, title in (("service", "insats"), ("age_group", "åldersgrupp")):
        counts = aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                           by=[by, "sex"], filters=filters)  # fmt: skip
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in counts:
            groups.setdefault(r[by], []).append(r)
        names = names_of(Service, None, "code", set(groups)) if by == "service" else {}
        rows = []
        for group, cells in groups.items():
            shown = {r["group"]: r for r in suppress(proportion_rows(cells, "sex"), min_n=min_n())}
            women, men = shown.get("female"), shown.get("male")
            row: dict[str, Any] = {"group": group, "name": names.get(group, group)}
            for prefix, part in (("women", women), ("men", men)):
                for key in ("n", "events", "rate", "ci_low", "ci_high"):
                    row[f"{prefix}_{key}"] = part.get(key) if part else None
                row[f"{prefix}_suppressed"] = bool(part is None or part["suppressed"])
            row.update(difference(women, men))
            rows.append(row)
        if by == "age_group":
            order = {
                label: i
                for i, label in enumerate(["0-12", "13-15", "16-17", "18-24", "25-44", "45-64", "65+"])
            }
            rows.sort(key=lambda r: order.get(r["group"], 99))
        else:
            rows.sort(key=lambda r: r["name"])
        columns = [Column("group", "Kod"), Column("name", title.capitalize()), *GENDER_COLUMNS_TAIL]
        caption = f"{definition.name}: kvinnor och män per {title}, {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}"
        tables["per_" + by] = ResultTable(
            "kvinnor_man_" + ("insats" if by == "service" else "alder"), caption, columns, rows,
            notes=["Skillnaden är kvinnornas andel minus männens, i procentenheter (p.e.), med "
                   "Newcombes 95 % konfidensintervall; en skillnad kallas skillnad bara när "
                   "intervallet inte innehåller noll.", *comparable],
        )  # fmt: skip
    page = Page(f"{definition.name}: kvinnor och män", tables)
    page.charts["per_service"] = charts.women_and_men(tables["per_service"].rows, "Insats")
    page.charts["per_age_group"] = charts.women_and_men(tables["per_age_group"].rows, "Åldersgrupp")
    page.facts = {"indicator": indicator, "indicator_name": definition.name, "from": date_from.isoformat(),
                  "to": date_to.isoformat(), "scope": scope_description(filters),
                  "comparability": comparable}  # fmt: skip
    return page
