"""The results pages in the English interface (issue 17 point 15): their headings, navigation
and page text are translated like the rest of the site."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.results.conftest import PERIOD, People

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "english", "swedish"),
    [
        ("/resultat/", "Summaries of the clients", "Sammanställningar av klienternas"),
        (
            f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}",
            "<h1>Compare providers</h1>",
            "<h1>Jämför utförare",
        ),
        (
            f"/resultat/utveckling/?indicator=satisfied&{PERIOD}",
            "Internal quality control",
            "Egenkontroll (SOSFS",
        ),
        (
            f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}",
            "Gender equality analysis",
            "Jämställdhetsanalys:",
        ),
        (
            f"/resultat/uppfoljningsgrad/?{PERIOD}",
            "Follow-up coverage and non-response",
            "<h1>Uppföljningsgrad",
        ),
        (f"/resultat/utfallsmatt/?{PERIOD}", "After ended interventions", "Efter avslutade insatser"),
    ],
)
def test_the_results_pages_speak_english_when_asked(
    client: Client, people: People, path: str, english: str, swedish: str
) -> None:
    client.force_login(people.analyst)
    assert swedish in client.get(path).content.decode()
    client.cookies["django_language"] = "en"
    page = client.get(path).content.decode()
    assert english in page and swedish not in page
    assert "Download the table:" in page or path == "/resultat/"
    assert "Trends over time" in page  # the results' own navigation
