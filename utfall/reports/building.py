"""Build an annual or interim report: the same result tables as the pages (``results.services``,
every row through ``stats.suppression.suppress``), gathered into sections with a plain-Swedish
summary, as one JSON-ready dict. The HTML page, the PDF, the XLSX and the DOCX are renderings
of that dict (``reports.rendering``); publishing stores it, so a published report never changes.

Every number in a sentence is read from a table row that the suppression has shown: a sentence
never says more than its table (issue 15, point 9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Q
from django.utils import timezone, translation

from utfall.comparisons.disclosure import protected_counts
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.organisations.models import Municipality, Unit
from utfall.oversight.models import Case, CaseState
from utfall.oversight.periods import BadPeriod, Period
from utfall.registry.models import Service
from utfall.reports.access import ReportReader
from utfall.reports.targets import judge_all
from utfall.results.services.common import (
    Page,
    difference,
    min_n,
    names_of,
    proportion_rows,
    scope_of,
    with_total,
)
from utfall.results.services.comparison import provider_comparison
from utfall.results.services.coverage import coverage
from utfall.results.services.gender import women_and_men
from utfall.results.services.outcomes import OUTCOME_INDICATORS, outcomes
from utfall.results.services.trends import trend
from utfall.results.tables import Column, ResultTable, display
from utfall.stats.suppression import suppress

#: The Stockholm model's questions and the caseworker's assessment: each has its own section.
MAIN_INDICATORS = (
    "satisfied",
    "got_decided_support",
    "influence",
    "situation_improved",
    "support_mattered",
    "assessment_approved",
)
#: Indicators that are sections of their own elsewhere (outcomes, coverage) or in MAIN.
ELSEWHERE = {*MAIN_INDICATORS, *OUTCOME_INDICATORS, "followup_coverage"}
FORMATS = ("html", "pdf", "xlsx", "docx")

SERVICE_COLUMNS = [
    Column("name", "Insats"),
    Column("group", "Kod"),
    Column("n", "n", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
]
TARGET_COLUMNS = [
    Column("indicator", "Indikator"),
    Column("scope", "Avser"),
    Column("year", "År"),
    Column("target", "Mål"),
    Column("n", "n", "count"),
    Column("rate", "Utfall", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("verdict", "Bedömning"),
    Column("reason", "Skäl"),
]
FLAG_COLUMNS = [
    Column("indicator", "Indikator"),
    Column("name", "Utförare"),
    Column("group", "Utförar-id"),
    Column("n", "n", "count"),
    Column("rate", "Andel", "rate", interval=("ci_low", "ci_high")),
    Column("ci_low", "95 % KI, nedre", "rate"),
    Column("ci_high", "95 % KI, övre", "rate"),
    Column("flag_text", "Avvikelse"),
    Column("flag", "Flagga (kod)", "flag"),
]
CASE_COLUMNS = [
    Column("name", "Utförare"),
    Column("group", "Utförar-id"),
    Column("case", "Fördjupad uppföljning"),
    Column("state", "Status"),
    Column("opened", "Öppnad"),
    Column("closed", "Avslutad"),
    Column("action", "Beslutad åtgärd"),
    Column("decided", "Beslutad den"),
    Column("deadline", "Tidsfrist"),
    Column("done", "Genomförd"),
    Column("overdue", "Försenad"),
]
OTHER_COLUMNS = [Column("indicator", "Indikator"), *SERVICE_COLUMNS[2:]]


def pct(value: float | None) -> str:
    return display(value, "rate").replace(",00 %", " %")


def _section(key: str, heading: str, *, intro: list[str] | None = None) -> dict[str, Any]:
    return {
        "key": key,
        "heading": heading,
        "intro": intro or [],
        "tables": [],
        "charts": [],
        "commentary": "",
    }


def _add(section: dict[str, Any], page: Page, names: tuple[str, ...] | None = None, charts: bool = True,
         prefix: str = "") -> None:  # fmt: skip
    """The page's tables (named ``prefix`` + their name, so each sheet of the XLSX says what it
    holds) and, unless ``charts`` is false, its charts."""
    for name, table in page.tables.items():
        if names is None or name in names:
            section["tables"].append({**table.as_json(), "name": prefix + table.name})
    if charts:
        for name, spec in page.charts.items():
            if names is None or name in names:
                section["charts"].append(spec)


def _per_service(reader: ReportReader, indicator: str, date_from: dt.date, date_to: dt.date) -> ResultTable:
    """The indicator per service with the total, suppressed together (the total is their sum)."""
    municipality, filters = scope_of(reader, {})
    definition = get_indicator(indicator)
    counts = protected_counts(definition, municipality=municipality, date_from=date_from, date_to=date_to,
                       by=["service"], filters=filters)  # fmt: skip
    shown = with_total(counts, "service", "")
    names = names_of(Service, None, "code", {r["service"] for r in counts})
    rows = [{**shown[""], "group": "alla", "name": "Alla insatser"}] if "" in shown else []
    rows += sorted(
        ({**r, "name": names.get(g, g)} for g, r in shown.items() if g != ""), key=lambda r: r["name"]
    )
    return ResultTable(f"{indicator}_insats", f"{definition.name} per insats", SERVICE_COLUMNS, rows)


def build_report(
    municipality: Municipality,
    *,
    date_from: dt.date,
    date_to: dt.date,
    unit: Unit | None = None,
    kind: str = "annual",
    title: str = "",
    commentary: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report's content (:func:`_build`), always in Swedish: the annual and interim reports
    are documents the municipality publishes in Swedish, whatever the language of the
    interface of whoever drafts or reads them (decision of 2026-12-02, docs/new-user.md)."""
    with translation.override("sv"):
        return _build(municipality, date_from=date_from, date_to=date_to, unit=unit, kind=kind,
                      title=title, commentary=commentary)  # fmt: skip


def _build(
    municipality: Municipality,
    *,
    date_from: dt.date,
    date_to: dt.date,
    unit: Unit | None = None,
    kind: str = "annual",
    title: str = "",
    commentary: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report's content: summary, targets, one section per main indicator (trend per
    quarter over the period and the year before, per service, women and men), other
    indicators, coverage and non-response, flagged providers, outcome measures."""
    reader = ReportReader(municipality, unit)
    scope = unit.name if unit is not None else f"hela {municipality.name}"
    earlier = dt.date(date_from.year - 1, date_from.month, min(date_from.day, 28))
    sections: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}

    judgements = judge_all(municipality, unit=unit.code if unit else None,
                           years=set(range(date_from.year, date_to.year + 1)), as_of=date_to)  # fmt: skip
    targets = _section("mal", "Mål och måluppfyllelse")
    targets["tables"].append(ResultTable(
        "mal", f"Mål {date_from.year}" + (f"–{date_to.year}" if date_to.year != date_from.year else ""),
        TARGET_COLUMNS, [j.as_row() for j in judgements],
        notes=["Ett mål är uppfyllt när hela 95 % konfidensintervallet ligger på rätt sida om målnivån, "
               "inte uppfyllt när hela intervallet ligger på fel sida, och kan annars inte bedömas än."],
    ).as_json())  # fmt: skip
    sections.append(targets)
    facts["targets"] = {
        v: sum(1 for j in judgements if j.verdict == v) for v in ("met", "not_met", "undecided")
    }

    headline: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = []
    for code in MAIN_INDICATORS:
        definition = get_indicator(code)
        section = _section(f"indikator-{code}", definition.name)
        trend_page = trend(reader, indicator=code, grain="quarter", date_from=earlier, date_to=date_to)
        _add(section, trend_page, prefix=f"{code}_")
        services = _per_service(reader, code, date_from, date_to)
        section["tables"].append(services.as_json())
        gender_page = women_and_men(reader, indicator=code, date_from=date_from, date_to=date_to)
        _add(
            section, gender_page, ("per_service",), charts=False, prefix=f"{code}_"
        )  # the table says it; fewer charts print faster
        total = _year_total(reader, code, date_from, date_to)
        before = _year_total(reader, code, earlier, date_from - dt.timedelta(days=1))
        headline.append((definition.name, total, before))
        section["intro"] = _indicator_sentences(definition.name, total, before, section["tables"][2])
        sections.append(section)

    others = _section("ovriga", "Målgruppernas egna frågor och övriga indikatorer")
    other_rows = []
    for code, definition in all_indicators().items():
        if code in ELSEWHERE:
            continue
        row = _year_total(reader, code, date_from, date_to)
        if row is not None:
            other_rows.append({**row, "indicator": definition.name})
    others["tables"].append(ResultTable("ovriga", "Övriga indikatorer under perioden", OTHER_COLUMNS,
                                        other_rows).as_json())  # fmt: skip
    sections.append(others)

    cover = _section("uppfoljningsgrad", "Uppföljningsgrad och bortfall")
    cover_page = coverage(reader, date_from=date_from, date_to=date_to, by="unit")
    _add(cover, cover_page)
    cover["intro"] = _coverage_sentences(cover["tables"][0]["rows"])
    sections.append(cover)

    flagged = _section("avvikelser", "Utförare med avvikande resultat")
    flag_rows = []
    for code in MAIN_INDICATORS:
        page = provider_comparison(reader, indicator=code, date_from=date_from, date_to=date_to)
        for r in page.tables["jamforelse"].rows:
            if r.get("flag") and not r.get("suppressed"):
                text = "Lägre än förväntat" if r["flag"] == "low" else "Högre än förväntat"
                flag_rows.append({**r, "indicator": get_indicator(code).name, "flag_text": text})
    flagged["tables"].append(ResultTable(
        "avvikelser", "Utförare utanför styrgränserna (99,8 %)", FLAG_COLUMNS, flag_rows,
        notes=["En utförare flaggas när dess andel ligger utanför kommunens styrgräns 99,8 % efter justering "
               "för överspridning; rangordning används aldrig."],
    ).as_json())  # fmt: skip
    low = sorted({r["name"] for r in flag_rows if r["flag"] == "low"})
    high = sorted({r["name"] for r in flag_rows if r["flag"] == "high"})
    flagged_ids = {r["group"] for r in flag_rows}
    today = timezone.localdate()
    case_rows = _case_rows(municipality, flagged_ids, date_from, date_to, today)
    followed_up = sorted({r["name"] for r in case_rows})
    flagged["tables"].append(ResultTable(
        "fordjupade", "Fördjupade uppföljningar av flaggade utförare och beslutade åtgärder", CASE_COLUMNS,
        case_rows,
        notes=["Fördjupade uppföljningar som var öppna någon gång under perioden eller öppnades på ett "
               "avvikelseförslag för perioden, med varje beslutad åtgärd "
               "(typ, tidsfrist, genomförd). Status och förseningar som de var när rapporten skapades "
               f"({today:%Y-%m-%d}); en publicerad rapport behåller dem.",
               "En åtgärd är försenad när tidsfristen har passerat utan att åtgärden är genomförd."],
    ).as_json())  # fmt: skip
    facts["flagged"] = {"providers": len(flagged_ids), "followed_up": len(followed_up)}
    flagged["intro"] = [
        f"{len(low)} utförare hade lägre resultat än förväntat på minst en indikator"
        + (f" ({', '.join(low)})." if low else "."),
        f"{len(high)} utförare hade högre resultat än förväntat"
        + (f" ({', '.join(high)})." if high else "."),
        _case_sentence(len(flagged_ids), followed_up, case_rows),
    ]
    sections.append(flagged)

    outcome = _section("utfallsmatt", "Utfallsmått efter avslutade insatser")
    outcome_page = outcomes(reader, date_from=date_from, date_to=date_to)
    _add(outcome, outcome_page, charts=False)
    outcome["charts"] = [outcome_page.charts["utfallsmatt"]]
    sections.append(outcome)

    summary = _summary(scope, date_from, date_to, headline, cover["tables"][0]["rows"], facts["targets"], low)
    summary.append(_flagged_summary(facts["flagged"]))
    for section in sections:
        section["commentary"] = (commentary or {}).get(section["key"], "")
    return {
        "title": title or f"{'Årsrapport' if kind == 'annual' else 'Delårsrapport'} {date_from.year}",
        "kind": kind,
        "municipality": municipality.name,
        "scope": scope,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "built_at": timezone.now().isoformat(timespec="seconds"),
        "min_n": min_n(),
        "summary": summary,
        "summary_commentary": (commentary or {}).get("sammanfattning", ""),
        "sections": sections,
        "facts": facts,
    }


def _case_rows(municipality: Municipality, provider_ids: set[str], date_from: dt.date, date_to: dt.date,
               today: dt.date) -> list[dict[str, Any]]:  # fmt: skip
    """The flagged providers' in-depth follow-up cases of the period, one row per decided action
    (a case without one gets one row). A case belongs to the period when it was open some day in
    it (opened on or before its last day, not closed before its first) or when it was opened from
    a deviation proposal for a period that overlaps it (opened after the year it concerns, as the
    annual report is written). Aggregate only: the provider, the case's reference, state and dates,
    each action's kind and dates; never the case's free text, which may name a client."""
    if not provider_ids:
        return []
    years = [str(y) for y in range(date_from.year, date_to.year + 1)]
    in_period = Q(opened_at__date__lte=date_to) & ~Q(state=CaseState.CLOSED, closed_at__date__lt=date_from)
    of_period = Q()
    for year in years:
        of_period |= Q(period__startswith=year)
    candidates = (
        Case.objects.of(municipality.pk)
        .filter(Q(provider__provider_id__in=provider_ids) & (in_period | of_period))
        .select_related("provider")
        .prefetch_related("actions")
        .order_by("provider__name", "number")
    )
    cases = []
    for case in candidates:
        opened = timezone.localdate(case.opened_at)
        closed_on = (
            timezone.localdate(case.closed_at) if case.closed_at and case.state == CaseState.CLOSED else None
        )
        active = opened <= date_to and (closed_on is None or closed_on >= date_from)
        try:
            period = Period.parse(case.period) if case.period else None
        except BadPeriod:
            period = None
        concerns = period is not None and period.date_from <= date_to and period.date_to >= date_from
        if active or concerns:
            cases.append(case)
    rows: list[dict[str, Any]] = []
    for case in cases:
        closed = case.closed_at if case.state == CaseState.CLOSED else None
        base = {
            "name": case.provider.name,
            "group": case.provider.provider_id,
            "case": case.reference,
            "state": case.get_state_display(),
            "opened": timezone.localdate(case.opened_at).isoformat(),
            "closed": timezone.localdate(closed).isoformat() if closed else "",
        }
        actions = list(case.actions.all())
        if not actions:
            rows.append({**base, "action": "Ingen åtgärd beslutad än", "decided": "", "deadline": "",
                         "done": "", "overdue": ""})  # fmt: skip
        for action in actions:
            rows.append({
                **base,
                "action": action.get_kind_display(),
                "decided": action.decided_on.isoformat(),
                "deadline": action.deadline.isoformat() if action.deadline else "",
                "done": action.done_on.isoformat() if action.done_on else "",
                "overdue": ("ja" if action.is_overdue(today) else "nej") if action.deadline else "",
            })  # fmt: skip
    return rows


def _case_sentence(flagged: int, followed_up: list[str], rows: list[dict[str, Any]]) -> str:
    if not flagged:
        return "Ingen utförare flaggades, så ingen fördjupad uppföljning redovisas."
    if not followed_up:
        return ("Ingen fördjupad uppföljning av de flaggade utförarna var öppen under perioden; "
                "inga åtgärder har beslutats.")  # fmt: skip
    decided = [r for r in rows if r["decided"]]
    overdue = sum(1 for r in rows if r["overdue"] == "ja")
    text = (f"Fördjupad uppföljning pågår eller har avslutats för {len(followed_up)} av {flagged} flaggade "
            f"utförare ({', '.join(followed_up)}); {len(decided)} åtgärder har beslutats")  # fmt: skip
    return text + (f", varav {overdue} är försenade." if overdue else ".")


def _flagged_summary(flagged: Mapping[str, int]) -> str:
    if not flagged["providers"]:
        return "Ingen utförare flaggades under perioden."
    return (f"{flagged['providers']} utförare flaggades; för {flagged['followed_up']} av dem pågår eller har "
            "avslutats en fördjupad uppföljning.")  # fmt: skip


def _year_total(
    reader: ReportReader, code: str, date_from: dt.date, date_to: dt.date
) -> dict[str, Any] | None:
    """The indicator over a span in the reader's scope, None when there is none to show."""
    municipality, filters = scope_of(reader, {})
    (total,) = protected_counts(get_indicator(code), municipality=municipality, date_from=date_from,
                         date_to=date_to, by=[], filters=filters)  # fmt: skip
    if not total["n"]:
        return None
    (row,) = suppress(proportion_rows([{"all": "alla", **total}], "all"), min_n=min_n())
    return None if row["suppressed"] else {**row, "name": "Alla insatser"}


def _interval(row: Mapping[str, Any]) -> str:
    return f"95 % konfidensintervall {pct(row['ci_low'])}–{pct(row['ci_high'])}, n = {row['n']}"


def _indicator_sentences(name: str, total: Mapping[str, Any] | None, before: Mapping[str, Any] | None,
                         gender: Mapping[str, Any]) -> list[str]:  # fmt: skip
    if total is None:
        return [f"För få svar under perioden för att redovisa {name.lower()} (färre än {min_n()})."]
    out = [f"{pct(total['rate'])} av svaren under perioden var positiva ({_interval(total)})."]
    if before is not None:
        change = difference(total, before)
        size = display(change["diff"], "diff")
        if change["verdict"] == "ingen säker skillnad":
            verdict = f"skillnaden ({size}) är inte statistiskt säker"
        else:
            verdict = f"en säker {'ökning' if change['verdict'] == 'högre' else 'minskning'} med {size}"
        out.append(f"Året före var andelen {pct(before['rate'])}: {verdict} "
                   f"(95 % KI {display(change['diff_low'], 'diff')} till {display(change['diff_high'], 'diff')}).")  # fmt: skip
    sure = [r for r in gender["rows"] if r.get("verdict") in ("högre", "lägre")]
    if sure:
        parts = [f"{r['name']} ({'kvinnor' if r['verdict'] == 'högre' else 'män'} högre)" for r in sure]
        out.append("Säker skillnad mellan kvinnor och män finns för: " + ", ".join(parts) + ".")
    else:
        out.append("Ingen säker skillnad mellan kvinnor och män i någon insats där båda kan visas.")
    return out


def _coverage_sentences(rows: list[Mapping[str, Any]]) -> list[str]:
    shown = [r for r in rows if not r.get("suppressed") and r.get("coverage") is not None]
    if not shown:
        return ["Uppföljningsgraden kan inte visas för perioden (för få insatser)."]
    low = min(shown, key=lambda r: r["coverage"])
    high = max(shown, key=lambda r: r["coverage"])
    return [f"Andelen pågående insatser som följdes upp var högst i {high['name']} ({pct(high['coverage'])}) "
            f"och lägst i {low['name']} ({pct(low['coverage'])})."]  # fmt: skip


def _summary(scope: str, date_from: dt.date, date_to: dt.date,
             headline: list[tuple[str, dict[str, Any] | None, dict[str, Any] | None]],
             coverage_rows: list[Mapping[str, Any]], targets: Mapping[str, int], low: list[str]) -> list[str]:  # fmt: skip
    period = f"{date_from:%Y-%m-%d}–{date_to:%Y-%m-%d}"
    out = [f"Rapporten visar vad klienterna själva svarade vid uppföljningen av sina insatser under {period}, "
           f"för {scope}. Alla andelar redovisas med 95 % konfidensintervall och antal svar (n); grupper med "
           f"färre än {min_n()} svar visas aldrig."]  # fmt: skip
    for name, total, before in headline[:3]:
        if total is None:
            continue
        text = f"{name}: {pct(total['rate'])} (n = {total['n']})"
        if before is not None:
            text += f", året före {pct(before['rate'])}"
        out.append(text + ".")
    total_cov = [r for r in coverage_rows if not r.get("suppressed") and r.get("coverage") is not None]
    if total_cov:
        ongoing = sum(r["ongoing_n"] for r in total_cov)
        followed = sum(r["followed"] for r in total_cov)
        out.append(f"{followed} av {ongoing} pågående insatser i de redovisade enheterna följdes upp.")
    judged = sum(targets.values())
    if judged:
        out.append(f"Av {judged} mål är {targets['met']} uppfyllda, {targets['not_met']} inte uppfyllda och "
                   f"{targets['undecided']} kan inte bedömas än.")  # fmt: skip
    out.append(f"{len(low)} utförare hade lägre resultat än förväntat på minst en indikator."
               if low else "Ingen utförare hade lägre resultat än förväntat.")  # fmt: skip
    return out
