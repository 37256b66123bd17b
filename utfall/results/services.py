"""The analytics pages' domain functions: counts from the database, statistics from utfall.stats.

Every function takes the signed-in user first and narrows the query through
:func:`utfall.comparisons.access.scoped_filters` (the one access funnel for aggregates);
counts come from :mod:`utfall.comparisons.queries` (GROUP BY in the database) and every
row goes through :func:`utfall.stats.suppression.suppress` before it is returned. Pages,
downloads and the API all call these functions, so they show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from utfall.comparisons.access import scoped_filters
from utfall.comparisons.cache import cached
from utfall.comparisons.indicators import Indicator, all_indicators, get_indicator
from utfall.comparisons.queries import aggregate, aggregate_questions, followup_status_counts, reference_date
from utfall.comparisons.queries import periods as period_list
from utfall.comparisons.services import compare
from utfall.instruments.services import comparabilities
from utfall.organisations.models import Municipality, Unit, User
from utfall.registry.models import Contract, Provider, Service
from utfall.results import charts
from utfall.results.tables import Column, ResultTable, rounded
from utfall.stats.overdispersion import DEFAULT_METHOD, fit_overdispersion
from utfall.stats.proportions import newcombe_difference, wilson_interval
from utfall.stats.suppression import suppress

#: A provider's results are marked uncertain when it follows up fewer than this share of
#: the share the municipality as a whole follows up in the same period (docs/results.md).
LOW_COVERAGE_RATIO = 0.6
SEX_LABELS = {"female": "Kvinnor", "male": "Män", "other": "Annat"}
FLAG_LABELS = {"low": "Lägre än förväntat", "high": "Högre än förväntat", None: "Inom gränserna"}
OUTCOME_INDICATORS = ("step_down", "plan_goals_reached", "plan_goals_fully")
#: Short names for the outcome table's column headers (the full names are in the notes).
OUTCOME_SHORT = {"step_down": "Stegning nedåt", "plan_goals_reached": "Mål nådda helt/delvis",
                 "plan_goals_fully": "Alla mål helt nådda"}  # fmt: skip
OUTCOME_SERVICES = ("ihf", "tfco")
#: Seed 004's third measure: guardians' and children's assessment of a completed IHF (or MST)
#: treatment, from the family instruments' indicators.
FAMILY_INSTRUMENTS = {"family-guardian-2026": "Vårdnadshavare", "family-child-2026": "Barn"}
FAMILY_SERVICES = ("ihf", "mst")
UNKNOWN_CASEWORKER = "okänd (import)"


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


def _proportion_rows(counts: Sequence[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows of {group, n, events, rate, ci_low, ci_high} with 95 % Wilson intervals, unsuppressed."""
    x = np.array([r["events"] for r in counts], dtype=np.float64)
    n = np.array([r["n"] for r in counts], dtype=np.float64)
    low, high = wilson_interval(x, n, 0.95) if len(counts) else (np.array([]), np.array([]))
    out = []
    for i, r in enumerate(counts):
        out.append(
            {
                "group": r[key],
                "n": int(r["n"]),
                "events": int(r["events"]),
                "rate": rounded(float(x[i] / n[i])) if n[i] else None,
                "ci_low": rounded(float(low[i])) if n[i] else None,
                "ci_high": rounded(float(high[i])) if n[i] else None,
            }
        )
    return out


def _difference(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any]:
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


def _names(model: Any, municipality: Municipality | None, key: str, codes: set[Any]) -> dict[Any, str]:
    if not codes:
        return {}
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
    spans = cached(("comparabilities", tuple(pairs)), lambda: comparabilities(pairs))
    notes = []
    for d in definitions:
        note = spans[(d.instrument, d.question)].note if d.kind == "question" else ""
        if note:
            notes.append(f"Jämförbarhet, {d.name}: {note}")
    return notes


def _scope(user: Any, requested: Mapping[str, str | None]) -> tuple[Municipality, dict[str, str]]:
    municipality = municipality_of(user)
    filters = scoped_filters(user, {k: v for k, v in requested.items() if v})
    return municipality, filters


def scope_description(filters: Mapping[str, str]) -> str:
    parts = {"unit": "enhet", "provider": "utförare", "service": "insats", "target_group": "målgrupp"}
    shown = [f"{parts.get(k, k)} {v}" for k, v in filters.items()]
    return "hela kommunen" if not shown else ", ".join(shown)


# --- 1. provider comparison -------------------------------------------------------------


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


COMPARISON_COLUMNS = [
    Column("group", "Utförar-id"),
    Column("name", "Utförare"),
    Column("n", "n", "count"),
    Column("events", "Antal positiva", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("lower_998", "Styrgräns 99,8 %, nedre", "rate"),
    Column("upper_998", "Styrgräns 99,8 %, övre", "rate"),
    Column("flag", "Flagga", "flag"),
    Column("coverage_note", "Uppföljningsgrad"),
]
RATIO_COLUMNS = [
    Column("group", "Utförar-id"),
    Column("name", "Utförare"),
    Column("n", "n", "count"),
    Column("observed", "Observerat (O)", "count"),
    Column("expected", "Förväntat (E)", "number"),
    Column("ratio", "O/E", "ratio", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "ratio"),
    Column("ci_high", "95 % KI, övre", "ratio"),
    Column("lower_998", "Styrgräns 99,8 %, nedre", "ratio"),
    Column("upper_998", "Styrgräns 99,8 %, övre", "ratio"),
    Column("flag", "Flagga", "flag"),
    Column("coverage_note", "Uppföljningsgrad"),
]


def _low_coverage(
    municipality: Municipality, date_from: dt.date, date_to: dt.date, filters: Mapping[str, str]
) -> set[str]:
    """Providers (visible after suppression) that follow up clearly less than the municipality."""
    counts = aggregate(
        get_indicator("followup_coverage"), municipality=municipality, date_from=date_from,
        date_to=date_to, by=["provider"], filters=filters,
    )  # fmt: skip
    total_n = sum(r["n"] for r in counts)
    if not total_n:
        return set()
    overall = sum(r["events"] for r in counts) / total_n
    rows = suppress(_proportion_rows(counts, "provider"), min_n=min_n())
    return {
        r["group"]
        for r in rows
        if not r["suppressed"] and r["rate"] is not None and r["rate"] < LOW_COVERAGE_RATIO * overall
    }


def provider_comparison(
    user: Any,
    *,
    indicator: str,
    date_from: dt.date,
    date_to: dt.date,
    service: str | None = None,
    target_group: str | None = None,
    unit: str | None = None,
    adjust: bool = False,
) -> Page:
    """Every provider on one indicator, with funnel limits; the same rows as /api/v1/comparisons."""
    municipality, filters = _scope(user, {"service": service, "target_group": target_group, "unit": unit})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    result = compare(
        municipality=municipality, indicator=indicator, date_from=date_from, date_to=date_to,
        by="provider", filters=filters, adjust=adjust,
    )  # fmt: skip
    data = result.as_json()
    names = _names(Provider, municipality, "provider_id", {r["group"] for r in data["rows"]})
    low = _low_coverage(municipality, date_from, date_to, filters) if definition.kind != "coverage" else set()
    rows = []
    for row in data["rows"]:
        note = "låg – osäkert resultat" if row["group"] in low and not row["suppressed"] else ""
        rows.append({**row, "name": names.get(row["group"], row["group"]), "coverage_note": note})
    rows.sort(key=lambda r: (r["suppressed"], r["name"]))
    caption = (
        f"{definition.name}: utförare {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d} ({scope_description(filters)})"
    )
    table = ResultTable(
        "jamforelse", caption, RATIO_COLUMNS if adjust else COMPARISON_COLUMNS, rows,
        notes=[
            f"Grupper med färre än {min_n()} visas inte (och ytterligare en grupp döljs när det behövs "
            "för att de dolda inte ska kunna räknas fram).",
            "Flagga: utanför styrgränsen 99,8 % efter justering för överspridning.",
            *comparable,
        ],
    )  # fmt: skip
    spec = charts.funnel(data, rows, result.comparison.fit, adjusted=adjust, title=definition.name)
    facts = {
        "indicator": indicator,
        "indicator_name": definition.name,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "scope": scope_description(filters),
        "target": data["target"],
        "overdispersion": data["overdispersion"],
        "adjusted": adjust,
        "flagged_low": sum(1 for r in rows if r["flag"] == "low"),
        "flagged_high": sum(1 for r in rows if r["flag"] == "high"),
        "providers": len(rows),
        "suppressed": sum(1 for r in rows if r["suppressed"]),
        "comparability": comparable,
    }
    return Page(caption, {"jamforelse": table}, {"funnel": spec}, facts)


# --- 2. trends and self-monitoring -----------------------------------------------------

TREND_COLUMNS = [
    Column("period", "Period"),
    Column("n", "n", "count"),
    Column("events", "Antal positiva", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("diff", "Förändring mot föregående period", "diff", interval=("diff_low", "diff_high")),
    Column("diff_low", "Förändring, 95 % KI nedre", "diff"),
    Column("diff_high", "Förändring, 95 % KI övre", "diff"),
    Column("verdict", "Bedömning"),
]


def trend(
    user: Any,
    *,
    indicator: str,
    grain: str,
    date_from: dt.date,
    date_to: dt.date,
    unit: str | None = None,
    service: str | None = None,
    provider: str | None = None,
) -> Page:
    """One indicator per quarter or year, with the change from the previous period (Newcombe)."""
    municipality, filters = _scope(user, {"unit": unit, "service": service, "provider": provider})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    periods = period_list(grain, date_from, date_to)
    if definition.kind == "coverage":
        counts = []
        for label, start, end in periods:  # one GROUP BY query per period: coverage has no date
            (total,) = aggregate(definition, municipality=municipality, date_from=start, date_to=end,
                                 by=[], filters=filters)  # fmt: skip
            counts.append({"period": label, **total})
    else:
        found = {
            r["period"]: r
            for r in aggregate(
                definition,
                municipality=municipality,
                date_from=date_from,
                date_to=date_to,
                by=[],
                filters=filters,
                period=grain,
            )
        }
        counts = [found.get(label, {"period": label, "n": 0, "events": 0}) for label, _, _ in periods]
    # Periods without data are shown as empty, not suppressed: an empty period reveals nothing
    # and must not make the suppression hide a neighbour.
    shown = {
        r["group"]: r
        for r in suppress(_proportion_rows([c for c in counts if c["n"]], "period"), min_n=min_n())
    }
    empty = {"n": 0, "events": 0, "rate": None, "ci_low": None, "ci_high": None, "suppressed": False}
    rows = [shown.get(c["period"]) or {"group": c["period"], **empty} for c in counts]
    previous: dict[str, Any] | None = None
    for row in rows:
        row["period"] = row["group"]
        row.update(_difference(row, previous))
        if row["verdict"] == "högre":
            row["verdict"] = "ökning"
        elif row["verdict"] == "lägre":
            row["verdict"] = "minskning"
        previous = row
    scope = scope_description(filters)
    grain_name = "kvartal" if grain == "quarter" else "år"
    caption = f"{definition.name} per {grain_name}, {scope}"
    table = ResultTable(
        "trend", caption, TREND_COLUMNS, rows,
        notes=["En förändring kallas ökning eller minskning bara när dess 95 % konfidensintervall "
               "inte innehåller noll.", *comparable],
    )  # fmt: skip
    facts = {"indicator": indicator, "indicator_name": definition.name, "grain": grain,
             "from": date_from.isoformat(), "to": date_to.isoformat(), "scope": scope,
             "comparability": comparable}  # fmt: skip
    return Page(caption, {"trend": table}, {"trend": charts.trend(rows, definition.name)}, facts)


# --- 3. women and men ------------------------------------------------------------------

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
    municipality, filters = _scope(user, {"service": service, "unit": unit})
    definition = get_indicator(indicator)
    comparable = comparability_notes([definition])
    tables = {}
    for by, title in (("service", "insats"), ("age_group", "åldersgrupp")):
        counts = aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                           by=[by, "sex"], filters=filters)  # fmt: skip
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in counts:
            groups.setdefault(r[by], []).append(r)
        names = _names(Service, None, "code", set(groups)) if by == "service" else {}
        rows = []
        for group, cells in groups.items():
            shown = {r["group"]: r for r in suppress(_proportion_rows(cells, "sex"), min_n=min_n())}
            women, men = shown.get("female"), shown.get("male")
            row: dict[str, Any] = {"group": group, "name": names.get(group, group)}
            for prefix, part in (("women", women), ("men", men)):
                for key in ("n", "events", "rate", "ci_low", "ci_high"):
                    row[f"{prefix}_{key}"] = part.get(key) if part else None
                row[f"{prefix}_suppressed"] = bool(part is None or part["suppressed"])
            row.update(_difference(women, men))
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


# --- 4. coverage and non-response -----------------------------------------------------

COVERAGE_COLUMNS = [
    Column("group", "Kod"),
    Column("name", "Namn"),
    Column("ongoing_n", "Pågående insatser (n)", "count"),
    Column("followed", "Uppföljda", "count"),
    Column("coverage", "Andel uppföljda", "rate", interval=("coverage_ci_low", "coverage_ci_high")),
    Column("coverage_ci_low", "Andel uppföljda, 95 % KI nedre", "rate"),
    Column("coverage_ci_high", "Andel uppföljda, 95 % KI övre", "rate"),
    Column("followups_n", "Uppföljningar (n)", "count"),
    Column("declined", "Avböjda", "count"),
    Column("declined_rate", "Andel avböjda", "rate"),
    Column("unreachable", "Ej nåbara", "count"),
    Column("unreachable_rate", "Andel ej nåbara", "rate"),
]
COVERAGE_BY = {"unit": "enhet", "provider": "utförare", "caseworker": "socialsekreterare"}


def coverage(user: Any, *, date_from: dt.date, date_to: dt.date, by: str) -> Page:
    """Share of ongoing interventions followed up, and declines and unreachable clients, per group.

    Coverage counts interventions; non-response counts follow-ups: two denominators, each
    suppressed on its own. Interventions have no caseworker, so per caseworker only the
    follow-ups they recorded are shown; imported follow-ups have none ("okänd (import)").
    """
    municipality, filters = _scope(user, {})
    if by == "caseworker" and "provider" in filters:
        raise PermissionDenied("Utförare ser inte uppföljningar per socialsekreterare.")
    cov: dict[Any, dict[str, Any]] = {}
    if by != "caseworker":
        counts = aggregate(get_indicator("followup_coverage"), municipality=municipality,
                           date_from=date_from, date_to=date_to, by=[by], filters=filters)  # fmt: skip
        cov = {r["group"]: r for r in suppress(_proportion_rows(counts, by), min_n=min_n())}
    status = followup_status_counts(
        municipality=municipality, date_from=date_from, date_to=date_to, by=by, filters=filters
    )
    resp_rows = suppress(
        [{"group": r[by], "n": r["n"], "declined": r["declined"], "unreachable": r["unreachable"]}
         for r in status],
        min_n=min_n(),
    )  # fmt: skip
    resp = {r["group"]: r for r in resp_rows}
    keys = list(dict.fromkeys([*cov, *resp]))
    if by == "unit":
        names = _names(Unit, municipality, "code", set(keys))
    elif by == "provider":
        names = _names(Provider, municipality, "provider_id", set(keys))
    else:
        users = User.objects.filter(pk__in=[k for k in keys if k is not None], municipality=municipality)
        names = {u.pk: (u.get_full_name() or u.get_username()) for u in users}
    rows = []
    for key in keys:
        c, r = cov.get(key, {}), resp.get(key, {})
        n_f = r.get("n")
        rows.append(
            {
                "group": key if by != "caseworker" else (key or ""),
                "name": UNKNOWN_CASEWORKER
                if (by == "caseworker" and key is None)
                else names.get(key, str(key)),
                "ongoing_n": c.get("n"),
                "followed": c.get("events"),
                "coverage": c.get("rate"),
                "coverage_ci_low": c.get("ci_low"),
                "coverage_ci_high": c.get("ci_high"),
                "followups_n": n_f,
                "declined": r.get("declined"),
                "declined_rate": rounded(r["declined"] / n_f) if n_f else None,
                "unreachable": r.get("unreachable"),
                "unreachable_rate": rounded(r["unreachable"] / n_f) if n_f else None,
            }
        )
    rows.sort(key=lambda row: (row["name"] == UNKNOWN_CASEWORKER, str(row["name"])))
    caption = f"Uppföljningsgrad och bortfall per {COVERAGE_BY[by]}, {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}"
    columns = (
        COVERAGE_COLUMNS
        if by != "caseworker"
        else [COVERAGE_COLUMNS[0], COVERAGE_COLUMNS[1], *COVERAGE_COLUMNS[7:]]
    )
    if by == "caseworker":
        columns = [Column("name", "Socialsekreterare"), *COVERAGE_COLUMNS[7:]]
    table = ResultTable(
        "tackning_" + by, caption, columns, rows,
        notes=["Andel uppföljda: pågående insatser under perioden med minst en uppföljning (oavsett utfall) "
               "i perioden. Avböjda och ej nåbara räknas bland periodens uppföljningar."],
    )  # fmt: skip
    page = Page(caption, {"tackning": table}, facts={"by": by, "from": date_from.isoformat(),
                "to": date_to.isoformat(), "scope": scope_description(filters)})  # fmt: skip
    if by != "caseworker":
        page.charts["tackning"] = charts.coverage(rows, COVERAGE_BY[by].capitalize())
    return page


# --- 5. outcome measures (seed 004) ----------------------------------------------------


def _rate_columns(key: str, label: str) -> list[Column]:
    """n, rate and its 95 % interval of one group in a row of several side by side."""
    return [
        Column(f"{key}_n", f"{label}: n", "count"),
        Column(f"{key}_rate", f"{label}: andel", "rate", interval=(f"{key}_ci_low", f"{key}_ci_high")),
        Column(f"{key}_ci_low", f"{label}: 95 % KI nedre", "rate"),
        Column(f"{key}_ci_high", f"{label}: 95 % KI övre", "rate"),
    ]


def _with_total(counts: Sequence[Mapping[str, Any]], key: str, total: str) -> dict[str, dict[str, Any]]:
    """Each group's row and their ``total`` row (Wilson intervals), suppressed together: the
    total is the sum of the groups, so none may be recoverable from the others."""
    whole = {key: total, "n": sum(r["n"] for r in counts), "events": sum(r["events"] for r in counts)}
    return {r["group"]: r for r in suppress(_proportion_rows([whole, *counts], key), min_n=min_n())}


def _put_cell(row: dict[str, Any], prefix: str, cell: Mapping[str, Any] | None) -> None:
    """One group's n, rate and interval into a row of several side by side (see _rate_columns),
    marked ``<prefix>_suppressed`` when hidden."""
    cell = cell or {}
    row[f"{prefix}_suppressed"] = bool(cell.get("suppressed"))
    for name in ("n", "rate", "ci_low", "ci_high"):
        row[f"{prefix}_{name}"] = cell.get(name)


def outcomes(user: Any, *, date_from: dt.date, date_to: dt.date, unit: str | None = None) -> Page:
    """Step-down and implementation-plan goals after ended interventions, in all and per service."""
    municipality, filters = _scope(user, {"unit": unit})
    per_measure: dict[str, dict[str, dict[str, Any]]] = {}
    services: set[str] = set()
    for code in OUTCOME_INDICATORS:
        counts = aggregate(get_indicator(code), municipality=municipality, date_from=date_from,
                           date_to=date_to, by=["service"], filters=filters)  # fmt: skip
        per_measure[code] = _with_total(counts, "service", "")
        services |= {r["service"] for r in counts}
    names = _names(Service, None, "code", services)
    order = ["", *OUTCOME_SERVICES, *sorted(services - set(OUTCOME_SERVICES), key=lambda s: names.get(s, s))]
    columns = [Column("name", "Insats"), Column("group", "Kod")]
    for code in OUTCOME_INDICATORS:
        columns += _rate_columns(code, OUTCOME_SHORT[code])
    rows = []
    for service in order:
        if service and service not in services:
            continue
        row: dict[str, Any] = {"group": service or "alla", "name": names.get(service, "Alla insatser")}
        for code in OUTCOME_INDICATORS:
            _put_cell(row, code, per_measure[code].get(service))
        rows.append(row)
    caption = f"Utfallsmått efter avslutade insatser, {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d} ({scope_description(filters)})"
    table = ResultTable(
        "utfallsmatt", caption, columns, rows,
        notes=[*(f"{OUTCOME_SHORT[c]}: {get_indicator(c).name}." for c in OUTCOME_INDICATORS),
               "Stegning nedåt räknas först 90 dagar efter avslutet (nästa insats kan inte vara känd förr). "
               "Insatser avslutade på grund av flytt räknas inte."],
    )  # fmt: skip
    page = Page(caption, {"utfallsmatt": table}, facts={"from": date_from.isoformat(),
                "to": date_to.isoformat(), "scope": scope_description(filters)})  # fmt: skip
    page.charts["utfallsmatt"] = charts.outcomes(rows, OUTCOME_SHORT)
    family = _family_assessment(municipality, date_from, date_to, filters)
    page.tables["bedomning_ihf"] = family
    page.charts["bedomning_ihf"] = charts.family_assessment(family.rows, names)
    return page


def _family_assessment(
    municipality: Municipality, date_from: dt.date, date_to: dt.date, filters: Mapping[str, str]
) -> ResultTable:
    """Guardians' and children's assessment of completed IHF/MST treatment (seed 004): one row
    per question, IHF and MST side by side with both together. The two services partition the
    total, so each row's three cells are suppressed together."""
    indicators = [d for d in all_indicators().values() if d.instrument in FAMILY_INSTRUMENTS]
    counted = aggregate_questions(indicators, municipality=municipality, date_from=date_from,
                                  date_to=date_to, by=["service"], filters=filters)  # fmt: skip
    names = _names(Service, None, "code", set(FAMILY_SERVICES))
    columns = [
        Column("group", "Indikator-kod"),
        Column("respondent", "Svarande"),
        Column("name", "Indikator"),
    ]
    parts = [("all", "Båda"), *((s, names.get(s, s)) for s in FAMILY_SERVICES)]
    for key, label in parts:
        columns += _rate_columns(key, label)
    rows = []
    for indicator in indicators:
        counts = [r for r in counted[indicator.code] if r["service"] in FAMILY_SERVICES]
        # Nobody asked is nothing to hide: an empty row is shown empty, not as suppressed.
        shown = _with_total(counts, "service", "all") if any(r["n"] for r in counts) else {}
        row: dict[str, Any] = {"group": indicator.code, "respondent": FAMILY_INSTRUMENTS[indicator.instrument],
                               "name": indicator.name}  # fmt: skip
        for key, _ in parts:
            _put_cell(row, key, shown.get(key))
        rows.append(row)
    caption = (f"Vårdnadshavares och barns bedömning av avslutad IHF- och MST-behandling, "
               f"{date_from:%Y-%m-%d}–{date_to:%Y-%m-%d} ({scope_description(filters)})")  # fmt: skip
    return ResultTable(
        "bedomning_ihf", caption, columns, rows,
        notes=["Frågorna ställs vid uppföljningen efter avslutad behandling: till vårdnadshavaren "
               "(instrumentet family-guardian-2026) och till barnet från omkring 10 år (family-child-2026). "
               "Andel = andel positiva svar bland dem som svarat; ”vet inte” räknas inte.",
               "IHF och MST tillsammans bildar totalen, så varje rads celler döljs tillsammans när någon "
               "grupp är för liten.", *comparability_notes(indicators)],
    )  # fmt: skip


# --- 6. one provider --------------------------------------------------------------------

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
]


def own_comparison_row(counts: Sequence[Mapping[str, Any]], provider_id: str) -> dict[str, Any]:
    """One provider's row of the comparison of all providers, without working out every
    other provider's limits: the same fit, target, limits at its n, flag and suppression as
    :func:`utfall.stats.comparison.compare_proportions` (tested against it), rounded as its JSON.
    """
    minimum = min_n()
    x = np.array([r["events"] for r in counts], dtype=np.float64)
    m = np.array([r["n"] for r in counts], dtype=np.float64)
    used = np.flatnonzero(m >= minimum)
    fit = (
        fit_overdispersion(x[used], m[used], kind="proportion", method=DEFAULT_METHOD) if used.size else None
    )
    hidden = suppress([{"group": str(r["provider"]), "n": r["n"]} for r in counts], min_n=minimum)
    row: dict[str, Any] = dict.fromkeys(("n", "rate", "ci_low", "ci_high", "lower_998", "upper_998", "flag"))
    row["target"] = rounded(fit.target) if fit is not None else None
    row["suppressed"] = True
    index = next((i for i, r in enumerate(counts) if str(r["provider"]) == provider_id), None)
    if index is None:  # no answers at all: nothing to hide, nothing to show
        row.update(n=0, suppressed=False)
        return row
    if hidden[index]["suppressed"]:
        return row
    events, n = x[index], m[index]
    low, high = wilson_interval(np.array([events]), np.array([n]), 0.95)
    row.update(n=int(n), rate=rounded(events / n), ci_low=rounded(float(low[0])), ci_high=rounded(float(high[0])),
               suppressed=False)  # fmt: skip
    if fit is not None:
        lo998, hi998 = fit.limits(np.array([n]), 0.998)
        row["lower_998"], row["upper_998"] = rounded(float(lo998[0])), rounded(float(hi998[0]))
        value = events / n
        row["flag"] = "high" if value > hi998[0] else ("low" if value < lo998[0] else None)
    return row


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
    # funnel's flag; the five question indicators are counted in one scan of the answers.
    questions = [d for d in all_indicators().values() if d.kind == "question"]
    comparable = comparability_notes(questions)
    counted = aggregate_questions(questions, municipality=municipality, date_from=date_from,
                                  date_to=date_to, by=["provider"], filters=others)  # fmt: skip
    rows = []
    for code, definition in all_indicators().items():
        counts = counted.get(code)
        if counts is None:
            counts = aggregate(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                               by=["provider"], filters=others)  # fmt: skip
        rows.append({"indicator": code, "name": definition.name, **own_comparison_row(counts, provider_id)})
    caption = f"{provider.name}: alla indikatorer mot kommunen, {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}"
    table = ResultTable(
        "utforare_" + provider_id, caption, PROVIDER_COLUMNS, rows,
        notes=["Kommunens förväntade nivå och styrgränserna kommer från jämförelsen av alla utförare.",
               *comparable],
    )  # fmt: skip
    over_time = trend(user, indicator=indicator, grain=grain, date_from=date_from - dt.timedelta(days=365 * 2),
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
