"""The pilot evaluation (issue 15, point 8; seed 002 wants "a safer forecast" of the extra time
per follow-up, estimated at 30 minutes): minutes per follow-up by service and by unit (the
stored ``minutes`` and the web form's own timing), the questions marked hard to understand,
coverage and non-response — one page and one PDF (the report's renderings).

Minutes are counted in the database (GROUP BY group and minute) and the median and quartiles
read from those counts: the smallest minute whose cumulative share reaches ½ (¼, ¾) — the
inverse of the empirical distribution function (Hyndman & Fan type 1), so every figure is a
minute someone actually reported. Groups under the minimum count are suppressed like every
other table (secondary suppression included)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, F, IntegerField
from django.db.models.functions import Cast
from django.utils import timezone

from utfall.followups.feedback import feedback_summary
from utfall.followups.models import FollowUp, FollowUpStatus
from utfall.organisations.models import Municipality, Unit
from utfall.registry.models import Service
from utfall.reports.access import ReportReader
from utfall.results.services.common import min_n
from utfall.results.services.coverage import coverage
from utfall.results.tables import Column, ResultTable
from utfall.stats.suppression import suppress

MINUTE_COLUMNS = [
    Column("name", "Grupp"),
    Column("n", "Uppföljningar med tid (n)", "count"),
    Column("q1", "Nedre kvartil (min)", "number"),
    Column("median", "Median (min)", "number"),
    Column("q3", "Övre kvartil (min)", "number"),
]
FEEDBACK_COLUMNS = [
    Column("version", "Formulär"),
    Column("code", "Fråga"),
    Column("text", "Frågetext"),
    Column("n", "Genomförda uppföljningar (n)", "count"),
    Column("marked", "Markerad svår att förstå", "count"),
    Column("rate", "Andel markerad", "rate"),
]


def quantile(histogram: list[tuple[int, int]], p: float) -> int:
    """The smallest value whose cumulative share reaches ``p`` (type 1), from sorted (value, count)."""
    total = sum(c for _, c in histogram)
    running = 0
    for value, count in histogram:
        running += count
        if running >= p * total:
            return value
    return histogram[-1][0]


def minute_table(qs: Any, key: str, names: dict[str, str], label: str, source: str) -> ResultTable:
    counts: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for group, minute, n in qs.values_list(key, "_minute").annotate(n=Count("pk")).order_by(key, "_minute"):
        counts[group].append((minute, n))
    merged: dict[int, int] = defaultdict(int)
    for hist in counts.values():
        for minute, n in hist:
            merged[minute] += n
    total = sorted(merged.items())
    rows: list[dict[str, Any]] = [{"group": "", "name": "Alla", "n": sum(c for _, c in total), "hist": total}]
    rows += [
        {"group": g, "name": names.get(g, g), "n": sum(c for _, c in h), "hist": h} for g, h in counts.items()
    ]
    histograms = {r["group"]: r["hist"] for r in rows}
    labels = {r["group"]: r["name"] for r in rows}
    out = []
    for row in suppress([{k: v for k, v in r.items() if k != "hist"} for r in rows], min_n=min_n()):
        hist = histograms[row["group"]]
        row["name"] = labels[row["group"]]
        if not row["suppressed"] and hist:
            row.update(q1=quantile(hist, 0.25), median=quantile(hist, 0.5), q3=quantile(hist, 0.75))
        out.append(row)
    out[1:] = sorted(out[1:], key=lambda r: r["name"])
    return ResultTable(f"minuter_{label}_{source}", f"Minuter per uppföljning per {label} ({source})",
                       MINUTE_COLUMNS, out)  # fmt: skip


def build_pilot(municipality: Municipality, *, date_from: dt.date, date_to: dt.date,
                unit: Unit | None = None) -> dict[str, Any]:  # fmt: skip
    done = FollowUp.objects.filter(municipality=municipality, status=FollowUpStatus.COMPLETED,
                                   date__gte=date_from, date__lte=date_to)  # fmt: skip
    if unit is not None:
        done = done.filter(intervention__unit=unit)
    services = dict(Service.objects.values_list("code", "name"))
    units = dict(Unit.objects.filter(municipality=municipality).values_list("code", "name"))
    stated = done.exclude(minutes=None).annotate(_minute=F("minutes"))
    timed = done.exclude(form_seconds=None).annotate(
        _minute=Cast((F("form_seconds") + 59) / 60, output_field=IntegerField())  # started minutes
    )
    tables = [
        minute_table(stated, "intervention__service__code", services, "insats", "angiven tid"),
        minute_table(stated, "intervention__unit__code", units, "enhet", "angiven tid"),
        minute_table(timed, "intervention__service__code", services, "insats", "formulärets tid"),
    ]
    overall = tables[0].rows[0]
    summary = [
        "Pilotens fråga: hur lång tid tar en uppföljning med de nya frågorna? Seed 002 uppskattade 30 minuter.",
        (f"Median {overall['median']} minuter (kvartiler {overall['q1']}–{overall['q3']}) enligt den tid "
         f"socialsekreterarna angav, n = {overall['n']}.") if overall.get("median") is not None
        else f"För få uppföljningar med angiven tid för att redovisa (färre än {min_n()}).",
    ]  # fmt: skip
    feedback = []
    for r in feedback_summary(municipality):
        row: dict[str, Any] = {"version": r.version, "code": r.code, "text": r.text, "n": r.followups, "marked": r.marked,
               "rate": round(r.share, 4) if r.share is not None else None, "suppressed": r.followups < min_n()}  # fmt: skip
        if row["suppressed"]:
            row.update(n=None, marked=None, rate=None)
        feedback.append(row)
    feedback.sort(key=lambda r: -(r["rate"] or 0))
    hard = ResultTable(
        "svara_fragor", "Frågor som klienten hade svårt att förstå", FEEDBACK_COLUMNS, feedback
    )
    cover = coverage(ReportReader(municipality, unit), date_from=date_from, date_to=date_to, by="unit")
    sections = [
        {"key": "minuter", "heading": "Tid per uppföljning", "intro": [
            "Angiven tid: minuter som socialsekreteraren skrev in. Formulärets tid: från att webbformuläret "
            "öppnades till att det skickades, i påbörjade minuter (säger inget om samtalet före)."],
         "tables": [t.as_json() for t in tables], "charts": [], "commentary": ""},
        {"key": "fragor", "heading": "Frågor som var svåra att förstå", "intro": [],
         "tables": [hard.as_json()], "charts": [], "commentary": ""},
        {"key": "tackning", "heading": "Uppföljningsgrad och bortfall", "intro": [],
         "tables": [t.as_json() for t in cover.tables.values()], "charts": list(cover.charts.values()),
         "commentary": ""},
    ]  # fmt: skip
    return {
        "title": f"Utvärdering av piloten {date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}",
        "kind": "pilot", "municipality": municipality.name,
        "scope": unit.name if unit else f"hela {municipality.name}",
        "from": date_from.isoformat(), "to": date_to.isoformat(),
        "built_at": timezone.now().isoformat(timespec="seconds"), "min_n": min_n(),
        "summary": summary, "summary_commentary": "", "sections": sections, "facts": {},
    }  # fmt: skip
