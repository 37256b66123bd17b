"""Rollups by case mix without provider, unit and contract (issue 13 point 1, 2026-12-03).

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
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from utfall.aggregates.models import AnswerByCaseMix, AnswerCount, FollowUpByCaseMix, FollowUpCount

#: (which full table's delta, rollup table, its key): a projection of the full key.
CASE_MIX: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("answers", AnswerByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "question_id", "option_id")),
    ("followups", FollowUpByCaseMix,
     ("municipality_id", "month", "service_id", "client_sex", "age_group", "status", "assessment")),
)  # fmt: skip
#: The dimensions a case-mix rollup can group and filter by (``comparisons.counted``).
DIMENSIONS = frozenset({"service", "sex", "age_group", "target_group"})


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
