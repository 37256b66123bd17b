"""Coverage and non-response: the share of ongoing interventions followed up, declines and unreachable clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from utfall.comparisons.disclosure import protected_counts, protected_status_counts
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.sql import dimension_paths
from utfall.followups.coverage import CASEWORKER, DEFINITION, coverage_counts
from utfall.organisations.models import Unit, User
from utfall.registry.models import Intervention, Provider
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

UNKNOWN_CASEWORKER = "ingen (aldrig uppföljd eller importerad)"
CASEWORKER_NOTE = (
    "Per socialsekreterare: en insats hör till den som registrerade dess senaste uppföljning fram till "
    "periodens slut. Insatser som aldrig följts upp, eller bara genom import, saknar socialsekreterare."
)

COVERAGE_COLUMNS = [
    Column("group", "Kod"),
    Column("name", "Namn"),
    Column("ongoing_n", "Pågående insatser (n)", "count"),
    Column("followed", "Uppföljda", "count"),
    Column(
        "coverage",
        "Andel uppföljda",
        "rate",
        interval=("coverage_ci_low", "coverage_ci_high"),
        n_key="ongoing_n",
    ),
    Column("coverage_ci_low", "Andel uppföljda, 95 % KI nedre", "rate"),
    Column("coverage_ci_high", "Andel uppföljda, 95 % KI övre", "rate"),
    Column("missing", "Saknar uppföljning", "count"),
    Column("followups_n", "Uppföljningar (n)", "count"),
    Column("declined", "Avböjda", "count"),
    Column("declined_rate", "Andel avböjda", "rate", n_key="followups_n"),
    Column("unreachable", "Ej nåbara", "count"),
    Column("unreachable_rate", "Andel ej nåbara", "rate", n_key="followups_n"),
]
COVERAGE_BY = {"unit": "enhet", "provider": "utförare", "caseworker": "socialsekreterare"}


def coverage(user: Any, *, date_from: dt.date, date_to: dt.date, by: str) -> Page:
    """Share of ongoing interventions followed up, and declines and unreachable clients, per group.

    Coverage counts interventions; non-response counts follow-ups: two denominators, each
    suppressed on its own. Coverage is counted by the one definition
    (:mod:`utfall.followups.coverage`); per caseworker an intervention belongs to whoever
    recorded its latest follow-up, and the follow-ups are those each one recorded.
    """
    municipality, filters = scope_of(user, {})
    if by == "caseworker" and "provider" in filters:
        raise PermissionDenied("Utförare ser inte uppföljningar per socialsekreterare.")
    if by != "caseworker":
        counts = protected_counts(get_indicator("followup_coverage"), municipality=municipality,
                           date_from=date_from, date_to=date_to, by=[by], filters=filters)  # fmt: skip
    else:
        paths = dimension_paths("")
        scoped = Intervention.objects.filter(
            municipality=municipality, **{paths[k]: v for k, v in filters.items()}
        )
        counts = [{by: r["group"], "events": r["followed"], "n": r["ongoing"]}
                  for r in coverage_counts(scoped, date_from, date_to, CASEWORKER)]  # fmt: skip
    cov = {r["group"]: r for r in suppress(proportion_rows(counts, by), min_n=min_n())}
    status = protected_status_counts(
        municipality=municipality, date_from=date_from, date_to=date_to, by=by, filters=filters
    )
    # Declines and unreachable clients of 1–4 are small counts too (issue 17 point 10).
    resp: dict[Any, dict[str, Any]] = {r[by]: {"n": None if r["suppressed"] else r["n"],
                    **{k: None if r[f"{k}_suppressed"] else r[k] for k in ("declined", "unreachable")},
                    **{f"{k}_suppressed": r[f"{k}_suppressed"] for k in ("declined", "unreachable")}}
            for r in status}  # fmt: skip
    keys = list(dict.fromkeys([*cov, *resp]))
    if by == "unit":
        names = names_of(Unit, municipality, "code", set(keys))
    elif by == "provider":
        names = names_of(Provider, municipality, "provider_id", set(keys))
    else:
        users = User.objects.filter(pk__in=[k for k in keys if k is not None], municipality=municipality)
        names = {u.pk: (u.get_full_name() or u.get_username()) for u in users}
    rows: list[dict[str, Any]] = []
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
                "missing": c["n"] - c["events"] if c.get("n") is not None else None,
                "followups_n": n_f,
                "declined": r.get("declined"),
                "declined_rate": rounded(r["declined"] / n_f) if n_f and r["declined"] is not None else None,
                "unreachable": r.get("unreachable"),
                "unreachable_rate": rounded(r["unreachable"] / n_f)
                if n_f and r["unreachable"] is not None
                else None,
                **{k: r[k] for k in ("declined_suppressed", "unreachable_suppressed") if k in r},
            }
        )
    rows.sort(key=lambda row: (row["name"] == UNKNOWN_CASEWORKER, str(row["name"])))
    caption = _("Uppföljningsgrad och bortfall per %(by)s, %(from)s–%(to)s") % {
        "by": _(COVERAGE_BY[by]), "from": f"{date_from:%Y-%m-%d}", "to": f"{date_to:%Y-%m-%d}"}  # fmt: skip
    columns = COVERAGE_COLUMNS
    notes = [str(DEFINITION), "Avböjda och ej nåbara räknas bland periodens uppföljningar."]
    if by == "caseworker":
        columns = [Column("name", "Socialsekreterare"), *COVERAGE_COLUMNS[2:]]
        notes.append(CASEWORKER_NOTE)
    table = ResultTable("tackning_" + by, caption, columns, rows, notes=notes)
    page = Page(caption, {"tackning": table}, facts={"by": by, "from": date_from.isoformat(),
                "to": date_to.isoformat(), "scope": scope_description(filters)})  # fmt: skip
    if by != "caseworker":
        page.charts["tackning"] = charts.coverage(rows, COVERAGE_BY[by].capitalize())
    return page
