"""Per-intervention outcomes, stored once when a client's interventions change.

What happened after an intervention ended depends on the client's other interventions only:
the first one that started on or after the end (step down: its service's intensity, within
the indicator's window) and the first one of the same target group that started after the end
(rereferral, within 183 or 365 days). :func:`refresh_clients` stores them for every
intervention of the given clients; the comparisons apply the windows and intensities at
query time, so a changed window or catalogue needs no recomputation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import DateField, IntegerField, OuterRef, QuerySet, Subquery

from utfall.aggregates.models import InterventionOutcome
from utfall.core.bulk import insert_rows
from utfall.registry.models import Intervention

CHUNK = 2000
#: (municipality, next service, days from the end to its start, days until back in the target group)
Outcome = tuple[int, int | None, int | None, int | None]


def _with_outcomes(qs: QuerySet[Intervention]) -> QuerySet[Any]:
    following = (
        Intervention.objects.filter(client=OuterRef("client"), started_on__gte=OuterRef("ended_on"))
        .exclude(pk=OuterRef("pk"))
        .order_by("started_on", "pk")
    )
    again = (
        Intervention.objects.filter(
            client=OuterRef("client"),
            started_on__gt=OuterRef("ended_on"),
            service__target_group=OuterRef("service__target_group"),
        )
        .exclude(pk=OuterRef("pk"))
        .order_by("started_on")
    )
    return qs.annotate(
        _next_service=Subquery(following.values("service_id")[:1], output_field=IntegerField()),
        _next_start=Subquery(following.values("started_on")[:1], output_field=DateField()),
        _back_start=Subquery(again.values("started_on")[:1], output_field=DateField()),
    ).values_list("pk", "municipality_id", "ended_on", "_next_service", "_next_start", "_back_start")


def computed(qs: QuerySet[Intervention]) -> dict[int, Outcome]:
    """{intervention pk: (municipality, next service, days to its start, days until back)}
    from the raw rows."""
    out: dict[int, Outcome] = {}
    for pk, municipality_id, ended, next_service, next_start, back_start in _with_outcomes(qs).order_by():
        if ended is None:
            out[pk] = (municipality_id, None, None, None)
            continue
        out[pk] = (
            municipality_id,
            next_service if next_start is not None else None,
            (next_start - ended).days if next_start is not None else None,
            (back_start - ended).days if back_start is not None else None,
        )
    return out


def store(values: dict[int, Outcome]) -> None:
    pks = sorted(values)
    for start in range(0, len(pks), CHUNK):
        InterventionOutcome.objects.filter(intervention_id__in=pks[start : start + CHUNK]).delete()
    if not values:
        return
    # Plain rows, no model instance each (an import stores its clients' outcomes by the ten thousand).
    names = ("intervention_id", "municipality_id", "next_service_id", "next_after_days", "back_after_days")
    with connection.cursor() as cursor:
        insert_rows(cursor, InterventionOutcome._meta.db_table, names,
                    [(pk, m, s, d, b) for pk, (m, s, d, b) in values.items()])  # fmt: skip


def clients_of(interventions: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(interventions), CHUNK):
        chunk = interventions[start : start + CHUNK]
        found.update(Intervention.objects.filter(pk__in=chunk).values_list("client_id", flat=True))
    return found


def of_clients(clients: Sequence[int]) -> dict[int, Outcome]:
    """What :func:`computed` gives for every intervention of these clients, from one plain
    read of their interventions and the rules applied in memory (an import refreshes its
    clients by the ten thousand; three correlated subqueries per intervention cost ~0.2 ms
    each, issue 13.2). ``utfall rebuild-aggregates --check`` compares it with :func:`computed`."""
    by_client: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = Intervention.objects.filter(client_id__in=clients).values_list(
        "pk", "municipality_id", "client_id", "service_id", "service__target_group", "started_on", "ended_on"
    )
    for row in rows:
        by_client[row[2]].append(row)
    out: dict[int, Outcome] = {}
    for items in by_client.values():
        ordered = sorted(items, key=lambda r: (r[5], r[0]))  # started_on, then pk (as computed)
        for pk, municipality_id, _, _, group, _, ended in items:
            if ended is None:
                out[pk] = (municipality_id, None, None, None)
                continue
            following = next((o for o in ordered if o[0] != pk and o[5] >= ended), None)
            back = next((o[5] for o in ordered if o[0] != pk and o[5] > ended and o[4] == group), None)
            out[pk] = (
                municipality_id,
                following[3] if following else None,
                (following[5] - ended).days if following else None,
                (back - ended).days if back is not None else None,
            )
    return out


def refresh_clients(clients: Iterable[int]) -> None:
    """Store the outcomes of every intervention of these clients again."""
    ids = sorted(set(clients))
    for start in range(0, len(ids), CHUNK):
        store(of_clients(ids[start : start + CHUNK]))


def stored(municipality_id: int, *, interventions: tuple[int, int] | None = None) -> dict[int, Outcome]:
    """The stored outcomes (``interventions``: of the ids from the first up to, not including,
    the second)."""
    qs = InterventionOutcome.objects.filter(municipality_id=municipality_id)
    if interventions is not None:
        qs = qs.filter(intervention_id__gte=interventions[0], intervention_id__lt=interventions[1])
    return {
        pk: (m, s, d, b)
        for pk, m, s, d, b in qs.values_list(
            "intervention_id", "municipality_id", "next_service_id", "next_after_days", "back_after_days"
        )
    }
