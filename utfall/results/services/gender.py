"""Women and men: their rates side by side per service and per age group, with the difference
crude and adjusted for the other factors (service and age: seed 002's "motiverade och
omotiverade skillnader", issue 10.4)."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import model_cells, protected_counts
from utfall.comparisons.indicators import get_indicator
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
from utfall.results.tables import Column, Phrase, ResultTable, rounded
from utfall.stats.casemix import adjusted_difference
from utfall.stats.suppression import suppress

SEX_COLUMNS = [
    Column("women_n", "Kvinnor, n", "count"),
    Column("women_rate", "Kvinnor, andel", "rate", interval=("women_ci_low", "women_ci_high")),
    Column("women_ci_low", "Kvinnor, 95 % KI nedre", "rate"),
    Column("women_ci_high", "Kvinnor, 95 % KI övre", "rate"),
    Column("men_n", "Män, n", "count"),
    Column("men_rate", "Män, andel", "rate", interval=("men_ci_low", "men_ci_high")),
    Column("men_ci_low", "Män, 95 % KI nedre", "rate"),
    Column("men_ci_high", "Män, 95 % KI övre", "rate"),
]
#: The difference comes first after the group, so that it is on screen at 1280 px (issue 17
#: point 12); each sex's n and share follow.
DIFF_COLUMNS = [
    Column("diff", "Skillnad kvinnor − män", "diff", interval=("diff_low", "diff_high")),
    Column("diff_low", "Skillnad, 95 % KI nedre", "diff"),
    Column("diff_high", "Skillnad, 95 % KI övre", "diff"),
    Column("verdict", "Bedömning"),
]
ADJUSTED_COLUMNS = [
    Column("adj_diff", "Skillnad justerad för {other}", "diff", interval=("adj_diff_low", "adj_diff_high")),
    Column("adj_diff_low", "Justerad skillnad, 95 % KI nedre", "diff"),
    Column("adj_diff_high", "Justerad skillnad, 95 % KI övre", "diff"),
    Column("adj_verdict", "Bedömning, justerad"),
]
TOTAL_COLUMNS = [
    Column("group", "Urval"),
    *DIFF_COLUMNS,
    *[replace(c, label=c.label.format(other="insats och ålder")) for c in ADJUSTED_COLUMNS],
    *SEX_COLUMNS,
]
#: Children's services and instruments speak of girls and boys (issue 17 point 12).
CHILDREN = "children_youth"
CHILDREN_INSTRUMENTS = ("children-", "family-")


def sex_words(definition: Any, services: set[str]) -> tuple[str, str]:
    """("Kvinnor", "Män") for adults, ("Flickor", "Pojkar") when the indicator's instrument or
    every service counted is for children and young people, ("Kvinnor/flickor", "Män/pojkar")
    when both are counted."""
    if definition.instrument.startswith(CHILDREN_INSTRUMENTS):
        return "Flickor", "Pojkar"
    groups = set(Service.objects.filter(code__in=services).values_list("target_group", flat=True))
    if groups and groups <= {CHILDREN}:
        return "Flickor", "Pojkar"
    if CHILDREN in groups:
        return "Kvinnor/flickor", "Män/pojkar"
    return "Kvinnor", "Män"


#: The forms of the two groups' names the page's sentences need (issue 17 point 12): plural,
#: definite genitive ("kvinnornas andel") and genitive, capitalised at a sentence's start.
SEX_FORMS = {
    ("Kvinnor", "Män"): (("kvinnor", "kvinnornas", "Kvinnors"), ("män", "männens", "mäns")),
    ("Flickor", "Pojkar"): (("flickor", "flickornas", "Flickors"), ("pojkar", "pojkarnas", "pojkars")),
    ("Kvinnor/flickor", "Män/pojkar"): (
        ("kvinnor/flickor", "kvinnornas/flickornas", "Kvinnors/flickors"),
        ("män/pojkar", "männens/pojkarnas", "mäns/pojkars"),
    ),
}


def sex_params(words: tuple[str, str]) -> dict[str, str]:
    """The words of a sentence about ``words`` ("Flickor", "Pojkar"), for a :class:`Phrase`."""
    (women, women_def, women_gen), (men, men_def, men_gen) = SEX_FORMS[words]
    return {"women": women, "men": men, "women_def": women_def, "men_def": men_def,
            "Women_gen": women_gen, "men_gen": men_gen}  # fmt: skip


def _worded(columns: Sequence[Column], women: str, men: str) -> list[Column]:
    def word(label: str) -> str:
        label = label.replace("kvinnor − män", f"{women.lower()} − {men.lower()}")
        return label.replace("Kvinnor", women).replace("Män", men)

    return [replace(c, label=word(c.label)) for c in columns]


ADJUSTED_NOTE = (
    "Justerad skillnad: %(women_def)s andel minus %(men_def)s om båda hade haft samma fördelning över "
    "%(other)s (standardisering med en logistisk modell, 95 %% konfidensintervall). Skiljer sig den "
    "från den ojusterade beror en del av skillnaden på att %(women)s och %(men)s får olika %(what)s."
)
DIFFERENCE_NOTE = (
    "Skillnaden är %(women_def)s andel minus %(men_def)s, i procentenheter (p.e.), med Newcombes 95 %% "
    "konfidensintervall; en skillnad kallas skillnad bara när intervallet inte innehåller noll."
)
TOTAL_NOTE = (
    "Den ojusterade skillnaden jämför alla %(women)s med alla %(men)s. Den justerade jämför dem som om de "
    "hade fått samma insatser och varit lika gamla: det som återstår är en skillnad som insats och ålder "
    "inte förklarar."
)


def adjusted(cells: Sequence[dict[str, Any]], covariates: Sequence[str]) -> dict[str, Any]:
    """Women minus men standardised to the same mix of ``covariates``, with its interval and
    verdict; empty when it cannot be estimated (one sex missing, a model that does not converge)."""
    empty = {"adj_diff": None, "adj_diff_low": None, "adj_diff_high": None, "adj_verdict": None}
    if not cells:
        return empty
    # The model's input as columns (every cell has the same keys): no data frame per table.
    columns = {key: [cell[key] for cell in cells] for key in cells[0]}
    if not {"female", "male"} <= set(columns["sex"]):
        return empty
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = adjusted_difference(columns, list(covariates))
    except (ValueError, np.linalg.LinAlgError):
        return empty
    if not all(np.isfinite(v) for v in got.values()):
        return empty
    verdict = "ingen säker skillnad"
    if got["lower"] > 0:
        verdict = "högre"
    elif got["upper"] < 0:
        verdict = "lägre"
    return {"adj_diff": rounded(got["estimate"]), "adj_diff_low": rounded(got["lower"]),
            "adj_diff_high": rounded(got["upper"]), "adj_verdict": verdict}  # fmt: skip


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
    # One GROUP BY service × age group × sex: both tables' counts and the adjusted differences.
    # The adjusted differences' model input: no cell of it is shown (model_cells).
    cells3 = model_cells(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                         by=["service", "age_group", "sex"], filters=filters)  # fmt: skip
    words = sex_words(definition, {r["service"] for r in cells3})
    sexes = sex_params(words)
    for by, title in (("service", "insats"), ("age_group", "åldersgrupp")):
        other = "age_group" if by == "service" else "service"
        # The published cells (by, sex) with their disclosure flags (issue 10.6: the same cell is
        # hidden here as in a comparison by either dimension filtered on the other).
        counts = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
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
            # Adjusted only where the crude difference is shown (both sexes visible).
            if row["diff"] is not None:
                row.update(adjusted([c for c in cells3 if c[by] == group], [other]))
            else:
                row.update(adjusted([], [other]))
            rows.append(row)
        if by == "age_group":
            order = {
                label: i
                for i, label in enumerate(["0-12", "13-15", "16-17", "18-24", "25-44", "45-64", "65+"])
            }
            rows.sort(key=lambda r: order.get(r["group"], 99))
        else:
            rows.sort(key=lambda r: r["name"])
        other_title = "ålder" if by == "service" else "insats"
        columns = _worded([Column("group", "Kod", hidden=True), Column("name", title.capitalize()), *DIFF_COLUMNS,
                           *[replace(c, label=c.label.format(other=other_title)) for c in ADJUSTED_COLUMNS],
                           *SEX_COLUMNS], *words)  # fmt: skip
        caption = _("%(name)s: %(women)s och %(men)s per %(by)s, %(from)s–%(to)s") % {
            "name": definition.name, "by": _(title), "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}",
            "women": _(sexes["women"]), "men": _(sexes["men"])}  # fmt: skip
        tables["per_" + by] = ResultTable(
            "kvinnor_man_" + ("insats" if by == "service" else "alder"), caption, columns, rows,
            notes=[Phrase(DIFFERENCE_NOTE, women_def=sexes["women_def"], men_def=sexes["men_def"]),
                   Phrase(ADJUSTED_NOTE, other="åldersgrupper" if by == "service" else "insatser",
                          what="åldrar" if by == "service" else "insatser", women=sexes["women"],
                          men=sexes["men"], women_def=sexes["women_def"], men_def=sexes["men_def"]),
                   *comparable],
        )  # fmt: skip
    by_sex = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                              by=["sex"], filters=filters)  # fmt: skip
    tables["total"] = _total(cells3, by_sex, definition.name, date_from, date_to, comparable, sexes)
    tables["total"].columns = _worded(tables["total"].columns, *words)
    page = Page(f"{definition.name}: kvinnor och män", tables)
    page.charts["per_service"] = charts.women_and_men(tables["per_service"].rows, "Insats", words)
    page.charts["per_age_group"] = charts.women_and_men(tables["per_age_group"].rows, "Åldersgrupp", words)
    page.facts = {"indicator": indicator, "indicator_name": definition.name, "from": date_from.isoformat(),
                  "to": date_to.isoformat(), "scope": scope_description(filters),
                  "comparability": comparable, "women": words[0], "men": words[1],
                  # The page's heading and chart captions name the same groups as the columns.
                  "total_heading": Phrase("Alla %(women)s och %(men)s: ojusterad och justerad skillnad",
                                          women=sexes["women"], men=sexes["men"]),
                  "service_caption": Phrase("%(Women_gen)s och %(men_gen)s andel per insats med 95 %% "
                                            "konfidensintervall.", Women_gen=sexes["Women_gen"],
                                            men_gen=sexes["men_gen"]),
                  "age_caption": Phrase("%(Women_gen)s och %(men_gen)s andel per åldersgrupp med 95 %% "
                                        "konfidensintervall.", Women_gen=sexes["Women_gen"],
                                        men_gen=sexes["men_gen"])}  # fmt: skip
    return page


def _total(
    cells: Sequence[dict[str, Any]],
    by_sex: Sequence[dict[str, Any]],
    name: str,
    date_from: dt.date,
    date_to: dt.date,
    comparable: list[str],
    sexes: dict[str, str],
) -> ResultTable:
    """All women and all men: the crude difference and the one adjusted for service and age.
    ``by_sex`` are the protected counts per sex (every sex, so a small "annat" is protected too)."""
    shown = {r["group"]: r for r in suppress(proportion_rows(by_sex, "sex"), min_n=min_n())}
    women, men = shown.get("female"), shown.get("male")
    row: dict[str, Any] = {"group": "Alla"}
    for prefix, part in (("women", women), ("men", men)):
        for key in ("n", "events", "rate", "ci_low", "ci_high"):
            row[f"{prefix}_{key}"] = part.get(key) if part else None
        row[f"{prefix}_suppressed"] = bool(part is None or part["suppressed"])
    row.update(difference(women, men))
    row.update(adjusted(cells if row["diff"] is not None else [], ["service", "age_group"]))
    caption = _("%(name)s: alla %(women)s och %(men)s, %(from)s–%(to)s") % {
        "name": name, "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}",
        "women": _(sexes["women"]), "men": _(sexes["men"])}  # fmt: skip
    return ResultTable(
        "kvinnor_man_totalt", caption, TOTAL_COLUMNS, [row],
        notes=[Phrase(TOTAL_NOTE, women=sexes["women"], men=sexes["men"]), *comparable],
    )  # fmt: skip
