"""The maintained counts stay equal to a rebuild from the raw rows through every writer:
the follow-up form, the API (record, correct, register), a correction, an import and an
import --update (a provider move, a new date, a client's facts), a provider move in the
intervention form, a new instrument version and disposal (issue 13 point 1)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone

from tests.conftest import TODAY
from tests.followups.helpers import form_data, post_followup
from tests.instruments.helpers import make_admin
from tests.interchange.helpers import FOLLOWUPS, INTERVENTIONS, write_set
from tests.personas import World
from utfall.aggregates.models import (
    AnswerCount,
    CoverageByProviderUnit,
    FollowUpByProviderCaseMixYear,
    FollowUpByProviderUnitYear,
    FollowUpByUnit,
    FollowUpCount,
    InterventionOutcome,
    OutcomeByProviderUnit,
    OutcomeByProviderUnitYear,
    OutcomeByProviderYear,
    QuestionByProviderCaseMixYear,
    QuestionByProviderUnitCaseMixYear,
    QuestionByProviderUnitYear,
    QuestionByProviderYear,
    QuestionByUnit,
    QuestionByUnitCaseMixYear,
)
from utfall.aggregates.rebuild import check, rebuild
from utfall.core.services import create_api_token
from utfall.followups.disposal import dispose
from utfall.followups.forms import initial_for_correction
from utfall.followups.models import Answer, FollowUp
from utfall.instruments.models import Option, PublishedVersionIsReadOnly
from utfall.interchange.importer import import_files
from utfall.records.rules import catalogue_for
from utfall.registry.models import Intervention
from utfall.registry.services import change_intervention, check_intervention_change

pytestmark = pytest.mark.django_db


def assert_exact(world: World) -> None:
    for municipality in (world.municipality, world.other_municipality):
        result = check(municipality)
        assert result.ok, result.lines()


def api_post(client: Client, token: str, path: str, body: dict[str, object], key: str | None) -> object:
    headers = {"Authorization": f"Bearer {token}", **({"Idempotency-Key": key} if key else {})}
    return client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers)


def test_every_writer_keeps_the_counts_equal_to_a_rebuild(client: Client, world: World, write_csv) -> None:  # type: ignore[no-untyped-def]
    assert_exact(world)
    # The form: a completed follow-up, and one at the end with the plan's goals.
    client.force_login(world.caseworker)
    assert post_followup(client, world.interventions["overdue"]).status_code == 302
    ended = world.interventions["ended"]
    assert post_followup(client, ended, form_data(goals_total="3", goals_fully="2")).status_code == 302
    assert AnswerCount.objects.exists() and FollowUpCount.objects.exists()
    # The rollups by provider, case mix and year (the O/E's cells, 2026-12-04; the questions' n and
    # events without the option, 2026-12-05) are written and checked too.
    assert QuestionByProviderCaseMixYear.objects.filter(events__gt=0).exists()
    assert FollowUpByProviderCaseMixYear.objects.exists()
    # And those by provider, unit and year (a unit manager's counts, 2026-12-05).
    assert FollowUpByProviderUnitYear.objects.exists()
    # And a question's cells by provider, unit, case mix and year (a unit manager's O/E, 2026-12-06).
    assert QuestionByProviderUnitCaseMixYear.objects.filter(events__gt=0).exists()
    # And a question's n and events by provider, unit and year, without the option (2026-12-06).
    assert QuestionByProviderUnitYear.objects.filter(events__gt=0).exists()
    # And a question's n and events by provider and year, without the option (2026-12-07).
    assert QuestionByProviderYear.objects.filter(events__gt=0).exists()
    # And a question's n and events by unit and month, every provider summed (2026-12-07).
    assert QuestionByUnit.objects.filter(events__gt=0).exists()
    # And a question's cells by unit, case mix and year, every provider summed (2026-12-07).
    assert QuestionByUnitCaseMixYear.objects.filter(events__gt=0).exists()
    # And the follow-ups by unit and month, every provider summed (2026-12-07).
    assert FollowUpByUnit.objects.exclude(assessment="").exists()
    assert CoverageByProviderUnit.objects.exists() and OutcomeByProviderUnit.objects.exists()
    # And the outcome measures by provider (and unit) and year (2026-12-07): the plan's goals above.
    assert OutcomeByProviderYear.objects.filter(measure="goals_reached").exists()
    assert OutcomeByProviderUnitYear.objects.filter(measure="goals_reached").exists()
    assert_exact(world)

    # A correction in the form: the new version replaces the old in the counts.
    followup = FollowUp.objects.get(intervention=world.interventions["overdue"])
    data = {k: v for k, v in initial_for_correction(followup).items() if v not in (None, "")}
    data.update(date=followup.date.isoformat(), q3="no", assessment="deficient", reason="Felklick")
    assert client.post(f"/uppfoljningar/{followup.pk}/ratta/", data).status_code == 302
    assert_exact(world)

    # The API: a follow-up, its correction and a new intervention for the same client.
    token = create_api_token(user=world.caseworker, name="test")
    body = {"intervention_id": "I-FRESH", "respondent": "client", "status": "completed",
            "answers": {"q1": "yes_completely", "q2": "no"}, "assessment": "approved"}  # fmt: skip
    created = api_post(client, token, "/followups", body, "k-1")
    assert created.status_code == 201  # type: ignore[attr-defined]
    fid = created.json()["followup_id"]  # type: ignore[attr-defined]
    correction = {**body, "answers": {"q1": "no"}, "reason": "Felklick", "base_version": 1}
    assert api_post(client, token, f"/followups/{fid}/corrections", correction, None).status_code == 201  # type: ignore[attr-defined]
    assert_exact(world)

    # A provider move in the intervention form.
    municipality = world.municipality
    other = type(world.provider).objects.create(municipality=municipality, provider_id="P9", name="Annat hem")
    catalogue = catalogue_for(municipality_id=municipality.pk)
    record, issues = check_intervention_change(ended, {"provider_id": "P9"}, catalogue=catalogue)
    assert not issues and record is not None
    assert change_intervention(user=world.caseworker, intervention=ended, record=record, reason="Flytt")
    assert set(Answer.objects.filter(followup__intervention=ended).values_list("provider_id", flat=True)) == {
        other.pk
    }
    assert_exact(world)

    # An import, then an import --update that moves an intervention, redates a follow-up and
    # changes answers.
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY, update=True).ok
    assert_exact(world)
    moved = INTERVENTIONS[1].replace(",P1,C1,", ",P2,,")
    redated = FOLLOWUPS[1].replace("2025-07-01", "2025-08-09").replace("yes_completely", "no")
    report = import_files(
        [write_csv("interventions.csv", INTERVENTIONS[0], moved),
         write_csv("followups.csv", FOLLOWUPS[0], redated)],
        municipality=municipality, today=TODAY, update=True,
    )  # fmt: skip
    assert report.ok, report.issues
    assert_exact(world)

    # A new instrument version (published): the counts per question and option stay.
    client.force_login(make_admin(municipality))
    assert client.post("/instrument/stockholm-2021/ny-version/").status_code == 302
    published = client.post("/instrument/stockholm-2021/2/publicera/",
                            {"published_on": timezone.localdate().isoformat(), "confirm_loss": "on"})  # fmt: skip
    assert published.status_code == 302
    assert_exact(world)

    # Disposal anonymises and every count stays.
    assert dispose(today=dt.date(2040, 1, 1), years=5).interventions
    assert_exact(world)
    assert InterventionOutcome.objects.filter(intervention__ended_on__isnull=False).exists()


def test_the_check_names_a_difference_and_the_rebuild_repairs_it(
    client: Client, world: World, capsys
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    call_command("rebuild-aggregates".replace("-", "_"), "--check")
    assert "summeringarna stämmer" in capsys.readouterr().out
    AnswerCount.objects.filter(pk=AnswerCount.objects.order_by("pk").values("pk")[:1]).update(n=F("n") + 1)
    InterventionOutcome.objects.filter(intervention__municipality=world.municipality).delete()
    FollowUpByProviderCaseMixYear.objects.filter(municipality=world.municipality).update(n=F("n") + 3)
    FollowUpByProviderUnitYear.objects.filter(municipality=world.municipality).update(n=F("n") + 2)
    QuestionByProviderUnitCaseMixYear.objects.filter(municipality=world.municipality, events__gt=0).update(
        events=F("events") - 1
    )
    QuestionByProviderUnitYear.objects.filter(municipality=world.municipality).update(events=F("events") + 1)
    QuestionByUnit.objects.filter(municipality=world.municipality, n__gt=0).update(n=F("n") - 1)
    QuestionByProviderYear.objects.filter(municipality=world.municipality, n__gt=0).update(n=F("n") + 5)
    QuestionByUnitCaseMixYear.objects.filter(municipality=world.municipality).update(events=F("events") + 2)
    FollowUpByUnit.objects.filter(municipality=world.municipality).update(n=F("n") + 4)
    OutcomeByProviderYear.objects.filter(municipality=world.municipality).update(n=F("n") + 1)
    OutcomeByProviderUnitYear.objects.filter(municipality=world.municipality).update(n=F("n") + 2)
    with pytest.raises(CommandError, match="skiljer sig"):
        call_command("rebuild_aggregates", "--check", "--municipality", world.municipality.code)
    out = capsys.readouterr().out
    assert "answercount (" in out and "rebuild 1, stored 2" in out and "outcomes" in out
    assert "followupbyprovidercasemixyear (" in out
    assert "followupbyproviderunityear (" in out
    assert "questionbyproviderunitcasemixyear.events (" in out
    assert "questionbyproviderunityear.events (" in out
    assert "questionbyunit (" in out and "questionbyunitcasemixyear.events (" in out
    assert "questionbyprovideryear (" in out
    assert "followupbyunit (" in out
    assert "outcomebyprovideryear (" in out and "outcomebyproviderunityear (" in out
    call_command("rebuild_aggregates", "--municipality", world.municipality.code)
    assert_exact(world)
    rebuild(world.municipality)  # again: the same rows
    assert_exact(world)


def test_a_new_intervention_changes_the_step_down_of_the_clients_earlier_one(world: World) -> None:
    ended = world.interventions["ended"]
    before = InterventionOutcome.objects.get(intervention=ended)
    assert before.next_service_id is None
    later = Intervention.objects.create(
        municipality=world.municipality, intervention_id="I-NEXT", client=ended.client,
        service=ended.service, provider=ended.provider, unit=ended.unit, decided_on=ended.ended_on,
        started_on=ended.ended_on + dt.timedelta(days=10),  # type: ignore[operator]
    )  # fmt: skip
    from utfall.core.changes import announce_data_changed

    announce_data_changed(world.municipality.pk, [later.pk])
    after = InterventionOutcome.objects.get(intervention=ended)
    assert (after.next_service_id, after.next_after_days) == (ended.service_id, 10)
    assert_exact(world)


def test_a_single_save_outside_a_bracket_is_counted_once(client: Client, world: World) -> None:
    """The admin or a fixture saving one follow-up or client: the model signals bracket it."""
    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    first = FollowUp.objects.get()
    second = FollowUp.objects.create(
        municipality=world.municipality, followup_id="F-ADMIN", intervention=first.intervention,
        date=first.date, instrument_version=first.instrument_version, respondent="client",
        status="declined",
    )  # fmt: skip
    assert_exact(world)
    second.delete()
    assert_exact(world)
    ended = world.interventions["ended"]  # the admin moves an end: the outcomes follow
    ended.ended_on = ended.started_on + dt.timedelta(days=30)
    ended.save()
    assert_exact(world)


def test_the_question_cells_count_by_the_options_flags_which_cannot_change_once_answered(
    client: Client, world: World
) -> None:
    """The question cells (2026-12-05) hold n and events per question without the option, folded
    through the options' flags: n the answers whose option counts ("don't know" does not), events
    those whose option counts and is positive, counted here from the answers themselves. An
    answered option belongs to a published version, which is frozen: its flags cannot change, so
    the cells never need to follow them (the admin's refusal: tests/web/test_pages.py)."""
    client.force_login(world.caseworker)
    assert post_followup(client, world.interventions["overdue"], form_data(q1="dont_know")).status_code == 302
    answers = Answer.objects.filter(municipality=world.municipality)
    assert answers.filter(option__counts=False).exists() and answers.filter(option__positive=True).exists()
    for question in set(answers.values_list("question_id", flat=True)):
        cells = QuestionByProviderCaseMixYear.objects.filter(question_id=question)
        of_question = answers.filter(question_id=question, option__counts=True)
        assert sum(cells.values_list("n", flat=True)) == of_question.count()
        assert (
            sum(cells.values_list("events", flat=True)) == of_question.filter(option__positive=True).count()
        )
    answered = Option.objects.get(pk=answers.filter(option__positive=True).values("option_id")[:1])
    answered.positive, answered.counts = False, False
    with pytest.raises(PublishedVersionIsReadOnly):
        answered.save()
    answered.refresh_from_db()
    assert answered.positive and answered.counts
    assert_exact(world)


def test_a_brackets_share_is_read_through_its_own_follow_ups(client: Client, world: World) -> None:
    """The share of a bracket's scope is read by the follow-ups' intervention index, never by
    the municipality's period covers: an import of interventions grew slower with every
    answer the municipality held (7,321 s for 547,444 interventions in the 1M build)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.aggregates import counts

    client.force_login(world.caseworker)
    post_followup(client, world.interventions["overdue"])
    scope = [world.interventions["overdue"].pk, world.interventions["ended"].pk]
    with CaptureQueriesContext(connection) as captured:
        answers, followups = counts.share(world.municipality.pk, scope)
    assert sum(answers.values()) == Answer.objects.count() and sum(followups.values()) == 1
    if connection.vendor != "sqlite":
        return  # PostgreSQL's plan for a test's few rows says nothing about a large table's
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
            plans += [row[3] for row in cursor.fetchall()]
    assert plans
    assert not [p for p in plans if "municipality_id=?" in p or p.startswith("SCAN followups_")], plans


def test_an_import_of_new_interventions_reads_no_counts_and_stores_the_clients_outcomes(
    world: World,
    write_csv,  # type: ignore[no-untyped-def]
) -> None:
    """New interventions have no follow-ups while the interventions are written (follow-ups
    come after every intervention): their share is not read (it was ~20 % of the import's
    CPU), but their clients' other interventions get their outcomes again."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from utfall.core.pseudonyms import PSEUDONYM_PREFIX

    municipality = world.municipality
    assert import_files(write_set(write_csv), municipality=municipality, today=TODAY, update=True).ok
    first = Intervention.objects.get(municipality=municipality, intervention_id="I1")  # ended 2025-12-20
    again = f"I4,{PSEUDONYM_PREFIX}{first.client.pseudonym},,,hvb_youth,P1,C1,sodermalm,2026-01-05,2026-01-10,,,,,"
    with CaptureQueriesContext(connection) as captured:
        report = import_files(
            [write_csv("interventions.csv", INTERVENTIONS[0], again)], municipality=municipality, today=TODAY
        )
    assert report.ok, report.issues
    assert report.created == {"interventions": 1}
    outcome = InterventionOutcome.objects.get(intervention=first)
    assert (outcome.next_after_days, outcome.back_after_days) == (21, 21)
    read = [q["sql"] for q in captured.captured_queries if "followups_answer" in q["sql"]]
    assert read == []
    assert_exact(world)


def test_a_clients_rows_by_client_follow_its_follow_ups_in_and_out(client: Client, world: World) -> None:
    """The rollups by client hold a client's rows only while another follow-up is in the same
    calendar year (``quarterly``: quarter): a second follow-up brings the first one's rows in, a
    correction to another quarter or year moves them, a deletion takes them out, every writer
    equal to a rebuild (2026-12-03)."""
    from utfall.aggregates.models import AnswerByClient, FollowUpByClient

    def flags() -> tuple[set[bool], set[bool]]:
        return (set(AnswerByClient.objects.values_list("quarterly", flat=True)),
                set(FollowUpByClient.objects.values_list("quarterly", flat=True)))  # fmt: skip

    client.force_login(world.caseworker)
    overdue = world.interventions["overdue"]
    today = timezone.localdate()
    first_day = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    assert post_followup(client, overdue, form_data(date=first_day.isoformat())).status_code == 302
    assert flags() == (set(), set())  # one follow-up: a single answer in every period
    assert_exact(world)
    assert post_followup(client, overdue, form_data(date=today.isoformat())).status_code == 302
    assert flags() == ({True}, {True})  # the first one's rows came in with the second's
    assert_exact(world)

    # A correction to the previous quarter of the same year (or the year before, in January–March).
    followup = FollowUp.objects.filter(intervention=overdue).order_by("date").first()
    assert followup is not None
    earlier = first_day - dt.timedelta(days=1)
    data = {k: v for k, v in initial_for_correction(followup).items() if v not in (None, "")}
    data.update(date=earlier.isoformat(), reason="Fel datum")
    assert client.post(f"/uppfoljningar/{followup.pk}/ratta/", data).status_code == 302
    assert flags() == (({False}, {False}) if earlier.year == today.year else (set(), set()))
    assert_exact(world)

    # The admin deletes the other one: nothing by client is left.
    FollowUp.objects.filter(intervention=overdue).order_by("-date").first().delete()  # type: ignore[union-attr]
    assert flags() == (set(), set())
    assert_exact(world)


def test_an_import_brings_earlier_follow_ups_into_the_rows_by_client(
    world: World, write_csv, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """An import's new follow-ups are added to the rollups by client from memory, and a client
    whose earlier follow-up now has another in its year (quarter) has its rows replaced: equal
    to a rebuild after each import (2026-12-03)."""
    from utfall.aggregates.models import AnswerByClient

    municipality = world.municipality
    files = write_set(write_csv)
    first = [write_csv("followups.csv", FOLLOWUPS[0], FOLLOWUPS[1])]  # F1, 2025-07-01, alone
    assert import_files([*files[:3], *first], municipality=municipality, today=TODAY, update=True).ok
    assert not AnswerByClient.objects.exists()
    assert_exact(world)
    second = write_csv("followups.csv", FOLLOWUPS[0], FOLLOWUPS[2])  # F2, 2025-12-20: the same year
    assert import_files([second], municipality=municipality, today=TODAY, update=True).ok
    assert set(AnswerByClient.objects.values_list("quarterly", flat=True)) == {False}
    july = AnswerByClient.objects.filter(month=dt.date(2025, 7, 1))
    assert july.exists()  # F1's rows, brought in by F2
    assert_exact(world)
    third = FOLLOWUPS[1].replace("F1,", "F9,").replace("2025-07-01", "2025-08-15")  # F1's quarter
    assert import_files([write_csv("followups.csv", FOLLOWUPS[0], third)], municipality=municipality,
                        today=TODAY, update=True).ok  # fmt: skip
    assert set(AnswerByClient.objects.values_list("quarterly", flat=True)) == {False, True}
    assert_exact(world)
