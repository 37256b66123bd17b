"""Coverage and non-response: the share of ongoing interventions followed up, declines and unreachable clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import followup_status_counts
from utfall.organisations.models import Unit, User
from utfall.registry.models import Provider
from utfall.results import charts
from utfall.results.services.common import (
    Page,
    min_n,
    names_of,
    proportion_rows,
    scope_description,
    scope_of,
)
from utfall.results.tables import Column, ResultTable, rounded
from utfall.stats.suppression import suppress

UNKNOWN_CASEWORKER = "okänd (import)"

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
    municipality, filters = scope_of(user, {})
    if by == "caseworker" and "provider" in filters:
        raise PermissionDenied("Utförare ser inte uppföljningar per socialsekreterare.")
    cov: dict[Any, dict[str, Any]] = {}
    if by != "caseworker":
        counts = protected_counts(get_indicator("followup_coverage"), municipality=municipality,
                           date_from=date_from, date_to=date_to, by=[by], filters=filters)  # fmt: skip
        cov = {r["group"]: r for r in suppress(proportion_rows(counts, by), min_n=min_n())}
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
        names = names_of(Unit, municipality, "code", set(keys))
    elif by == "provider":
        names = names_of(Provider, municipality, "provider_id", set(keys))
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
