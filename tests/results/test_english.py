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


#: Swedish column headings, captions and marks the results tables used to show in English (issue 17
#: point 15). Indicator, service and provider names are data and may stay Swedish.
SWEDISH_HEADINGS = {
    "Kod", "Namn", "Andel", "Utförare", "Flagga", "Anmärkning", "Uppföljningsgrad", "Kvinnor, n",
    "Män, n", "Kvinnor, andel", "Män, andel", "Skillnad kvinnor − män", "Skattad verklig andel",
    "Sannolikhet under referensnivån", "Minsta skillnad som kan upptäckas, lägre", "Pågående insatser (n)",
    "Uppföljda", "Andel uppföljda", "Saknar uppföljning", "Uppföljningar (n)", "Avböjda", "Ej nåbara",
    "Andel avböjda", "Andel ej nåbara", "Indikator", "Utförarens andel", "Kommunens förväntade nivå",
    "Förändring mot föregående period", "Mittlinje", "Styrgräns, nedre",
    "Insats", "Svarande", "95 % KI", "Enhet", "Åldersgrupp", "Skillnad justerad för ålder",
    "Förväntat (E)", "Observerat (O)", "Skattad verklig O/E", "dold", "Bedömning", "för få", "Från och med",
    "Till och med", "Justera för ålder, kön och insats (O/E)", "Bara flaggade utförare",
}  # fmt: skip
PAGES = [
    f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}",
    f"/resultat/jamforelse/?indicator=satisfied&{PERIOD}&adjust=on",
    f"/resultat/utveckling/?indicator=satisfied&{PERIOD}",
    f"/resultat/kvinnor-och-man/?indicator=satisfied&{PERIOD}",
    f"/resultat/uppfoljningsgrad/?{PERIOD}",
    f"/resultat/uppfoljningsgrad/?by=provider&{PERIOD}",
    f"/resultat/utfallsmatt/?{PERIOD}",
    f"/resultat/utforare/A/?{PERIOD}",
]


@pytest.mark.parametrize("path", PAGES)
def test_no_swedish_column_heading_in_english(client: Client, people: People, path: str) -> None:
    import html as html_lib
    import re

    client.force_login(people.analyst)
    swedish = client.get(path).content.decode()
    headings = {
        html_lib.unescape(h).strip() for h in re.findall(r"<th scope=\"col\"[^>]*>([^<]*)</th>", swedish)
    }
    assert headings & SWEDISH_HEADINGS  # the list names what the Swedish page shows
    client.cookies["django_language"] = "en"
    page = client.get(path).content.decode()
    texts = re.findall(r"<(?:th|label|caption|figcaption)[^>]*>([^<]*)<", page)
    texts += re.findall(r"<td[^>]*>([^<]*)</td>", page)
    found = {html_lib.unescape(t).strip() for t in texts} & SWEDISH_HEADINGS
    assert not found, f"{path}: {sorted(found)}"
    captions = [html_lib.unescape(c) for c in re.findall(r"<caption[^>]*>([^<]*)<", page)]
    assert captions and not any(w in c for c in captions for w in (" och ", " per ", "utförare ", "alla "))
