"""Rebuilding the maintained tables from the raw rows, and checking them against a rebuild."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Model, QuerySet

from utfall.aggregates import counts, coverage, outcome_counts, outcomes, rollup
from utfall.aggregates.counts import Key
from utfall.aggregates.dimensions import month_date
from utfall.aggregates.models import (
    AnswerCount,
    CoverageCount,
    FollowUpCount,
    InterventionOutcome,
    OutcomeCount,
)
from utfall.followups.models import Answer, FollowUp, Question
from utfall.organisations.models import Municipality
from utfall.registry.models import Intervention

#: Slices of the check (issue 13 point 1 at national size): the check holds one slice's keys at
#: a time, so its memory is bounded by the slice, not by the municipality (at 1M follow-ups the
#: whole municipality's keys took 10 GB; linear, a 10M check would have needed ~100 GB).
#: Clients per slice of the rows by client, interventions per slice of the stored outcomes,
#: providers per slice of coverage; the counts go a calendar month at a time.
CLIENTS = 20_000
INTERVENTIONS = 50_000
PROVIDERS = 100


@dataclass
class Check:
    """What differs between the maintained tables and a rebuild, per table."""

    differences: dict[str, list[tuple[Any, Any, Any]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.differences.values())

    def lines(self, limit: int = 20) -> list[str]:
        out = []
        for table, found in self.differences.items():
            for key, want, have in found[:limit]:
                out.append(f"{table} {key}: rebuild {want}, stored {have}")
            if len(found) > limit:
                out.append(f"{table}: … and {len(found) - limit} more")
        return out


def municipalities(code: str | None = None) -> list[Municipality]:
    qs = Municipality.objects.order_by("code")
    return list(qs.filter(code=code) if code else qs)


def _name(model: type[Model]) -> str:
    return model._meta.model_name or ""


def check(
    municipality: Municipality,
    *,
    clients: int = CLIENTS,
    interventions: int = INTERVENTIONS,
    providers: int = PROVIDERS,
) -> Check:
    """Compare without writing, a slice at a time (:data:`CLIENTS`, …): the same comparison as
    one of the whole municipality, in memory bounded by a slice (a month's counts, 20,000
    clients' rows by client, …). Every table is compared in full: each slice reads the raw rows
    and the stored rows of the same slice, and the slices cover every stored row (the months
    from the first to the last of the raw and of the stored rows; every client, intervention
    and provider id from the smallest to the largest in them). The rollups by year and the
    tables without the slice's dimension (the case mix by service, coverage by unit, outcomes by
    service) are summed over the slices and compared at the end: they have few rows."""
    found: dict[str, list[tuple[Any, Any, Any]]] = {}

    def compare(table: str, want: Counter[Key], have: Counter[Key]) -> None:
        found.setdefault(table, []).extend(counts.differences(want, have))

    mid = municipality.pk
    _check_counts(mid, compare)
    _check_by_client(mid, compare, clients)
    _check_coverage(mid, compare, providers)
    _check_outcome_counts(mid, compare)
    _check_outcomes(mid, found, interventions)
    return Check({table: sorted(rows, key=repr) for table, rows in found.items()})


Compare = Callable[[str, Counter[Key], Counter[Key]], None]


def _months(mid: int, dated: list[tuple[type[Model], str]]) -> Iterator[tuple[dt.date, dt.date]]:
    """(first day, first day of the next) of every month from the earliest to the latest date
    in these (table, date or month column) of the municipality."""
    ends: list[dt.date] = []
    for model, column in dated:
        span = model._default_manager.filter(municipality_id=mid).aggregate(a=Min(column), b=Max(column))
        ends += [month_date(v) for v in span.values() if v is not None]
    if not ends:
        return
    month, last = min(ends).replace(day=1), max(ends)
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        yield month, following
        month = following


def _check_counts(mid: int, compare: Compare) -> None:
    """The full answer and follow-up counts and their rollups, a month at a time."""
    monthly = [(m, f, full) for m, f, full in counts.ROLLUPS if "year" not in f]
    yearly = [(m, f, full) for m, f, full in counts.ROLLUPS if "year" in f]
    summed: dict[str, Counter[Key]] = {_name(m): Counter() for m, _, _ in yearly}
    folded = [(m, f, full, column) for m, f, full in counts.FOLDED for column in counts.FOLDED_COUNTS
              if "year" in f]  # fmt: skip
    summed.update({counts.folded_name(m, column): Counter() for m, _, _, column in folded})
    dated: list[tuple[type[Model], str]] = [(Answer, "date"), (FollowUp, "date"), (AnswerCount, "month"),
                                            (FollowUpCount, "month"), *((m, "month") for m, _, _ in monthly)]  # fmt: skip
    dated += [(m, counts.period_name(f)) for m, f, _ in (*yearly, *counts.FOLDED)]
    # Every question: the answers' period index begins with municipality and question.
    questions = list(Question.objects.values_list("pk", flat=True))
    for start, end in _months(mid, dated):
        answers: Counter[Key] = Counter()
        followups: Counter[Key] = Counter()
        in_month = {"municipality_id": mid, "date__gte": start, "date__lt": end}
        raw_answers = Answer.objects.filter(question_id__in=questions, **in_month)
        counts._collect(counts._answer_groups(raw_answers, by_client=False), answers)
        counts._collect(
            counts._followup_groups(FollowUp.objects.filter(**in_month), by_client=False), followups
        )
        stored = {"municipality_id": mid, "month": start}
        compare("answercount", answers, counts.summed(AnswerCount, counts.ANSWER_KEY, **stored))
        compare("followupcount", followups, counts.summed(FollowUpCount, counts.FOLLOWUP_KEY, **stored))
        for model, fields, full in counts.ROLLUPS:
            want = counts.project(answers if full is counts.ANSWER_KEY else followups, full, fields)
            if "year" in fields:
                summed[_name(model)].update(want)
            else:
                compare(_name(model), +want, counts.summed(model, fields, **stored))
        for model, fields, full in counts.FOLDED:  # by year: summed over the months, as the rollups by year
            for column, want in zip(counts.FOLDED_COUNTS, counts.fold(answers, full, fields), strict=True):
                name = counts.folded_name(model, column)
                if "year" in fields:
                    summed[name].update(want)
                else:  # by month (2026-12-07): compared with the month's stored rows
                    compare(name, +want, counts.summed_column(model, fields, column, stored))
    for model, fields, _ in yearly:
        compare(_name(model), +summed[_name(model)], counts.summed(model, fields, municipality_id=mid))
    for model, fields, _, column in folded:
        name = counts.folded_name(model, column)
        compare(name, +summed[name], counts.summed_column(model, fields, column, {"municipality_id": mid}))


Span = tuple[int, int] | None


def _span(column: str, *querysets: QuerySet[Any]) -> Span:
    """(smallest, largest) value of ``column`` in any of these querysets (None when all are empty)."""
    found = (qs.aggregate(a=Min(column), b=Max(column)) for qs in querysets)
    return _join(*((got["a"], got["b"]) if got["a"] is not None else None for got in found))


def _join(*spans: Span) -> Span:
    """The span that covers each of these (None when none is known)."""
    known = [span for span in spans if span is not None]
    return (min(a for a, _ in known), max(b for _, b in known)) if known else None


def _ranges(span: Span, size: int) -> Iterator[tuple[int, int]]:
    """[low, low + size) from the span's smallest up to and including its largest: a municipality
    whose ids begin far from 0 (the others' rows before its own) is not walked from 0, one empty
    slice after another (6 queries an empty client slice; in a PostgreSQL test database, whose ids
    only grow, a check of 1–2 clients a slice ran for over 5 minutes, 2026-12-07)."""
    if span is None:
        return
    low, largest = span
    while low <= largest:
        yield low, low + size
        low += size


def _check_by_client(mid: int, compare: Compare, size: int) -> None:
    """The rows by client, by ranges of client ids: whether a client's follow-up belongs in
    them depends on the client's other follow-ups only."""
    span = _join(
        _span("intervention__client_id", FollowUp.objects.filter(municipality_id=mid)),
        _span(
            "client_id",
            *(model._default_manager.filter(municipality_id=mid) for _, model, _ in rollup.BY_CLIENT),
        ),
    )
    for low, high in _ranges(span, size):
        followups = FollowUp.objects.filter(
            municipality_id=mid, intervention__client_id__gte=low, intervention__client_id__lt=high
        )
        want = rollup.by_client(mid, followups)
        for _, model, fields in rollup.BY_CLIENT:
            have = counts.summed(model, fields, municipality_id=mid, client_id__gte=low, client_id__lt=high)
            compare(_name(model), want[_name(model)], have)


def _check_coverage(mid: int, compare: Compare, size: int) -> None:
    """Coverage, by ranges of provider ids (every intervention has a provider); its rollup by
    unit summed over them."""
    by_unit = [(m, f) for m, f in coverage.ROLLUPS if "provider_id" not in f]
    summed: dict[str, Counter[Key]] = {_name(m): Counter() for m, _ in by_unit}
    tables: list[type[Model]] = [
        Intervention,
        CoverageCount,
        *(m for m, f in coverage.ROLLUPS if "provider_id" in f),
    ]
    span = _span("provider_id", *(model._default_manager.filter(municipality_id=mid) for model in tables))
    for low, high in _ranges(span, size):
        want = coverage.expected(mid, providers=(low, high))
        where = {"municipality_id": mid, "provider_id__gte": low, "provider_id__lt": high}
        compare("coveragecount", want, counts.summed(CoverageCount, coverage.KEY, **where))
        for model, fields in coverage.ROLLUPS:
            projected = coverage.project(want, fields)
            if (model, fields) in by_unit:
                summed[_name(model)].update(projected)
            else:
                compare(_name(model), +projected, counts.summed(model, fields, **where))
    for model, fields in by_unit:
        compare(_name(model), +summed[_name(model)], counts.summed(model, fields, municipality_id=mid))


def _check_outcome_counts(mid: int, compare: Compare) -> None:
    """The outcome counts and their rollups, a month of the interventions' ends at a time; a
    rollup by year (2026-12-07) summed over the months and compared once, as in
    :func:`_check_counts`."""
    tables = [(OutcomeCount, outcome_counts.OUTCOME_KEY), *outcome_counts.ROLLUPS]
    dated: list[tuple[type[Model], str]] = [(Intervention, "ended_on"),
                                            *((m, counts.period_name(f)) for m, f in tables)]  # fmt: skip
    yearly: dict[type[Model], Counter[Key]] = {m: Counter() for m, f in outcome_counts.ROLLUPS if "year" in f}
    for start, end in _months(mid, dated):
        want = outcome_counts.expected(mid, ended=(start, end))
        stored = {"municipality_id": mid, "month": start}
        compare("outcomecount", want, counts.summed(OutcomeCount, outcome_counts.OUTCOME_KEY, **stored))
        for (model, fields), rolled in zip(
            outcome_counts.ROLLUPS, outcome_counts.measured(want), strict=True
        ):
            if model in yearly:
                yearly[model].update(rolled)
            else:
                compare(_name(model), +rolled, counts.summed(model, fields, **stored))
    for model, fields in outcome_counts.ROLLUPS:
        if model in yearly:
            compare(_name(model), +yearly[model], counts.summed(model, fields, municipality_id=mid))


def _check_outcomes(mid: int, found: dict[str, list[tuple[Any, Any, Any]]], size: int) -> None:
    """The stored outcome of every intervention, by ranges of intervention ids."""
    rows = found.setdefault("outcomes", [])
    span = _join(
        _span("pk", Intervention.objects.filter(municipality_id=mid)),
        _span("intervention_id", InterventionOutcome.objects.filter(municipality_id=mid)),
    )
    for low, high in _ranges(span, size):
        want = outcomes.computed(Intervention.objects.filter(municipality=mid, pk__gte=low, pk__lt=high))
        have = outcomes.stored(mid, interventions=(low, high))
        rows += [
            (pk, want.get(pk), have.get(pk))
            for pk in sorted(set(want) | set(have))
            if want.get(pk) != have.get(pk)
        ]


@transaction.atomic
def rebuild(municipality: Municipality) -> None:
    """Replace the municipality's count rows and outcomes by ones computed from the raw rows."""
    answers, followups = counts.expected(municipality.pk)
    counts.replace(municipality.pk, answers, followups)
    rollup.rebuild_by_client(municipality.pk)
    coverage.replace(municipality.pk)
    values = outcomes.computed(Intervention.objects.filter(municipality=municipality))
    outcomes.store(values)
    outcome_counts.fill(municipality.pk)
