"""The comparisons read the maintained counts for whole months and the raw rows for the days
around them: the same numbers for any date range, and a count row really is the source."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.comparisons.builders import DataSet
from utfall.aggregates.models import (
    AnswerByProvider,
    AnswerCount,
    FollowUpByProvider,
    FollowUpByProviderCaseMixYear,
    FollowUpByUnit,
    FollowUpCount,
    QuestionByProviderCaseMixYear,
    QuestionByProviderUnitCaseMixYear,
    QuestionByProviderUnitYear,
    QuestionByProviderYear,
    QuestionByUnit,
    QuestionByUnitCaseMixYear,
)
from utfall.comparisons import counted, queries
from utfall.comparisons.cache import bump
from utfall.comparisons.counted import months_within, years_within
from utfall.comparisons.disclosure import model_cells, model_columns
from utfall.comparisons.indicators import all_indicators, get_indicator
from utfall.comparisons.queries import aggregate, aggregate_questions, followup_status_counts, question_spans
from utfall.comparisons.services import compare
from utfall.instruments.models import Option

pytestmark = pytest.mark.django_db


def test_a_range_is_read_as_whole_months_and_the_days_around_them() -> None:
    d = dt.date
    assert months_within(d(2025, 1, 1), d(2025, 12, 31)) == ((d(2025, 1, 1), d(2025, 12, 31)), [])
    assert months_within(d(2025, 1, 15), d(2025, 3, 10)) == (
        (d(2025, 2, 1), d(2025, 2, 28)),
        [(d(2025, 1, 15), d(2025, 1, 31)), (d(2025, 3, 1), d(2025, 3, 10))],
    )
    assert months_within(d(2024, 2, 3), d(2024, 2, 27)) == (None, [(d(2024, 2, 3), d(2024, 2, 27))])
    assert months_within(d(2024, 12, 1), d(2025, 1, 31)) == ((d(2024, 12, 1), d(2025, 1, 31)), [])


def test_counts_of_any_range_are_those_of_the_rows_and_come_from_the_count_table(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    for i, (day, q3) in enumerate([("2025-01-20", "no"), ("2025-02-10", "yes_mostly"),
                                   ("2025-02-27", "yes_completely"), ("2025-03-05", "no")]):  # fmt: skip
        data.followup(data.intervention(f"I{i}", a if i % 2 else b), date=day, q3=q3)
    data.load(municipality)
    satisfied = get_indicator("satisfied")

    def counts(start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
        rows = aggregate(satisfied, municipality=municipality, date_from=start, date_to=end, by=["provider"])
        return {r["provider"]: (r["n"], r["events"]) for r in rows}

    # Edge days only, whole months only, and both: the rows' own numbers.
    assert counts(dt.date(2025, 1, 15), dt.date(2025, 1, 25)) == {"B": (1, 0)}
    assert counts(dt.date(2025, 2, 1), dt.date(2025, 2, 28)) == {"A": (1, 1), "B": (1, 1)}
    assert counts(dt.date(2025, 1, 15), dt.date(2025, 3, 10)) == {"A": (2, 1), "B": (2, 1)}
    # Most of a month (its whole month counted less the other days' rows): B's answer of 27
    # February is not in 1–20 February, and no group is left at 0.
    assert counts(dt.date(2025, 2, 1), dt.date(2025, 2, 20)) == {"A": (1, 1)}
    assert counts(dt.date(2025, 1, 3), dt.date(2025, 2, 25)) == {"A": (1, 1), "B": (1, 0)}
    status = followup_status_counts(municipality=municipality, date_from=dt.date(2025, 1, 15),
                                    date_to=dt.date(2025, 3, 10), by="provider")  # fmt: skip
    assert [(r["provider"], r["n"], r["completed"]) for r in status] == [("A", 2, 2), ("B", 2, 2)]

    # The whole months really are read from the count tables (by provider alone: the rollups;
    # with another dimension: the full tables): a changed count row shows.
    yes_mostly = Option.objects.filter(code="yes_mostly").values("pk")
    AnswerByProvider.objects.filter(month=dt.date(2025, 2, 1), option_id__in=yes_mostly).update(n=F("n") + 2)
    FollowUpByProvider.objects.filter(month=dt.date(2025, 2, 1), provider__provider_id="A").update(
        n=F("n") + 3
    )
    AnswerCount.objects.filter(month=dt.date(2025, 2, 1), option_id__in=yes_mostly).update(n=F("n") + 5)
    bump()
    assert counts(dt.date(2025, 1, 15), dt.date(2025, 3, 10))["A"] == (4, 3)
    by_sex = aggregate(satisfied, municipality=municipality, date_from=dt.date(2025, 1, 1),
                       date_to=dt.date(2025, 3, 31), by=["provider", "sex"])  # fmt: skip
    assert [(r["provider"], r["n"], r["events"]) for r in by_sex] == [("A", 7, 6), ("B", 2, 1)]
    assert counts(dt.date(2025, 1, 15), dt.date(2025, 1, 31)) == {"B": (1, 0)}  # the raw edge alone
    assert counts(dt.date(2025, 2, 1), dt.date(2025, 2, 20)) == {"A": (3, 3)}  # the month's count row
    status = followup_status_counts(municipality=municipality, date_from=dt.date(2025, 1, 1),
                                    date_to=dt.date(2025, 3, 31), by="provider")  # fmt: skip
    assert [(r["provider"], r["n"]) for r in status] == [("A", 5), ("B", 2)]


def test_a_trend_sums_each_clients_answers_once_per_period(municipality) -> None:  # type: ignore[no-untyped-def]
    """The per-client sums of a trend (cluster-robust intervals) are added up in the database:
    a client followed up three times in one quarter (two interventions) is one client there
    with n_c = 3, and the sums are those of the clients' own counts."""
    from utfall.comparisons.queries import aggregate_by_client

    data = DataSet()
    a = data.provider("A")
    twice = data.person()
    first = data.intervention("I1", a, person_id=twice)
    second = data.intervention("I2", a, person_id=twice)
    data.followup(first, date="2025-01-10", q3="yes_mostly")
    data.followup(first, date="2025-02-10", q3="no")
    data.followup(second, date="2025-03-10", q3="yes_completely")
    data.followup(data.intervention("I3", a), date="2025-02-20", q3="yes_mostly")
    data.followup(data.intervention("I4", a), date="2025-04-20", q3="no")
    data.load(municipality)
    rows = aggregate_by_client(get_indicator("satisfied"), municipality=municipality,
                               date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 6, 30), period="quarter")  # fmt: skip
    # Q1: the client of I1 and I2 (n 3, x 2) and the client of I3 (n 1, x 1); Q2: I4's (n 1, x 0).
    assert rows == [
        {"period": "2025-K1", "n": 4, "events": 3, "clients": 2, "sum_n2": 10, "sum_xn": 7, "sum_x2": 5},
        {"period": "2025-K2", "n": 1, "events": 0, "clients": 1, "sum_n2": 1, "sum_xn": 0, "sum_x2": 0},
    ]


def test_whole_years_are_split_off_the_months() -> None:
    d = dt.date
    assert years_within(d(2025, 1, 1), d(2025, 12, 31)) == ((d(2025, 1, 1), d(2025, 12, 31)), [])
    assert years_within(d(2024, 11, 1), d(2026, 1, 31)) == (
        (d(2025, 1, 1), d(2025, 12, 31)),
        [(d(2024, 11, 1), d(2024, 12, 31)), (d(2026, 1, 1), d(2026, 1, 31))],
    )
    assert years_within(d(2025, 2, 1), d(2025, 12, 31)) == (None, [(d(2025, 2, 1), d(2025, 12, 31))])
    assert years_within(d(2024, 1, 1), d(2025, 6, 30)) == (
        (d(2024, 1, 1), d(2024, 12, 31)),
        [(d(2025, 1, 1), d(2025, 6, 30))],
    )


def test_whole_years_by_provider_are_read_from_the_rollup_by_year(municipality) -> None:  # type: ignore[no-untyped-def]
    """A comparison of all providers over whole years reads one row per provider and option
    (2026-12-03): the same numbers as the rows for a range of years, months and days, and the
    year's row really is the source (the months of the year are not read as well)."""
    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    days = [("2024-11-20", "no"), ("2024-12-03", "yes_mostly"), ("2025-02-10", "yes_mostly"),
            ("2025-07-01", "no"), ("2025-12-31", "yes_completely"), ("2026-01-05", "no"),
            ("2026-02-04", "yes_mostly")]  # fmt: skip
    for i, (day, q3) in enumerate(days):
        data.followup(data.intervention(f"I{i}", a if i % 2 else b), date=day, q3=q3)
    data.load(municipality)
    satisfied = get_indicator("satisfied")

    def counts(start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
        rows = aggregate(satisfied, municipality=municipality, date_from=start, date_to=end, by=["provider"])
        return {r["provider"]: (r["n"], r["events"]) for r in rows}

    assert QuestionByProviderYear.objects.filter(year=dt.date(2025, 1, 1)).exists()
    assert counts(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == {"A": (1, 0), "B": (2, 2)}
    # A year, the months before it and after it, and the days at both ends: the rows' own numbers.
    assert counts(dt.date(2024, 11, 25), dt.date(2026, 2, 3)) == {"A": (3, 1), "B": (2, 2)}
    assert counts(dt.date(2024, 11, 1), dt.date(2026, 2, 28)) == {"A": (3, 1), "B": (4, 3)}
    status = followup_status_counts(municipality=municipality, date_from=dt.date(2025, 1, 1),
                                    date_to=dt.date(2025, 12, 31), by="provider")  # fmt: skip
    assert [(r["provider"], r["n"]) for r in status] == [("A", 1), ("B", 2)]

    # The year's rows without the option (2026-12-07): A's n and B's n and events changed there alone.
    year = QuestionByProviderYear.objects.filter(year=dt.date(2025, 1, 1))
    year.filter(provider__provider_id="A").update(n=F("n") + 4)
    year.filter(provider__provider_id="B").update(n=F("n") + 2, events=F("events") + 2)
    bump()
    assert counts(dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == {"A": (5, 0), "B": (4, 4)}
    assert counts(dt.date(2024, 12, 1), dt.date(2026, 1, 31)) == {"A": (7, 1), "B": (4, 4)}
    # A part of the year is read from the months, which were not changed.
    assert counts(dt.date(2025, 1, 1), dt.date(2025, 6, 30)) == {"B": (1, 1)}


def test_the_question_indicators_together_read_whole_years_from_the_rollup_by_year(municipality) -> None:  # type: ignore[no-untyped-def]
    """The provider page counts its question indicators in one scan (``aggregate_questions``):
    whole years come from the rollup by year there too (2026-12-04), with the same numbers as
    each indicator's own ``aggregate`` over a year, a year with months and days around it, and
    part of a year; the year's row is the source (a change to it alone is seen)."""
    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    days = [("2024-11-20", "no"), ("2024-12-03", "yes_mostly"), ("2025-02-10", "yes_mostly"),
            ("2025-07-01", "no"), ("2025-12-31", "yes_completely"), ("2026-01-05", "no"),
            ("2026-02-04", "yes_mostly")]  # fmt: skip
    for i, (day, q3) in enumerate(days):
        data.followup(data.intervention(f"I{i}", a if i % 2 else b), date=day, q3=q3, q1="yes_mostly")
    data.load(municipality)
    questions = [i for i in all_indicators().values() if i.kind == "question"]
    ranges = [(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), (dt.date(2024, 11, 25), dt.date(2026, 2, 3)),
              (dt.date(2024, 11, 1), dt.date(2026, 2, 28)), (dt.date(2025, 1, 1), dt.date(2025, 6, 30))]  # fmt: skip

    def both(start: dt.date, end: dt.date) -> tuple[dict[str, list[dict[str, object]]], dict[str, object]]:
        kwargs = {"municipality": municipality, "date_from": start, "date_to": end, "by": ["provider"]}
        together = aggregate_questions(questions, **kwargs)
        bump()
        return together, {i.code: aggregate(i, **kwargs) for i in questions}

    for start, end in ranges:
        together, alone = both(start, end)
        assert together == alone, (start, end)
    assert both(*ranges[0])[0]["satisfied"] == [
        {"provider": "A", "n": 1, "events": 0},
        {"provider": "B", "n": 2, "events": 2},
    ]
    QuestionByProviderYear.objects.filter(year=dt.date(2025, 1, 1), provider__provider_id="B").update(
        n=F("n") + 2, events=F("events") + 2
    )
    bump()
    satisfied = {r["provider"]: (r["n"], r["events"]) for r in both(*ranges[0])[0]["satisfied"]}
    assert satisfied == {"A": (1, 0), "B": (4, 4)}
    # Part of a year is read from the months, which were not changed.
    assert both(*ranges[3])[0]["satisfied"] == [{"provider": "B", "n": 1, "events": 1}]


def _case_mix_over_years(municipality) -> DataSet:  # type: ignore[no-untyped-def]
    """Three providers' answers and assessments by women and men of two ages in two services,
    on days around the years 2024 and 2025 (their first and last days among them)."""
    data = DataSet()
    providers = [data.provider(p) for p in "ABC"]
    people = [data.person(female=True), data.person(female=False),
              data.person(born=dt.date(1990, 3, 1), female=True), data.person(born=dt.date(1990, 3, 1), female=False)]  # fmt: skip
    days = ["2023-12-30", "2024-01-01", "2024-03-15", "2024-07-01", "2024-12-31", "2025-01-01", "2025-05-20",
            "2025-09-09", "2025-12-31", "2026-01-02"]  # fmt: skip
    # With "don't know" (an option that does not count): the cells' n leave it out (2026-12-05).
    answers = ["yes_mostly", "no", "yes_completely", "no", "yes_mostly", "dont_know", "yes_mostly", "no"]
    i = 0
    for p, provider in enumerate(providers):
        for k, person in enumerate(people):
            service = "sis_youth" if (p + k) % 3 == 0 else "hvb_youth"
            iid = data.intervention(f"I{p}{k}", provider, person_id=person, service=service,
                                    decided_on="2023-01-01", started_on="2023-01-02")  # fmt: skip
            for day in days[(p + k) % 2 :: 1 + (p + k) % 2]:
                i += 1
                data.followup(
                    iid,
                    date=day,
                    q3=answers[i % len(answers)],
                    assessment=("approved", "deficient")[i % 3 == 0],
                )
    data.load(municipality)
    return data


def test_the_oe_of_whole_years_reads_its_cells_from_the_rollup_by_case_mix_and_year(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """The case-mix adjusted comparison of whole calendar years reads its cells (provider × sex ×
    age group × service) from the rollup by provider, case mix and year (2026-12-04): the page's
    figures are the same as from the full table's months, and the year's rows really are the
    source; a period that is not whole years still reads the months."""
    data = _case_mix_over_years(municipality)
    two_years = {
        "municipality": municipality,
        "date_from": dt.date(2024, 1, 1),
        "date_to": dt.date(2025, 12, 31),
    }
    by = ["provider", "sex", "age_group", "service"]

    def page(indicator: str) -> dict:  # type: ignore[type-arg]
        bump()
        return compare(indicator=indicator, by="provider", adjust=True, **two_years).as_json()  # type: ignore[arg-type]

    assert QuestionByProviderCaseMixYear.objects.filter(year=dt.date(2025, 1, 1)).exists()
    assert FollowUpByProviderCaseMixYear.objects.filter(year=dt.date(2024, 1, 1)).exists()
    with CaptureQueriesContext(connection) as queries:
        cells = model_cells(get_indicator("satisfied"), by=by, **two_years)  # type: ignore[arg-type]
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "questionbyprovidercasemixyear" in read and "aggregates_answercount" not in read
    assert sum(c["n"] for c in cells) == sum(
        f["date"][:4] in ("2024", "2025") and f["q3"] != "dont_know" for f in data.followups
    )
    assert any(f["q3"] == "dont_know" for f in data.followups)
    from_years = {code: page(code) for code in ("satisfied", "assessment_approved")}
    shown = [r for code in from_years for r in from_years[code]["rows"] if not r["suppressed"]]
    assert len(shown) >= 4 and all(r["expected"] is not None for r in shown)

    monkeypatch.setattr(counted, "_CASE_MIX_BY_YEAR", {})  # every read of the cells: the months
    bump()
    assert model_cells(get_indicator("satisfied"), by=by, **two_years) == cells  # type: ignore[arg-type]
    assert {code: page(code) for code in from_years} == from_years
    monkeypatch.undo()

    # The year's rows are the source: a changed row shows in the whole years, not in a half-year.
    first = QuestionByProviderCaseMixYear.objects.filter(year=dt.date(2025, 1, 1)).order_by("pk").first()
    assert first is not None
    QuestionByProviderCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") + 7)
    bump()
    assert (
        sum(c["n"] for c in model_cells(get_indicator("satisfied"), by=by, **two_years))
        == sum(  # type: ignore[arg-type]
            c["n"] for c in cells
        )
        + 7
    )
    half = aggregate(get_indicator("satisfied"), municipality=municipality, date_from=dt.date(2025, 1, 1),
                     date_to=dt.date(2025, 6, 30), by=by)  # fmt: skip
    bump()
    monkeypatch.setattr(counted, "_CASE_MIX_BY_YEAR", {})
    assert aggregate(get_indicator("satisfied"), municipality=municipality, date_from=dt.date(2025, 1, 1),
                     date_to=dt.date(2025, 6, 30), by=by) == half  # fmt: skip


def test_the_case_mix_cells_as_columns_are_the_cells_of_any_period(municipality, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``model_columns`` gives ``model_cells``' rows, in their order, for whole years (read a year
    at a time from the rollup by provider, case mix and year and summed), a year, a half-year and
    a run of years that the rollup does not hold; with filters, for an assessment indicator and
    for dimensions in another order; and the years' rows really are its source."""
    _case_mix_over_years(municipality)
    by = ["provider", "sex", "age_group", "service"]
    d = dt.date
    periods = [(d(2024, 1, 1), d(2025, 12, 31)), (d(2025, 1, 1), d(2025, 12, 31)), (d(2024, 7, 1), d(2024, 12, 31)),
               (d(2023, 1, 1), d(2026, 12, 31))]  # fmt: skip

    def both(
        code: str, start: dt.date, end: dt.date, dims: list[str], where: dict[str, str]
    ) -> tuple[Any, Any]:
        bump()
        asked: Any = {
            "municipality": municipality,
            "date_from": start,
            "date_to": end,
            "by": dims,
            "filters": where,
        }
        return model_columns(get_indicator(code), **asked).rows(), model_cells(get_indicator(code), **asked)

    cases = [("satisfied", by, {}), ("assessment_approved", by, {}), ("satisfied", by, {"service": "hvb_youth"}),
             ("satisfied", ["service", "provider", "age_group"], {"sex": "female"}),
             ("satisfied", ["provider", "sex"], {"target_group": "youth"}), ("satisfied", by, {"provider": "B"})]  # fmt: skip
    for code, dims, where in cases:
        for start, end in periods:
            columns, rows = both(code, start, end, dims, where)
            assert columns == rows, (code, dims, where, start)
    assert (
        both("satisfied", *periods[0], by, {})[0]
        and not both("satisfied", *periods[0], by, {"provider": "X"})[0]
    )
    bump()
    with CaptureQueriesContext(connection) as queries:
        model_columns(get_indicator("satisfied"), municipality=municipality, date_from=periods[0][0],
                      date_to=periods[0][1], by=by)  # fmt: skip
    read = [q["sql"] for q in queries.captured_queries if "questionbyprovidercasemixyear" in q["sql"]]
    assert len(read) == 2 and all('"year" = ' in sql and "ORDER BY" not in sql and "GROUP BY" not in sql
                                  for sql in read)  # fmt: skip

    first = QuestionByProviderCaseMixYear.objects.filter(year=dt.date(2024, 1, 1)).order_by("pk").first()
    assert first is not None
    before = both("satisfied", *periods[0], by, {})[0]
    QuestionByProviderCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") + 7)
    after, rows = both("satisfied", *periods[0], by, {})
    assert after == rows and sum(r["n"] for r in after) == sum(r["n"] for r in before) + 7


def test_the_question_cells_sum_a_keys_rows_and_leave_out_cells_of_0(municipality) -> None:  # type: ignore[no-untyped-def]
    """The question cells of whole years are read row by row, not grouped (2026-12-05, oe4): a
    key split over two rows (two writers that each inserted one), a row of 0 left by deltas and
    rows that sum to 0 give the cells a GROUP BY gave, with no level of a value that has no cell
    (the model's design would get a column of zeros)."""
    _case_mix_over_years(municipality)
    asked: Any = {"municipality": municipality, "date_from": dt.date(2024, 1, 1),
                  "date_to": dt.date(2025, 12, 31), "by": ["provider", "sex", "age_group", "service"]}  # fmt: skip
    bump()
    before = model_columns(get_indicator("satisfied"), **asked)
    first = QuestionByProviderCaseMixYear.objects.filter(n__gt=1, events__gt=0).order_by("pk").first()
    assert first is not None
    QuestionByProviderCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") - 1, events=F("events") - 1)
    split, empty, gone = (QuestionByProviderCaseMixYear.objects.get(pk=first.pk) for _ in range(3))
    split.pk, split.n, split.events = None, 1, 1
    empty.pk, empty.client_sex, empty.n, empty.events = None, "x", 0, 0  # a sex no cell has
    split.save()
    empty.save()
    for n in (2, -2):  # an age group no cell has, its rows summing to 0
        gone.pk, gone.age_group, gone.n, gone.events = None, "0-1", n, n // 2
        gone.save()
    bump()
    after = model_columns(get_indicator("satisfied"), **asked)
    assert after.rows() == before.rows() and after.levels == before.levels
    assert "x" not in after.levels[1] and "0-1" not in after.levels[2]


def test_the_question_cells_of_whole_years_come_as_one_text_per_column_on_sqlite(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """On SQLite the question cells of whole years come as one text per column (``group_concat``,
    2026-12-06, oe6) and are the cells of the rows read one by one: with rows of 0, a key in two
    rows, a filter and dimensions in another order; a text holding the separator makes that year's read
    fall back to the rows (the same cells). On PostgreSQL the rows are read."""
    from utfall.comparisons import queries

    _case_mix_over_years(municipality)
    first = QuestionByProviderCaseMixYear.objects.filter(n__gt=1, events__gt=0).order_by("pk").first()
    assert first is not None
    QuestionByProviderCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") - 1, events=F("events") - 1)
    split, empty = (QuestionByProviderCaseMixYear.objects.get(pk=first.pk) for _ in range(2))
    split.pk, split.n, split.events = None, 1, 1
    empty.pk, empty.age_group, empty.n, empty.events = None, "0-1", 0, 0
    split.save()
    empty.save()
    d = dt.date
    cases = [(["provider", "sex", "age_group", "service"], {}), (["service", "provider", "age_group"], {"sex": "female"}),
             (["provider", "sex", "age_group", "service"], {"service": "hvb_youth"})]  # fmt: skip

    def cells() -> list[Any]:
        out = []
        for by, where in cases:
            for start in (d(2024, 1, 1), d(2025, 1, 1)):
                bump()
                found = model_columns(get_indicator("satisfied"), municipality=municipality, date_from=start,
                                      date_to=d(2025, 12, 31), by=by, filters=where)  # fmt: skip
                out.append((found.rows(), found.levels))
        return out

    with CaptureQueriesContext(connection) as queries_read:
        as_text = cells()
    sent = [q["sql"] for q in queries_read.captured_queries if "questionbyprovidercasemixyear" in q["sql"]]
    assert sent and all(("GROUP_CONCAT" in sql) == (connection.vendor == "sqlite") for sql in sent)
    monkeypatch.setattr(queries, "_as_columns", lambda qs, fields: None)  # the rows, one by one
    as_rows = cells()
    assert as_text == as_rows and all(rows for rows, _levels in as_rows)
    monkeypatch.undo()
    odd = QuestionByProviderCaseMixYear.objects.get(pk=first.pk)
    odd.pk, odd.client_sex, odd.n, odd.events = None, "a\x1fb", 0, 0  # a text with the separator
    odd.save()
    assert cells() == as_rows


def test_the_oe_cells_of_whole_years_give_every_question_indicators_counts_by_provider(  # type: ignore[no-untyped-def]
    municipality,
) -> None:
    """The O/E's cells of whole years seed the question's counts by provider of each year and of
    the run (2026-12-06, oe6): for every question indicator, for one year, two years and three,
    with and without a filter, they are the rows ``aggregate`` reads from the answers' rollup by
    provider and year option by option, and the protected counts are the same; without a filter
    they then read no count table at all."""
    _case_mix_over_years(municipality)
    d = dt.date
    questions = [i for i in all_indicators().values() if i.kind == "question"]
    assert len(questions) > 10
    spans = [
        (d(2025, 1, 1), d(2025, 12, 31)),
        (d(2024, 1, 1), d(2025, 12, 31)),
        (d(2023, 1, 1), d(2025, 12, 31)),
    ]
    seen = 0
    for indicator in questions:
        for start, end in spans:
            for where in ({}, {"service": "hvb_youth"}, {"sex": "female"}):
                asked: Any = {"municipality": municipality, "filters": where}
                plain, read_plain = _counts_by_provider(indicator, start, end, asked, cells_first=False)
                seeded, read_seeded = _counts_by_provider(indicator, start, end, asked, cells_first=True)
                assert seeded == plain, (indicator.code, start, end, where)
                # (A question never answered in the data is no query at all: its ids are none.)
                assert not plain[0][0] or any("aggregates_" in sql for sql in read_plain), indicator.code
                # A filter's partition along it (by provider and the filter) is read in either case.
                assert where or not [sql for sql in read_seeded if "aggregates_" in sql], indicator.code
                seen += sum(r["n"] for r in plain[0][0])
    assert seen


def _counts_by_provider(  # type: ignore[no-untyped-def]
    indicator, start: dt.date, end: dt.date, asked: Any, *, cells_first: bool
) -> tuple[list[Any], list[str]]:
    """A question's counts and protected counts by provider of a run of years and of each of its
    years, cold (after the O/E's cells of the run when ``cells_first``), and the SQL they read."""
    from utfall.comparisons.disclosure import protected_counts

    bump()
    if cells_first:
        model_columns(
            indicator, date_from=start, date_to=end, by=["provider", "sex", "age_group", "service"], **asked
        )
    spans = [(start, end), *((dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(start.year, end.year + 1))]
    with CaptureQueriesContext(connection) as read:
        found = [(aggregate(indicator, date_from=a, date_to=b, by=["provider"], **asked),
                  protected_counts(indicator, date_from=a, date_to=b, by=["provider"], **asked)) for a, b in spans]  # fmt: skip
    return found, [q["sql"] for q in read.captured_queries]


def _providers_in_units(municipality) -> DataSet:  # type: ignore[no-untyped-def]
    """Three providers' answers and assessments for clients of three units, on days around the
    years 2024 and 2025 (their first and last days among them)."""
    data = DataSet()
    providers = [data.provider(p) for p in "ABC"]
    units = ["sodermalm", "bromma", "norrmalm"]
    days = ["2023-12-30", "2024-01-01", "2024-03-15", "2024-07-01", "2024-12-31", "2025-01-01", "2025-05-20",
            "2025-09-09", "2025-12-31", "2026-01-02"]  # fmt: skip
    answers = ["yes_mostly", "no", "yes_completely", "no", "yes_mostly", "yes_mostly", "no"]
    i = 0
    for p, provider in enumerate(providers):
        for u, unit in enumerate(units):
            for k in range(1 + (p + u) % 3):
                iid = data.intervention(f"I{p}{u}{k}", provider, unit=unit, decided_on="2023-01-01",
                                        started_on="2023-01-02")  # fmt: skip
                for day in days[(p + u + k) % 2 :: 1 + (p + k) % 2]:
                    i += 1
                    data.followup(iid, date=day, q3=answers[i % len(answers)],
                                  assessment=("approved", "deficient")[i % 3 == 0])  # fmt: skip
    data.load(municipality)
    return data


def test_a_unit_managers_counts_of_whole_years_come_from_the_rollup_by_provider_unit_and_year(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """The provider page as a unit manager counts each indicator by provider within the unit and
    protects it along the unit (by provider and unit): for whole calendar years both are read from
    the rollup by provider, unit and year (2026-12-05), with the same rows as the full table's
    months give, for a question and an assessment indicator, one year, two years, a year with
    months or days around it, and the question indicators counted in one scan; and the year's
    rows really are the source (a changed row shows in the year, not in a half-year)."""
    from utfall.comparisons.disclosure import protected_counts

    data = _providers_in_units(municipality)
    d = dt.date
    spans = [(d(2025, 1, 1), d(2025, 12, 31)), (d(2024, 1, 1), d(2025, 12, 31)),
             (d(2024, 7, 1), d(2025, 12, 31)), (d(2024, 12, 15), d(2025, 12, 31)),
             (d(2025, 1, 1), d(2025, 6, 30))]  # fmt: skip
    groupings: list[tuple[list[str], dict[str, str]]] = [
        (["provider"], {"unit": "bromma"}),
        (["provider", "unit"], {}),
        (["unit"], {}),
        ([], {"provider": "B", "unit": "norrmalm"}),
    ]
    indicators = [get_indicator("satisfied"), get_indicator("assessment_approved")]
    questions = [i for i in all_indicators().values() if i.kind == "question"][:4]

    def everything() -> dict[Any, Any]:
        bump()
        out: dict[Any, Any] = {}
        for start, end in spans:
            for by, filters in groupings:
                for indicator in indicators:
                    where = {"municipality": municipality, "date_from": start, "date_to": end, "by": by,
                             "filters": filters}  # fmt: skip
                    out[(indicator.code, start, end, tuple(by), tuple(filters))] = (
                        aggregate(indicator, **where),
                        protected_counts(indicator, **where),
                    )
                if by:
                    out[("questions", start, end, tuple(by), tuple(filters))] = aggregate_questions(
                        questions,
                        municipality=municipality,
                        date_from=start,
                        date_to=end,
                        by=by,
                        filters=filters,
                    )
        return out

    with CaptureQueriesContext(connection) as queries:
        bump()
        for indicator in indicators:
            own = aggregate(indicator, municipality=municipality, date_from=d(2025, 1, 1), date_to=d(2025, 12, 31),
                            by=["provider"], filters={"unit": "bromma"})  # fmt: skip
            assert own and all(r["n"] for r in own)
    read = " ".join(q["sql"] for q in queries.captured_queries)
    # A question's n and events without the option since 2026-12-06 (hidfold).
    assert "questionbyproviderunityear" in read and "followupbyproviderunityear" in read
    assert "aggregates_answercount" not in read and "aggregates_followupcount" not in read
    from_years = everything()
    bromma = from_years[("satisfied", *spans[0], ("provider",), ("unit",))][0]
    assert sum(r["n"] for r in bromma) == sum(
        f["date"].startswith("2025") and f["intervention_id"][2] == "1" for f in data.followups
    )

    monkeypatch.setattr(counted, "_UNIT_BY_YEAR", {})  # every read: the full table's months
    assert everything() == from_years
    monkeypatch.undo()

    # The year's rows are the source: a changed row shows in the whole year, not in a half-year.
    satisfied = question_spans(indicators[0].instrument, indicators[0].question).question_ids
    rows = QuestionByProviderUnitYear.objects.filter(year=d(2025, 1, 1), question_id__in=satisfied,
                                                     unit__code="bromma")  # fmt: skip
    added = rows.update(n=F("n") + 1, events=F("events") + 1)
    changed = everything()
    key = ("satisfied", *spans[0], ("provider",), ("unit",))
    assert added and sum(r["n"] for r in changed[key][0]) == sum(r["n"] for r in from_years[key][0]) + added
    half = ("satisfied", *spans[4], ("provider",), ("unit",))
    assert changed[half] == from_years[half]


def test_a_count_by_the_unit_alone_comes_from_its_counts_by_unit_and_month(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """A question, an assessment or the follow-ups by status counted by the unit alone (a unit
    manager's trend and its partition along every unit, 2026-12-07) are read from the counts by
    unit and month (a question's n and events, the follow-ups' rollup): the same rows as the full
    tables give, for whole months, whole years, days around them, by quarter and by year, the
    unit as a group or as a filter, the questions counted in one scan, the protected counts and
    the trend by client; and the month's rows really are the source."""
    from utfall.comparisons.disclosure import protected_by_client, protected_counts

    _providers_in_units(municipality)
    d = dt.date
    spans = [(d(2025, 1, 1), d(2025, 12, 31)), (d(2024, 1, 1), d(2025, 12, 31)),
             (d(2024, 7, 1), d(2025, 12, 31)), (d(2024, 12, 15), d(2026, 1, 10)),
             (d(2025, 1, 1), d(2025, 6, 30))]  # fmt: skip
    groupings: list[tuple[list[str], dict[str, str]]] = [(["unit"], {}), ([], {"unit": "bromma"}),
                                                         (["unit"], {"unit": "norrmalm"})]  # fmt: skip
    satisfied, approved = get_indicator("satisfied"), get_indicator("assessment_approved")
    questions = [i for i in all_indicators().values() if i.kind == "question"][:4]

    def everything() -> dict[Any, Any]:
        bump()
        out: dict[Any, Any] = {}
        for start, end in spans:
            for by, filters in groupings:
                where = {"municipality": municipality, "date_from": start, "date_to": end, "filters": filters}
                for indicator in (satisfied, approved):
                    for period in (None, "quarter", "year"):
                        out[(indicator.code, start, end, tuple(by), tuple(filters), period)] = aggregate(
                            indicator, by=by, period=period, **where
                        )
                    out[("protected", indicator.code, start, end, tuple(by), tuple(filters))] = (
                        protected_counts(indicator, by=by, **where)
                    )
                    if not by:
                        for grain in ("quarter", "year"):
                            out[("trend", indicator.code, start, end, tuple(filters), grain)] = (
                                protected_by_client(indicator, period=grain, **where)
                            )
                if by:
                    out[("questions", start, end, tuple(filters))] = aggregate_questions(
                        questions, by=by, **where
                    )
                    out[("status", start, end, tuple(filters))] = followup_status_counts(by="unit", **where)
        return out

    with CaptureQueriesContext(connection) as queries_read:
        bump()
        for indicator in (satisfied, approved):
            rows = aggregate(indicator, municipality=municipality, date_from=d(2024, 1, 1), date_to=d(2025, 12, 31),
                             by=["unit"], period="quarter")  # fmt: skip
            assert len({r["unit"] for r in rows}) == 3 and all(r["n"] for r in rows)
    read = " ".join(q["sql"] for q in queries_read.captured_queries)
    assert "aggregates_questionbyunit" in read and "aggregates_followupbyunit" in read
    assert "aggregates_answercount" not in read and "aggregates_followupcount" not in read
    from_units = everything()
    assert any(r["events"] for rows in from_units.values() if isinstance(rows, list) for r in rows)
    assert all(from_units[("status", *span, ())] for span in spans)

    table_for = counted.table_for
    full = {QuestionByUnit: AnswerCount, FollowUpByUnit: FollowUpCount}
    monkeypatch.setattr(queries, "table_for", lambda kind, asked: full.get(table_for(kind, asked)) or table_for(
        kind, asked))  # fmt: skip
    assert everything() == from_units  # every read from the full tables' months instead
    monkeypatch.undo()

    # The month's rows are the source: a changed row shows in its quarter, not in the one before.
    ids = question_spans(satisfied.instrument, satisfied.question).question_ids
    added = QuestionByUnit.objects.filter(
        month=d(2025, 5, 1), question_id__in=ids, unit__code="bromma"
    ).update(n=F("n") + 1, events=F("events") + 1)
    moved = FollowUpByUnit.objects.filter(
        month=d(2025, 5, 1), unit__code="bromma", assessment="approved"
    ).update(n=F("n") + 2)
    changed = everything()
    for code, more in (("satisfied", added), ("assessment_approved", 2 * moved)):
        key = (code, d(2025, 1, 1), d(2025, 12, 31), ("unit",), (), "quarter")
        was = {(r["unit"], r["period"]): r["n"] for r in from_units[key]}
        now = {(r["unit"], r["period"]): r["n"] for r in changed[key]}
        assert more and now == {**was, ("bromma", "2025-K2"): was[("bromma", "2025-K2")] + more}


def test_a_questions_cells_by_provider_within_a_unit_over_whole_years_are_aggregates_rows(
    municipality,
) -> None:  # type: ignore[no-untyped-def]
    """A question's cells by provider within a unit over whole years (review of 2026-12-05): the
    cells are ``aggregate``'s rows (the assessment's way of reading a year table raised FieldError:
    no assessment column). Since 2026-12-06 (hidfold) a question's are read row by row from its
    n and events without the option, as the case mix's; ``aggregate`` counted afresh."""
    from utfall.comparisons.counted import Cells
    from utfall.comparisons.queries import aggregate_cells

    _providers_in_units(municipality)
    for code in ("satisfied", "assessment_approved"):
        indicator = get_indicator(code)
        asked: Any = {"municipality": municipality, "date_from": dt.date(2024, 1, 1), "date_to": dt.date(2025, 12, 31),
                      "by": ["provider"], "filters": {"unit": "bromma"}}  # fmt: skip
        bump()
        cells = aggregate_cells(indicator, **asked)
        bump()  # not the counts by provider the cells' read seeds
        rows = aggregate(indicator, **asked)
        assert rows and cells.rows() == Cells.from_rows(rows, ["provider"]).rows()


def _case_mix_in_units(municipality) -> DataSet:  # type: ignore[no-untyped-def]
    """Three providers' answers and assessments by women and men of two ages in two services and
    three units, on days around the years 2024 and 2025 (their first and last days among them)."""
    data = DataSet()
    providers = [data.provider(p) for p in "ABC"]
    units = ["sodermalm", "bromma", "norrmalm"]
    days = ["2023-12-30", "2024-01-01", "2024-03-15", "2024-07-01", "2024-12-31", "2025-01-01", "2025-05-20",
            "2025-09-09", "2025-12-31", "2026-01-02"]  # fmt: skip
    answers = ["yes_mostly", "no", "yes_completely", "no", "yes_mostly", "dont_know", "yes_mostly", "no"]
    i = 0
    for p, provider in enumerate(providers):
        for u, unit in enumerate(units):
            for k in range(4):
                person = data.person(
                    born=(dt.date(2008, 6, 1), dt.date(1990, 3, 1))[k // 2], female=k % 2 == 0
                )
                service = "sis_youth" if (p + u + k) % 3 == 0 else "hvb_youth"
                iid = data.intervention(f"I{p}{u}{k}", provider, person_id=person, service=service, unit=unit,
                                        decided_on="2023-01-01", started_on="2023-01-02")  # fmt: skip
                for day in days[(p + u + k) % 2 :: 1 + (p + k) % 2]:
                    i += 1
                    data.followup(iid, date=day, q3=answers[i % len(answers)],
                                  assessment=("approved", "deficient")[i % 3 == 0])  # fmt: skip
    data.load(municipality)
    return data


def test_a_unit_managers_oe_cells_of_whole_years_come_from_the_question_cells_by_unit(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """The O/E page as a unit manager reads the unit's case-mix cells (provider × sex × age group ×
    service within the unit): for whole calendar years from the question cells by provider, unit,
    case mix and year (2026-12-06, mgroe), not from the full table's months; every count by
    provider, unit and case mix of whole years (a question's, its protection, the questions in one
    scan, the page's figures) is the same as from the full table's months, and the year's rows
    really are the source (a changed row shows in the year, not in a half-year)."""
    from utfall.comparisons.disclosure import protected_counts

    data = _case_mix_in_units(municipality)
    d = dt.date
    satisfied = get_indicator("satisfied")
    by = ["provider", "sex", "age_group", "service"]
    two_years: Any = {"municipality": municipality, "date_from": d(2024, 1, 1), "date_to": d(2025, 12, 31)}
    with CaptureQueriesContext(connection) as queries:
        bump()
        cells = model_columns(satisfied, by=by, filters={"unit": "bromma"}, **two_years)
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "questionbyproviderunitcasemixyear" in read and "aggregates_answercount" not in read
    in_bromma = {row["intervention_id"] for row in data.interventions if row["unit"] == "bromma"}
    assert int(cells.n.sum()) == sum(
        f["intervention_id"] in in_bromma and f["date"][:4] in ("2024", "2025") and f["q3"] != "dont_know"
        for f in data.followups
    )
    assert len(cells) > 4

    spans = [(d(2024, 1, 1), d(2025, 12, 31)), (d(2025, 1, 1), d(2025, 12, 31)),
             (d(2024, 7, 1), d(2025, 12, 31)), (d(2025, 1, 1), d(2025, 6, 30))]  # fmt: skip
    groupings: list[tuple[list[str], dict[str, str]]] = [
        (by, {"unit": "bromma"}),
        (["provider", "service"], {"unit": "norrmalm"}),
        (["sex"], {"unit": "bromma", "provider": "B"}),
        (["unit", "age_group"], {}),
    ]
    questions = [i for i in all_indicators().values() if i.kind == "question"][:4]

    def everything() -> dict[Any, Any]:
        bump()
        out: dict[Any, Any] = {}
        for start, end in spans:
            for grouping, filters in groupings:
                where: Any = {"municipality": municipality, "date_from": start, "date_to": end, "by": grouping,
                              "filters": filters}  # fmt: skip
                for indicator in (satisfied, get_indicator("assessment_approved")):
                    out[(indicator.code, start, end, tuple(grouping), tuple(filters))] = (
                        aggregate(indicator, **where),
                        protected_counts(indicator, **where),
                        model_columns(indicator, **where).rows(),
                    )
                out[("questions", start, end, tuple(grouping), tuple(filters))] = aggregate_questions(
                    questions, **where
                )
        for code in ("satisfied", "assessment_approved"):
            page = compare(indicator=code, by="provider", adjust=True, scope={"unit": "bromma"}, chart=True,
                           **two_years)  # fmt: skip
            out[("page", code)] = page.as_json()
        return out

    from_years = everything()
    monkeypatch.setattr(counted, "_UNIT_CASE_MIX_BY_YEAR", {})  # every read: the full table's months
    assert everything() == from_years
    monkeypatch.undo()

    # The year's rows are the source: a changed row shows in the whole years, not in a half-year.
    ids = question_spans(satisfied.instrument, satisfied.question).question_ids
    rows = QuestionByProviderUnitCaseMixYear.objects.filter(year=d(2025, 1, 1), unit__code="bromma")
    first = rows.filter(question_id__in=ids, n__gt=0).order_by("pk").first()
    assert first is not None
    QuestionByProviderUnitCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") + 7)
    changed = everything()
    key = ("satisfied", d(2024, 1, 1), d(2025, 12, 31), tuple(by), ("unit",))
    assert sum(c["n"] for c in changed[key][2]) == sum(c["n"] for c in from_years[key][2]) + 7
    half = ("satisfied", d(2025, 1, 1), d(2025, 6, 30), tuple(by), ("unit",))
    assert changed[half] == from_years[half]


def test_a_unit_managers_women_and_men_of_whole_years_come_from_the_cells_by_unit_without_the_provider(  # type: ignore[no-untyped-def]
    municipality, monkeypatch
) -> None:
    """The women-and-men page as a unit manager reads the unit's case-mix cells and their
    partitions along every unit, none by provider: for whole calendar years from a question's
    cells by unit, case mix and year, every provider summed (2026-12-07), not from the cells by
    provider; every count (a question's, its protection, the model's cells, the questions in one
    scan) is the same as from the cells by provider, and the year's rows really are the source."""
    from utfall.comparisons.disclosure import protected_counts

    data = _case_mix_in_units(municipality)
    d = dt.date
    satisfied = get_indicator("satisfied")
    two_years: Any = {"municipality": municipality, "date_from": d(2024, 1, 1), "date_to": d(2025, 12, 31)}
    with CaptureQueriesContext(connection) as queries_read:
        bump()
        cells = model_columns(
            satisfied, by=["service", "age_group", "sex"], filters={"unit": "bromma"}, **two_years
        )
        along = protected_counts(satisfied, by=["sex"], filters={"unit": "bromma"}, **two_years)
    read = " ".join(q["sql"] for q in queries_read.captured_queries)
    assert "questionbyunitcasemixyear" in read
    assert "questionbyproviderunitcasemixyear" not in read and "aggregates_answercount" not in read
    in_bromma = {row["intervention_id"] for row in data.interventions if row["unit"] == "bromma"}
    counted_there = sum(
        f["intervention_id"] in in_bromma and f["date"][:4] in ("2024", "2025") and f["q3"] != "dont_know"
        for f in data.followups
    )
    assert int(cells.n.sum()) == counted_there == sum(r["n"] for r in along)

    spans = [(d(2024, 1, 1), d(2025, 12, 31)), (d(2025, 1, 1), d(2025, 12, 31)),
             (d(2024, 7, 1), d(2025, 12, 31)), (d(2025, 1, 1), d(2025, 6, 30))]  # fmt: skip
    groupings: list[tuple[list[str], dict[str, str]]] = [
        (["service", "age_group", "sex"], {"unit": "bromma"}),
        (["sex"], {"unit": "norrmalm"}),
        (["age_group", "sex"], {"unit": "bromma"}),
        (["sex", "unit"], {}),
        (["service", "sex"], {"unit": "sodermalm"}),
    ]
    questions = [i for i in all_indicators().values() if i.kind == "question"][:4]

    def everything() -> dict[Any, Any]:
        bump()
        out: dict[Any, Any] = {}
        for start, end in spans:
            for grouping, filters in groupings:
                where: Any = {"municipality": municipality, "date_from": start, "date_to": end, "by": grouping,
                              "filters": filters}  # fmt: skip
                out[(start, end, tuple(grouping), tuple(filters))] = (
                    aggregate(satisfied, **where),
                    protected_counts(satisfied, **where),
                    model_columns(satisfied, **where).rows(),
                    aggregate_questions(questions, **where),
                )
        return out

    from_units = everything()
    assert all(found[0] for found in from_units.values())
    monkeypatch.setattr(counted, "_UNIT_CASE_MIX_WITHOUT_PROVIDER", {})  # every read: the cells by provider
    assert everything() == from_units
    monkeypatch.undo()

    # The year's rows are the source: a changed row shows in the whole years, not in a half-year.
    ids = question_spans(satisfied.instrument, satisfied.question).question_ids
    first = (
        QuestionByUnitCaseMixYear.objects.filter(
            year=d(2025, 1, 1), unit__code="bromma", question_id__in=ids, n__gt=0
        )
        .order_by("pk")
        .first()
    )
    assert first is not None
    QuestionByUnitCaseMixYear.objects.filter(pk=first.pk).update(n=F("n") + 7)
    changed = everything()
    key = (d(2024, 1, 1), d(2025, 12, 31), ("service", "age_group", "sex"), ("unit",))
    assert sum(c["n"] for c in changed[key][2]) == sum(c["n"] for c in from_units[key][2]) + 7
    half = (d(2025, 1, 1), d(2025, 6, 30), ("service", "age_group", "sex"), ("unit",))
    assert changed[half] == from_units[half]
