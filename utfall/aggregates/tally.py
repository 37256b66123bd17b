"""New rows' counts taken in memory and added to the count tables in one pass (issue 13.2).

An import knows every dimension of the rows it inserts (the follow-up's date, status and
assessment, the answer's question and option, the intervention's provider, service, unit and
contract, the client's sex and birth year), and nothing of a new row existed before. So it
need not read any row back, nor take a share before and after (``maintain.before``/``after``,
two GROUP BYs over every row of the touched interventions): it counts the rows as it writes
them (:class:`Tally`) and adds the counts once per transaction (on SQLite once per committed
slice). Changes of stored rows still go through ``core.changes.changing``.

The shape, for code that hooks in here (2026-12-03, docs/aggregates.md):

- :class:`Tally` collects the deltas: ``answers`` and ``followups``, Counters by the full
  tables' keys (:data:`~utfall.aggregates.counts.ANSWER_KEY`, ``FOLLOWUP_KEY``; the rollups by
  client are kept from :attr:`Tally.new`, since 2026-12-06 the deltas no longer carry the
  client), the month as the database takes it (:meth:`Tally.month`), so no key is converted
  again on the way out;
- :meth:`Tally.apply` adds them, once per transaction, to each table: the full tables, then
  every rollup in :data:`~utfall.aggregates.counts.ROLLUPS` (a projection of a full key, summed
  from the smallest delta projected before it that has its fields: a rollup by year from the
  rollup by month). A
  table kept from the same deltas is one more entry there, or one more :func:`add` in ``apply``;
- :func:`add` applies one table's delta in three set-based steps: keys of a month without
  rows go straight in; the rest are matched to their rows by the whole key (a temporary table
  of the delta joined with the table; on PostgreSQL in one statement that also adds and
  inserts); matched rows get ``n = n + d`` in the database (so concurrent writers never lose each other's change), the others are inserted.
  Its cost grows with the delta, not with the table. The results are the ones
  :func:`utfall.aggregates.counts.apply` gives; ``tests/aggregates`` compares both with a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import Model

from utfall.aggregates import counts, rollup
from utfall.aggregates.counts import (
    ANSWER_KEY,
    FOLDED,
    FOLDED_COUNTS,
    FOLLOWUP_KEY,
    ROLLUPS,
    Key,
    option_flags,
    period_at,
    year_of,
)
from utfall.aggregates.dimensions import AGE_GROUPS
from utfall.aggregates.models import AnswerCount, FollowUpCount
from utfall.core.bulk import insert_rows, one_of
from utfall.followups.models import Answer, FollowUp
from utfall.instruments.models import InstrumentVersion
from utfall.registry.models import Intervention

UNKNOWN_AGE = "okänd"
#: Follow-ups' clients per query.
CHUNK = 2000
#: A new follow-up as :attr:`Tally.new` keeps it (its instrument version and ISO date are not
#: used: :func:`add_by_client` reads them with the client's other follow-ups).
NewFollowUp = tuple[int, int, int, str, str, Any, int, int, int, list[tuple[int, int]]]


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
    """The counts of rows one write inserts, by the full count tables' keys
    (:data:`~utfall.aggregates.counts.ANSWER_KEY`, :data:`~utfall.aggregates.counts.FOLLOWUP_KEY`),
    and the new follow-ups for the rollups by client (:attr:`new`)."""

    def __init__(self, municipality_id: int) -> None:
        self.municipality_id = municipality_id
        self.answers: Counter[Key] = Counter()
        self.followups: Counter[Key] = Counter()
        #: The new follow-ups for the rollups by client (:func:`add_by_client`): id, client,
        #: instrument version, ISO date, assessment, month (the database's value), provider,
        #: service, unit and the (question, option) of each answer.
        self.new: list[NewFollowUp] = []
        #: "YYYY-MM" → the month's first day as the database takes it (ISO text on SQLite).
        self._months: dict[str, Any] = {}

    def month(self, date: str) -> Any:
        """The month of an ISO date (YYYY-MM-DD) as a key holds it: the database's value of its
        first day, adapted once per month rather than once per key."""
        month = self._months.get(date[:7])
        if month is None:
            first = dt.date(int(date[:4]), int(date[5:7]), 1)
            month = self._months[date[:7]] = connection.ops.adapt_datefield_value(first)
        return month

    def common(
        self,
        date: str,
        provider: int,
        service: int,
        unit: int,
        contract: int | None,
        sex: str,
        birth_year: int,
    ) -> Key:
        """The dimensions a follow-up and its answers share (:data:`~utfall.aggregates.counts.COMMON`);
        ``date`` is ISO (YYYY-MM-DD)."""
        month = self._months.get(date[:7]) or self.month(date)
        age = int(date[:4]) - birth_year
        group = _AGE.get(age) or age_group_of(age)
        return (self.municipality_id, month, provider, service, unit, contract, sex, group)

    def followup(self, common: Key, status: str, assessment: str, created_by: int | None) -> None:
        self.followups[(*common, status, assessment, created_by)] += 1

    def answer(self, common: Key, question: int, option: int) -> None:
        self.answers[(*common, question, option)] += 1

    def apply(self) -> None:
        """Add the counts to the full tables and their rollups, replace the rows by client of the
        clients concerned (``rollup.refresh_by_client``: the rows are written by then), and start
        again from zero."""
        add_by_client(self.municipality_id, self.new)
        answers, followups = self.answers, self.followups
        add(AnswerCount, ANSWER_KEY, answers)
        add(FollowUpCount, FOLLOWUP_KEY, followups)
        # The full keys by year first (2026-12-07): the rollups by year that no rollup by month
        # can give (the folded tables, the case mix by year) are then picked from them at C speed,
        # each month made a year once per key here instead of once per key and table. First in
        # the list, so a rollup by year takes them over the full tables of as many keys.
        made = _sources(answers, followups)
        for model, fields, _ in ROLLUPS:
            source, counted = _smallest(made, fields)
            delta = _project(counted, source, fields)
            made.append((fields, delta))
            add(model, fields, delta)
        flags = option_flags(key[-1] for key in answers) if answers else {}  # once for every folded table
        for model, fields, _ in FOLDED:
            source, counted = _smallest(made, (*fields, "option_id"))
            # Both counts in one pass over the table (its keys probed and matched once, not once per count).
            add_columns(
                model, fields, dict(zip(FOLDED_COUNTS, _fold(counted, source, fields, flags), strict=True))
            )
        self.answers, self.followups, self.new = Counter(), Counter(), []


#: The full tables' keys with the year for the month (:meth:`Tally.apply`).
_BY_YEAR = {key: tuple("year" if f == "month" else f for f in key) for key in (ANSWER_KEY, FOLLOWUP_KEY)}


def _sources(answers: Counter[Key], followups: Counter[Key]) -> list[tuple[Sequence[str], Counter[Key]]]:
    """The deltas the rollups are projected from (:func:`_smallest`): the full keys by year,
    then the full keys."""
    return [
        (_BY_YEAR[ANSWER_KEY], _project(answers, ANSWER_KEY, _BY_YEAR[ANSWER_KEY])),
        (_BY_YEAR[FOLLOWUP_KEY], _project(followups, FOLLOWUP_KEY, _BY_YEAR[FOLLOWUP_KEY])),
        (ANSWER_KEY, answers),
        (FOLLOWUP_KEY, followups),
    ]


def _picker(full: Sequence[str], fields: Sequence[str]) -> Any:
    """A function of a key by ``full`` giving its projection to ``fields`` (as
    :func:`counts.project` makes it: a ``year`` from the key's ``month``, through a dict of the
    few dozen months, or its ``year``)."""
    where = [full.index("month" if f == "year" and "year" not in full else f) for f in fields]
    pick = itemgetter(*where) if len(where) > 1 else (lambda key: (key[where[0]],))
    if "year" not in fields or "year" in full:  # no month to make a year of
        return pick
    at = fields.index("year")
    years: dict[Any, Any] = {}

    def picked(key: Key) -> Key:
        out = pick(key)
        year = years.get(out[at])
        if year is None:
            year = years[out[at]] = year_of(out[at])
        return (*out[:at], year, *out[at + 1 :])

    return picked


def _project(counts: Counter[Key], full: Sequence[str], fields: Sequence[str]) -> Counter[Key]:
    """:func:`counts.project`, the same counts in the same keys' order, summed in a plain dict
    (2026-12-07: ``Counter``'s ``__missing__``, a Python call per new key, was ~40 % of the
    projection); ``tests/aggregates/test_tally_fast.py`` compares the two."""
    pick = _picker(full, fields)
    out: dict[Key, int] = {}
    get = out.get
    for key, n in zip(map(pick, counts), counts.values(), strict=True):
        out[key] = get(key, 0) + n
    return Counter(out)


def _fold(
    answers: Counter[Key], full: Sequence[str], fields: Sequence[str], flags: dict[int, tuple[bool, bool]]
) -> tuple[Counter[Key], Counter[Key]]:
    """:func:`counts.fold` in one pass over ``answers`` (by ``full``, with the option): each key's
    count added to ``n`` of its projection to ``fields`` when its option counts, to ``events``
    when it counts and is positive, without projecting to the key with the option first. Sums of
    integers, so the same counts (``tests/aggregates/test_tally_fast.py``)."""
    pick = _picker(full, fields)
    option = full.index("option_id")
    n: dict[Key, int] = {}
    events: dict[Key, int] = {}
    for key, d in answers.items():
        counted, positive = flags.get(key[option], (False, False))
        if counted:
            k = pick(key)
            n[k] = n.get(k, 0) + d
            if positive:
                events[k] = events.get(k, 0) + d
    return Counter(n), Counter(events)


def _smallest(
    made: list[tuple[Sequence[str], Counter[Key]]], fields: Sequence[str]
) -> tuple[Sequence[str], Counter[Key]]:
    """Of the deltas projected so far (key, counts), the one with the fewest keys whose key has
    every field of ``fields`` (a ``year`` from a ``month`` or a ``year``): a rollup by year is
    summed from the rollup by month (a few thousand keys) rather than from the full table
    (~10^5). Sums of integers, so the counts are the ones the full table gives, and its keys come
    in the same order (each one's first appearance follows the full table's order)."""
    usable = [
        (key, counted)
        for key, counted in made
        if all(f in key or (f == "year" and "month" in key) for f in fields)
    ]
    return min(usable, key=lambda pair: len(pair[1]))


def add_by_client(municipality_id: int, new: list[NewFollowUp], *, exact: bool = False) -> None:
    """The rollups by client after an import's new follow-ups (written by now; nothing else of
    their clients changed). Their clients' other follow-ups are read (id, client, instrument,
    date, assessment: :func:`_facts_of_clients`, as :func:`rollup.followup_facts` gives them) and the follow-ups picked before and after
    the new ones (as :func:`rollup.picks`, from the groups' counts). The new follow-ups' rows are added from memory, as the
    count tables' (:func:`add`); an earlier follow-up picked now (a second one in its year) or
    quarterly now has its answers read and its rows moved, by deltas (:func:`_move_earlier`).
    2026-12-03: replacing every client's rows instead (``rollup.refresh_by_client``, as the
    other writers do) cost an import ~30 % more CPU than the rows by every answer before."""
    if not new:
        return
    clients = sorted({f[1] for f in new})
    fresh = {f[0] for f in new}
    earlier: list[tuple[int, int, int, dt.date, str]] = []
    written: dict[int, tuple[int, int, int, dt.date, str]] = {}  # the new ones, as the read gives them
    for start in range(0, len(clients), CHUNK):
        chunk = clients[start : start + CHUNK]
        rollup.lock_clients(chunk)
        for fact in _facts_of_clients(chunk):
            if fact[0] in fresh:
                written[fact[0]] = fact
            else:
                earlier.append(fact)
    fresh_facts = [written[f[0]] for f in new]
    old_years, old_quarters = _group_counts(earlier)
    new_years, new_quarters = _group_counts(fresh_facts)

    def flags(kind: Any, client: int, date: dt.date, with_new: bool) -> bool | None:
        year, quarter = (client, kind, date.year), (client, kind, date.year, (date.month - 1) // 3)
        in_year = old_years[year] + (new_years[year] if with_new else 0)
        if in_year < 2:
            return None
        return old_quarters[quarter] + (new_quarters[quarter] if with_new else 0) > 1

    answers: Counter[Key] = Counter()
    followups: Counter[Key] = Counter()
    for (_pk, client, _version, _date, assessment, month, provider, service, unit, pairs), fact in zip(
        new, fresh_facts, strict=True
    ):
        common = (municipality_id, month, client, provider, service, unit)
        quarterly = flags(fact[2], client, fact[3], True)
        if quarterly is not None:
            for question, option in pairs:
                answers[(*common, question, option, quarterly)] += 1
        quarterly = flags(None, client, fact[3], True) if assessment else None
        if quarterly is not None:
            followups[(*common, assessment, quarterly)] += 1
    # Earlier follow-ups in a year the new ones joined, picked now (a second one in the year) or
    # quarterly now: their rows move (out of the old key, into the new one).
    changed: dict[int, tuple[Any, ...]] = {}
    for pk, client, instrument_id, date, assessment in earlier:
        kinds = [instrument_id, None] if assessment else [instrument_id]
        if not any(new_years[(client, kind, date.year)] for kind in kinds):
            continue
        moves = [
            flags(kind, client, date, with_new)
            for kind in (instrument_id, None)
            for with_new in (False, True)
        ]
        if not assessment:
            moves[2] = moves[3] = None
        if moves[0] != moves[1] or moves[2] != moves[3]:
            changed[pk] = (*moves, client)
    if changed:
        _move_earlier(changed, answers, followups, adapt=not exact)
    for (_, model, fields), delta in zip(rollup.BY_CLIENT, (answers, followups), strict=True):
        if exact:  # a submission's few keys, months as dates
            counts.apply(model, fields, delta, exact=True)
        else:
            add(model, fields, delta)


def _day(value: Any) -> dt.date:
    """A date column's value as a date (a date already, through Django's converter of SQLite's
    declared ``date`` columns, except from an expression)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _as_read(column: str) -> str:
    """A date column as :func:`_day` reads it fastest: on SQLite its ISO text as stored, past
    Django's converter of declared ``date`` columns (a Python ``parse_date`` per row, ~0.3 s of
    CPU an import, 2026-12-07; ``date.fromisoformat`` in :func:`_day` is C); on PostgreSQL the
    driver's date."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _facts_of_clients(clients: Sequence[int]) -> list[tuple[int, int, int, dt.date, str]]:
    """:func:`rollup.followup_facts` of every follow-up of these clients: (id, client,
    instrument, date, assessment), in plain SQL (2026-12-06: the ORM's filter of 2,000 ids and
    its converters per row took ~10 % of an import's CPU, more than the query)."""
    quote = connection.ops.quote_name
    where, params = one_of("i.client_id", clients)
    sql = (
        f"SELECT f.id, i.client_id, v.instrument_id, {_as_read('f.date')}, f.assessment "  # noqa: S608 (our tables; values are parameters)
        f"FROM {quote(FollowUp._meta.db_table)} f "
        f"JOIN {quote(Intervention._meta.db_table)} i ON i.id = f.intervention_id "
        f"JOIN {quote(InstrumentVersion._meta.db_table)} v ON v.id = f.instrument_version_id WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()  # at once, not row by row through Django's cursor wrapper
    return [
        (pk, client, instrument, _day(date), assessment) for pk, client, instrument, date, assessment in rows
    ]


def _group_counts(facts: list[tuple[int, int, int, dt.date, str]]) -> tuple[Counter[Key], Counter[Key]]:
    """Follow-ups per (client, instrument or None for the assessed ones, year) and per quarter."""
    years: Counter[Key] = Counter()
    quarters: Counter[Key] = Counter()
    for _pk, client, instrument, date, assessment in facts:
        year, quarter = date.year, (date.month - 1) // 3
        years[(client, instrument, year)] += 1
        quarters[(client, instrument, year, quarter)] += 1
        if assessment:
            years[(client, None, year)] += 1
            quarters[(client, None, year, quarter)] += 1
    return years, quarters


def _move_earlier(
    changed: dict[int, tuple[Any, ...]],
    answers: Counter[Key],
    followups: Counter[Key],
    *,
    adapt: bool,
) -> None:
    """Add to the deltas the moves of earlier follow-ups' rows by client: out of the key with
    the old ``quarterly`` (if picked before), into the key with the new one (if picked now)."""
    ids = sorted(changed)
    # Months as the deltas' other keys hold them: the database's value (a Tally's) or dates, from
    # the date column's value (ISO text on SQLite), converted once per day.
    adapted = connection.ops.adapt_datefield_value if adapt else (lambda day: day)
    months: dict[Any, Any] = {}

    def month_of(value: Any) -> Any:
        month = months.get(value)
        if month is None:
            month = months[value] = adapted(_day(value).replace(day=1))
        return month

    quote = connection.ops.quote_name
    # Plain SQL, not the ORM (its filter of 2,000 ids and converters per row cost more than the
    # queries, 2026-12-06); the same rows.
    answer_sql = (
        f"SELECT a.followup_id, a.municipality_id, {_as_read('a.date')}, a.provider_id, a.service_id, a.unit_id, "  # noqa: S608 (our table; values are parameters)
        f"a.question_id, a.option_id FROM {quote(Answer._meta.db_table)} a WHERE "
    )
    followup_sql = (
        f"SELECT f.id, f.municipality_id, {_as_read('f.date')}, i.provider_id, i.service_id, i.unit_id, f.assessment "  # noqa: S608
        f"FROM {quote(FollowUp._meta.db_table)} f JOIN {quote(Intervention._meta.db_table)} i "
        "ON i.id = f.intervention_id WHERE "
    )
    with connection.cursor() as cursor:
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            where, params = one_of("a.followup_id", chunk)
            cursor.execute(answer_sql + where, params)
            for pk, municipality, date, provider, service, unit, question, option in cursor.fetchall():
                old, now, _, _, client = changed[pk]
                key = (municipality, month_of(date), client, provider, service, unit, question, option)
                if old is not None:
                    answers[(*key, old)] -= 1
                if now is not None:
                    answers[(*key, now)] += 1
            where, params = one_of("f.id", chunk)
            cursor.execute(followup_sql + where, params)
            for pk, municipality, date, provider, service, unit, assessment in cursor.fetchall():
                _, _, old, now, client = changed[pk]
                own = (municipality, month_of(date), client, provider, service, unit, assessment)
                if old is not None:
                    followups[(*own, old)] -= 1
                if now is not None:
                    followups[(*own, now)] += 1


def add(model: type[Model], fields: Sequence[str], delta: Counter[Key]) -> None:
    """Add ``delta`` (key → count; the month as :meth:`Tally.common` gives it, the database's
    value) to the table: ``n = n + d`` on an existing row of the key (the first one, when two
    writers each inserted one), a new row otherwise.

    In three steps, each set-based:

    1. keys in a month with no row yet go straight in (:func:`_add_fresh`, one index probe per
       month and question);
    2. the other keys are matched to their existing rows by the whole key, a temporary table of
       the delta joined with the table over its key index (:func:`_match_sqlite`,
       :func:`_match_postgresql`: there in one statement with step 3);
    3. matched rows get ``n = n + d`` in the database (so concurrent writers never lose each
       other's change), the others are inserted.

    Each delta row is applied once, whatever another writer does meanwhile (its new row for the
    same key is a second row, which readers sum). A table with more than one count (a folded
    table's ``n`` and ``events``): :func:`add_columns`."""
    _add_items(model, fields, [(k, (d,)) for k, d in delta.items() if d], ("n",))


def add_columns(model: type[Model], fields: Sequence[str], deltas: Mapping[str, Counter[Key]]) -> None:
    """:func:`add` of several counts of one table at once (a folded table's ``n`` and ``events``,
    2026-12-06): each key of any delta probed, matched and written once, with every column's
    count (0 where its delta has none). The same rows as one :func:`add` per column (there a key
    new to the table got its row from the first and was matched to it by the second); the import
    of a table with two counts probes and matches its keys once instead of twice."""
    columns = tuple(deltas)
    keys: dict[Key, None] = {}
    for delta in deltas.values():
        keys.update(dict.fromkeys([k for k, d in delta.items() if d]))
    # Each column's counts in one list, zipped into each key's tuple: no generator per key (2026-12-07).
    values = zip(*([delta.get(k, 0) for k in keys] for delta in deltas.values()), strict=True)
    _add_items(model, fields, list(zip(keys, values, strict=True)), columns)


def _add_items(
    model: type[Model],
    fields: Sequence[str],
    items: list[tuple[Key, tuple[int, ...]]],
    targets: Sequence[str],
) -> None:
    if not items:
        return
    # Keys made outside a Tally (the outcome counts) may carry their month as a date: made the
    # database's value here, else SQLite's prefix probe would not recognise its own rows.
    adapt = _adapter(fields, items[0][0])
    if adapt is not None:
        items = [(adapt(k), d) for k, d in items]
    with connection.cursor() as cursor:
        items = _add_fresh(cursor, model, fields, items, targets)
        if not items:
            return
        if connection.vendor == "postgresql":
            _match_postgresql(cursor, model, fields, items, targets)
        else:
            _match_sqlite(cursor, model, fields, items, targets)


def _match_sqlite(
    cursor: Any,
    model: type[Model],
    fields: Sequence[str],
    items: list[tuple[Key, tuple[int, ...]]],
    targets: Sequence[str],
) -> None:
    """Step 2 and 3 of :func:`add` on SQLite, through a temporary table of the delta: its rows
    go in with one prepared ``executemany``, each is matched to its key's first row in one join
    over the table's key index (noting the row's id), the matched rows get ``n = n + d`` and the
    others are copied into the table by ``INSERT … SELECT``. (2026-12-03: probing the keys by
    ``VALUES`` lists of 500 keys instead, without the temporary table, cost 5–10 % more CPU per
    import: SQLite compiles each ``VALUES`` row into its program.)"""
    quote = connection.ops.quote_name
    columns = _columns(model, fields)
    names = [quote(column) for column, _, _ in columns]
    table = quote(model._meta.db_table)
    on = " AND ".join(
        f"a.{name} {'IS' if null else '='} d.{name}"
        for name, (_, _, null) in zip(names, columns, strict=True)
    )
    listed = ", ".join(names)
    temp, deltas, counted, added = _delta_counts(model, targets)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (i integer, {listed}, "
        f"{', '.join(f'{d} integer' for d in deltas)}, id bigint)"
    )
    cursor.execute(f"DELETE FROM {temp}")  # noqa: S608 (our table)
    insert_rows(cursor, temp, ["i", *names, *deltas], [(i, *k, *d) for i, (k, d) in enumerate(items)])
    cursor.execute(
        f"UPDATE {temp} SET id = m.id FROM (SELECT d.i, MIN(a.id) AS id FROM {temp} d "  # noqa: S608 (our tables)
        f"JOIN {table} a ON {on} GROUP BY d.i) AS m WHERE {temp}.i = m.i"
    )
    cursor.execute(f"UPDATE {table} SET {added} FROM {temp} d WHERE {table}.id = d.id")  # noqa: S608
    cursor.execute(
        f"INSERT INTO {table} ({listed}, {', '.join(counted)}) SELECT {listed}, {', '.join(deltas)} "  # noqa: S608
        f"FROM {temp} WHERE id IS NULL"
    )


def _match_postgresql(
    cursor: Any,
    model: type[Model],
    fields: Sequence[str],
    items: list[tuple[Key, tuple[int, ...]]],
    targets: Sequence[str],
) -> None:
    """Step 2 and 3 of :func:`add` on PostgreSQL: the delta COPYed into a temporary table, then
    one statement matches it with the table (a join over the key index, planned as PostgreSQL
    likes: a merge join for a large delta), updates the matched rows and inserts the others. One
    statement, one snapshot: the delta's rows are written once (before 2026-12-03 an ``UPDATE``
    of the temporary table wrote each of them a second time to note its match, ~150,000 row
    versions per import)."""
    quote = connection.ops.quote_name
    columns = _columns(model, fields)
    names = [quote(column) for column, _, _ in columns]
    table = quote(model._meta.db_table)
    on = " AND ".join(
        f"a.{name} {'IS NOT DISTINCT FROM' if null else '='} d.{name}"
        for name, (_, _, null) in zip(names, columns, strict=True)
    )
    listed = ", ".join(names)
    typed = ", ".join(f"{name} {kind}" for name, (_, kind, _) in zip(names, columns, strict=True))
    temp, deltas, counted, added = _delta_counts(model, targets)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {temp} (i integer, {typed}, {', '.join(f'{d} integer' for d in deltas)})"
    )
    cursor.execute(f"TRUNCATE {temp}")
    insert_rows(cursor, temp, ["i", *names, *deltas], [(i, *k, *d) for i, (k, d) in enumerate(items)])
    cursor.execute(
        f"WITH found AS (SELECT d.i, MIN(a.id) AS id FROM {temp} d JOIN {table} a ON {on} GROUP BY d.i), "  # noqa: S608 (our tables)
        f"updated AS (UPDATE {table} SET {added} FROM {temp} d, found "
        f"WHERE found.i = d.i AND {table}.id = found.id) "
        f"INSERT INTO {table} ({listed}, {', '.join(counted)}) SELECT {listed}, {', '.join(deltas)} FROM {temp} d "
        f"WHERE NOT EXISTS (SELECT 1 FROM found WHERE found.i = d.i)"
    )


def _delta_counts(model: type[Model], targets: Sequence[str]) -> tuple[str, list[str], list[str], str]:
    """For :func:`_match_sqlite` and :func:`_match_postgresql`: the temporary table of ``model``'s
    delta (one per table and number of counts: a table is added to with one count or two), its
    count columns (``n0``, ``n1``, …, one per target), the targets quoted, and the ``SET`` list
    adding each delta column to its target (``d`` the temporary table's alias)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    temp = quote(f"utfall_delta_{model._meta.db_table}_{len(targets)}")
    deltas = [f"n{j}" for j in range(len(targets))]
    counted = [quote(t) for t in targets]
    added = ", ".join(f"{c} = {table}.{c} + d.{d}" for c, d in zip(counted, deltas, strict=True))
    return temp, deltas, counted, added


def _add_fresh(
    cursor: Any,
    model: type[Model],
    fields: Sequence[str],
    items: list[tuple[Key, tuple[int, ...]]],
    targets: Sequence[str],
) -> list[tuple[Key, tuple[int, ...]]]:
    """Insert the delta's keys whose month has no row yet (by the table's index prefix up to the
    month, e.g. municipality, question and month) straight into the table, and return the rest.

    Nothing of such a key can exist, so matching it would find nothing: an import of a new
    month, or of a municipality's history, writes its counts once (issue 13.2). One query per
    300 prefixes finds which exist: an index probe each (``EXISTS``). A writer that adds a row of
    the same key meanwhile makes a second row, which readers sum, as in :func:`add`."""
    quote = connection.ops.quote_name
    index = [column for column, _, _ in _columns(model, model._meta.indexes[0].fields)]
    columns = [column for column, _, _ in _columns(model, fields)]
    period = columns[period_at(fields)]  # month, or year in the rollups by year
    if period not in index or not set(index[: index.index(period) + 1]) <= set(columns):
        return items
    prefix = [columns.index(c) for c in index[: index.index(period) + 1]]
    pick = itemgetter(*prefix)  # the prefix has the municipality and the month: a tuple
    # The prefixes in order of first appearance; the items are not grouped by them in Python (a
    # list per prefix cost ~0.4 million appends an import), only filtered when some exist.
    prefixes = list(dict.fromkeys(map(pick, [key for key, _ in items])))
    aliases = [f"k{i}" for i in range(len(prefix))]
    match = " AND ".join(f"t.{quote(columns[i])} = v.{a}" for i, a in zip(prefix, aliases, strict=True))
    table = quote(model._meta.db_table)
    found: set[Key] = set()
    for start in range(0, len(prefixes), 300):
        chunk = prefixes[start : start + 300]
        values = ", ".join(["(" + ", ".join(["%s"] * len(prefix)) + ")"] * len(chunk))
        cursor.execute(
            f"WITH v({', '.join(aliases)}) AS (VALUES {values}) SELECT * FROM v "  # noqa: S608 (our table; values are parameters)
            f"WHERE EXISTS (SELECT 1 FROM {table} t WHERE {match})",
            [value for key in chunk for value in key],
        )
        found.update(tuple(row) for row in cursor.fetchall())
    if not found:  # every month new: the whole delta goes in
        insert_rows(cursor, model._meta.db_table, [*columns, *targets], [(*key, *n) for key, n in items])
        return []
    if found.issuperset(prefixes):
        return items
    fresh = [(*key, *n) for key, n in items if pick(key) not in found]
    insert_rows(cursor, model._meta.db_table, [*columns, *targets], fresh)
    return [item for item in items if pick(item[0]) in found]


def _columns(model: type[Model], fields: Sequence[str]) -> list[tuple[str, str, bool]]:
    """(column, database type, nullable) of each key field."""
    out = []
    for name in fields:
        field = model._meta.get_field(name)  # a relation is found by its attribute name too
        out.append((str(field.column), field.cast_db_type(connection) or "", field.null))  # type: ignore[union-attr]
    return out


def _adapter(fields: Sequence[str], sample: Key) -> Any:
    """A function that makes a key's month the database's value (ISO text on SQLite), or None
    when the months are that already (``sample``: a key of the delta; a :class:`Tally`'s keys
    are)."""
    month = period_at(fields)
    if connection.vendor == "postgresql" or isinstance(sample[month], str):
        return None
    adapt = connection.ops.adapt_datefield_value
    months: dict[Any, Any] = {}  # a delta has a few dozen months and ~10^5 keys

    def adapted(key: Key) -> Key:
        value = months.get(key[month])
        if value is None:
            value = months[key[month]] = adapt(key[month])
        return (*key[:month], value, *key[month + 1 :])

    return adapted
