"""Alerts on one follow-up (seed 003): who sees them, why, and "plan reviewed"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.comparisons.builders import DataSet
from tests.followups.helpers import form_data, post_followup
from tests.personas import World, make_user
from utfall.core.models import AuditEntry
from utfall.followups.models import FollowUp
from utfall.organisations.models import Role, Unit
from utfall.oversight.alerts import alerting
from utfall.oversight.models import PlanReview

pytestmark = pytest.mark.django_db


def _post(world: World, intervention: str, **answers: Any) -> FollowUp:
    client = Client()
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions[intervention], form_data(**answers))
    assert response.status_code == 302, response.content.decode()[:2000]
    return FollowUp.objects.filter(intervention=world.interventions[intervention]).latest("pk")


def _start(client: Client, user: Any) -> str:
    client.force_login(user)
    return client.get("/").content.decode()


def test_a_deficient_assessment_alerts_the_units_case_roles_only_until_the_plan_is_reviewed(
    world: World, client: Client
) -> None:
    followup = _post(world, "overdue", assessment="deficient")
    for user in (world.caseworker, world.colleague, world.manager):
        html = _start(client, user)
        assert "Larm på uppföljningar (1)" in html
        assert f"/larm/{followup.pk}/" in html and f"/insatser/{followup.intervention_id}/" in html
    assert "Larm på uppföljningar (0)" in _start(client, world.other_unit)
    assert "Larm på uppföljningar" not in _start(client, world.analyst)
    listed = AuditEntry.objects.filter(kind="followups", action="list", record_ids=[followup.followup_id])
    assert listed.count() >= 3  # each start page that showed it
    client.force_login(world.other_unit)
    assert client.get(f"/larm/{followup.pk}/").status_code == 404
    client.force_login(world.manager)
    page = client.get(f"/larm/{followup.pk}/").content.decode()
    assert "Samlad bedömning: Bristande" in page
    future = client.post(f"/larm/{followup.pk}/", {"reviewed_on": "2099-01-01", "note": "x"})
    assert future.status_code == 400 and "Datumet ligger i framtiden." in future.content.decode()
    empty = client.post(
        f"/larm/{followup.pk}/", {"reviewed_on": timezone.localdate().isoformat(), "note": ""}
    )
    assert "Anteckning</a>: Skriv en kort anteckning" in empty.content.decode()
    done = client.post(f"/larm/{followup.pk}/", {"reviewed_on": timezone.localdate().isoformat(),
                                                 "note": "Genomförandeplanen ändrad; nytt uppdrag till utföraren."})  # fmt: skip
    assert done.status_code == 302
    review = PlanReview.objects.get()
    assert (review.followup_id, review.reviewed_by) == (followup.pk, world.manager)
    for user in (world.caseworker, world.manager):
        assert "Larm på uppföljningar (0)" in _start(client, user)
    again = client.post(
        f"/larm/{followup.pk}/", {"reviewed_on": timezone.localdate().isoformat(), "note": "igen"}
    )
    assert again.status_code == 400 and "redan markerad som genomgången" in again.content.decode()
    assert PlanReview.objects.count() == 1


@pytest.mark.parametrize(
    ("answers", "alerts"),
    [
        ({"q1": "no"}, True),
        ({"q2": "no"}, True),
        ({"q3": "no"}, True),
        ({"q3": "yes_somewhat", "q4": "much_worse", "q5": None}, False),  # q4 is not one of the three
        ({}, False),
    ],
)
def test_no_not_at_all_to_one_of_the_first_three_questions_alerts(
    world: World, answers: dict[str, str], alerts: bool
) -> None:
    followup = _post(world, "overdue", **answers)
    found = alerting(FollowUp.objects.filter(pk=followup.pk), today=timezone.localdate())
    assert found.exists() is alerts


def test_a_childs_negative_answer_to_a_safety_question_alerts(municipality: Any) -> None:
    # A follow-up may only use a version valid on its date (issue 17 point 20): here the
    # children's instrument was in use from 2026 (past the model's guard on published versions).
    from utfall.instruments.models import InstrumentVersion

    InstrumentVersion.objects.filter(instrument__code="family-child-2026").update(
        published_on=dt.date(2026, 1, 1)
    )
    data = DataSet()
    data.provider("IHF1")
    for answer, iid in (("no", "I-UNSAFE"), ("yes", "I-SAFE")):
        data.intervention(iid, "IHF1", service="ihf", started_on="2026-01-02", decided_on="2026-01-01")
        data.followup(iid, date="2026-06-01", instrument="family-child-2026@1", fc_safe_home=answer,
                      fc_better_home="yes", fc_listened="yes")  # fmt: skip
    data.load(municipality)
    unit = Unit.objects.get(municipality=municipality, code="sodermalm")
    worker = make_user("ihf-cw", municipality, [unit], Role.CASEWORKER)
    from utfall.oversight.alerts import alerts_for, reasons

    found = list(alerts_for(worker, today=timezone.localdate()))
    assert [f.intervention.intervention_id for f in found] == ["I-UNSAFE"]
    assert reasons(found[0]) == ["Känner du dig trygg hemma nu? – Nej"]


def test_the_start_pages_alerts_are_in_english_when_asked(world: World, client: Client) -> None:
    """The walk of 2026-12-02: the caseworker's and manager's start page kept its alerts in Swedish
    in the English interface (heading, explanation, column headings, "Gå igenom planen")."""
    followup = _post(world, "overdue", assessment="deficient")
    client.force_login(world.caseworker)
    client.cookies["django_language"] = "en"
    html = client.get("/").content.decode()
    assert "Alerts on follow-ups (1)" in html and ">Review the plan<" in html and ">Unit</th>" in html
    swedish = (
        "Larm på uppföljningar",
        "Gå igenom planen",
        "Uppföljningar med samlad",
        "Larm som väntar",
        ">Enhet<",
    )
    assert [s for s in swedish if s in html] == []
    assert f'class="nowrap" href="/uppfoljningar/{followup.pk}/"' in html  # a readable id on one line
