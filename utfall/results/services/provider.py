"""One provider: its row of every comparison, its trend on one indicator, and its contracts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import numpy as np
from django.http import Http404
from django.utils.translation import gettext as _

from utfall.comparisons.access import scoped_filters
from utfall.comparisons.disclosure import (
    prefetch_cell_within,
    prefetch_protected,
    prefetch_shown_within,
    protected_counts,
)
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.core.fits import fits_kept_for
from utfall.registry.models import Contract, Provider, add_months
from utfall.results import charts
from utfall.results.services.common import Page, comparability_notes, min_n, municipality_of
from utfall.results.services.trends import trend
from utfall.results.tables import Column, ResultTable, rounded
from utfall.stats.assessment import ASSESSMENT_ROW_KEYS, assess_each
from utfall.stats.overdispersion import DEFAULT_METHOD, OverdispersionFit, fit_overdispersion
from utfall.stats.proportions import wilson_interval
from utfall.stats.suppression import hidden_rows

PROVIDER_COLUMNS = [
    Column("indicator", "Indikator-kod"),
    Column("name", "Indikator"),
    Column("n", "n", "count"),
    Column("rate", "Utförarens andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("target", "Kommunens förväntade nivå", "rate"),
    Column("lower_998", "Styrgräns 99,8 %, nedre", "rate"),
    Column("upper_998", "Styrgräns 99,8 %, övre", "rate"),
    Column("flag", "Flagga", "flag"),
    # What the flag cannot say (issue 10.3), as on the comparison page.
    Column("estimate", "Skattad verklig andel", "rate", interval=("estimate_low", "estimate_high")),
    Column("estimate_low", "Skattad andel, 95 % KI nedre", "rate"),
    Column("estimate_high", "Skattad andel, 95 % KI övre", "rate"),
    Column("p_below_reference", "Sannolikhet under kommunens nivå", "rate"),
    Column("detectable_low", "Minsta skillnad som kan upptäckas, lägre", "points"),
]


def own_comparison_row(
    counts: Sequence[Mapping[str, Any]], provider_id: str, own: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One provider's row of the comparison of all providers (:func:`own_comparison_rows` of one)."""
    return own_comparison_rows([(counts, provider_id, own)])[0]


def own_comparison_rows(
    comparisons: Sequence[tuple[Sequence[Mapping[str, Any]], str, Mapping[str, Any] | None]],
) -> list[dict[str, Any]]:
    """Each ``(counts, provider_id, own)``'s row by :func:`_own_row`, their Wilson intervals and
    assessment columns worked out together (``stats.assessment.assess_each``: ~30 rows' posteriors in one grid,
    2026-12-07)."""
    rows, pending = [], []
    for counts, provider_id, own in comparisons:
        row, assessing = _own_row(counts, provider_id, own)
        rows.append(row)
        if assessing is not None:
            pending.append((row, *assessing))
    if pending:
        low, high = wilson_interval(
            np.array([p[2] for p in pending]), np.array([p[3] for p in pending]), 0.95
        )
        for (row, *_), lo, hi in zip(pending, low.tolist(), high.tolist(), strict=True):
            row["ci_low"], row["ci_high"] = rounded(lo), rounded(hi)
        assessed = assess_each([p[1] for p in pending], [p[2] for p in pending], [p[3] for p in pending],
                               outlier=[p[4] for p in pending])  # fmt: skip
        for (row, fit, *_), columns in zip(pending, assessed, strict=True):
            if fit is not None:
                row.update({key: rounded(columns[key]) for key in ASSESSMENT_ROW_KEYS})
    return rows


def _own_row(
    counts: Sequence[Mapping[str, Any]], provider_id: str, own: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], tuple[OverdispersionFit | None, float, float, bool] | None]:
    """One provider's row of the comparison of all providers, without working out every
    other provider's limits: the same fit, target, limits at its n, flag and suppression as
    :func:`utfall.stats.comparison.compare_proportions` (tested against it), rounded as its JSON.

    ``own``: the provider's cell within the viewer's scope (a unit manager's unit: the provider
    and the unit as one cell, with its ``suppressed`` flag) when that is narrower than
    ``counts``; it is judged against the fit of ``counts``, the whole population, and stays
    hidden when the provider's row is hidden there (issue 10.1).

    Returns the row without its interval and assessment columns, and what they take (the fit or
    None, the provider's events and n, whether the fit left it out), or None for a row not shown.
    """
    minimum = min_n()
    sizes = list(map(itemgetter("n"), counts))  # 750 rows, 13–31 counts a page: no Python loop a row
    x = np.fromiter(map(itemgetter("events"), counts), dtype=np.float64, count=len(counts))
    m = np.array(sizes, dtype=np.float64)
    # Which rows compare_proportions' suppress() hides: the rule on the sizes and flags alone.
    flagged = [i for i, r in enumerate(counts) if r.get("suppressed")]
    hidden = hidden_rows(sizes, min_n=minimum, flagged=flagged)
    # Fitted on the shown providers only (issue 10.6), as compare_proportions.
    shown = np.ones(len(counts), dtype=bool)
    shown[list(hidden)] = False
    used = np.flatnonzero((m >= minimum) & shown)
    fit = (
        fit_overdispersion(x[used], m[used], kind="proportion", method=DEFAULT_METHOD) if used.size else None
    )
    row: dict[str, Any] = dict.fromkeys(("n", "rate", "ci_low", "ci_high", "lower_998", "upper_998", "flag"))
    row["target"] = rounded(fit.target) if fit is not None else None
    row["suppressed"] = True
    providers = list(map(itemgetter("provider"), counts))
    if set(map(type, providers)) <= {str}:  # codes are text: found at C speed
        index = providers.index(provider_id) if provider_id in providers else None
    else:
        index = next((i for i, p in enumerate(providers) if str(p) == provider_id), None)
    if index is None:  # no answers at all: nothing to hide, nothing to show
        row.update(n=0, suppressed=False)
        return row, None
    if index in hidden:
        return row, None
    events, n = x[index], m[index]
    if own is not None:
        if not own.get("n"):  # no answers within the scope: nothing to hide, nothing to show
            row.update(n=0, suppressed=False)
            return row, None
        events, n = float(own["events"]), float(own["n"])
        if n < minimum or own.get("suppressed"):
            return row, None
    row.update(n=int(n), rate=rounded(events / n), suppressed=False)  # its interval: own_comparison_rows
    if fit is None:
        return row, (None, float(events), float(n), False)
    lo998, hi998 = fit.limits(np.array([n]), 0.998)
    row["lower_998"], row["upper_998"] = rounded(float(lo998[0])), rounded(float(hi998[0]))
    value = events / n
    row["flag"] = "high" if value > hi998[0] else ("low" if value < lo998[0] else None)
    # The provider's own counts (within a unit manager's unit) judged on the fit; its place
    # in the table says whether the fit left it out (assess's outliers: used[fit.excluded]).
    outlier = bool(fit.excluded) and index in used[list(fit.excluded)].tolist()
    return row, (fit, float(events), float(n), outlier)


def get_provider(user: Any, provider_id: str) -> tuple[Provider, dict[str, str]]:
    """The provider if the user may see its aggregates (404 for another municipality's)."""
    municipality = municipality_of(user)
    provider = Provider.objects.filter(municipality=municipality, provider_id=provider_id).first()
    if provider is None:
        raise Http404("Utföraren finns inte.")
    filters = scoped_filters(user, {"provider": provider_id})
    return provider, filters


def provider_results(
    user: Any, provider_id: str, *, date_from: dt.date, date_to: dt.date, indicator: str, grain: str
) -> Page:
    """One provider on every indicator against the municipality (its row of each comparison),
    its trend on one indicator, and its contracts."""
    provider, filters = get_provider(user, provider_id)
    municipality = municipality_of(user)
    others = {k: v for k, v in filters.items() if k != "provider"}
    # The provider's row comes from the full comparison of all providers, so its flag is the
    # funnel's flag; the five question indicators are counted in one scan of the answers. The
    # reference is the whole municipality whoever looks (issue 10.1): a unit manager's scope
    # (``others``) narrows only the provider's own counts.
    questions = [d for d in all_indicators().values() if d.kind == "question"]
    comparable = comparability_notes(questions)

    def counted(definition: Any, where: dict[str, str]) -> list[dict[str, Any]]:
        return protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                         by=["provider"], filters=where)  # fmt: skip

    # Every indicator through protected_counts (issue 10.6), so the page hides what the comparison hides.
    # The question indicators' counts (and their partitions) in one query, not one each.
    prefetch_protected(questions, municipality=municipality, date_from=date_from, date_to=date_to,
                       by=["provider"])  # fmt: skip
    if others:
        # Within a scope, the provider's own figures are one cell (the provider and the unit),
        # hidden by the same partitions as its row of the count by provider within the unit
        # (a cell's flag depends on its conditions, not on how it is asked: docs/disclosure.md):
        # its partition along the unit is the provider's units alone, not every provider's
        # (2026-12-06, prov5). The questions' partitions in one query each.
        prefetch_protected(questions, municipality=municipality, date_from=date_from, date_to=date_to,
                           by=[], filters=filters, along=[d for d in filters if d != "provider"])  # fmt: skip
        # Not the unit's every provider's cells: a few of them for every question at once.
        prefetch_shown_within(questions, municipality=municipality, date_from=date_from, date_to=date_to,
                              filters=filters)  # fmt: skip
    rows: list[dict[str, Any]] = []
    wanted: list[tuple[list[dict[str, Any]], str, dict[str, Any] | None]] = []
    with fits_kept_for(municipality.pk):  # the 13 fits kept between processes (docs/decisions.md)
        for definition in all_indicators().values():
            counts = counted(definition, {})
            own = None
            if others:
                # The cell, its row by unit and a few providers' cells in the unit in one count
                # (the count by provider just read names the few; 2026-12-07, mgrprov8).
                prefetch_cell_within(definition, municipality=municipality, date_from=date_from,
                                     date_to=date_to, filters=filters)  # fmt: skip
                cell = protected_counts(definition, municipality=municipality, date_from=date_from,
                                        date_to=date_to, by=[], filters=filters)  # fmt: skip
                own = cell[0] if cell else {"events": 0, "n": 0}
            wanted.append((counts, provider_id, own))
        # Their assessment columns together (own_comparison_rows), inside the block: a fit's
        # limits are kept with it.
        for (code, definition), row in zip(
            all_indicators().items(), own_comparison_rows(wanted), strict=True
        ):
            rows.append({"indicator": code, "name": definition.name, **row})
    caption = _("%(name)s: alla indikatorer mot kommunen, %(from)s–%(to)s") % {
        "name": provider.name, "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}"}  # fmt: skip
    table = ResultTable(
        "utforare_" + provider_id, caption, PROVIDER_COLUMNS, rows,
        notes=["Kommunens förväntade nivå och styrgränserna kommer från jämförelsen av alla utförare.",
               *comparable],
    )  # fmt: skip
    # The trend: the period and the two years before it, from the same day two calendar years back
    # (730 days back from 1 January 2025 was 2 January 2023: the first quarter cut by a day).
    over_time = trend(user, indicator=indicator, grain=grain, date_from=add_months(date_from, -24),
                      date_to=date_to, provider=provider_id)  # fmt: skip
    contracts = (
        Contract.objects.filter(municipality=municipality, provider=provider)
        .prefetch_related("services")
        .order_by("valid_from")
    )
    contract_rows = [
        {"contract_id": c.contract_id, "form": c.get_form_display(),
         "services": ", ".join(s.name for s in c.services.all()),
         "valid_from": c.valid_from.isoformat(), "valid_to": c.valid_to.isoformat() if c.valid_to else ""}
        for c in contracts
    ]  # fmt: skip
    contract_table = ResultTable(
        "avtal", f"Avtal med {provider.name}",
        [Column("contract_id", "Avtal"), Column("form", "Form"), Column("services", "Insatser"),
         Column("valid_from", "Gäller från"), Column("valid_to", "Gäller till")],
        contract_rows,
    )  # fmt: skip
    over_time.tables["trend"].name = "utforare_trend_" + provider_id
    page = Page(
        caption,
        {"indikatorer": table, "trend": over_time.tables["trend"], "avtal": contract_table},
        {"indikatorer": charts.provider_profile(rows), "trend": over_time.charts["trend"]},
        {"provider": provider_id, "provider_name": provider.name, "ownership": provider.get_ownership_display(),
         "from": date_from.isoformat(), "to": date_to.isoformat(), "indicator": indicator,
         "indicator_name": get_indicator(indicator).name, "grain": grain,
         "comparability": comparable},
    )  # fmt: skip
    return page
