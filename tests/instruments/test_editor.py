from __future__ import annotations

import datetime as dt

import pytest
import yaml
from django.test import Client
from django.utils import timezone

from tests.followups.helpers import post_followup
from tests.instruments.helpers import make_admin
from tests.personas import World
from utfall.comparisons.indicators import get_indicator
from utfall.comparisons.queries import aggregate
from utfall.comparisons.services import compare
from utfall.followups.models import Answer, FollowUp
from utfall.instruments.loading import definition_of
from utfall.instruments.models import InstrumentVersion

pytestmark = pytest.mark.django_db
NEW = "/instrument/stockholm-2021/ny-version/"
V2 = "/instrument/stockholm-2021/2/"


@pytest.fixture
def admin_client(client: Client, world: World) -> Client:
    client.force_login(make_admin(world.municipality))
    return client


def _definition(version: InstrumentVersion, **changes: str) -> str:
    data = definition_of(version)
    for q in data["questions"]:
        if q["code"] in changes:
            q["text"] = changes[q["code"]]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _edit(client: Client, version: InstrumentVersion, definition: str) -> object:
    services = list(version.services.values_list("pk", flat=True))
    return client.post(
        f"{V2}redigera/text/",
        {"definition": definition, "respondents": ["client", "guardian"], "services": services},
    )


def _publish(client: Client, on: dt.date | None = None) -> object:
    # Confirmed: the page has shown which history is no longer compared (tested on its own).
    data = {"published_on": (on or timezone.localdate()).isoformat(), "confirm_loss": "on"}
    return client.post(f"{V2}publicera/", data)


def test_it_creates_a_draft_copied_from_the_newest_version(admin_client: Client) -> None:
    response = admin_client.post(NEW)
    assert response.status_code == 302 and response["Location"] == f"{V2}redigera/"
    v1 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    assert v2.status == "draft" and definition_of(v2) == definition_of(v1)
    assert set(v2.services.all()) == set(v1.services.all())


def test_it_refuses_a_get_to_create_a_version(admin_client: Client) -> None:
    assert admin_client.get(NEW).status_code == 405


@pytest.mark.parametrize("persona", ["caseworker", "analyst", "outsider"])
def test_it_keeps_the_editor_from_everyone_but_administrators(
    client: Client, world: World, persona: str
) -> None:
    client.force_login(getattr(world, persona))
    assert client.post(NEW).status_code == 403
    assert client.get("/instrument/").status_code == 403
    assert (
        client.post("/instrument/stockholm-2021/1/publicera/", {"published_on": "2030-01-01"}).status_code
        == 403
    )
    assert not InstrumentVersion.objects.filter(version=2).exists()


def test_it_saves_a_drafts_edited_questions(admin_client: Client) -> None:
    admin_client.post(NEW)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    response = _edit(admin_client, v2, _definition(v2, q3="Är du nöjd med {provider}?"))
    assert response.status_code == 302
    assert v2.questions.get(code="q3").text == "Är du nöjd med {provider}?"
    page = admin_client.get(V2).content.decode()
    assert "Jämförbarhet med föregående version" in page and "q3" in page


def test_it_shows_what_is_wrong_with_a_definition_and_changes_nothing(admin_client: Client) -> None:
    admin_client.post(NEW)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    before = definition_of(v2)
    bad = _definition(v2).replace("question: q4", "question: q9")
    response = _edit(admin_client, v2, bad)
    assert response.status_code == 422
    assert "villkoret ska gälla en tidigare fråga" in response.content.decode()
    assert _edit(admin_client, v2, "questions: [").status_code == 422
    assert definition_of(v2) == before


def test_it_previews_the_form_exactly_as_the_caseworker_sees_it(admin_client: Client) -> None:
    admin_client.post(NEW)
    html = admin_client.get(f"{V2}forhandsvisning/").content.decode()
    assert "Har du kunnat vara med och påverka stödet du fått från Exempelutföraren?" in html
    assert 'id="group-q5"' in html and 'data-condition-question="q4"' in html
    assert "Tyckte klienten att någon fråga var svår att förstå?" in html
    assert "Spara uppföljningen" not in html  # nothing is saved from the preview


def test_it_publishes_a_draft_with_a_start_date(admin_client: Client) -> None:
    admin_client.post(NEW)
    start = timezone.localdate() + dt.timedelta(days=7)
    response = _publish(admin_client, start)
    assert response.status_code == 302
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    assert v2.is_read_only and v2.published_on == start


def test_it_refuses_a_start_date_in_the_past(admin_client: Client) -> None:
    admin_client.post(NEW)
    response = _publish(admin_client, timezone.localdate() - dt.timedelta(days=1))
    assert response.status_code == 422
    assert InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2).status == "draft"


def test_it_refuses_a_get_to_publish(admin_client: Client) -> None:
    admin_client.post(NEW)
    assert admin_client.get(f"{V2}publicera/").status_code == 405


def test_it_never_changes_a_published_version_through_the_editor(admin_client: Client) -> None:
    v1 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)
    before = (definition_of(v1), v1.published_on)
    response = admin_client.post(
        "/instrument/stockholm-2021/1/redigera/",
        {"definition": _definition(v1, q1="Ändrad?"), "respondents": ["client"], "services": []},
    )
    assert response.status_code == 302 and response["Location"] == "/instrument/stockholm-2021/1/"
    admin_client.post("/instrument/stockholm-2021/1/publicera/", {"published_on": "2030-01-01"})
    v1.refresh_from_db()
    assert (definition_of(v1), v1.published_on) == before


def test_it_keeps_answers_to_version_1_when_version_2_is_published(
    client: Client, admin_client: Client, world: World
) -> None:
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    assert post_followup(caseworker, world.interventions["overdue"]).status_code == 302
    followup = FollowUp.objects.get()
    answers_before = list(Answer.objects.values_list("pk", "question_id", "option_id", "date"))
    admin_client.post(NEW)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    _edit(admin_client, v2, _definition(v2, q3="Är du nöjd med {provider}?"))
    assert _publish(admin_client).status_code == 302
    followup.refresh_from_db()
    assert followup.instrument_version.version == 1
    assert list(Answer.objects.values_list("pk", "question_id", "option_id", "date")) == answers_before
    # The detail page still shows the version 1 wording.
    assert (
        "Känner du dig nöjd med stödet" in caseworker.get(f"/uppfoljningar/{followup.pk}/").content.decode()
    )


def test_it_compares_across_versions_only_where_question_and_positive_options_are_the_same(
    admin_client: Client, world: World
) -> None:
    caseworker = Client()
    caseworker.force_login(world.caseworker)
    assert post_followup(caseworker, world.interventions["overdue"]).status_code == 302
    admin_client.post(NEW)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    _edit(admin_client, v2, _definition(v2, q3="Är du nöjd med {provider}?"))
    _publish(admin_client)
    today = timezone.localdate()
    period = {"municipality": world.municipality, "date_from": today - dt.timedelta(days=5), "date_to": today}
    # q1 is unchanged: version 1's answer still counts. q3's text changed: only version 2 counts.
    assert (
        sum(r["n"] for r in aggregate(get_indicator("got_decided_support"), by=["provider"], **period)) == 1
    )
    assert aggregate(get_indicator("satisfied"), by=["provider"], **period) == []
    same = compare(indicator="got_decided_support", by="provider", **period).as_json()["comparability"]
    assert same["versions"] == ["stockholm-2021@1", "stockholm-2021@2"] and same["excluded_versions"] == []
    changed = compare(indicator="satisfied", by="provider", **period).as_json()["comparability"]
    assert changed["versions"] == ["stockholm-2021@2"] and changed["excluded_versions"] == [
        "stockholm-2021@1"
    ]
    assert "inte jämförbar" in changed["note"]
    # The results pages say so too, where analysts look.
    analyst = Client()
    analyst.force_login(world.analyst)
    dates = f"date_from={period['date_from']:%Y-%m-%d}&date_to={today:%Y-%m-%d}"
    for page in ("jamforelse", "utveckling", "kvinnor-och-man"):
        html = analyst.get(f"/resultat/{page}/?indicator=satisfied&{dates}").content.decode()
        assert (
            '<p class="notice" role="note">Jämförbarhet, Nöjd med stödet: Räknar bara stockholm-2021@2; '
            in html
        ), page
        html = analyst.get(f"/resultat/{page}/?indicator=got_decided_support&{dates}").content.decode()
        assert 'role="note">Jämförbarhet' not in html, page


def test_it_refuses_a_question_code_used_by_another_instrument(admin_client: Client) -> None:
    admin_client.post(NEW)
    v2 = InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)
    response = _edit(admin_client, v2, _definition(v2).replace("code: q3", "code: cy_safe"))
    assert response.status_code == 422
    assert "används redan i ett annat frågeformulär: cy_safe" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    ["/instrument/", "/instrument/stockholm-2021/1/forhandsvisning/", "/instrument/pilot/"],
)
def test_it_marks_the_editor_in_the_menu_on_its_pages_that_show_followups(
    admin_client: Client, path: str
) -> None:
    html = admin_client.get(path).content.decode()
    assert '<a href="/instrument/" aria-current="page">' in html
