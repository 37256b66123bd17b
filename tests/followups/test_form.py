from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from tests.followups.helpers import COMPLETED, DECLINED, form_data, post_followup
from tests.personas import World
from utfall.core.models import AuditEntry, IdempotencyKey
from utfall.followups.models import Answer, FollowUp

pytestmark = pytest.mark.django_db


def test_it_generates_the_form_from_the_instrument_with_the_provider_in_place_of_x(
    client: Client, world: World
) -> None:
    client.force_login(world.caseworker)
    html = client.get(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/").content.decode()
    assert "Har du kunnat vara med och påverka stödet du fått från Solgläntans HVB?" in html
    assert "{provider}" not in html
    # Status first, then respondent, then the questions, then the assessment.
    positions = [
        html.index(s) for s in ('name="status"', 'name="respondent"', 'name="q1"', 'name="assessment"')
    ]
    assert positions == sorted(positions)
    assert 'data-condition-question="q4" data-condition-options="much_better somewhat_better"' in html
    # Shown without JavaScript, naming the question and the answers it depends on.
    assert "Frågan ställs bara när fråga 4 besvaras med: Förbättrats mycket, Förbättrats något." in html
    assert "Har utföraren arbetat enligt plan" in html
    assert 'name="goals_total"' not in html  # only at the end


def test_the_form_names_its_questionnaire_in_words_not_by_its_code(client: Client, world: World) -> None:
    """The walk of 2026-12-02: the form's foot said "Frågeformulär: stockholm-2021@1.", a code."""
    from utfall.instruments.models import InstrumentVersion

    client.force_login(world.caseworker)
    html = unescape(client.get(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/").content.decode())
    version = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    assert f"Frågeformulär: {version.instrument.name}, version 1" in html
    assert "stockholm-2021@1" not in html


def test_it_asks_for_the_plans_goals_at_the_end(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    ended = world.interventions["ended"]
    assert 'name="goals_total"' in client.get(f"/uppfoljningar/ny/{ended.pk}/").content.decode()
    response = post_followup(client, ended, form_data(goals_total="3", goals_fully="1", goals_partly="1"))
    assert response.status_code == 302
    ended.refresh_from_db()
    assert (ended.goals_total, ended.goals_fully, ended.goals_partly) == (3, 1, 1)


def test_it_records_a_completed_followup(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    response = post_followup(client, intervention)
    followup = FollowUp.objects.get(intervention=intervention)
    assert response.status_code == 302
    assert response["Location"] == f"/uppfoljningar/{followup.pk}/"
    assert followup.status == "completed" and followup.assessment == "approved"
    assert followup.created_by == world.caseworker and followup.version == 1
    assert followup.form_seconds is not None and followup.minutes == 1
    answers = dict(Answer.objects.filter(followup=followup).values_list("question__code", "option__code"))
    assert answers == {k: COMPLETED[k] for k in ("q1", "q2", "q3", "q4", "q5")}
    assert all(a.municipality_id == world.municipality.pk for a in followup.answers.all())
    page = client.get(response["Location"]).content.decode()
    assert "Uppföljningen är sparad." in page and "Godkänt" in page


def test_it_records_a_declined_followup_without_answers(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions["overdue"], form_data(DECLINED))
    assert response.status_code == 302
    followup = FollowUp.objects.get()
    assert followup.status == "declined" and not followup.answers.exists() and followup.assessment == ""


def test_it_records_the_time_from_opening_to_submitting(client: Client, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.caseworker)
    data = form_data()
    later = timezone.now() + dt.timedelta(minutes=4, seconds=10)
    monkeypatch.setattr("utfall.followups.forms.timezone.now", lambda: later)
    post_followup(client, world.interventions["overdue"], data)
    followup = FollowUp.objects.get()
    assert 245 <= followup.form_seconds <= 260 and followup.minutes == 4


def test_it_creates_one_followup_when_the_form_is_sent_twice(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    data = form_data()
    first = post_followup(client, world.interventions["overdue"], data)
    second = post_followup(client, world.interventions["overdue"], data)
    assert FollowUp.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert "inget sparades två gånger" in client.get(second["Location"]).content.decode()


def test_it_names_the_field_and_keeps_what_was_typed(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions["overdue"], form_data(assessment=""))
    assert response.status_code == 422
    html = response.content.decode()
    assert (
        'href="#group-assessment">Samlad bedömning av utföraren</a>: Välj en samlad bedömning när uppföljningen är genomförd.'
        in html
    )
    assert 'value="yes_completely" id="id_q1_0" checked' in html  # what was chosen stays chosen
    assert not FollowUp.objects.exists()


def test_it_refuses_question_5_unless_question_4_says_improved(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(
        client, world.interventions["overdue"], form_data(q4="unchanged", q5="very_large")
    )
    assert response.status_code == 422
    assert "Frågan ställs bara efter vissa svar på fråga 4; ta bort svaret." in unescape(
        response.content.decode()
    )
    response = post_followup(client, world.interventions["overdue"], form_data(q4="unchanged", q5=None))
    assert response.status_code == 302


def test_it_refuses_answers_on_a_declined_followup(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions["overdue"], form_data(DECLINED, q1="no"))
    assert response.status_code == 422
    assert "Klientens svar sparas bara när uppföljningen är genomförd" in response.content.decode()


def test_it_refuses_a_future_date_and_a_forged_token(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = post_followup(client, world.interventions["overdue"], form_data(date=tomorrow))
    assert response.status_code == 422 and "ligger i framtiden" in response.content.decode()
    response = post_followup(client, world.interventions["overdue"], form_data(token="forged"))
    assert response.status_code == 422 and "Ladda om sidan" in response.content.decode()
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_it_refuses_other_methods(client: Client, world: World, method: str) -> None:
    client.force_login(world.caseworker)
    assert (
        getattr(client, method)(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/").status_code == 405
    )


@pytest.mark.parametrize(
    ("persona", "status"),
    [("other_unit", 404), ("foreign", 404), ("analyst", 403), ("procurement", 403), ("outsider", 403)],
)
def test_it_lets_no_one_else_record_a_followup(
    client: Client, world: World, persona: str, status: int
) -> None:
    client.force_login(getattr(world, persona))
    url = f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/"
    assert client.get(url).status_code == status
    assert post_followup(client, world.interventions["overdue"]).status_code == status
    assert not FollowUp.objects.exists()


def test_it_sends_a_signed_out_visitor_to_sign_in(client: Client, world: World) -> None:
    response = post_followup(client, world.interventions["overdue"])
    assert response.status_code == 302 and response["Location"].startswith("/logga-in/")
    assert not FollowUp.objects.exists()


def test_a_colleague_in_the_same_unit_may_follow_up(client: Client, world: World) -> None:
    client.force_login(world.colleague)
    assert post_followup(client, world.interventions["overdue"]).status_code == 302


def test_it_audits_the_form_and_the_submission(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    client.get(f"/uppfoljningar/ny/{intervention.pk}/")
    post_followup(client, intervention)
    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "kind", "record_ids", "username"))
    assert entries[:2] == [
        ("view", "interventions", ["I-OVERDUE"], "cw"),
        ("create", "interventions", ["I-OVERDUE"], "cw"),
    ]


def test_a_completed_followup_without_answers_asks_why_and_records_it(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    bare = form_data(q1=None, q2=None, q3=None, q4=None, q5=None)
    response = post_followup(client, intervention, bare)
    assert response.status_code == 422
    html = unescape(response.content.decode())
    assert "ingen av klientens frågor är besvarad" in html.lower()
    assert 'name="no_answer_reason"' in html
    assert not FollowUp.objects.filter(intervention=intervention).exists()
    response = post_followup(client, intervention, {**bare, "no_answer_reason": "could_not_answer"})
    assert response.status_code == 302
    followup = FollowUp.objects.get(intervention=intervention)
    assert followup.no_answer_reason == "could_not_answer" and not followup.answers.exists()
    page = unescape(client.get(response["Location"]).content.decode())
    assert "Klienten kunde inte svara" in page


def test_the_no_answer_question_stays_out_of_the_way(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    html = client.get(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/").content.decode()
    assert 'name="no_answer_reason"' not in html
    response = post_followup(client, world.interventions["overdue"], form_data(no_answer_reason="other"))
    followup = FollowUp.objects.get(intervention=world.interventions["overdue"])
    assert response.status_code == 302 and followup.no_answer_reason == ""  # answered: no reason


def test_a_followup_prints_in_words_with_its_instrument_version(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions["overdue"])
    followup = FollowUp.objects.get(intervention=world.interventions["overdue"])
    page = unescape(client.get(response["Location"]).content.decode())
    version = followup.instrument_version
    assert f"{version.instrument.name}, version {version.version}" in page
    assert "Har utföraren arbetat enligt plan och informerat om när plan inte kunnat hållas?" in page
    assert "Känner du dig nöjd med stödet du får från Solgläntans HVB?" in page
    assert "data-print" in page and "för personakten" in page
    assert "yes_somewhat" not in page  # answers in words, never codes
