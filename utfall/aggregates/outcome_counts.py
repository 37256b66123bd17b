"""The count rows of ended interventions by their outcome (:class:`OutcomeCount` and its rollups,
:data:`ROLLUPS`): what the outcome indicators (step down, plan goals, rereferral) read instead of
the interventions and their stored outcomes (issue 13 point 1).

One key per intervention: the month of its end and the pages' dimensions (as the answers' and
follow-ups' counts), and its outcome facts with the indicators' windows as buckets
(:data:`STEP_DOWN_DAYS`, :data:`REREFERRAL_WINDOWS`): the next intervention's service only when
it started within the step-down window, the shortest rereferral window the client was back
within. What depends on the day of the query ("counted only once the whole window has passed")
is a condition on the month of the end, applied by the reader. A window not among these buckets
is read from the raw rows (``comparisons.queries``).

Kept by the brackets of :mod:`utfall.aggregates.maintain`: a client's outcomes are stored again
whenever one of its interventions changes, so the share of every intervention of the clients
concerned is taken before and after and the difference added (:func:`share_of_clients`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from django.db.models import BooleanField, Case, CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from utfall.aggregates import counts, tally
from utfall.aggregates.counts import Key
from utfall.aggregates.dimensions import MonthOf, YearOf, age_group, month_date
from utfall.aggregates.models import (
    OutcomeByProvider,
    OutcomeByProviderUnit,
    OutcomeByProviderUnitYear,
    OutcomeByProviderYear,
    OutcomeByService,
    OutcomeCount,
)
from utfall.registry.models import EndReason, Intervention, Service

#: The step-down window (days after the end within which the next intervention is looked at).
STEP_DOWN_DAYS = 90
#: The rereferral windows (days) of the indicators, shortest first: 6 and 12 months.
REREFERRAL_WINDOWS = (183, 365)

#: The outcome measures of the rollups: step down (within the window), the plan's goals reached
#: (fully or partly) and all fully, back in the target group within each rereferral window.
MEASURES = ("step_down", "goals_reached", "goals_fully", *(f"back_{days}" for days in REREFERRAL_WINDOWS))

OUTCOME_KEY = (*counts.COMMON, "moved", "goals", "next_service_id", "back_within")
#: The rollups: (table, its key) — the dimension beside municipality and month, then the measure.
ROLLUPS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (OutcomeByProvider, ("municipality_id", "month", "provider_id", "measure", "event")),
    (OutcomeByService, ("municipality_id", "month", "service_id", "measure", "event")),
    # A unit manager's outcomes by provider within the unit (2026-12-05, unit5).
    (OutcomeByProviderUnit, ("municipality_id", "month", "provider_id", "unit_id", "measure", "event")),
    # Whole years by provider (2026-12-07, outyear): the first rollup's months summed by year.
    (OutcomeByProviderYear, ("municipality_id", "year", "provider_id", "measure", "event")),
    # And by provider and unit (a unit manager's partitions along the unit over whole years).
    (OutcomeByProviderUnitYear, ("municipality_id", "year", "provider_id", "unit_id", "measure", "event")),
)
CHUNK = 2000


def _groups(qs: QuerySet[Intervention]) -> QuerySet[Any]:
    """Ended interventions (with their stored outcome) grouped by :data:`OUTCOME_KEY`."""
    moved = Q(end_reason=EndReason.MOVED)
    planned = Q(goals_total__gte=1)
    qs = qs.filter(ended_on__isnull=False).annotate(
        _age=YearOf("ended_on") - F("client__birth_year"),
        _done=Coalesce("goals_fully", 0) + Coalesce("goals_partly", 0),
    )
    back = [When(outcome__back_after_days__lte=days, then=Value(days)) for days in REREFERRAL_WINDOWS]
    return qs.values_list(
        "municipality_id", MonthOf("ended_on"), "provider_id", "service_id", "unit_id", "contract_id",
        "client__sex", age_group("_age"),
        Case(When(moved, then=Value(True)), default=Value(False), output_field=BooleanField()),
        Case(When(planned & Q(goals_fully=F("goals_total")), then=Value("all")),
             When(planned & Q(_done__gte=1), then=Value("some")),
             When(planned, then=Value("none")), default=Value(""), output_field=CharField()),
        Case(When(moved, then=None),
             When(outcome__next_after_days__lte=STEP_DOWN_DAYS, then=F("outcome__next_service_id")),
             default=None, output_field=IntegerField()),
        Case(When(moved, then=None), *back, default=None, output_field=IntegerField()),
    ).annotate(n=Count("pk")).order_by()  # fmt: skip


def _collect(rows: Any, into: Counter[Key]) -> None:
    for *key, n in rows:
        key[1] = month_date(key[1])
        key[8] = bool(key[8])  # SQLite gives 0 and 1
        into[tuple(key)] += n


#: What :func:`share_of_clients` reads per ended intervention (no GROUP BY: the key is made here).
_FACTS = ("municipality_id", "ended_on", "provider_id", "service_id", "unit_id", "contract_id", "client__sex",
          "client__birth_year", "end_reason", "goals_total", "goals_fully", "goals_partly",
          "outcome__next_service_id", "outcome__next_after_days", "outcome__back_after_days")  # fmt: skip


def key_of(facts: Sequence[Any]) -> Key:
    """The :data:`OUTCOME_KEY` of one ended intervention's :data:`_FACTS`, as :func:`_groups`
    computes it in SQL (the rebuild; ``tests/aggregates`` compares them)."""
    (municipality, ended, provider, service, unit, contract, sex, born, reason, total, fully, partly,
     following, next_days, back_days) = facts  # fmt: skip
    moved = reason == EndReason.MOVED
    goals = ""
    if total is not None and total >= 1:
        done = (fully or 0) + (partly or 0)
        goals = "all" if fully == total else "some" if done >= 1 else "none"
    age = tally.age_group_of(ended.year - born) if born is not None else tally.UNKNOWN_AGE
    if moved:
        following = back = None
    else:
        following = following if next_days is not None and next_days <= STEP_DOWN_DAYS else None
        back = next(
            (days for days in REREFERRAL_WINDOWS if back_days is not None and back_days <= days), None
        )
    return (municipality, ended.replace(day=1), provider, service, unit, contract, sex, age, moved, goals,
            following, back)  # fmt: skip


def share_of_clients(clients: Collection[int], exclude: Collection[int] = ()) -> Counter[Key]:
    """The counts of every ended intervention of these clients as stored now (their facts and
    their stored outcomes), leaving out the interventions ``exclude`` names. A plain read, the
    keys made in memory: a GROUP BY with the key's expressions cost an import ~0.1 s per 2,000
    clients, three times per slice."""
    found: Counter[Key] = Counter()
    ids = sorted(clients)
    left_out = set(exclude)
    for start in range(0, len(ids), CHUNK):
        qs = Intervention.objects.filter(client_id__in=ids[start : start + CHUNK], ended_on__isnull=False)
        # Left out here, not in SQL: a slice's scope has more ids than a query may carry.
        for pk, *facts in qs.values_list("pk", *_FACTS).order_by():
            if pk not in left_out:
                found[key_of(facts)] += 1
    return found


def expected(municipality_id: int, *, ended: tuple[dt.date, dt.date] | None = None) -> Counter[Key]:
    """The municipality's counts from its interventions and their stored outcomes (which
    ``rebuild.check`` compares with the raw rows apart); ``ended``: of the interventions that
    ended from the first day up to, not including, the second."""
    found: Counter[Key] = Counter()
    qs = Intervention.objects.filter(municipality_id=municipality_id)
    if ended is not None:
        qs = qs.filter(ended_on__gte=ended[0], ended_on__lt=ended[1])
    _collect(_groups(qs), found)
    return found


def measured(full: Counter[Key]) -> list[Counter[Key]]:
    """The rollups' counts (one per :data:`ROLLUPS`) of full-table counts: per key the measures
    it counts in and whether it reached them, the step down by the catalogue's intensities now."""
    intensity = dict(Service.objects.values_list("pk", "intensity"))
    by_provider: Counter[Key] = Counter()
    by_service: Counter[Key] = Counter()
    by_provider_unit: Counter[Key] = Counter()
    for (
        municipality,
        month,
        provider,
        service,
        unit,
        _,
        _,
        _,
        moved,
        goals,
        following,
        back,
    ), n in full.items():
        events: list[tuple[str, bool]] = []
        if goals:
            events += [("goals_reached", goals in ("some", "all")), ("goals_fully", goals == "all")]
        if not moved:
            # None within the window counts as a step down (intensity 0 is below every service's).
            own = intensity[service]
            events.append(("step_down", intensity[following] < own if following is not None else own > 0))
            events += [(f"back_{days}", back is not None and back <= days) for days in REREFERRAL_WINDOWS]
        for measure, event in events:
            by_provider[(municipality, month, provider, measure, event)] += n
            by_service[(municipality, month, service, measure, event)] += n
            by_provider_unit[(municipality, month, provider, unit, measure, event)] += n
    # The rollups by year: the monthly rollups' months summed by year (counts.project).
    key = dict(ROLLUPS)
    return [
        by_provider,
        by_service,
        by_provider_unit,
        counts.project(by_provider, key[OutcomeByProvider], key[OutcomeByProviderYear]),
        counts.project(by_provider_unit, key[OutcomeByProviderUnit], key[OutcomeByProviderUnitYear]),
    ]


def apply(delta: Counter[Key]) -> None:
    """Add the delta to the full table and its rollups."""
    delta = Counter({k: v for k, v in delta.items() if v})
    if not delta:
        return
    # By whole keys through the tables' indexes (``tally.add``): an import's slice has keys in
    # every month and provider, which ``counts.apply`` would read the tables' rows of.
    tally.add(OutcomeCount, OUTCOME_KEY, delta)
    for (model, fields), rolled in zip(ROLLUPS, measured(delta), strict=True):
        tally.add(model, fields, rolled)


def replace(municipality_id: int, found: Counter[Key]) -> None:
    counts._replace(OutcomeCount, OUTCOME_KEY, municipality_id, found)
    made = counts.made(ROLLUPS)  # not yet those a later migration makes (0008 runs this code)
    for (model, fields), rolled in zip(ROLLUPS, measured(found), strict=True):
        if (model, fields) in made:
            counts._replace(model, fields, municipality_id, rolled)


def fill(municipality_id: int) -> None:
    """Fill the municipality's tables from its interventions and stored outcomes (the migration)."""
    replace(municipality_id, expected(municipality_id))


def refill_rollups() -> None:
    """Every municipality's rollups again from its full table (a service's intensity changed:
    the step downs change, the full table, which keeps the next service, does not)."""
    for municipality_id in OutcomeCount.objects.values_list("municipality_id", flat=True).distinct():
        full = counts.summed(OutcomeCount, OUTCOME_KEY, municipality_id=municipality_id)
        for (model, fields), rolled in zip(ROLLUPS, measured(full), strict=True):
            counts._replace(model, fields, municipality_id, rolled)
