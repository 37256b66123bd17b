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
sums of counts, so no count table without the client gives them. The raw read joined every
answer of three years to its follow-up and intervention for the client (5 s at a million
follow-ups). These tables count by month × client × provider × service × unit × question ×
option (or assessment): the writers' deltas carry the client (``counts.ANSWER_DELTA``), so they
are kept like the other rollups, with no extra read; the trend groups their rows by period and
client and sums in the database (``comparisons.queries.aggregate_by_client``). They are rebuilt
and checked by their own GROUP BY (:func:`rebuild_by_client`, :func:`by_client`), not through
the municipality's deltas in memory (one key per answer).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import connection
from django.db.models import Count, F, QuerySet

from utfall.aggregates.dimensions import MonthOf
from utfall.aggregates.models import (
    AnswerByCaseMix,
    AnswerByClient,
    AnswerCount,
    FollowUpByCaseMix,
    FollowUpByClient,
    FollowUpCount,
)
from utfall.followups.models import Answer, FollowUp

#: (which full table's delta, rollup table, its key): a projection of the full key.
CASE_MIX: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("answers", AnswerByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "question_id", "option_id")),
    ("followups", FollowUpByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "status", "assessment")),
)  # fmt: skip
#: The dimensions a case-mix rollup can group and filter by (``comparisons.counted``).
DIMENSIONS = frozenset({"service", "sex", "age_group", "target_group"})
#: (which delta, rollup table, its key): a projection of the delta's key (``counts.CLIENT_ROLLUPS``).
BY_CLIENT: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("answers", AnswerByClient, ("municipality_id", "month", "client_id", "provider_id", "service_id", "unit_id",
                                 "question_id", "option_id")),
    ("followups", FollowUpByClient, ("municipality_id", "month", "client_id", "provider_id", "service_id",
                                     "unit_id", "assessment")),
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


def _grouped_by_client(kind: str, municipality_id: int) -> QuerySet[Any]:
    """The raw rows of a municipality grouped by the key of the rollup by client, as columns
    ``r0``, ``r1``, … in the key's order and ``rn`` (the count)."""
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
        ]
        qs: QuerySet[Any] = Answer.objects.filter(municipality_id=municipality_id)
    else:
        paths = [
            F("municipality_id"),
            MonthOf("date"),
            F("intervention__client_id"),
            F("intervention__provider_id"),
            F("intervention__service_id"),
            F("intervention__unit_id"),
            F("assessment"),
        ]
        qs = FollowUp.objects.filter(municipality_id=municipality_id)
    names = [f"r{i}" for i in range(len(paths))]
    return (
        qs.annotate(**dict(zip(names, paths, strict=True))).values(*names).annotate(rn=Count("pk")).order_by()
    )


def by_client(municipality_id: int) -> dict[str, Counter[tuple[Any, ...]]]:
    """What the rollups by client should hold, from the raw rows, by table name (``--check``)."""
    out = {}
    for kind, model, fields in BY_CLIENT:
        found: Counter[tuple[Any, ...]] = Counter()
        for row in _grouped_by_client(kind, municipality_id):
            key = [row[f"r{i}"] for i in range(len(fields))]
            key[1] = dt.date.fromisoformat(key[1]) if isinstance(key[1], str) else key[1]
            found[tuple(key)] += row["rn"]
        out[model._meta.model_name] = found
    return out


def rebuild_by_client(municipality_id: int) -> None:
    """Replace the municipality's rows of the rollups by client by one INSERT … SELECT … GROUP BY
    over the raw rows each (nothing through Python: at a million follow-ups millions of keys)."""
    quote = connection.ops.quote_name
    for kind, model, fields in BY_CLIENT:
        model._default_manager.filter(municipality_id=municipality_id).delete()
        sql, params = _grouped_by_client(kind, municipality_id).query.sql_with_params()
        columns = ", ".join(quote(f) for f in (*fields, "n"))
        picked = ", ".join(quote(f"r{i}") for i in range(len(fields)))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608 (our tables and query)
                f"SELECT {picked}, {quote('rn')} FROM ({sql}) AS grouped",
                params,
            )
