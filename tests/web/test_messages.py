"""Every message a person reads at a form names the field by its label, in the page's language,
never by an internal column name (issue 17 point 1). The interchange keeps the column names."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client

from tests.followups.helpers import DECLINED, form_data, post_followup
from tests.personas import World, identity_number
from utfall.followups.models import FollowUp
from utfall.records.rules import RowChecker, catalogue_for, check_intervention
from utfall.registry.models import Intervention

pytestmark = pytest.mark.django_db
INTERNAL = re.compile(r"goals_(total|fully|partly)|ended_on|started_on|end_reason|status completed|\bq\d\b")


def errors_of(html: str) -> list[str]:
    """The texts of the error summary and the field errors."""
    found = re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', html, re.S)
    found += re.findall(r'<div class="error-summary".*?</div>', html, re.S)
    return [unescape(re.sub(r"<[^>]+>", " ", f)) for f in found]


def registration(**changes: str) -> dict[str, str]:
    return {
        "person_id": identity_number(77),
        "service": "hvb_youth",
        "provider_id": "P1",
        "unit": "norr",
        "decided_on": "2026-01-10",
        "started_on": "2026-01-12",
        **changes,
    }


def test_the_goals_message_uses_the_labels(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    ended = world.interventions["ended"]
    response = post_followup(client, ended, form_data(goals_total="3", goals_fully="4", goals_partly="2"))
    assert response.status_code == 422
    texts = " ".join(errors_of(response.content.decode()))
    assert (
        "Helt och delvis uppnådda mål är tillsammans 6, fler än antalet mål i genomförandeplanen (3)" in texts
    )
    assert not INTERNAL.search(texts), texts
    response = post_followup(client, ended, form_data(goals_fully="1"))
    texts = " ".join(errors_of(response.content.decode()))
    assert "Ange antal mål i genomförandeplanen" in texts and not INTERNAL.search(texts), texts


def test_answers_with_a_declined_followup_are_explained_in_words(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    response = post_followup(client, world.interventions["overdue"], form_data(DECLINED, q1="yes_completely"))
    assert response.status_code == 422
    texts = " ".join(errors_of(response.content.decode()))
    assert "inte när den är 'Klienten avböjde'" in texts and not INTERNAL.search(texts), texts
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ended_on": "2026-01-11", "end_reason": "moved"}, "Slutdatum (2026-01-11) är före startdatum (2026-01-12)."),
        ({"ended_on": "2026-01-20"}, "Välj avslutsorsak när slutdatum är ifyllt."),
        ({"end_reason": "moved"}, "Avslutsorsak anges bara för en avslutad insats"),
    ],
)  # fmt: skip
def test_the_intervention_messages_use_the_labels(
    client: Client, world: World, changes: dict[str, str], expected: str
) -> None:
    client.force_login(world.caseworker)
    response = client.post("/insatser/ny/", registration(**changes))
    assert response.status_code == 422
    texts = " ".join(errors_of(response.content.decode()))
    assert expected in texts and not INTERNAL.search(texts), texts
    assert not Intervention.objects.filter(client__birth_year=2009, started_on="2026-01-12").exists()


def test_the_messages_follow_the_page_language(client: Client, world: World) -> None:
    client.force_login(world.caseworker)
    client.cookies["django_language"] = "en"
    response = client.post("/insatser/ny/", registration(ended_on="2026-01-20"))
    texts = " ".join(errors_of(response.content.decode()))
    assert "Choose an end reason when the end date is filled in." in texts, texts


def test_the_interchange_keeps_the_column_names(world: World) -> None:
    raw = {
        **registration(ended_on="2026-01-11", end_reason="moved"),
        "intervention_id": "X",
        "sex": "",
        "birth_year": "",
    }
    row = RowChecker("insatser.csv", 2, raw, catalogue_for(), municipality_code=world.municipality.code)
    check_intervention(row)
    assert [str(i) for i in row.issues] == [
        "insatser.csv:2: ended_on: insatsen slutar innan den börjar (ended_on < started_on)"
    ]
