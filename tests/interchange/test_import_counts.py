"""The import's fast write path (issue 13.2): new follow-ups' counts are taken in memory and added
set-based, changes of stored rows are bracketed, and SQLite commits in slices sized by time.
Each test compares the maintained tables with a rebuild from the raw rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.test import override_settings

from tests.conftest import TODAY
from tests.interchange.helpers import FOLLOWUPS, INTERVENTIONS, write_set
from utfall.aggregates import outcomes
from utfall.aggregates.models import AnswerByProvider, AnswerCount, FollowUpCount
from utfall.aggregates.rebuild import check
from utfall.aggregates.tally import age_group_of
from utfall.demo.generator import generate
from utfall.followups.models import Answer, FollowUp
from utfall.interchange import importer
from utfall.interchange.importer import import_files, next_slice
from utfall.registry.models import Client, Intervention

pytestmark = pytest.mark.django_db


def assert_exact(municipality) -> None:  # type: ignore[no-untyped-def]
    result = check(municipality)
    assert result.ok, result.lines()


def test_a_new_follow_up_with_the_same_dimensions_adds_to_the_stored_count(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    q1 = AnswerCount.objects.filter(municipality=municipality, month=dt.date(2025, 7, 1))
    assert q1.aggregate(n=Sum("n"))["n"] == 5  # F1's five answers
    # F5: the same intervention, month and answers as F1 — every key exists already.
    again = FOLLOWUPS[1].replace("F1,", "F5,").replace("2025-07-01", "2025-07-20")
    report = import_files(
        [write_csv("followups.csv", FOLLOWUPS[0], again)], municipality=municipality, today=TODAY
    )
    assert report.ok, report.issues
    assert dict(report.created) == {"followups": 1}
    assert sorted(q1.values_list("n", flat=True)) == [2, 2, 2, 2, 2]  # the same rows, counted twice
    assert q1.count() == 5
    assert FollowUpCount.objects.filter(municipality=municipality, month=dt.date(2025, 7, 1)).get().n == 2
    assert_exact(municipality)


def test_one_file_adding_to_a_stored_month_and_to_a_new_one_counts_each_once(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    # The new month's keys go straight into the tables, the stored month's through the
    # temporary table (aggregates.tally._add_fresh): neither is counted twice nor left out.
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    july = AnswerCount.objects.filter(municipality=municipality, month=dt.date(2025, 7, 1))
    october = AnswerCount.objects.filter(municipality=municipality, month=dt.date(2025, 10, 1))
    assert not october.exists()
    stored_month = FOLLOWUPS[1].replace("F1,", "F5,").replace("2025-07-01", "2025-07-20")
    new_month = FOLLOWUPS[1].replace("F1,", "F6,").replace("2025-07-01", "2025-10-02")
    report = import_files(
        [write_csv("followups.csv", FOLLOWUPS[0], new_month, stored_month)],
        municipality=municipality,
        today=TODAY,
    )
    assert report.ok, report.issues
    assert sorted(july.values_list("n", flat=True)) == [2, 2, 2, 2, 2]
    assert sorted(october.values_list("n", flat=True)) == [1, 1, 1, 1, 1]
    assert AnswerByProvider.objects.filter(municipality=municipality, month=dt.date(2025, 10, 1)).count() == 5
    assert_exact(municipality)


def test_new_follow_ups_and_an_update_of_a_client_in_one_set_stay_exact(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    # The girl of I1 is stated to be born in 2010 (her stored answers repeat the birth year, and
    # their age group changes), I2 gets a new follow-up and I1's F2 is replaced, all with
    # --update in one set.
    moved = INTERVENTIONS[1].replace(",,,hvb_youth", ",female,2010,hvb_youth")
    new = "F6,I2,2025-08-01,stockholm-2021@1,client,completed,yes_completely,,,,,approved,,,,5"
    changed = FOLLOWUPS[2].replace("deficient", "approved")
    report = import_files(
        [write_csv("interventions.csv", INTERVENTIONS[0], moved),
         write_csv("followups.csv", FOLLOWUPS[0], new, changed)],
        municipality=municipality, today=TODAY, update=True,
    )  # fmt: skip
    assert report.ok, report.issues
    assert (dict(report.created), dict(report.updated)) == (
        {"followups": 1},
        {"interventions": 1, "followups": 1},
    )
    assert set(Answer.objects.filter(followup__intervention__intervention_id="I1").values_list(
        "client_birth_year", flat=True)) == {2010}  # fmt: skip
    assert_exact(municipality)


def test_a_new_follow_up_of_an_intervention_whose_client_changes_in_the_same_set_counts_the_new_facts(
    write_csv, municipality
) -> None:  # type: ignore[no-untyped-def]
    # The import's check read I1 with the girl born in 2009; with --update the same set states
    # 2010 and adds a follow-up of I1. Its answers and counts repeat the facts as written, not
    # as the check read them (interchange.followup_rows: stored facts hold only without it).
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    moved = INTERVENTIONS[1].replace(",,,hvb_youth", ",female,2010,hvb_youth")
    new = "F6,I1,2025-08-01,stockholm-2021@1,client,completed,yes_completely,,,,,approved,,,,5"
    report = import_files(
        [write_csv("interventions.csv", INTERVENTIONS[0], moved), write_csv("followups.csv", FOLLOWUPS[0], new)],
        municipality=municipality, today=TODAY, update=True,
    )  # fmt: skip
    assert report.ok, report.issues
    assert dict(report.created) == {"followups": 1}
    assert Answer.objects.get(followup__followup_id="F6").client_birth_year == 2010
    assert_exact(municipality)


def test_a_key_stored_in_two_rows_gets_the_new_count_once_on_its_first_row(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    # Two writers that found no row for a key each insert one (docs/aggregates.md): an import
    # adding to that key adds to one of them, once.
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY).ok
    july = AnswerCount.objects.filter(municipality=municipality, month=dt.date(2025, 7, 1)).order_by("pk")
    first = july.first()
    assert first is not None
    twin = AnswerCount.objects.create(
        **{
            f.attname: getattr(first, f.attname)
            for f in AnswerCount._meta.concrete_fields
            if not f.primary_key
        }
        | {"n": 0}
    )
    again = FOLLOWUPS[1].replace("F1,", "F5,").replace("2025-07-01", "2025-07-20")
    assert import_files(
        [write_csv("followups.csv", FOLLOWUPS[0], again)], municipality=municipality, today=TODAY
    ).ok
    first.refresh_from_db()
    twin.refresh_from_db()
    assert (first.n, twin.n) == (2, 0)
    assert_exact(municipality)


def test_unchanged_rows_change_no_count(write_csv, municipality) -> None:  # type: ignore[no-untyped-def]
    files = write_set(write_csv)
    assert import_files(files, municipality=municipality, today=TODAY).ok
    before = sorted(
        AnswerByProvider.objects.values_list("month", "provider", "question_id", "option_id", "n")
    )
    report = import_files(files, municipality=municipality, today=TODAY)
    assert report.ok and not report.created and not report.updated
    assert (
        sorted(AnswerByProvider.objects.values_list("month", "provider", "question_id", "option_id", "n"))
        == before
    )
    assert_exact(municipality)


def test_many_small_slices_store_every_row_and_keep_the_counts_exact(tmp_path, municipality) -> None:  # type: ignore[no-untyped-def]
    # On SQLite the write pass commits slices of 50 rows, then sizes them by time; on
    # PostgreSQL the setting changes nothing (one transaction). The result is the same.
    data = generate(size=0.02, seed=3, today=TODAY)
    with override_settings(UTFALL_IMPORT_COMMIT_ROWS=50):
        report = import_files(data.write_csv(tmp_path), municipality=municipality, today=TODAY)
    assert report.ok, report.issues[:3]
    assert FollowUp.objects.filter(municipality=municipality).count() == len(data.followups) > 100
    assert_exact(municipality)
    # The outcomes were stored from memory (outcomes.of_clients); the check above compares them
    # with the SQL of outcomes.computed. Some clients came back, so the comparison is not empty.
    stored = outcomes.stored(municipality.pk)
    assert sum(back is not None for _, _, _, back in stored.values()) > 0
    assert sum(days is not None for _, _, days, _ in stored.values()) > 0
    clients = list(Client.objects.filter(municipality=municipality).values_list("pk", flat=True))
    assert outcomes.of_clients(clients) == outcomes.computed(
        Intervention.objects.filter(municipality=municipality)
    )


def test_a_slice_is_sized_to_take_about_a_second() -> None:
    assert importer.SLICE_SECONDS == 1.0
    assert next_slice(5000, 0.5, smallest=500) == 10_000  # fast: grows, at most twice
    assert next_slice(5000, 0.25, smallest=500) == 10_000
    assert next_slice(5000, 1.25, smallest=500) == 4000  # a bit slow: shrinks to the rate
    assert next_slice(5000, 10.0, smallest=500) == 2500  # much slower: at most halves
    assert next_slice(600, 10.0, smallest=500) == 500  # never below the smallest


@pytest.mark.parametrize(("age", "group"), [(-1, "okänd"), (0, "0-12"), (12, "0-12"), (13, "13-15"),
                                            (17, "16-17"), (24, "18-24"), (64, "45-64"), (65, "65+"),
                                            (200, "65+"), (201, "okänd")])  # fmt: skip
def test_the_age_group_in_memory_is_the_one_sql_computes(age: int, group: str) -> None:
    assert age_group_of(age) == group
