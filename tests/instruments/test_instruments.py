from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.instruments.helpers import INSTRUMENTS, completed, make_admin
from tests.personas import World, make_intervention
from utfall.comparisons.indicators import all_indicators
from utfall.followups.models import Answer, FollowUp
from utfall.followups.services import instrument_for, instruments_for
from utfall.instruments.models import InstrumentVersion, QuestionFeedback

pytestmark = pytest.mark.django_db


def test_it_ships_every_target_group_instrument_published_with_its_services() -> None:
    for code, (service, respondent, answers, _indicator) in INSTRUMENTS.items():
        version = InstrumentVersion.objects.get(instrument__code=code, version=1)
        assert version.is_read_only and version.published_on is not None
        assert service in set(version.services.values_list("code", flat=True))
        assert respondent in version.respondents
        assert set(version.questions.values_list("code", flat=True)) == set(answers)


def test_it_keeps_question_codes_distinct_across_instruments() -> None:
    seen: dict[str, str] = {}
    for version in InstrumentVersion.objects.select_related("instrument"):
        for code in version.questions.values_list("code", flat=True):
            assert seen.setdefault(code, version.instrument.code) == version.instrument.code


def test_it_has_an_indicator_for_every_target_group_question() -> None:
    covered = {(i.instrument, i.question) for i in all_indicators().values() if i.kind == "question"}
    for code, (_service, _respondent, answers, _indicator) in INSTRUMENTS.items():
        assert {(code, q) for q in answers} <= covered


def test_it_offers_the_general_instrument_first_and_the_target_group_one_on_choice(world: World) -> None:
    hvb = world.interventions["overdue"]
    offered = [v.instrument.code for v in instruments_for(hvb)]
    assert offered == ["stockholm-2021", "children-youth-2026"]
    assert instrument_for(hvb).instrument.code == "stockholm-2021"
    assert instrument_for(hvb, "children-youth-2026").instrument.code == "children-youth-2026"
    # An instrument that does not apply to the service is never used.
    assert instrument_for(hvb, "addiction-2026").instrument.code == "stockholm-2021"


@pytest.mark.parametrize("code", list(INSTRUMENTS))
def test_it_records_each_instrument_from_the_form_and_compares_it(
    client: Client, world: World, code: str
) -> None:
    service, _respondent, answers, indicator = INSTRUMENTS[code]
    intervention = make_intervention(
        world, f"I-{code}", world.norr, started_days_ago=200, service=service, n=9
    )
    client.force_login(world.caseworker)
    url = f"/uppfoljningar/ny/{intervention.pk}/?instrument={code}"
    html = client.get(url).content.decode()
    assert f'name="{next(iter(answers))}"' in html and 'name="q1"' not in html
    assert "{provider}" not in html and "Hur frågar jag?" in html
    response = client.post(url, completed(code))
    assert response.status_code == 302, response.content.decode()[:2000]
    followup = FollowUp.objects.get(intervention=intervention)
    assert followup.instrument_version.instrument.code == code
    stored = dict(Answer.objects.filter(followup=followup).values_list("question__code", "option__code"))
    assert stored == answers
    out = io.StringIO()
    today = timezone.localdate()
    call_command("compare", "--indicator", indicator, "--from", str(today - dt.timedelta(days=30)),
                 "--to", str(today), "--municipality", world.municipality.code, "--format", "json", stdout=out)  # fmt: skip
    data = json.loads(out.getvalue())
    assert data["comparability"] == {"versions": [f"{code}@1"], "excluded_versions": [], "note": ""}
    assert [r["group"] for r in data["rows"]] == [world.provider.provider_id]


def test_it_rejects_an_answer_that_is_not_an_option_of_the_chosen_instrument(
    client: Client, world: World
) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    url = f"/uppfoljningar/ny/{intervention.pk}/?instrument=children-youth-2026"
    response = client.post(url, completed("children-youth-2026", cy_safe="much_better"))
    assert response.status_code == 422
    assert not FollowUp.objects.filter(intervention=intervention).exists()


def test_it_stores_pilot_feedback_on_the_marked_questions(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    url = f"/uppfoljningar/ny/{intervention.pk}/?instrument=children-youth-2026"
    response = client.post(url, completed("children-youth-2026", hard_cy_school="on"))
    assert response.status_code == 302
    feedback = QuestionFeedback.objects.get()
    assert feedback.question.code == "cy_school" and feedback.municipality == world.municipality
    assert feedback.followup.intervention == intervention


def test_it_shows_pilot_feedback_per_question_and_version(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    intervention = world.interventions["overdue"]
    client.post(f"/uppfoljningar/ny/{intervention.pk}/?instrument=children-youth-2026",
                completed("children-youth-2026", hard_cy_school="on"))  # fmt: skip
    client.force_login(world.analyst)
    html = client.get("/instrument/pilot/").content.decode()
    assert "children-youth-2026@1" in html and "Är du nöjd med hur det går för dig i skolan?" in html
    assert "100 %" in html


@pytest.mark.parametrize("persona", ["caseworker", "outsider"])
def test_it_keeps_the_pilot_page_from_caseworkers_and_outsiders(
    client: Client, world: World, persona: str
) -> None:
    client.force_login(getattr(world, persona))
    assert client.get("/instrument/pilot/").status_code == 403


def test_it_links_each_question_to_its_method_support(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    html = client.get(f"/uppfoljningar/ny/{world.interventions['overdue'].pk}/").content.decode()
    # Each question's link, and once (reachable by Tab) the version's guidance, which links the method.
    assert 'href="/metodstod/stockholm-2021/?version=1#fraga-q4"' in html
    assert 'href="/metodstod/stockholm-2021/?version=1"' in html
    guidance = client.get("/metodstod/stockholm-2021/").content.decode()
    assert 'href="/metodstod/"' in guidance
    assert 'id="fraga-q4"' in guidance and "Räknas som positivt:" in guidance
    assert "Vad frågan betyder:" in guidance and "{provider}" not in guidance
    method = client.get("/metodstod/").content.decode()
    assert "Den samlade bedömningen" in method and 'href="/metodstod/children-youth-2026/"' in method


def test_it_requires_login_for_method_support(client: Client) -> None:
    assert client.get("/metodstod/").status_code == 302
    assert client.get("/metodstod/okant/").status_code == 302


def test_it_answers_404_for_an_unknown_instruments_method_support(client: Client, world: World) -> None:
    client.force_login(make_admin(world.municipality))
    assert client.get("/metodstod/okant/").status_code == 404
