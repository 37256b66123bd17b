"""Rollups by case mix and by client (issue 13 point 1, 2026-12-03).

**By case mix** (no provider, unit or contract).

Women and men (and any comparison by service, sex or age group alone) read the full count
tables, which count by ten dimensions: at a million follow-ups millions of rows for a few
hundred cells. :class:`~utfall.aggregates.models.AnswerByCaseMix` and
:class:`~utfall.aggregates.models.FollowUpByCaseMix` keep the same counts summed over the
provider, the unit, the contract (and the caseworker): they are two more projections of the
full key in :data:`utfall.aggregates.counts.ROLLUPS`, so every writer that adds a delta to the
full tables adds its projection here in the same transaction (one more upsert per table and
batch, no extra read), and ``utfall rebuild-aggregates`` rebuilds and checks them with the rest.

The unit is left out: the demo's 14 districts would make the rows 14 times as many, and a
page filtered on a unit reads the full table (``comparisons.counted.table_for``), as before.

**By client** (:class:`~utfall.aggregates.models.AnswerByClient`,
:class:`~utfall.aggregates.models.FollowUpByClient`). A trend's cluster-robust interval needs,
per period, Σ n_c², Σ x_c·n_c, Σ x_c² and the number of clients k (``stats.clustered``): not
sums of counts. But a client with a single answer in the period adds exactly 1 to k and to
Σ n_c², and x (0 or 1) to Σ x_c·n_c and Σ x_c²: their share follows from the period's n and
events, which the count tables give. Only the clients with two or more answers in a period
need rows by client (``comparisons.queries.aggregate_by_client`` adds the two parts).

So these tables hold, by month × client × provider × service × unit × question × option (or
assessment) × ``quarterly``, the rows of a follow-up only when its client has another
follow-up of the same instrument (for the assessment: another assessed follow-up) in the same
calendar year: :func:`repeated`. ``quarterly`` marks the rows whose other follow-up is in the
same calendar quarter as well: a quarter's trend reads those alone (at a million follow-ups
~5 % of the answers), a year's every row (~70 %: the demo follows up about every six
months). A client's answers that are the only ones of their year (quarter) are single in any
range and filter within it, so the sums are exact whatever the filter (tested against the raw
computation). 2026-12-03, docs/decisions.md; before, every answer had a row here.

The rows are a function of a client's follow-ups, so writers do not add deltas to them: after
every write (``aggregates.maintain``, the import's tally) the rows of the clients concerned
are replaced by their rows computed again (:func:`refresh_by_client`; on PostgreSQL under a
lock on the clients' rows, so two writers of one client take turns). ``rebuild-aggregates``
computes them the same way for the whole municipality and ``--check`` compares.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, F, QuerySet, Value
from django.db.models.expressions import RawSQL

from utfall.aggregates.dimensions import MonthOf, month_date
from utfall.aggregates.models import (
    AnswerByCaseMix,
    AnswerByClient,
    AnswerCount,
    FollowUpByCaseMix,
    FollowUpByClient,
    FollowUpCount,
)
from utfall.core.bulk import insert_rows
from utfall.followups.models import Answer, FollowUp
from utfall.registry.models import Client

#: (which full table's delta, rollup table, its key): a projection of the full key.
CASE_MIX: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("answers", AnswerByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "question_id", "option_id")),
    ("followups", FollowUpByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "status", "assessment")),
)  # fmt: skip
#: The dimensions a case-mix rollup can group and filter by (``comparisons.counted``).
DIMENSIONS = frozenset({"service", "sex", "age_group", "target_group"})
#: (which rows, rollup table, its key): the rows by client of the follow-ups :func:`repeated` picks.
BY_CLIENT: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("answers", AnswerByClient, ("municipality_id", "month", "client_id", "provider_id", "service_id", "unit_id",
                                 "question_id", "option_id", "quarterly")),
    ("followups", FollowUpByClient, ("municipality_id", "month", "client_id", "provider_id", "service_id",
                                     "unit_id", "assessment", "quarterly")),
)  # fmt: skip
#: The filters a trend can read from the rollups by client.
CLIENT_FILTERS = frozenset({"provider", "service", "unit", "target_group"})


def fill_from_full_tables() -> None:
    """Fill the case-mix rollups (empty) from the full count tables, by one INSERT … SELECT …
    GROUP BY each: the aggregates migration 0005 on a database that already has counts. The
    full tables are exact (``rebuild-aggregates --check``) and the rollups are their sums, so
    this is the rebuild's result without reading the raw rows again."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for (_, rollup, fields), full in zip(CASE_MIX, (AnswerCount, FollowUpCount), strict=True):
            listed = ", ".join(quote(f) for f in fields)
            cursor.execute(
                f"INSERT INTO {quote(rollup._meta.db_table)} ({listed}, n) "  # noqa: S608 (our tables)
                f"SELECT {listed}, SUM(n) FROM {quote(full._meta.db_table)} "
                f"GROUP BY {listed} HAVING SUM(n) <> 0"
            )


#: Follow-ups per query (SQLite's parameter limit).
CHUNK = 2000


def repeated(followups: QuerySet[FollowUp]) -> tuple[dict[int, bool], dict[int, bool]]:
    """Of these follow-ups (give every follow-up of the clients concerned), ({follow-up id:
    quarterly} of those whose answers belong in ``AnswerByClient``, the same for
    ``FollowUpByClient``): the client has another follow-up of the same instrument (with an
    assessment) in the follow-up's calendar year; ``quarterly`` when in its calendar quarter
    too. Any status counts: a superset of the follow-ups with answers, so still exact."""
    return picks(followup_facts(followups))


def followup_facts(followups: QuerySet[FollowUp]) -> list[tuple[int, int, int, dt.date, str]]:
    """(id, client, instrument, date, assessment) of these follow-ups, for :func:`picks`."""
    rows = followups.values_list("pk", "intervention__client_id", "instrument_version__instrument_id", "date",
                                 "assessment")  # fmt: skip
    return list(rows.order_by())


def picks(
    facts: Iterable[tuple[int, int, int, dt.date, str]],
) -> tuple[dict[int, bool], dict[int, bool]]:
    """:func:`repeated` of follow-ups given as (id, client, instrument, date, assessment)."""
    years: Counter[tuple[Any, ...]] = Counter()
    quarters: Counter[tuple[Any, ...]] = Counter()
    keyed = []
    for pk, client, instrument, date, assessment in facts:
        year, quarter = date.year, (date.month - 1) // 3
        kinds: list[int | None] = [instrument]  # answers: by instrument; None: assessed follow-ups
        if assessment:
            kinds.append(None)
        for kind in kinds:
            years[(client, kind, year)] += 1
            quarters[(client, kind, year, quarter)] += 1
        keyed.append((pk, client, kinds, year, quarter))
    out: tuple[dict[int, bool], dict[int, bool]] = ({}, {})
    for pk, client, kinds, year, quarter in keyed:
        for kind in kinds:
            if years[(client, kind, year)] > 1:
                out[kind is None][pk] = quarters[(client, kind, year, quarter)] > 1
    return out


def lock_clients(clients: Sequence[int]) -> None:
    """On PostgreSQL, lock the clients' rows (in id order) for the rest of the transaction, so
    two writers of one client's rows by client take turns; nothing on SQLite (one writer), nor
    outside a transaction (a single save in autocommit, e.g. a fixture: a lock would end with
    its own statement, and Django refuses ``select_for_update`` there)."""
    if connection.features.has_select_for_update and connection.in_atomic_block:
        list(Client.objects.select_for_update().filter(pk__in=clients).order_by("pk").values_list("pk"))


#: The temporary table of the follow-ups :func:`repeated` picks: id, then ``quarterly`` for
#: their answers' rows (``a``) and their own row (``f``), NULL when not picked.
_PICKED = "utfall_by_client_picked"


def _grouped_by_client(kind: str, quarterly: bool) -> QuerySet[Any]:
    """The raw rows of the picked follow-ups (:data:`_PICKED`) of this ``quarterly`` grouped by
    the key of the rollup by client, as columns ``r0``, ``r1``, … in the key's order and ``rn``
    (the count). The follow-ups are read by id through a subquery of the temporary table, so
    the query is built once per table and flag, not once per slice of ids."""
    flag = Value(quarterly, output_field=BooleanField())
    column = "a" if kind == "answers" else "f"
    picked = RawSQL(f"SELECT id FROM {_PICKED} WHERE {column} = %s", (quarterly,))  # noqa: S608, S611 (our table)
    if kind == "answers":
        paths: list[Any] = [
            F("municipality_id"),
            MonthOf("date"),
            F("followup__intervention__client_id"),
            F("provider_id"),
            F("service_id"),
            F("unit_id"),
            F("question_id"),
            F("option_id"),
            flag,
        ]
        qs: QuerySet[Any] = Answer.objects.filter(followup_id__in=picked)
    else:
        paths = [
            F("municipality_id"),
            MonthOf("date"),
            F("intervention__client_id"),
            F("intervention__provider_id"),
            F("intervention__service_id"),
            F("intervention__unit_id"),
            F("assessment"),
            flag,
        ]
        qs = FollowUp.objects.filter(pk__in=picked)
    names = [f"r{i}" for i in range(len(paths))]
    return (
        qs.annotate(**dict(zip(names, paths, strict=True))).values(*names).annotate(rn=Count("pk")).order_by()
    )


def _parts(followups: QuerySet[FollowUp]) -> Iterator[tuple[str, Any, tuple[str, ...], QuerySet[Any]]]:
    """(kind, table, key, grouped rows), quarterly or not, of the follow-ups :func:`repeated`
    picks of these, written to the temporary table :data:`_PICKED` first."""
    answers, own = repeated(followups)
    rows = [(pk, answers.get(pk), own.get(pk)) for pk in sorted(answers.keys() | own.keys())]
    with connection.cursor() as cursor:
        kind = "boolean" if connection.vendor == "postgresql" else "integer"
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PICKED} (id bigint PRIMARY KEY, a {kind}, f {kind})"
        )
        cursor.execute(f"DELETE FROM {_PICKED}")  # noqa: S608 (our table)
        insert_rows(cursor, _PICKED, ["id", "a", "f"], rows)
    if not rows:
        return
    for kind, model, fields in BY_CLIENT:
        for quarterly in (True, False):
            yield kind, model, fields, _grouped_by_client(kind, quarterly)


def by_client(
    municipality_id: int, followups: QuerySet[FollowUp] | None = None
) -> dict[str, Counter[tuple[Any, ...]]]:
    """What the rollups by client should hold, from the raw rows, by table name (``--check``):
    of the municipality, or of ``followups`` (give every follow-up of the clients concerned)."""
    out: dict[str, Counter[tuple[Any, ...]]] = {
        model._meta.model_name: Counter() for _, model, _ in BY_CLIENT
    }
    if followups is None:
        followups = FollowUp.objects.filter(municipality_id=municipality_id)
    for _, model, fields, grouped in _parts(followups):
        found = out[model._meta.model_name]
        for row in grouped:
            key = [row[f"r{i}"] for i in range(len(fields))]
            key[1] = month_date(key[1])
            key[-1] = bool(key[-1])
            found[tuple(key)] += row["rn"]
    return out


def _fill(followups: QuerySet[FollowUp]) -> None:
    """Insert the rows by client of these follow-ups' clients (INSERT … SELECT … GROUP BY)."""
    quote = connection.ops.quote_name
    for _, model, fields, grouped in _parts(followups):
        sql, params = grouped.query.sql_with_params()
        columns = ", ".join(quote(f) for f in (*fields, "n"))
        picked = ", ".join(quote(f"r{i}") for i in range(len(fields)))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 (our tables and query)
                f"SELECT {picked}, {quote('rn')} FROM ({sql}) AS grouped",
                params,
            )


def rebuild_by_client(municipality_id: int) -> None:
    """Replace the municipality's rows of the rollups by client by rows computed from the raw
    rows (one read of its follow-ups, then INSERT … SELECT … GROUP BY per slice)."""
    for _, model, _ in BY_CLIENT:
        model._default_manager.filter(municipality_id=municipality_id).delete()
    _fill(FollowUp.objects.filter(municipality_id=municipality_id))


def refresh_by_client(clients: Iterable[int]) -> None:
    """Replace the rows by client of these clients by their rows computed again, after a write
    (in its transaction). On PostgreSQL the clients' rows are locked first (in id order), so a
    concurrent writer of the same client waits and then sees this one's rows."""
    ids = sorted(set(clients))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        lock_clients(chunk)
        for _, model, _ in BY_CLIENT:
            model._default_manager.filter(client_id__in=chunk).delete()
        _fill(FollowUp.objects.filter(intervention__client_id__in=chunk))
