"""The procurement pages in the English interface (issue 17 point 15): the contracts list with its
search form, its menu, headings and table headers in English; the Swedish page unchanged."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.english_pages import chrome, english_and_swedish, swedish_left
from tests.procurement.conftest import People

pytestmark = pytest.mark.django_db

SWEDISH = ("Avtal", "Utförare", "Insatser", "Gäller till", "Dagar kvar", "Förlängningsoptioner",
           "Avtalsförvaltare", "Resultat mot mål", "Sök", "Löper ut", "När som helst", "Inom", "Upphandling",
           "Simulera", "Ersättning", "ersättningsregel", "Kostnad", "månader")  # fmt: skip


def test_the_contracts_page_in_english(client: Client, people: People) -> None:
    client.force_login(people.procurement)
    sv, en = english_and_swedish(client, "/avtal/")
    assert "<h1>Avtal</h1>" in sv and "Förlängningsoptioner" in sv  # the Swedish page is as it was
    assert swedish_left(("Avtal", "Sök"), chrome(sv))
    assert "<h1>Contracts</h1>" in en and "Extension options" in en and "Simulate a payment rule" in en
    assert swedish_left(SWEDISH, chrome(en)) == [], chrome(en)
    client.cookies["django_language"] = "en"
    expiring = client.get("/avtal/", {"expiring": "12"}).content.decode()
    assert "expire within 12 months" in expiring or "expires within 12 months" in expiring


def test_a_contract_page_in_english(client: Client, people: People) -> None:
    client.force_login(people.procurement)
    path = "/avtal/C-A/?date_from=2025-01-01&date_to=2025-12-31"
    sv, en = english_and_swedish(client, path)
    assert (
        "<h1>Avtal C-A" in sv
        and "Regler för resultatbaserad ersättning" in sv
        and "Bedömning mot målet" in sv
    )
    assert (
        "<h1>Contract C-A" in en and "Rules for outcome-based payment" in en and "Payment in the period" in en
    )
    words = chrome(en)
    assert (
        swedish_left(
            (*SWEDISH, "Ersättning", "Regler", "Avräkning", "Bedömning", "Flagga", "Kommunens"), words
        )
        == []
    ), words
    assert ("Calculate statement" in en and "Within the limits" in en) or "Lower than expected" in en
