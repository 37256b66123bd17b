"""The instrument editor field by field: a draft's questions, answer options, positives,
conditions, help texts, respondents and services, each edited in its own form; moving and
removing questions; throwing a draft away. Bad input is refused with a reason and changes
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.instruments.helpers import make_admin
from tests.personas import World
from utfall.instruments.loading import definition_of
from utfall.instruments.models import InstrumentVersion

pytestmark = pytest.mark.django_db
NEW = "/instrument/stockholm-2021/ny-version/"
EDIT = "/instrument/stockholm-2021/2/redigera/"


@pytest.fixture
def admin_client(client: Client, world: World) -> Client:
    client.force_login(make_admin(world.municipality))
    client.post(NEW)
    return client


def draft() -> InstrumentVersion:
    return InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=2)


def v1() -> InstrumentVersion:
    return InstrumentVersion.objects.get(instrument__code="stockholm-2021", version=1)


def question_post(
    code: str,
    text: str,
    options: list[tuple[str, str, bool, bool]],
    *,
    help_text: str = "",
    condition: tuple[str, list[str]] | None = None,
    extra_rows: int = 2,
) -> dict[str, Any]:
    """The question form as a browser posts it: options as formset rows, plus empty rows."""
    data: dict[str, Any] = {"code": code, "text": text, "help_text": help_text}
    rows = [*options, *[("", "", False, True)] * extra_rows]
    data.update({"options-TOTAL_FORMS": len(rows), "options-INITIAL_FORMS": len(options),
                 "options-MIN_NUM_FORMS": 0, "options-MAX_NUM_FORMS": 1000})  # fmt: skip
    for i, (ocode, label, positive, counts) in enumerate(rows):
        data[f"options-{i}-code"], data[f"options-{i}-label"] = ocode, label
        if positive:
            data[f"options-{i}-positive"] = "on"
        if counts:
            data[f"options-{i}-counts"] = "on"
    if condition:
        data["condition_question"] = condition[0]
        data["condition_options"] = [f"{condition[0]}:{c}" for c in condition[1]]
    return data


Q3_OPTIONS = [
    ("yes_completely", "Ja, helt och hållet", True, True),
    ("yes_mostly", "Ja, till stor del", True, True),
    ("yes_somewhat", "Ja, till viss del", True, True),  # now positive too
    ("no", "Nej, inte alls", False, True),
    ("dont_know", "Vet inte", False, False),
]


def test_it_edits_one_question_field_by_field_and_leaves_version_1_alone(admin_client: Client) -> None:
    page = admin_client.get(f"{EDIT}fraga/q3/").content.decode()
    assert (
        'name="options-0-code"' in page and 'value="yes_completely"' in page
    )  # the stored options, filled in
    before = definition_of(v1())
    response = admin_client.post(
        f"{EDIT}fraga/q3/",
        {**question_post("q3", "Är du nöjd med {provider}?", Q3_OPTIONS, help_text="Fråga om hela insatsen."),
         "change": "substantive"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == EDIT
    q3 = next(q for q in definition_of(draft())["questions"] if q["code"] == "q3")
    assert q3["text"] == "Är du nöjd med {provider}?"
    assert q3["help_text"] == "Fråga om hela insatsen."
    assert [o["code"] for o in q3["options"] if o["positive"]] == [
        "yes_completely",
        "yes_mostly",
        "yes_somewhat",
    ]
    assert [o["code"] for o in q3["options"] if not o["counts"]] == ["dont_know"]
    assert definition_of(v1()) == before
    # The version page now names q3 as not comparable with version 1.
    assert "q3" in admin_client.get("/instrument/stockholm-2021/2/").content.decode().split("Jämförbarhet")[1]


def test_it_adds_a_conditional_question_that_the_preview_shows_as_the_caseworker_will(
    admin_client: Client,
) -> None:
    options = [("yes", "Ja", True, True), ("no", "Nej", False, True), ("dont_know", "Vet inte", False, False)]
    response = admin_client.post(
        f"{EDIT}ny-fraga/",
        question_post("q6", "Har förbättringen hållit i sig?", options, condition=("q4", ["much_better"])),
    )
    assert response.status_code == 302
    questions = definition_of(draft())["questions"]
    assert [q["code"] for q in questions] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert questions[-1]["condition"] == {"question": "q4", "in": ["much_better"]}
    preview = admin_client.get("/instrument/stockholm-2021/2/forhandsvisning/").content.decode()
    assert "Har förbättringen hållit i sig?" in preview
    assert "Frågan ställs bara när fråga 4 besvaras med: Förbättrats mycket." in preview
    # Its method-support link goes to the draft's own questions, which administrators can read.
    assert 'href="/metodstod/stockholm-2021/?version=2#fraga-q6"' in preview
    guidance = admin_client.get("/metodstod/stockholm-2021/?version=2").content.decode()
    assert "Har förbättringen hållit i sig?" in guidance and "Utkast" in guidance


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (question_post("q6", "Fråga?", [("a", "A", True, True), ("a", "B", False, True)]),
         "Två svarsalternativ har samma kod."),
        (question_post("q6", "Fråga?", [("a", "A", False, True), ("b", "B", False, True)]),
         "Markera minst ett svar som positivt"),
        (question_post("q6", "Fråga?", [("a", "A", True, True)]), "minst två svarsalternativ"),
        (question_post("q6", "Fråga?", [("a", "A", True, False), ("b", "B", False, True)]),
         "Ett svar som inte räknas kan inte vara positivt."),
        (question_post("Q 6", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)]),
         "Koden får bara ha små bokstäver"),
        (question_post("cy_safe", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)]),
         "Frågekoden används redan i ett annat frågeformulär: cy_safe"),
        (question_post("q1", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)]),
         "koden &#x27;q1&#x27; finns redan"),
        (question_post("q6", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)],
                       condition=("q4", ["yes_mostly"])), "q4:yes_mostly är inget svar på en tidigare fråga."),
        (question_post("q6", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)],
                       condition=("q4", [])), "Välj minst ett svar på q4 som villkor."),
    ],
)  # fmt: skip
def test_it_refuses_a_bad_question_with_a_reason_and_changes_nothing(
    admin_client: Client, data: dict[str, Any], message: str
) -> None:
    before = definition_of(draft())
    response = admin_client.post(f"{EDIT}ny-fraga/", data)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert definition_of(draft()) == before


def test_a_condition_must_name_an_answer_of_the_chosen_question(admin_client: Client) -> None:
    data = question_post("q6", "Fråga?", [("a", "A", True, True), ("b", "B", False, True)])
    data["condition_question"] = "q4"
    data["condition_options"] = ["q3:yes_mostly"]
    response = admin_client.post(f"{EDIT}ny-fraga/", data)
    assert response.status_code == 422
    assert "Villkorets svar ska höra till den valda frågan (q4)." in response.content.decode()


def test_it_moves_and_removes_questions_but_never_breaks_a_condition(admin_client: Client) -> None:
    codes = lambda: [q["code"] for q in definition_of(draft())["questions"]]  # noqa: E731
    admin_client.post(f"{EDIT}fraga/q1/ned/")
    assert codes() == ["q2", "q1", "q3", "q4", "q5"]
    # q5 is asked only after some answers to q4: it cannot come before q4, nor q4 go without it.
    page = admin_client.post(f"{EDIT}fraga/q5/upp/", follow=True).content.decode()
    assert "en fråga med villkor måste komma efter frågan villkoret gäller" in page
    page = admin_client.post(f"{EDIT}fraga/q4/ta-bort/", follow=True).content.decode()
    assert "q5 ställs bara vid vissa svar på den" in page
    assert codes() == ["q2", "q1", "q3", "q4", "q5"]
    admin_client.post(f"{EDIT}fraga/q5/ta-bort/")
    assert codes() == ["q2", "q1", "q3", "q4"]
    assert [q.code for q in v1().questions.all()] == ["q1", "q2", "q3", "q4", "q5"]


def test_it_saves_respondents_and_services_and_names_the_respondent_in_the_form(admin_client: Client) -> None:
    services = list(draft().services.values_list("pk", flat=True))
    response = admin_client.post(EDIT, {"respondents": ["guardian"], "services": services})
    assert response.status_code == 302
    assert draft().respondents == ["guardian"]
    preview = admin_client.get("/instrument/stockholm-2021/2/forhandsvisning/").content.decode()
    assert "Steg 1: Frågor till vårdnadshavaren" in preview
    response = admin_client.post(EDIT, {"respondents": [], "services": services})
    assert response.status_code == 422 and "Välj minst en svarande." in response.content.decode()
    assert draft().respondents == ["guardian"]


def test_it_throws_a_draft_away_but_never_a_published_version(admin_client: Client) -> None:
    response = admin_client.post("/instrument/stockholm-2021/2/ta-bort/")
    assert response.status_code == 302 and response["Location"] == "/instrument/"
    assert not InstrumentVersion.objects.filter(instrument__code="stockholm-2021", version=2).exists()
    response = admin_client.post("/instrument/stockholm-2021/1/ta-bort/", follow=True)
    assert "Versionen är publicerad och kan inte ändras" in response.content.decode()
    assert v1().questions.count() == 5


def test_only_administrators_edit_and_others_never_see_a_draft(client: Client, world: World) -> None:
    admin = Client()
    admin.force_login(make_admin(world.municipality))
    admin.post(NEW)
    client.force_login(world.caseworker)
    assert client.get(f"{EDIT}fraga/q3/").status_code == 403
    assert client.post("/instrument/stockholm-2021/2/ta-bort/").status_code == 403
    assert client.get("/metodstod/stockholm-2021/?version=2").status_code == 404
    assert client.get("/metodstod/stockholm-2021/?version=1").status_code == 200
    assert draft().questions.count() == 5
