"""The oversight pages (proposed deviations, the priority list, in-depth reviews, alerts) in the
English interface (issue 17 point 15): no Swedish left in their headings, buttons, table headers
and labels, and the Swedish pages unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.english_pages import chrome, english_and_swedish, swedish_left
from utfall.oversight.models import Case

pytestmark = pytest.mark.django_db

SWEDISH = ("Avvikelse", "Avvikelser", "Åtgärd", "Utförare", "Fördjupad", "Fördjupade", "Prioriteringslista",
           "Plats", "Regel", "Klienter", "Avtal", "Ansvarig", "Rubrik", "Ärende", "Öppna", "Visa",
           "Beräkna", "Evidens", "Indikator", "Andel", "Gränser", "Kommunen", "Förra perioden", "Ordning",
           "Sidor", "Larm", "Uppföljning", "Datum", "Enhet", "Alla", "Bara", "Ny ", "under 95", "över 95",
           "Utanför", "Under 95")  # fmt: skip


@pytest.mark.parametrize(
    ("path", "english", "swedish"),
    [
        ("/avvikelser/?period=2025", "<h1>Proposed deviations</h1>", "<h1>Avvikelseförslag</h1>"),
        (
            "/avvikelser/prioritering/?period=2025",
            "Priority list for in-depth review",
            "Prioriteringslista för",
        ),
        ("/fordjupade-uppfoljningar/", "<h1>In-depth reviews</h1>", "<h1>Fördjupade uppföljningar</h1>"),
        (
            "/fordjupade-uppfoljningar/ny/",
            "<h1>New in-depth review</h1>",
            "<h1>Ny fördjupad uppföljning</h1>",
        ),
    ],
)
def test_the_oversight_pages_in_english(
    client: Client, deviating: Any, path: str, english: str, swedish: str
) -> None:
    client.force_login(deviating.procurement)
    sv, en = english_and_swedish(client, path)
    assert swedish in sv and english not in sv  # the Swedish page is as it was
    assert swedish_left(("Avvikelse", "Utförare", "Fördjupade"), chrome(sv))  # the list can fail
    assert english in en and swedish not in en
    assert swedish_left(SWEDISH, chrome(en)) == [], chrome(en)
    if "period" in path:  # a rule and a rate as English writes them; LOW998 is outside 99.8 %
        assert "Outside the 99.8% control limit" in en and "Utanför styrgränsen 99,8 %" in sv
        assert "Positive deviations 2025" in en or "Deviations 2025" in en


def test_the_period_field_says_what_is_wrong_in_english(client: Client, deviating: Any) -> None:
    client.force_login(deviating.procurement)
    client.cookies["django_language"] = "en"
    page = client.get("/avvikelser/", {"period": ""}).content.decode()
    assert "Calculate proposals" in page and "A year (2025) or a half-year" in page
    assert "Beräkna förslag" not in page


def test_a_case_page_in_english(client: Client, world: Any) -> None:
    """An in-depth review with a note and an action plan: its facts, steps, forms and history."""
    client.force_login(world.procurement)
    client.post("/fordjupade-uppfoljningar/ny/", {
        "provider": world.provider.pk, "title": "Många Bristande", "owner": world.procurement.pk,
    })  # fmt: skip
    case = Case.objects.get()
    base = f"/fordjupade-uppfoljningar/{case.pk}"
    client.post(f"{base}/status/", {"state": "investigating"})
    client.post(f"{base}/anteckning/", {"text": "Möte bokat."})
    today = timezone.localdate()
    client.post(f"{base}/atgard/", {"kind": "action_plan", "decided_on": today.isoformat(),
                                     "deadline": (today + dt.timedelta(days=30)).isoformat()})  # fmt: skip
    sv, en = english_and_swedish(client, f"{base}/")
    assert "Flytta ärendet till" in sv and "Åtgärdsplan med tidsfrist" in sv and "Spara anteckningen" in sv
    assert "Move the case to" in en and "Action plan with a deadline" in en and "Save the note" in en
    assert "Under investigation" in en and "Status changed (Open → Under investigation)" in en  # the history
    more = ("Status ändrad", "Öppen", "Utreds", "Avslutad", "Tidsfrist", "Beslutad", "Genomförd", "Dokument",
            "Historik", "Spara", "Registrera", "Flytta", "Beskrivning", "Slag", "Kommentar")  # fmt: skip
    assert swedish_left((*SWEDISH, *more), chrome(en)) == [], chrome(en)
    client.cookies["django_language"] = "en"
    bad = client.post(f"{base}/atgard/", {"kind": "action_plan", "decided_on": today.isoformat()})
    assert bad.status_code == 400 and "An action plan needs a deadline." in bad.content.decode()
    done = client.post(f"{base}/anteckning/", {"text": "Uppföljt."}, follow=True).content.decode()
    assert "The note is saved." in done
