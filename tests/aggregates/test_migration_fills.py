"""The older migrations' fills on a database with data, run before a later migration has made
a newer rollup's table (review of 2026-12-05: aggregates 0006 and 0008 replace the coverage and
outcome counts with today's code, which lists the rollups by provider and unit that 0018 makes)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection

from tests.comparisons.builders import DataSet
from utfall.aggregates import coverage, outcome_counts
from utfall.aggregates.models import (
    CoverageByProviderUnit,
    CoverageCount,
    OutcomeByProviderUnit,
    OutcomeCount,
    QuestionByProviderUnitCaseMixYear,
)
from utfall.aggregates.rebuild import check

LATER = (CoverageByProviderUnit, OutcomeByProviderUnit)  # made by aggregates 0018


@pytest.mark.django_db(transaction=True)
def test_the_fills_of_0006_and_0008_leave_a_rollup_whose_table_a_later_migration_makes(municipality) -> None:  # type: ignore[no-untyped-def]
    data = DataSet()
    provider = data.provider("A")
    for k, unit in enumerate(["sodermalm", "bromma"]):
        iid = data.intervention(f"I{k}", provider, unit=unit, decided_on="2024-01-01", started_on="2024-01-02",
                                ended_on="2024-09-30", end_reason="goals_met")  # fmt: skip
        data.followup(iid, date="2024-06-01", q3="yes_mostly")
    data.load(municipality)
    with connection.schema_editor() as editor:
        for model in LATER:
            editor.delete_model(model)
    try:
        coverage.replace(municipality.pk)  # as 0006's populate
        outcome_counts.fill(municipality.pk)  # as 0008's populate (failed: no such table)
        assert CoverageCount.objects.filter(municipality=municipality).exists()
    finally:
        with connection.schema_editor() as editor:
            for model in LATER:
                editor.create_model(model)
    # 0018 makes the tables and fills them from the full ones: then everything is as a rebuild.
    assert not CoverageByProviderUnit.objects.exists() and not OutcomeByProviderUnit.objects.exists()
    migration = importlib.import_module("utfall.aggregates.migrations.0018_provider_unit_outcomes_coverage")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert CoverageByProviderUnit.objects.exists()
    assert OutcomeCount.objects.exists() == OutcomeByProviderUnit.objects.exists()
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("back_to", "table"),
    [("0015_case_mix_years", "aggregates_answerbyprovidercasemixyear"),  # dropped by 0016
     ("0028_question_by_provider_year", "aggregates_answerbyprovideryear")],  # dropped by 0029
)  # fmt: skip
def test_reversing_a_drop_fills_the_table_by_option_again(municipality, back_to: str, table: str) -> None:  # type: ignore[no-untyped-def]
    """Rolling back past the migration that dropped a rollup by option (the older code reads it
    as exact): the table comes back with the full answer counts summed by year, not empty (review
    of 2026-12-05: 0016's by provider, case mix and year; 2026-12-07: 0029's by provider and
    year); then forward again, the aggregates as a rebuild."""
    from django.db.migrations.executor import MigrationExecutor

    data = DataSet()
    provider = data.provider("A")
    for k, day in enumerate(["2024-03-01", "2024-11-30", "2025-02-01"]):
        iid = data.intervention(f"I{k}", provider, decided_on="2024-01-01", started_on="2024-01-02")
        data.followup(iid, date=day, q3=("yes_mostly", "no", "yes_completely")[k])
    data.load(municipality)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(n), COUNT(DISTINCT option_id) FROM aggregates_answercount WHERE municipality_id = %s",
            [municipality.pk],
        )
        total, options = cursor.fetchone()
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("aggregates")
    try:
        MigrationExecutor(connection).migrate([("aggregates", back_to)])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT SUM(n), COUNT(DISTINCT option_id), COUNT(DISTINCT year) "  # noqa: S608 (our tables)
                f"FROM {table} WHERE municipality_id = %s",
                [municipality.pk],
            )
            assert cursor.fetchone() == (total, options, 2)
    finally:
        MigrationExecutor(connection).migrate(latest)
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
def test_0019_fills_the_question_cells_by_unit_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """A database with data before aggregates 0019: its fill makes the question cells by provider,
    unit, case mix and year from the full answer counts, folded through the options' flags ("don't
    know" counts nowhere), equal to a rebuild."""
    data = DataSet()
    provider = data.provider("A")
    for k, (unit, day, q3) in enumerate([("sodermalm", "2024-03-01", "yes_mostly"), ("bromma", "2024-11-30", "no"),
                                         ("bromma", "2025-02-01", "dont_know"), ("norrmalm", "2025-05-05", "yes_completely")]):  # fmt: skip
        iid = data.intervention(
            f"I{k}", provider, unit=unit, decided_on="2024-01-01", started_on="2024-01-02"
        )
        data.followup(iid, date=day, q3=q3)
    data.load(municipality)
    QuestionByProviderUnitCaseMixYear.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module("utfall.aggregates.migrations.0019_provider_unit_case_mix_years")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert QuestionByProviderUnitCaseMixYear.objects.filter(events__gt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_0020_fills_a_questions_counts_by_provider_unit_and_year_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the question's n and events by provider, unit and
    year (2026-12-06, hidfold) filled from the full answer counts, the option folded away through
    its flags, are the rows a rebuild writes (two units, two years, a not-counted option)."""
    from utfall.aggregates.models import QuestionByProviderUnitYear

    data = DataSet()
    provider = data.provider("A")
    for k, (unit, day) in enumerate([("sodermalm", "2024-03-01"), ("bromma", "2024-11-30"),
                                     ("bromma", "2025-02-01"), ("sodermalm", "2025-05-01")]):  # fmt: skip
        iid = data.intervention(
            f"I{k}", provider, unit=unit, decided_on="2024-01-01", started_on="2024-01-02"
        )
        data.followup(iid, date=day, q3=("yes_mostly", "no", "yes_completely", "dont_know")[k])
    data.load(municipality)
    rebuilt = sorted(
        QuestionByProviderUnitYear.objects.values_list("year", "unit_id", "question_id", "n", "events")
    )
    assert any(events for *_, events in rebuilt)
    QuestionByProviderUnitYear.objects.all().delete()
    migration = importlib.import_module("utfall.aggregates.migrations.0020_provider_unit_question_years")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    filled = sorted(
        QuestionByProviderUnitYear.objects.values_list("year", "unit_id", "question_id", "n", "events")
    )
    assert filled == rebuilt
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
def test_0023_fills_a_questions_counts_by_unit_and_month_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the question's n and events by unit and month
    (2026-12-07, unitmonth) filled from the full answer counts, every provider summed and the
    option folded away through its flags, are the rows a rebuild writes (two providers in one unit
    and month, two units, two months, a not-counted option)."""
    from utfall.aggregates.models import QuestionByUnit

    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    for k, (provider, unit, day) in enumerate([(a, "sodermalm", "2024-03-01"), (b, "sodermalm", "2024-03-31"),
                                               (a, "bromma", "2024-03-15"), (b, "bromma", "2025-02-01"),
                                               (a, "sodermalm", "2025-02-28")]):  # fmt: skip
        iid = data.intervention(
            f"I{k}", provider, unit=unit, decided_on="2024-01-01", started_on="2024-01-02"
        )
        data.followup(iid, date=day, q3=("yes_mostly", "no", "yes_completely", "dont_know", "yes_mostly")[k])
    data.load(municipality)
    rebuilt = sorted(QuestionByUnit.objects.values_list("month", "unit_id", "question_id", "n", "events"))
    assert any(n > 1 for *_, n, _ in rebuilt) and any(events for *_, events in rebuilt)
    QuestionByUnit.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module("utfall.aggregates.migrations.0023_question_by_unit")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    filled = sorted(QuestionByUnit.objects.values_list("month", "unit_id", "question_id", "n", "events"))
    assert filled == rebuilt
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
def test_0024_fills_a_questions_cells_by_unit_case_mix_and_year_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the question's n and events by unit, service, sex,
    age group and year (2026-12-07, unitmonth) filled from the full answer counts, every provider
    summed and the option folded away through its flags, are the rows a rebuild writes (two
    providers in one cell, two units, two years, a not-counted option)."""
    from utfall.aggregates.models import QuestionByUnitCaseMixYear

    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    fields = ("year", "unit_id", "service_id", "client_sex", "age_group", "question_id", "n", "events")
    for k, (provider, unit, day) in enumerate([(a, "sodermalm", "2024-03-01"), (b, "sodermalm", "2024-11-30"),
                                               (a, "bromma", "2024-03-15"), (b, "bromma", "2025-02-01"),
                                               (a, "sodermalm", "2025-02-28")]):  # fmt: skip
        iid = data.intervention(
            f"I{k}", provider, person_id=data.person(born=dt.date(2008, 6, 1), female=True), unit=unit,
            decided_on="2024-01-01", started_on="2024-01-02",
        )  # fmt: skip
        data.followup(iid, date=day, q3=("yes_mostly", "no", "yes_completely", "dont_know", "yes_mostly")[k])
    data.load(municipality)
    rebuilt = sorted(QuestionByUnitCaseMixYear.objects.values_list(*fields))
    assert any(row[-2] > 1 for row in rebuilt) and any(row[-1] for row in rebuilt)
    QuestionByUnitCaseMixYear.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module("utfall.aggregates.migrations.0024_question_by_unit_case_mix_years")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert sorted(QuestionByUnitCaseMixYear.objects.values_list(*fields)) == rebuilt
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
def test_0025_fills_the_follow_ups_by_unit_and_month_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the follow-ups by unit, month, status and assessment
    (2026-12-07, unitmonth) filled from the full follow-up table, every provider summed, are the
    rows a rebuild writes (two providers in one unit and month, two units, two months)."""
    from utfall.aggregates.models import FollowUpByUnit

    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    fields = ("month", "unit_id", "status", "assessment", "n")
    for k, (provider, unit, day) in enumerate([(a, "sodermalm", "2024-03-01"), (b, "sodermalm", "2024-03-31"),
                                               (a, "bromma", "2024-03-15"), (b, "bromma", "2025-02-01")]):  # fmt: skip
        iid = data.intervention(
            f"I{k}", provider, unit=unit, decided_on="2024-01-01", started_on="2024-01-02"
        )
        data.followup(iid, date=day, assessment=("approved", "approved", "deficient", "approved")[k])
    data.load(municipality)
    rebuilt = sorted(FollowUpByUnit.objects.values_list(*fields))
    assert any(row[-1] > 1 for row in rebuilt)
    FollowUpByUnit.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module("utfall.aggregates.migrations.0025_followup_by_unit")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert sorted(FollowUpByUnit.objects.values_list(*fields)) == rebuilt
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("name", "table", "unit"),
    [("0026_outcome_by_provider_year", "OutcomeByProviderYear", False),
     ("0027_outcome_by_provider_unit_year", "OutcomeByProviderUnitYear", True)],
)  # fmt: skip
def test_0026_and_0027_fill_the_outcomes_by_provider_and_year_as_a_rebuild(
    municipality, name, table, unit
) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the outcome measures by provider (and unit) and
    calendar year (2026-12-07, outyear), filled from the monthly rollup, are the rows a rebuild
    writes (two providers, two units, ends in two months of one year and in the next, plans' goals)."""
    from utfall.aggregates import models

    model = getattr(models, table)
    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    fields = ("year", "provider_id", *(("unit_id",) if unit else ()), "measure", "event", "n")
    for k, (provider, ended) in enumerate([(a, "2024-03-10"), (a, "2024-09-20"), (b, "2024-09-21"),
                                           (a, "2025-02-01"), (b, "2024-03-31")]):  # fmt: skip
        data.intervention(f"I{k}", provider, ended_on=ended, end_reason="goals_met", unit=("sodermalm", "sodermalm", "bromma", "sodermalm", "bromma")[k],
                          goals_total="2", goals_fully=str(k % 3), goals_partly="0")  # fmt: skip
    data.load(municipality)
    rebuilt = sorted(model.objects.values_list(*fields))
    assert any(row[-1] > 1 for row in rebuilt) and {row[0].year for row in rebuilt} == {2024, 2025}
    model.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module(f"utfall.aggregates.migrations.{name}")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert sorted(model.objects.values_list(*fields)) == rebuilt
    assert check(municipality).ok


@pytest.mark.django_db(transaction=True)
def test_0028_fills_a_questions_counts_by_provider_and_year_as_a_rebuild(municipality) -> None:  # type: ignore[no-untyped-def]
    """An existing database after ``migrate``: the question's n and events by provider and year
    (2026-12-07, qyear) filled from the monthly rollup by provider and option, summed by year and
    the option folded away through its flags, are the rows a rebuild writes (two months of one
    provider's year, two providers, two years, a not-counted option)."""
    from utfall.aggregates.models import QuestionByProviderYear

    data = DataSet()
    a, b = data.provider("A"), data.provider("B")
    for k, (provider, day) in enumerate([(a, "2024-03-01"), (a, "2024-11-30"), (b, "2024-03-15"),
                                         (b, "2025-02-01"), (a, "2025-02-28")]):  # fmt: skip
        iid = data.intervention(f"I{k}", provider, decided_on="2024-01-01", started_on="2024-01-02")
        data.followup(iid, date=day, q3=("yes_mostly", "no", "yes_completely", "dont_know", "yes_mostly")[k])
    data.load(municipality)
    fields = ("year", "provider_id", "question_id", "n", "events")
    rebuilt = sorted(QuestionByProviderYear.objects.values_list(*fields))
    assert any(n > 1 for *_, n, _ in rebuilt) and any(events for *_, events in rebuilt)
    QuestionByProviderYear.objects.all().delete()
    assert not check(municipality).ok
    migration = importlib.import_module("utfall.aggregates.migrations.0028_question_by_provider_year")
    with connection.schema_editor() as editor:
        migration.fill(None, editor)
    assert sorted(QuestionByProviderYear.objects.values_list(*fields)) == rebuilt
    assert check(municipality).ok
