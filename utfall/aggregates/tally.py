"""New rows' counts taken in memory and added to the count tables in one pass (issue 13.2).

An import knows every dimension of the rows it inserts (the follow-up's date, status and
assessment, the answer's question and option, the intervention's provider, service, unit and
contract, the client's sex and birth year), and nothing of a new row existed before. So it
need not read any row back, nor take a share before and after (``maintain.before``/``after``,
two GROUP BYs over every row of the touched interventions): it counts the rows as it writes
them (:class:`Tally`) and adds the counts once per transaction (on SQLite once per committed
slice). Changes of stored rows still go through ``core.changes.changing``.

:func:`add` finds a delta's existing rows by their whole key, a few hundred keys per query
through the tables' key indexes (aggregates migration 0004), so its cost grows with the delta,
not with the table: ``n = n + d`` on the row found (in the database, so concurrent writers
never lose each other's change), a new row otherwise. The results are the ones
:func:`utfall.aggregates.counts.apply` gives; ``tests/aggregates`` compares both with a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import Model

from utfall.aggregates.counts import (
    ANSWER_DELTA,
    ANSWER_KEY,
    CLIENT_ROLLUPS,
    FOLLOWUP_DELTA,
    FOLLOWUP_KEY,
    ROLLUPS,
    Key,
    project,
)
from utfall.aggregates.dimensions import AGE_GROUPS
from utfall.aggregates.models import AnswerCount, FollowUpCount
from utfall.core.bulk import insert_rows

UNKNOWN_AGE = "okänd"


def age_group_of(age: int) -> str:
    """The age group as :func:`utfall.aggregates.dimensions.age_group` computes it in SQL."""
    if age < AGE_GROUPS[0][1]:
        return UNKNOWN_AGE
    for label, _, high in AGE_GROUPS:
        if age <= high:
            return label
    return UNKNOWN_AGE


_AGE = {age: age_group_of(age) for age in range(-1, 202)}


class Tally:
    """The counts of rows one write inserts, by the count tables' keys
    (:data:`~utfall.aggregates.counts.ANSWER_DELTA`, :data:`~utfall.aggregates.counts.FOLLOWUP_DELTA`:
    the full tables' keys with the client)."""

    def __init__(self, municipality_id: int) -> None:
        self.municipality_id = municipality_id
        self.answers: Counter[Key] = Counter()
        self.followups: Counter[Key] = Counter()
        #: "YYYY-MM" → the month as the database takes it (ISO text on SQLite), adapted once here
        #: and not per key in :func:`add` (the deltas by client have about a key per answer).
        self._months: dict[str, Any] = {}

    def common(
        self,
        date: str,
        provider: int,
        service: int,
        unit: int,
        contract: int | None,
        sex: str,
        birth_year: int,
        client: int,
    ) -> Key:
        """The dimensions a follow-up and its answers share; ``date`` is ISO (YYYY-MM-DD)."""
        month = self._months.get(date[:7])
        if month is None:
            first = dt.date(int(date[:4]), int(date[5:7]), 1)
            month = self._months[date[:7]] = connection.ops.adapt_datefield_value(first)
        age = int(date[:4]) - birth_year
        group = _AGE.get(age) or age_group_of(age)
        return (self.municipality_id, month, provider, service, unit, contract, sex, group, client)

    def followup(self, common: Key, status: str, assessment: str, created_by: int | None) -> None:
        self.followups[(*common, status, assessment, created_by)] += 1

    def answer(self, common: Key, question: int, option: int) -> None:
        self.answers[(*common, question, option)] += 1

    def apply(self) -> None:
        """Add the counts to the full tables and their rollups, and start again from zero."""
        for model, fields, full in CLIENT_ROLLUPS:
            add(
                model, fields, project(self.answers if full is ANSWER_DELTA else self.followups, full, fields)
            )
        answers = project(self.answers, ANSWER_DELTA, ANSWER_KEY)
        followups = project(self.followups, FOLLOWUP_DELTA, FOLLOWUP_KEY)
        add(AnswerCount, ANSWER_KEY, answers)
        add(FollowUpCount, FOLLOWUP_KEY, followups)
        for model, fields, full in ROLLUPS:
            add(model, fields, project(answers if full is ANSWER_KEY else followups, full, fields))
        self.answers, self.followups = Counter(), Counter()


def add(model: type[Model], fields: Sequence[str], delta: Counter[Key]) -> None:
    """Add ``delta`` (key → count) to the table: ``n = n + d`` on an existing row of the key
    (the first one, when two writers each inserted one), a new row otherwise.

    Set-based, through a temporary table of the delta: (1) the delta's rows go in (COPY on
    PostgreSQL, executemany on SQLite); (2) each is matched to its key's existing row in one
    join over the table's key index; (3) the matched rows get ``n = n + d`` in one statement and
    (4) the others are inserted. Each delta row is applied once, whatever another writer does
    between the statements (its new row for the same key is a second row, which readers sum)."""
    items = [(k, d) for k, d in delta.items() if d]
    if not items:
        return
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    columns = _columns(model, fields)
    names = [quote(column) for column, _, _ in columns]
    table, temp = quote(model._meta.db_table), quote(f"utfall_delta_{model._meta.db_table}")
    same = "IS NOT DISTINCT FROM" if postgres else "IS"
    on = " AND ".join(
        f"a.{name} {same if null else '='} d.{name}"
        for name, (_, _, null) in zip(names, columns, strict=True)
    )
    listed = ", ".join(names)
    adapt = _adapter(fields, items[0][0])
    with connection.cursor() as cursor:
        items = _add_fresh(cursor, model, fields, items, adapt)
        if not items:
            return
        typed = ", ".join(
            f"{name} {kind if postgres else ''}" for name, (_, kind, _) in zip(names, columns, strict=True)
        )
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (i integer, {typed}, n integer, id bigint)"
        )
        cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 (our table)
        # The keys come back from _add_fresh as stored (months adapted): adapted once per key.
        insert_rows(cursor, temp, ["i", *names, "n"], [(i, *k, d) for i, (k, d) in enumerate(items)])
        cursor.execute(
            f"UPDATE {temp} SET id = m.id FROM (SELECT d.i, MIN(a.id) AS id FROM {temp} d "  # noqa: S608 (our tables)
            f"JOIN {table} a ON {on} GROUP BY d.i) AS m WHERE {temp}.i = m.i"
        )
        cursor.execute(
            f"UPDATE {table} SET n = {table}.n + d.n FROM {temp} d WHERE {table}.id = d.id"  # noqa: S608
        )
        cursor.execute(f"INSERT INTO {table} ({listed}, n) SELECT {listed}, n FROM {temp} WHERE id IS NULL")  # noqa: S608


def _add_fresh(
    cursor: Any, model: type[Model], fields: Sequence[str], items: list[tuple[Key, int]], adapt: Any
) -> list[tuple[Key, int]]:
    """Insert the delta's keys whose month has no row yet (by the table's index prefix up to the
    month, e.g. municipality, question and month) straight into the table, and return the rest
    with their keys as stored (``adapt``: the month as the database takes it).

    Nothing of such a key can exist, so the temporary table and its join would find nothing: an
    import of a new month, or of a municipality's history, writes its counts once (issue 13.2).
    One query finds which prefixes exist: an index probe each (``EXISTS``). A writer that adds a
    row of the same key meanwhile makes a second row, which readers sum, as in :func:`add`."""
    quote = connection.ops.quote_name
    index = [column for column, _, _ in _columns(model, model._meta.indexes[0].fields)]
    columns = [column for column, _, _ in _columns(model, fields)]
    if "month" not in index or not set(index[: index.index("month") + 1]) <= set(columns):
        return [(adapt(key), n) for key, n in items]
    prefix = [columns.index(c) for c in index[: index.index("month") + 1]]
    pick = itemgetter(*prefix)  # the prefix has the municipality and the month: a tuple
    groups: dict[Key, list[tuple[int, Key]]] = {}  # prefix → (n, key as stored)
    for key, n in items:
        stored = adapt(key)
        groups.setdefault(pick(stored), []).append((n, stored))
    aliases = [f"k{i}" for i in range(len(prefix))]
    match = " AND ".join(f"t.{quote(columns[i])} = v.{a}" for i, a in zip(prefix, aliases, strict=True))
    table = quote(model._meta.db_table)
    found: set[Key] = set()
    listed = list(groups)
    for start in range(0, len(listed), 300):
        chunk = listed[start : start + 300]
        values = ", ".join(["(" + ", ".join(["%s"] * len(prefix)) + ")"] * len(chunk))
        cursor.execute(
            f"WITH v({', '.join(aliases)}) AS (VALUES {values}) SELECT * FROM v "  # noqa: S608 (our table; values are parameters)
            f"WHERE EXISTS (SELECT 1 FROM {table} t WHERE {match})",
            [value for key in chunk for value in key],
        )
        found.update(tuple(row) for row in cursor.fetchall())
    fresh = [(*stored, n) for key, rows in groups.items() if key not in found for n, stored in rows]
    if fresh:
        insert_rows(cursor, model._meta.db_table, [*columns, "n"], fresh)
    return [(stored, n) for group in found & set(groups) for n, stored in groups[group]]


def _columns(model: type[Model], fields: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(column, database type, nullable) of each key field."""
    out = []
    for name in fields:
        field = model._meta.get_field(name)  # a relation is found by its attribute name too
        out.append((str(field.column), field.cast_db_type(connection) or "", field.null))  # type: ignore[union-attr]
    return out


def _adapter(fields: Sequence[str], sample: Key) -> Any:
    """A function that makes a key's month a database value (ISO text on SQLite); none when the
    months are that already (``sample``: a key of the delta, as :class:`Tally` makes them)."""
    month = list(fields).index("month")
    if connection.vendor == "postgresql" or isinstance(sample[month], str):
        return lambda key: key
    adapt = connection.ops.adapt_datefield_value
    months: dict[Any, Any] = {}  # a delta has a few dozen months and ~10^5 keys

    def adapted(key: Key) -> Key:
        value = months.get(key[month])
        if value is None:
            value = months[key[month]] = adapt(key[month])
        return (*key[:month], value, *key[month + 1 :])

    return adapted
