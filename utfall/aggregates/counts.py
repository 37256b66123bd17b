"""The count rows of raw answers and follow-ups: computed by GROUP BY in the database for a
scope (some interventions, or a whole municipality), applied as deltas, rebuilt and checked.

A key is the tuple of a count table's dimension values (:data:`ANSWER_KEY`,
:data:`FOLLOWUP_KEY`); a table may hold several rows of one key (two writers that found no
row at the same moment each insert one) and rows of count 0 (a delta that took the last row
out): readers sum by key and keep groups above 0, and :func:`differences` compares sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Count, F, Model, QuerySet

from utfall.aggregates.dimensions import MonthOf, YearOf, age_group, month_date
from utfall.aggregates.models import (
    AnswerByProvider,
    AnswerCount,
    FollowUpByProvider,
    FollowUpByProviderCaseMixYear,
    FollowUpByProviderUnitYear,
    FollowUpByProviderYear,
    FollowUpByUnit,
    FollowUpCount,
    QuestionByProviderCaseMixYear,
    QuestionByProviderUnitCaseMixYear,
    QuestionByProviderUnitYear,
    QuestionByProviderYear,
    QuestionByUnit,
    QuestionByUnitCaseMixYear,
)
from utfall.aggregates.rollup import BY_CLIENT, CASE_MIX, by_client
from utfall.followups.models import Answer, FollowUp
from utfall.instruments.models import Option

Key = tuple[Any, ...]
#: A rollup entry (its model first): :func:`made` keeps the entries as they are.
R = TypeVar("R", bound=tuple[Any, ...])
#: Dimension columns of each table, in key order.
COMMON = ("municipality_id", "month", "provider_id", "service_id", "unit_id", "contract_id",
          "client_sex", "age_group")  # fmt: skip
ANSWER_KEY = (*COMMON, "question_id", "option_id")
FOLLOWUP_KEY = (*COMMON, "status", "assessment", "created_by_id")
#: The key of a writer's delta: the full table's with the client (for the rollups by client,
#: :data:`CLIENT_ROLLUPS`); the full tables and the other rollups are its projections.
ANSWER_DELTA = (*COMMON, "client_id", "question_id", "option_id")
FOLLOWUP_DELTA = (*COMMON, "client_id", "status", "assessment", "created_by_id")
#: The rollups: (table, its key, the full table's key it sums) — a projection of the full key.
#: A key with ``year`` instead of ``month`` sums the year's months (:func:`project`).
ROLLUPS: tuple[tuple[type[Model], tuple[str, ...], tuple[str, ...]], ...] = (
    (AnswerByProvider, ("municipality_id", "month", "provider_id", "question_id", "option_id"), ANSWER_KEY),
    (FollowUpByProvider, ("municipality_id", "month", "provider_id", "status", "assessment"), FOLLOWUP_KEY),
    (FollowUpByProviderYear, ("municipality_id", "year", "provider_id", "status", "assessment"), FOLLOWUP_KEY),
    # The O/E's case-mix cells of whole years (2026-12-04, oe2): provider × service × sex × age group;
    # the answers' are kept without the option since 2026-12-05 (FOLDED).
    (FollowUpByProviderCaseMixYear, ("municipality_id", "year", "provider_id", "service_id", "client_sex",
                                     "age_group", "status", "assessment"), FOLLOWUP_KEY),
    # A unit manager's counts of whole years (2026-12-05, unit5): provider × unit; the answers' are
    # kept without the option since 2026-12-06 (FOLDED; the table by option dropped by aggregates 0021).
    (FollowUpByProviderUnitYear, ("municipality_id", "year", "provider_id", "unit_id", "status", "assessment"),
     FOLLOWUP_KEY),
    *((model, fields, ANSWER_KEY if kind == "answers" else FOLLOWUP_KEY) for kind, model, fields in CASE_MIX),
    # Follow-ups by unit and month, every provider summed (2026-12-07, unitmonth): a unit manager's
    # trend of an assessment along every unit (a question's: QuestionByUnit in FOLDED).
    (FollowUpByUnit, ("municipality_id", "month", "unit_id", "status", "assessment"), FOLLOWUP_KEY),
)  # fmt: skip
#: The rollups that fold the option away (2026-12-05, oe4): (table, its key, the full answer key);
#: by year or, since 2026-12-07, by month.
#: Not a projection: each answer key's count goes to ``n`` when its option counts and to
#: ``events`` as well when the option is positive too (:func:`fold`), as a question indicator
#: counts it. The key is a rollup's key without the option.
FOLDED: tuple[tuple[type[Model], tuple[str, ...], tuple[str, ...]], ...] = (
    (QuestionByProviderCaseMixYear, ("municipality_id", "year", "provider_id", "service_id", "client_sex",
                                     "age_group", "question_id"), ANSWER_KEY),
    # A unit manager's O/E cells of whole years (2026-12-06, mgroe): the same with the unit.
    (QuestionByProviderUnitCaseMixYear, ("municipality_id", "year", "provider_id", "unit_id", "service_id",
                                         "client_sex", "age_group", "question_id"), ANSWER_KEY),
    # A question's counts of whole years by provider (2026-12-07, qyear): the comparison of whole
    # years and the provider page's questions; the rollup by option it replaced was dropped (0029).
    (QuestionByProviderYear, ("municipality_id", "year", "provider_id", "question_id"), ANSWER_KEY),
    # A unit manager's question counts of whole years by provider and unit (2026-12-06, hidfold).
    (QuestionByProviderUnitYear, ("municipality_id", "year", "provider_id", "unit_id", "question_id"), ANSWER_KEY),
    # A question's counts by unit and month, every provider summed (2026-12-07, unitmonth): the
    # first folded table by month (a unit manager's trend along every unit).
    (QuestionByUnit, ("municipality_id", "month", "unit_id", "question_id"), ANSWER_KEY),
    # A unit manager's women and men: the unit's case-mix cells of whole years, every provider summed.
    (QuestionByUnitCaseMixYear, ("municipality_id", "year", "unit_id", "service_id", "client_sex", "age_group",
                                 "question_id"), ANSWER_KEY),
)  # fmt: skip
#: The count columns of a folded table, in the order :func:`fold` gives them.
FOLDED_COUNTS = ("n", "events")
#: The rollups by client: (table, its key, the delta's key). Not kept from the deltas: the rows
#: of a client are replaced after each write (``rollup.refresh_by_client``), rebuilt and checked
#: by their own GROUP BY (``aggregates.rollup``).
CLIENT_ROLLUPS: tuple[tuple[type[Model], tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (model, fields, ANSWER_DELTA if kind == "answers" else FOLLOWUP_DELTA)
    for kind, model, fields in BY_CLIENT
)
#: Interventions per query when a scope is read in slices (SQLite's parameter limit).
CHUNK = 2000


def _answer_groups(qs: QuerySet[Answer], by_client: bool = True) -> QuerySet[Any]:
    """Answers grouped by :data:`ANSWER_DELTA` (the same paths the comparisons read), or by
    :data:`ANSWER_KEY` without ``by_client``."""
    qs = qs.annotate(_age=YearOf("date") - F("client_birth_year"))
    client = ["followup__intervention__client_id"] if by_client else []
    return qs.values_list(
        "municipality_id", MonthOf("date"), "provider_id", "service_id", "unit_id",
        "followup__intervention__contract_id", "client_sex", age_group("_age"), *client, "question_id",
        "option_id",
    ).annotate(n=Count("pk")).order_by()  # fmt: skip


def _followup_groups(qs: QuerySet[FollowUp], by_client: bool = True) -> QuerySet[Any]:
    """Follow-ups grouped by :data:`FOLLOWUP_DELTA`, or by :data:`FOLLOWUP_KEY` without ``by_client``."""
    qs = qs.annotate(_age=YearOf("date") - F("intervention__client__birth_year"))
    client = ["intervention__client_id"] if by_client else []
    return qs.values_list(
        "municipality_id", MonthOf("date"), "intervention__provider_id", "intervention__service_id",
        "intervention__unit_id", "intervention__contract_id", "intervention__client__sex",
        age_group("_age"), *client, "status", "assessment", "created_by_id",
    ).annotate(n=Count("pk")).order_by()  # fmt: skip


def _collect(rows: Iterable[tuple[Any, ...]], into: Counter[Key]) -> None:
    for *key, n in rows:
        key[1] = month_date(key[1])
        into[tuple(key)] += n


def share(municipality_id: int, interventions: Sequence[int]) -> tuple[Counter[Key], Counter[Key]]:
    """(answer counts, follow-up counts) of the given interventions' rows now.

    Read through the follow-ups' (intervention, date) index, so the cost grows with the
    scope's rows, not the municipality's: with the municipality in the WHERE clause SQLite
    chose the period covers (municipality first) and read every answer and follow-up of the
    municipality per slice of 2,000 interventions, which made an import of interventions
    slower the more the database held (7,321 s for 547,444 interventions in the 1M build,
    docs/performance.md). Rows of another municipality (none, by the tenant invariant) are
    left out here, as the WHERE clause left them out before."""
    answers: Counter[Key] = Counter()
    followups: Counter[Key] = Counter()
    for start in range(0, len(interventions), CHUNK):
        chunk = interventions[start : start + CHUNK]
        scope = FollowUp.objects.filter(intervention_id__in=chunk)
        _collect(_answer_groups(Answer.objects.filter(followup_id__in=scope.values("pk"))), answers)
        _collect(_followup_groups(scope), followups)
    for counter in (answers, followups):
        for key in [key for key in counter if key[0] != municipality_id]:
            del counter[key]
    return answers, followups


def share_of_followups(municipality_id: int, followups: Sequence[int]) -> tuple[Counter[Key], Counter[Key]]:
    """(answer counts, follow-up counts) of the given follow-ups (primary keys) and their
    answers alone: the share of new follow-ups, added without reading their intervention's
    other rows (:func:`utfall.core.changes.adding_followups`)."""
    answers: Counter[Key] = Counter()
    found: Counter[Key] = Counter()
    if len(followups) == 1:  # one submission: the same two queries every time, compiled once
        _collect(_one_followup("answers", followups[0]), answers)
        _collect(_one_followup("followups", followups[0]), found)
        followups = ()
    for start in range(0, len(followups), CHUNK):
        chunk = followups[start : start + CHUNK]
        # By the follow-ups alone: with the municipality as well PostgreSQL read the
        # municipality's whole answer index (12 ms at 160k answers) instead of the follow-up's.
        _collect(_answer_groups(Answer.objects.filter(followup_id__in=chunk)), answers)
        _collect(_followup_groups(FollowUp.objects.filter(pk__in=chunk)), found)
    assert all(key[0] == municipality_id for key in (*answers, *found)), "follow-ups of another municipality"
    return answers, found


#: A follow-up id no row has: the place of the real one in a compiled query's parameters.
_PLACEHOLDER = -7_654_321
#: (database vendor, "answers" or "followups") → (SQL, parameters, column order): building and
#: compiling the GROUP BY took more CPU than the database needed to run it (issue 13 point 3).
_COMPILED: dict[tuple[str, str], tuple[str, tuple[Any, ...], list[int]]] = {}


def _one_followup(which: str, pk: int) -> list[tuple[Any, ...]]:
    """The rows of ``_answer_groups``/``_followup_groups`` for one follow-up, by SQL compiled
    once per process; each row in the key's order with ``n`` last, as the queryset gives it."""
    key = (connection.vendor, which)
    compiled = _COMPILED.get(key)
    if compiled is None:
        qs = (_answer_groups(Answer.objects.filter(followup_id=_PLACEHOLDER)) if which == "answers"
              else _followup_groups(FollowUp.objects.filter(pk=_PLACEHOLDER)))  # fmt: skip
        sql, params = qs.query.sql_with_params()
        assert list(params).count(_PLACEHOLDER) == 1, "the follow-up's id is one parameter"
        with connection.cursor() as cursor:  # the select's column order, by name
            cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
        fields: tuple[str, ...] = qs._fields  # type: ignore[attr-defined]  # values_list's names
        order = [names.index(name) for name in (*fields, "n")]
        compiled = _COMPILED[key] = (sql, tuple(params), order)
    sql, params, order = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk if p == _PLACEHOLDER else p for p in params])
        return [tuple(row[i] for i in order) for row in cursor.fetchall()]


def _existing_exactly(
    model: type[Model], fields: Sequence[str], delta: Counter[Key]
) -> list[tuple[Any, ...]]:
    """(id, *key) of the table's rows that match every dimension of the delta's keys (one
    value: equal; several: among them), in plain SQL (the ORM's query building cost more than
    the lookup): the rows of a single follow-up's few keys, not every row of a provider's month."""
    ops = connection.ops
    where: list[str] = []
    params: list[Any] = []
    month = period_at(fields)
    for position, name in enumerate(fields):
        values = sorted({k[position] for k in delta}, key=repr)
        column = ops.quote_name(name)
        if position == month:
            values = [ops.adapt_datefield_value(v) for v in values]
        if values == [None]:
            where.append(f"{column} IS NULL")
        elif None not in values:
            where.append(f"{column} IN ({', '.join('%s' for _ in values)})")
            params += values
    names = ", ".join(ops.quote_name(f) for f in fields)
    table = ops.quote_name(model._meta.db_table)
    sql = f"SELECT id, {names} FROM {table} WHERE {' AND '.join(where)} ORDER BY id"  # noqa: S608 (our table; values are parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (pk, *key[:month], month_date(key[month]), *key[month + 1 :]) for pk, *key in cursor.fetchall()
        ]


def expected(municipality_id: int) -> tuple[Counter[Key], Counter[Key]]:
    """(answer counts, follow-up counts) of a whole municipality, from the raw rows."""
    answers: Counter[Key] = Counter()
    followups: Counter[Key] = Counter()
    _collect(_answer_groups(Answer.objects.filter(municipality_id=municipality_id), by_client=False), answers)
    _collect(_followup_groups(FollowUp.objects.filter(municipality_id=municipality_id), by_client=False),
             followups)  # fmt: skip
    return answers, followups


def summed(model: type[Model], fields: Sequence[str], **where: Any) -> Counter[Key]:
    """The rows of a count table that ``where`` selects, summed by key (``fields``), keys that
    sum to 0 left out: what a reader sees of them."""
    return summed_column(model, fields, "n", where)


def summed_column(
    model: type[Model], fields: Sequence[str], column: str, where: dict[str, Any]
) -> Counter[Key]:
    """:func:`summed` of one count column (a folded table's ``n`` or ``events``)."""
    found: Counter[Key] = Counter()
    for *key, n in model._default_manager.filter(**where).values_list(*fields, column).order_by():
        found[tuple(key)] += n
    return +found


def stored(municipality_id: int) -> dict[str, Counter[Key]]:
    """The maintained tables as they are (summed by key), by table name."""
    tables: list[tuple[type[Model], Sequence[str]]] = [
        (AnswerCount, ANSWER_KEY),
        (FollowUpCount, FOLLOWUP_KEY),
    ]
    tables += [(m, f) for m, f, _ in (*ROLLUPS, *CLIENT_ROLLUPS)]
    out = {
        model._meta.model_name or "": summed(model, fields, municipality_id=municipality_id)
        for model, fields in tables
    }
    for model, fields, _ in FOLDED:
        for column in FOLDED_COUNTS:
            out[folded_name(model, column)] = summed_column(
                model, fields, column, {"municipality_id": municipality_id}
            )
    return out


def folded_name(model: type[Model], column: str) -> str:
    """The name :func:`stored` and the check give a folded table's count: the table's, and
    ``.events`` for the events."""
    name = model._meta.model_name or ""
    return name if column == "n" else f"{name}.{column}"


def expected_tables(municipality_id: int) -> dict[str, Counter[Key]]:
    """What :func:`stored` should give, from the raw rows."""
    answers, followups = expected(municipality_id)
    out = {"answercount": answers, "followupcount": followups}
    for model, fields, full in ROLLUPS:
        out[model._meta.model_name or ""] = project(
            answers if full is ANSWER_KEY else followups, full, fields
        )
    for model, fields, full in FOLDED:
        for column, counted in zip(FOLDED_COUNTS, fold(answers, full, fields), strict=True):
            out[folded_name(model, column)] = +counted
    return {**out, **by_client(municipality_id)}


def period_at(fields: Sequence[str]) -> int:
    """Where a key holds its period: ``month`` (the first day of the month) or, in the rollups
    by year, ``year`` (the first day of the year)."""
    return fields.index("year") if "year" in fields else fields.index("month")


def period_name(fields: Sequence[str]) -> str:
    """The name of a key's period column: ``year`` in the rollups by year, else ``month``."""
    return fields[period_at(fields)]


def year_of(month: Any) -> Any:
    """The first day of a month's year, in the form the month comes in (a date, or the ISO text
    a :class:`~utfall.aggregates.tally.Tally` holds on SQLite)."""
    if isinstance(month, str):
        return month[:4] + "-01-01"
    return month.replace(month=1, day=1)


def project(counts: Counter[Key], full: Sequence[str], fields: Sequence[str]) -> Counter[Key]:
    """The counts summed over the dimensions that ``fields`` (a rollup's key) leave out; a
    ``year`` in ``fields`` is the year of the full key's ``month`` (its months summed), or its
    ``year`` when ``full`` is a key by year itself (a rollup by year summed further)."""
    where = [full.index("month" if f == "year" and "year" not in full else f) for f in fields]
    # itemgetter picks the fields at C speed (a generator per key took ~1 s of an import, 13.2).
    pick = itemgetter(*where) if len(where) > 1 else (lambda key: (key[where[0]],))
    out: Counter[Key] = Counter()
    if "year" in fields:
        at = fields.index("year")
        years: dict[Any, Any] = {}  # a delta has a few dozen months and ~10^5 keys
        for key, n in counts.items():
            picked = pick(key)
            year = years.get(picked[at])
            if year is None:
                year = years[picked[at]] = year_of(picked[at])
            out[(*picked[:at], year, *picked[at + 1 :])] += n
        return out
    for key, n in counts.items():
        out[pick(key)] += n
    return out


def made(rollups: Iterable[R]) -> list[R]:
    """The rollups (each a tuple whose first item is its model) whose table exists. Migrations
    0006, 0008 and 0010 run today's coverage and outcome code on a database with data before
    aggregates 0018 has made the rollups by provider and unit, which 0018 then fills itself:
    until then those are left out (review of 2026-12-05)."""
    present = set(connection.introspection.table_names())
    return [r for r in rollups if r[0]._meta.db_table in present]


def option_flags(options: Iterable[int]) -> dict[int, tuple[bool, bool]]:
    """(counts, positive) of each option: read with the delta each time (one query by primary
    key), not cached, so no process can hold flags of an option that another has changed or a
    test database has reused the id of. Published options are frozen
    (``instruments.models._PartOfVersion``) and only they are answered."""
    wanted = sorted(set(options))
    flags: dict[int, tuple[bool, bool]] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = Option.objects.filter(pk__in=wanted[start : start + CHUNK]).values_list(
            "pk", "counts", "positive"
        )
        flags.update((pk, (bool(c), bool(c and p))) for pk, c, p in rows)
    return flags


def fold(
    answers: Counter[Key],
    full: Sequence[str],
    fields: Sequence[str],
    flags: dict[int, tuple[bool, bool]] | None = None,
) -> tuple[Counter[Key], Counter[Key]]:
    """(n, events) of a folded table (:data:`FOLDED`) from answer counts by ``full``: each key
    projected to ``fields`` with its option, then the option folded away: its count added to
    ``n`` when the option counts, to ``events`` when it counts and is positive. An option not
    found (none, by the answers' foreign key) counts nowhere. ``flags``: the options' flags,
    read here when not given."""
    projected = project(answers, full, (*fields, "option_id"))
    if flags is None:
        flags = option_flags(key[-1] for key in projected)
    n: Counter[Key] = Counter()
    events: Counter[Key] = Counter()
    for key, d in projected.items():
        counts, positive = flags.get(key[-1], (False, False))
        if counts:
            n[key[:-1]] += d
            if positive:
                events[key[:-1]] += d
    return n, events


def apply_all(answers: Counter[Key], followups: Counter[Key], *, exact: bool = False) -> None:
    """Add the deltas (by :data:`ANSWER_DELTA`, :data:`FOLLOWUP_DELTA`) to the full tables and
    their rollups (``exact``: see :func:`apply`). Not the rollups by client: they are replaced
    per client (``rollup.refresh_by_client``)."""
    answers, followups = (
        project(answers, ANSWER_DELTA, ANSWER_KEY),
        project(followups, FOLLOWUP_DELTA, FOLLOWUP_KEY),
    )
    apply(AnswerCount, ANSWER_KEY, answers, exact=exact)
    apply(FollowUpCount, FOLLOWUP_KEY, followups, exact=exact)
    for model, fields, full in ROLLUPS:
        delta = project(answers if full is ANSWER_KEY else followups, full, fields)
        apply(model, fields, delta, exact=exact)
    # The options' flags read once for every folded table (one query, not one per table).
    flags = option_flags(key[-1] for key in answers) if answers else {}
    for model, fields, full in FOLDED:
        folded = fold(answers, full, fields, flags)
        apply_counts(model, fields, dict(zip(FOLDED_COUNTS, folded, strict=True)), exact=exact)


def apply_counts(
    model: type[Model], fields: Sequence[str], deltas: dict[str, Counter[Key]], *, exact: bool = False
) -> None:
    """:func:`apply` of several count columns (a folded table's ``n`` and ``events``): a few keys
    (``exact``) in one statement for all of them, else a column at a time."""
    deltas = {column: Counter({k: v for k, v in delta.items() if v}) for column, delta in deltas.items()}
    if exact and connection.features.can_return_rows_from_bulk_insert:
        _apply_exactly(model, fields, deltas)
        return
    for column, delta in deltas.items():
        apply(model, fields, delta, exact=exact, column=column)


def _apply_exactly(model: type[Model], fields: Sequence[str], deltas: dict[str, Counter[Key]]) -> None:
    """A few keys' counts by column (non-zero), :data:`_EXACT_KEYS` keys a statement
    (:func:`_add_exactly`; a key missing from one column's adds 0 there)."""
    keys = list(dict.fromkeys(k for delta in deltas.values() for k in delta))
    for start in range(0, len(keys), _EXACT_KEYS):
        chunk = keys[start : start + _EXACT_KEYS]
        _add_exactly(
            model, fields, {column: Counter({k: delta[k] for k in chunk}) for column, delta in deltas.items()}
        )


def apply(
    model: type[Model], fields: Sequence[str], delta: Counter[Key], *, exact: bool = False, column: str = "n"
) -> None:
    """Add ``delta`` to the table: ``n = n + d`` on an existing row of the key (in one
    statement, so concurrent writers never lose each other's change), a new row otherwise.
    ``exact``: read the existing rows by every dimension (few keys, as one submission's),
    else by municipality, month, provider and question (many keys, as an import's).
    ``column``: the count to add to (a folded table's ``events``; a new row's other counts
    are the database's default, 0)."""
    delta = Counter({k: v for k, v in delta.items() if v})
    if not delta:
        return
    if exact and connection.features.can_return_rows_from_bulk_insert:  # SQLite ≥ 3.35, PostgreSQL
        _apply_exactly(model, fields, {column: delta})
        return
    narrow: dict[str, Any] = {}
    for position, name in enumerate(fields[:3]):  # municipality, month, provider: indexed and selective
        narrow[f"{name}__in"] = sorted({k[position] for k in delta})
    if "question_id" in fields:
        narrow["question_id__in"] = sorted({k[fields.index("question_id")] for k in delta})
    rows = (_existing_exactly(model, fields, delta) if exact
            else model._default_manager.filter(**narrow).values_list("pk", *fields).order_by("pk"))  # fmt: skip
    existing: dict[Key, int] = {}
    for pk, *key in rows:
        existing.setdefault(tuple(key), pk)
    updates = sorted((existing[k], d) for k, d in delta.items() if k in existing)
    table = connection.ops.quote_name(model._meta.db_table)
    counted = connection.ops.quote_name(column)
    with connection.cursor() as cursor:
        for start in range(0, len(updates), 500):
            batch = updates[start : start + 500]
            cases = " ".join("WHEN %s THEN %s" for _ in batch)
            marks = ", ".join("%s" for _ in batch)
            params: list[Any] = [v for pair in batch for v in pair] + [pk for pk, _ in batch]
            sql = f"UPDATE {table} SET {counted} = {counted} + CASE id {cases} END WHERE id IN ({marks})"  # noqa: S608 (our table; values are parameters)
            cursor.execute(sql, params)
    _insert(model, fields, [(*k, d) for k, d in delta.items() if k not in existing], (column,))


#: Keys per statement of :func:`_add_exactly` (its parameters: twice the key's fields per key).
_EXACT_KEYS = 40


def _add_exactly(model: type[Model], fields: Sequence[str], deltas: dict[str, Counter[Key]]) -> None:
    """Add a few keys' counts (one submission's) in one statement per table: ``n = n + d`` on the
    first row of each key (the row found and the change in the same UPDATE, which returns the keys
    it changed), then the keys without a row inserted. A submission's counts cost one query per
    count table instead of a look-up and an update each (2026-12-03: six tables with the case-mix
    rollups, docs/performance.md). ``deltas``: by count column (a folded table's ``n`` and
    ``events`` in the same statement); a key missing from one column's adds 0 there."""
    ops = connection.ops
    month = period_at(fields)
    names = [ops.quote_name(f) for f in fields]
    keys = list(dict.fromkeys(k for delta in deltas.values() for k in delta))
    conditions: list[tuple[str, list[Any]]] = []  # per key: its condition and the condition's parameters
    for key in keys:
        parts, values = [], []
        for position, (name, value) in enumerate(zip(names, key, strict=True)):
            if value is None:
                parts.append(f"{name} IS NULL")
            else:
                parts.append(f"{name} = %s")
                values.append(ops.adapt_datefield_value(value) if position == month else value)
        conditions.append(("(" + " AND ".join(parts) + ")", values))
    cases = " ".join(f"WHEN {condition} THEN %s" for condition, _ in conditions)
    sets = ", ".join(
        f"{ops.quote_name(column)} = {ops.quote_name(column)} + CASE {cases} ELSE 0 END" for column in deltas
    )
    where = " OR ".join(condition for condition, _ in conditions)
    params = [
        p
        for delta in deltas.values()
        for (_, values), key in zip(conditions, keys, strict=True)
        for p in (*values, delta[key])
    ]
    params += [p for _, values in conditions for p in values]
    table = ops.quote_name(model._meta.db_table)
    listed = ", ".join(names)
    sql = (
        f"UPDATE {table} SET {sets} WHERE id IN "  # noqa: S608 (our table; values are parameters)
        f"(SELECT MIN(id) FROM {table} WHERE {where} GROUP BY {listed}) RETURNING {listed}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed = {(*key[:month], month_date(key[month]), *key[month + 1 :]) for key in cursor.fetchall()}
    rows = [(*k, *(delta[k] for delta in deltas.values())) for k in keys if k not in changed]
    _insert(model, fields, rows, tuple(deltas))


def _insert(
    model: type[Model], fields: Sequence[str], rows: list[tuple[Any, ...]], columns: Sequence[str] = ("n",)
) -> None:
    """Insert count rows without model instances (an import adds them by the ten thousand): the
    key, then a value for each of ``columns``."""
    if not rows:
        return
    ops = connection.ops
    month = period_at(fields)
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(f) for f in (*fields, *columns))
    marks = ", ".join("%s" for _ in range(len(fields) + len(columns)))
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (our table; values are parameters)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql, [(*r[:month], ops.adapt_datefield_value(r[month]), *r[month + 1 :]) for r in rows]
        )


def replace(municipality_id: int, answers: Counter[Key], followups: Counter[Key]) -> None:
    """Make the municipality's tables hold exactly these counts."""
    _replace(AnswerCount, ANSWER_KEY, municipality_id, answers)
    _replace(FollowUpCount, FOLLOWUP_KEY, municipality_id, followups)
    for model, fields, full in ROLLUPS:
        _replace(
            model,
            fields,
            municipality_id,
            project(answers if full is ANSWER_KEY else followups, full, fields),
        )
    for model, fields, full in FOLDED:
        n, events = fold(answers, full, fields)
        model._default_manager.filter(municipality_id=municipality_id).delete()
        rows = [(*k, n[k], events[k]) for k in n.keys() | events.keys() if n[k] or events[k]]
        _insert(model, fields, rows, FOLDED_COUNTS)


def _replace(model: type[Model], fields: Sequence[str], municipality_id: int, counts: Counter[Key]) -> None:
    model._default_manager.filter(municipality_id=municipality_id).delete()
    _insert(model, fields, [(*k, n) for k, n in counts.items() if n])


def differences(want: Counter[Key], have: Counter[Key]) -> list[tuple[Key, int, int]]:
    """(key, expected, stored) wherever they differ."""
    keys = {k for k, v in want.items() if v} | {k for k, v in have.items() if v}
    return sorted(((k, want[k], have[k]) for k in keys if want[k] != have[k]), key=repr)
