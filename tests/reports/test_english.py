"""The reports page in the English interface (issue 17 point 15): its headings, table headers,
the new report's form and its button in English; the reports' own titles (the documents the
municipality publishes in Swedish) stay as they are."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.english_pages import chrome, english_and_swedish, swedish_left
from utfall.organisations.models import Municipality
from utfall.reports.models import Report

pytestmark = pytest.mark.django_db
User = get_user_model()

SWEDISH = ("Rapport", "Rapporter", "Publicerad", "Publicerade", "Alla rapporter", "Ny rapport", "Skapa utkast",
           "Typ av rapport", "Från och med", "Till och med", "Nämnd", "Enhet", "Hela kommunen", "Ingen",
           "Årsrapport", "Delårsrapport", "Mål och", "Öppna data", "Nationell", "Utvärdering")  # fmt: skip


def test_the_reports_page_in_english(client: Client, results_set: Municipality, analyst: User) -> None:
    client.force_login(analyst)
    client.post("/rapporter/ny/", {"kind": "annual", "date_from": "2025-01-01", "date_to": "2025-12-31"})
    sv, en = english_and_swedish(client, "/rapporter/")
    assert "<h1>Rapporter</h1>" in sv and "Skapa utkast" in sv and "Utkast" in sv  # Swedish unchanged
    assert swedish_left(("Rapport", "Ny rapport"), chrome(sv))
    assert "<h1>Reports</h1>" in en and "Create draft" in en and "<td>Draft</td>" in en
    assert swedish_left(SWEDISH, chrome(en)) == [], chrome(en)
    assert "Open data" in en and "Targets and target attainment" in en


def test_a_report_keeps_its_swedish_body_around_english_tools(
    client: Client, results_set: Municipality, analyst: User
) -> None:
    """The report is the municipality's Swedish document (decision of 2026-12-02): drafted and read
    in the English interface, its body is as in Swedish; the tools around it are in English."""
    client.force_login(analyst)
    client.cookies["django_language"] = "en"
    client.post("/rapporter/ny/", {"kind": "annual", "date_from": "2025-01-01", "date_to": "2025-12-31"})
    report = Report.objects.get()
    sv, en = english_and_swedish(client, f"/rapporter/{report.pk}/")
    body_sv = sv.split('<article class="report" lang="sv">', 1)[1].split("</article>", 1)[0]
    body_en = en.split('<article class="report" lang="sv">', 1)[1].split("</article>", 1)[0]
    assert "Sammanfattning" in body_en and "Andel" in body_en  # the body's heading and a column, in Swedish
    assert "Share" not in body_en and "Summary" not in body_en
    assert body_en.count("<th") == body_sv.count("<th")
    assert "Publish the report" in en and "Save the comment" in en and "All reports" in en
    assert "Publicera rapporten" in sv and "Spara kommentaren" in sv
    assert (
        swedish_left(
            ("Publicera", "Spara", "Alla rapporter", "Rapportens verktyg"),
            chrome(en).split("Sammanfattning")[0],
        )
        == []
    )
