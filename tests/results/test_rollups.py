"""The rollups of 2026-12-03. By case mix (women and men, comparisons by service, sex or age
group): read where they have every dimension asked for, the same published figures as the full
tables. By client (the trend's per-client sums): exactly the raw rows' sums for any range, grain
and filter. Both kept by a submission in one statement per table and filled by their migration
(every writer: tests/aggregates/test_maintained.py, through ``check``)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections import Counter
from types import SimpleNamespace

import pytest
from django.db.models import F

from tests.comparisons.builders import DataSet
from tests.results.conftest import People
from tests.results.test_services import YEAR
from utfall.aggregates import counts, rollup
from utfall.aggregates.models import (
    AnswerByCaseMix,
    AnswerByClient,
    FollowUpByCaseMix,
    FollowUpByClient,
    QuestionByProviderCaseMixYear,
)
from utfall.aggregates.rebuild import check
from utfall.comparisons.cache import bump
from utfall.comparisons.counted import table_for
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.results.services.gender import women_and_men

pytestmark = pytest.mark.django_db


def test_the_smallest_table_with_every_dimension_is_read() -> None:
    assert table_for("question", {"service", "age_group", "sex"}) is AnswerByCaseMix
    assert table_for("assessment", {"target_group", "sex"}) is FollowUpByCaseMix
    assert table_for("question", {"service", "unit"}).__name__ == "AnswerCount"  # a unit: the full table
    assert table_for("followups", {"caseworker"}).__name__ == "FollowUpCount"
    assert table_for("question", {"provider"}).__name__ == "AnswerByProvider"


def test_women_and_men_publish_the_same_figures_from_the_rollup_as_from_the_full_table(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pages() -> list[dict[str, list[dict[str, object]]]]:
        bump()
        return [
            {
                name: table.rows
                for name, table in women_and_men(people.analyst, indicator=code, **YEAR).tables.items()
            }
            for code in ("satisfied", "assessment_approved")
        ]

    from_rollup = pages()
    assert from_rollup[0]["total"][0]["women_n"]
    monkeypatch.setattr(rollup, "DIMENSIONS", frozenset())  # every read goes to the full table
    assert pages() == from_rollup


def test_the_whole_months_come_from_the_rollup_and_a_unit_from_the_full_table(people: People) -> None:
    satisfied = get_indicator("satisfied")
    municipality = people.analyst.municipality

    def n(**filters: str) -> int:
        rows = aggregate(satisfied, municipality=municipality, by=["service", "sex"], filters=filters, **YEAR)
        return sum(int(r["n"]) for r in rows)

    before, in_unit = n(), n(unit="bromma")
    changed = AnswerByCaseMix.objects.filter(month=dt.date(2025, 2, 1)).update(n=F("n") + 1)
    bump()
    assert changed and n() > before
    assert n(unit="bromma") == in_unit


def test_a_submissions_counts_go_to_the_first_row_of_a_key_or_a_new_one(people: People) -> None:
    municipality = people.analyst.municipality.pk
    fields = rollup.CASE_MIX[0][2]
    row = AnswerByCaseMix.objects.filter(municipality=municipality).order_by("pk").first()
    assert row is not None
    key = (
        municipality,
        row.month,
        row.service_id,
        row.client_sex,
        row.age_group,
        row.question_id,
        row.option_id,
    )
    second = AnswerByCaseMix.objects.create(**dict(zip(fields, key, strict=True)), n=0)  # another writer's
    new = (
        municipality,
        dt.date(2024, 3, 1),
        row.service_id,
        "female",
        "25-44",
        row.question_id,
        row.option_id,
    )
    counts.apply(AnswerByCaseMix, fields, Counter({key: 2, new: 3}), exact=True)
    assert AnswerByCaseMix.objects.get(pk=row.pk).n == row.n + 2
    assert AnswerByCaseMix.objects.get(pk=second.pk).n == 0
    assert AnswerByCaseMix.objects.filter(month=dt.date(2024, 3, 1)).values_list("n", flat=True).get() == 3
    counts.apply(AnswerByCaseMix, fields, Counter({key: -2, new: -3}), exact=True)
    assert check(people.analyst.municipality).ok


def test_the_migration_fills_the_rollups_from_the_full_tables(people: People) -> None:
    municipality = people.analyst.municipality
    for model in (AnswerByCaseMix, FollowUpByCaseMix):
        assert model.objects.exists()
        model.objects.all().delete()
    assert not check(municipality).ok
    rollup.fill_from_full_tables()
    assert check(municipality).ok
    # Here every client is followed up once a year: no row by client.
    assert not AnswerByClient.objects.exists() and not FollowUpByClient.objects.exists()


def test_migration_0016_fills_the_question_cells_from_the_full_answer_counts(people: People) -> None:
    """aggregates 0016 (2026-12-05): on a database with counts, a question's n and events by
    provider, case mix and calendar year are the full answer table summed by year through the
    options' flags; the check agrees with a rebuild. (0015's filling of the rollups by option it
    replaces read a table that 0016 drops: its test went with it.)"""
    from django.db import connection

    migration = importlib.import_module("utfall.aggregates.migrations.0016_question_cells")
    municipality = people.analyst.municipality
    assert QuestionByProviderCaseMixYear.objects.filter(events__gt=0).exists()
    QuestionByProviderCaseMixYear.objects.all().delete()
    assert not check(municipality).ok
    migration.fill(None, SimpleNamespace(connection=connection))
    assert check(municipality).ok
    assert QuestionByProviderCaseMixYear.objects.filter(year=dt.date(2025, 1, 1), events__gt=0).exists()


def test_the_rollups_by_client_hold_the_clients_followed_up_again_within_a_year(repeated) -> None:  # type: ignore[no-untyped-def]
    quarterly = set(AnswerByClient.objects.values_list("quarterly", flat=True))
    assert quarterly == {True, False} and FollowUpByClient.objects.filter(quarterly=True).exists()
    for model in (AnswerByClient, FollowUpByClient):
        model.objects.all().delete()
    assert not check(repeated).ok
    rollup.rebuild_by_client(repeated.pk)  # as the migration fills them
    assert check(repeated).ok
    assert AnswerByClient.objects.filter(quarterly=True).exists() and FollowUpByClient.objects.exists()


@pytest.fixture
def repeated(municipality):  # type: ignore[no-untyped-def]
    """Clients followed up several times a quarter and a year, across two interventions, two
    providers, two units and two services; some with an answer of "vet inte" (not counted)."""
    data = DataSet()
    for pid in ("P", "Q"):
        data.provider(pid)
    days = [
        "2024-01-05",
        "2024-01-28",
        "2024-02-14",
        "2024-03-30",
        "2024-05-02",
        "2024-08-19",
        "2024-09-01",
        "2024-11-15",
        "2025-01-02",
        "2025-02-27",
        "2025-04-10",
        "2025-06-30",
        "2025-07-01",
        "2025-12-31",
    ]
    answers = ["yes_mostly", "no", "yes_completely", "dont_know"]
    for c in range(24):
        person = data.person(female=c % 3 != 0)
        first = data.intervention(f"A{c}", "P" if c % 2 else "Q", person_id=person,
                                  unit="bromma" if c % 4 < 2 else "sodermalm")  # fmt: skip
        second = data.intervention(f"B{c}", "Q", person_id=person, service="ihf") if c % 5 == 0 else first
        for k in range(c % 7 + 1):
            data.followup(first if k % 2 else second, date=days[(c * 5 + k * 3) % len(days)],
                          q3=answers[(c + k) % 4], assessment=["approved", "deficient", "very_good"][(c + k) % 3])  # fmt: skip
    data.load(municipality)
    return municipality


def test_a_trend_reads_the_rollup_by_client_and_gets_the_raw_rows_sums_exactly(
    repeated, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from utfall.comparisons import queries
    from utfall.comparisons.cache import forget_statements

    ranges = [(dt.date(2024, 1, 1), dt.date(2025, 12, 31)), (dt.date(2024, 1, 15), dt.date(2025, 11, 20)),
              (dt.date(2024, 2, 1), dt.date(2025, 3, 31)), (dt.date(2024, 3, 3), dt.date(2024, 3, 20))]  # fmt: skip
    cases = [(code, grain, r, filters) for code in ("satisfied", "assessment_approved")
             for grain in ("quarter", "year") for r in ranges
             for filters in ({}, {"provider": "P"}, {"unit": "bromma"}, {"service": "ihf"},
                             {"target_group": "children_youth", "provider": "Q"})]  # fmt: skip

    def sums() -> list[list[dict[str, object]]]:
        bump()
        return [queries.aggregate_by_client(get_indicator(code), municipality=repeated, date_from=start,
                                            date_to=end, period=grain, filters=filters)
                for code, grain, (start, end), filters in cases]  # fmt: skip

    read: list[str] = []
    real = queries._grouped
    forget_statements()  # built here, not kept from another test (cache.compiled)
    monkeypatch.setattr(
        queries,
        "_grouped",  # a count table's statement built once per shape is given its model apart (prov9)
        lambda qs, *a, **k: read.append((k.get("model") or qs.model).__name__) or real(qs, *a, **k),
    )
    from_rollup = sums()
    assert {"AnswerByClient", "FollowUpByClient"} <= set(read)
    assert any(r["sum_n2"] > r["n"] for rows in from_rollup for r in rows)  # clients answered repeatedly
    monkeypatch.setattr(queries, "client_table_for", lambda *a: None)  # the raw rows alone
    assert sums() == from_rollup
