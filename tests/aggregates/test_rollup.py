"""The case-mix rollups (women and men, comparisons by service, sex or age group): read where
they have every dimension asked for, the same published figures as the full tables, kept by a
submission in one statement per table, and filled from the full tables by their migration."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db.models import F

from tests.results.conftest import People, people, results_set  # noqa: F401 (the fixtures)
from tests.results.test_services import YEAR
from utfall.aggregates import counts, rollup
from utfall.aggregates.models import AnswerByCaseMix, FollowUpByCaseMix
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
            {name: table.rows for name, table in women_and_men(people.analyst, indicator=code, **YEAR).tables.items()}
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
    key = (municipality, row.month, row.service_id, row.client_sex, row.age_group, row.question_id, row.option_id)
    second = AnswerByCaseMix.objects.create(**dict(zip(fields, key, strict=True)), n=0)  # another writer's
    new = (municipality, dt.date(2024, 3, 1), row.service_id, "female", "25-44", row.question_id, row.option_id)
    counts.apply(AnswerByCaseMix, fields, Counter({key: 2, new: 3}), exact=True)
    assert AnswerByCaseMix.objects.get(pk=row.pk).n == row.n + 2
    assert AnswerByCaseMix.objects.get(pk=second.pk).n == 0
    assert AnswerByCaseMix.objects.filter(month=dt.date(2024, 3, 1)).values_list("n", flat=True).get() == 3
    counts.apply(AnswerByCaseMix, fields, Counter({key: -2, new: -3}), exact=True)
    assert check(people.analyst.municipality).ok


def test_the_migration_fills_the_rollups_from_the_full_tables(people: People) -> None:
    municipality = people.analyst.municipality
    AnswerByCaseMix.objects.all().delete()
    FollowUpByCaseMix.objects.all().delete()
    assert not check(municipality).ok
    rollup.fill_from_full_tables()
    assert check(municipality).ok
    assert AnswerByCaseMix.objects.exists() and FollowUpByCaseMix.objects.exists()
